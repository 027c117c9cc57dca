"""The merged filesystem: what a container made from the image sees, rebuilt from its layers."""

from __future__ import annotations

from typing import IO, Callable

from ..errors import ImageFormatError
from ..limits import DEFAULT, Limits
from ..sources.interface import Image
from .cache import CacheUse
from .entry import Entry
from .layer import ContentProbe, LayerTree, scan_layer
from .merge import MergedFS
from .node import Node

__all__ = ["ContentProbe", "Entry", "LayerTree", "MergedFS", "Node", "build_filesystem", "build_filesystems",
           "scan_layer", "shared_base"]


def build_filesystem(image: Image, probe: ContentProbe | None = None, limits: Limits = DEFAULT,
                     cache: CacheUse | None = None) -> MergedFS:
    """Scan every layer of ``image`` once, in one pass over its bytes, and merge them in order.

    With a ``cache``, layers already scanned (by diff ID) are not read at all, and layers read now
    are stored for next time, but only once their bytes were checked against their diff ID.
    """
    cached = cache.lookup(image.known_diff_ids()) if cache else {}
    if cache is not None:
        image.verification.hash_layers = True  # so that what we store is known to be what it claims
    merged = MergedFS()
    skip = (lambda info: info.index in cached) if cached else None
    stored: set[str] = set()
    for info, tree in image.scan_layers(layer_scanner(probe, limits), skip=skip):
        check_layer_count(info.index + 1, limits, image)
        if info.index in cached:
            tree = cached[info.index]
        elif cache is not None and info.diff_id and info.index in image.verification.verified \
                and info.diff_id not in stored:
            cache.store.put(info.diff_id, cache.codec, tree)  # before merging: the merge moves its nodes
            stored.add(info.diff_id)
        assert tree is not None
        merged.apply(tree)
    return merged


def build_filesystems(first: Image, second: Image, probe: ContentProbe | None = None,
                      limits: Limits = DEFAULT) -> tuple[MergedFS, MergedFS]:
    """Build two images' filesystems, reading the base layers they share (same diff IDs) only once.

    The merged view after the shared layers is copied in memory instead of being read again from
    the second image; a one-pass source, whose layers are unknown until read, shares nothing.
    """
    shared = shared_base(first.known_diff_ids(), second.known_diff_ids())
    scanner = layer_scanner(probe, limits)
    merged_first = MergedFS()
    base = MergedFS() if shared == 0 else None
    for info, tree in first.scan_layers(scanner):
        check_layer_count(info.index + 1, limits, first)
        assert tree is not None
        merged_first.apply(tree)
        if merged_first.layers == shared:
            base = merged_first.clone()
    if base is None or [i.diff_id for i in first.meta.layers[:shared]] != second.known_diff_ids()[:shared]:  # type: ignore[index]
        base, shared = MergedFS(), 0  # what was announced was not what came: share nothing
    merged_second = base
    for info, tree in second.scan_layers(scanner, skip=lambda info: info.index < shared):
        check_layer_count(info.index + 1, limits, second)
        if info.index >= shared:
            assert tree is not None
            merged_second.apply(tree)
    return merged_first, merged_second


def check_layer_count(count: int, limits: Limits, image: Image) -> None:
    if count > limits.max_layers:
        raise ImageFormatError(f"the image has more than {limits.max_layers:,} layers "
                               "(raise the limit with --max-layers)", where=image.meta.reference)


def layer_scanner(probe: ContentProbe | None, limits: Limits) -> Callable[[IO[bytes]], LayerTree]:
    """A scanner for one image's layers: the entry limit counts over all of them, in arrival order."""
    seen = 0

    def scan(stream: IO[bytes]) -> LayerTree:
        nonlocal seen
        tree = scan_layer(stream, probe, limits, entries_before=seen)
        seen += tree.entries
        return tree

    return scan


def shared_base(first: list[str | None] | None, second: list[str | None] | None) -> int:
    """How many bottom layers two stacks have in common (unknown diff IDs never match)."""
    count = 0
    for a, b in zip(first or [], second or []):
        if a is None or a != b:
            break
        count += 1
    return count

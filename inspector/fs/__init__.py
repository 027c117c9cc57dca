"""The merged filesystem: what a container made from the image sees, rebuilt from its layers."""

from __future__ import annotations

from ..sources.interface import Image
from .entry import Entry
from .layer import ContentProbe, LayerTree, scan_layer
from .merge import MergedFS
from .node import Node

__all__ = ["ContentProbe", "Entry", "LayerTree", "MergedFS", "Node", "build_filesystem", "build_filesystems",
           "scan_layer", "shared_base"]


def build_filesystem(image: Image, probe: ContentProbe | None = None) -> MergedFS:
    """Scan every layer of ``image`` once, in one pass over its bytes, and merge them in order."""
    merged = MergedFS()
    for _info, tree in image.scan_layers(lambda stream: scan_layer(stream, probe)):
        assert tree is not None
        merged.apply(tree)
    return merged


def build_filesystems(first: Image, second: Image, probe: ContentProbe | None = None) -> tuple[MergedFS, MergedFS]:
    """Build two images' filesystems, reading the base layers they share (same diff IDs) only once.

    The merged view after the shared layers is copied in memory instead of being read again from
    the second image; a one-pass source, whose layers are unknown until read, shares nothing.
    """
    shared = shared_base(first.known_diff_ids(), second.known_diff_ids())
    scanner = lambda stream: scan_layer(stream, probe)  # noqa: E731
    merged_first = MergedFS()
    base = MergedFS() if shared == 0 else None
    for _info, tree in first.scan_layers(scanner):
        assert tree is not None
        merged_first.apply(tree)
        if merged_first.layers == shared:
            base = merged_first.clone()
    if base is None or [i.diff_id for i in first.meta.layers[:shared]] != second.known_diff_ids()[:shared]:  # type: ignore[index]
        base, shared = MergedFS(), 0  # what was announced was not what came: share nothing
    merged_second = base
    for info, tree in second.scan_layers(scanner, skip=lambda info: info.index < shared):
        if info.index >= shared:
            assert tree is not None
            merged_second.apply(tree)
    return merged_first, merged_second


def shared_base(first: list[str | None] | None, second: list[str | None] | None) -> int:
    """How many bottom layers two stacks have in common (unknown diff IDs never match)."""
    count = 0
    for a, b in zip(first or [], second or []):
        if a is None or a != b:
            break
        count += 1
    return count

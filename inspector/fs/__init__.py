"""The merged filesystem: what a container made from the image sees, rebuilt from its layers."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO

from ..errors import ImageFormatError
from ..limits import DEFAULT, Limits
from ..sources.interface import Image, LayerInfo
from .cache import CacheUse
from .collector import collector_paused, settle_built
from .entry import Entry
from .helper import HelperStart, LayerHelper, Scanned
from .layer import ContentProbe, LayerTree, is_reentrant, scan_layer, too_many_entries
from .merge import MergedFS
from .node import Node

__all__ = ["ContentProbe", "Entry", "HelperStart", "LayerHelper", "LayerTree", "MergedFS", "Node", "Scanned",
           "build_filesystem", "build_filesystems", "scan_layer", "shared_base"]


def build_filesystem(image: Image, probe: ContentProbe | None = None, limits: Limits = DEFAULT,
                     cache: CacheUse | None = None,
                     observe: Callable[[LayerTree, MergedFS], None] | None = None,
                     helpers: HelperStart | None = None) -> MergedFS:
    """Scan every layer of ``image`` once, in one pass over its bytes, and merge them in order.

    Every layer read is hashed and checked against its diff ID: an uncompressed layer of a
    random-access archive is then read in full rather than skipped through, the price of never
    showing bytes nobody checked. With a ``cache``, a layer is answered from it only as
    ``CacheUse.answer`` allows (its blob present, in a form the entry recorded), never under
    ``--verify``; layers read now are stored once their bytes matched their diff ID.
    ``observe(tree, merged)`` sees each layer's own tree just before it is merged (the HTML report's
    per-layer counts and wasted bytes).

    ``helpers`` (``fs.helper``) may start processes that scan some layers meanwhile, with this
    probe, cache and limits: each layer one took is merged here in its place in the stack, as if this
    process had read it (its counts go into the image's verification, the cache entry was written
    there). They are stopped on any return. A layer scanned elsewhere passes no ``observe``: then
    none is started.
    """
    if image.verification.full:
        cache = None  # --verify reuses nothing it did not hash in this run
    with collector_paused():  # the trees hold no cycles: scanned, unpacked, decoded from the cache or merged
        # a helper is forked with the collector paused: it scans and packs trees, then exits
        helper = helpers(image, probe, cache, limits) if helpers is not None and observe is None else None
        try:
            merged = _build(image, probe, limits, cache, observe, helper)
            settle_built()  # before the collector is back: its first pass would walk the whole new tree
        finally:
            if helper is not None:
                helper.close()  # also when the image failed before its first layer (too many of them)
    return merged


def _build(image: Image, probe: ContentProbe | None, limits: Limits, cache: CacheUse | None,
           observe: Callable[[LayerTree, MergedFS], None] | None, helper: LayerHelper | None) -> MergedFS:
    check_declared_layers(image, limits)
    image.verification.hash_layers = True
    scanner = LayerScanner(probe, limits)
    answers: dict[int, LayerTree] = {}
    reserved = 0  # entries of cached trees decided on but not yet merged

    def skip(info: LayerInfo) -> bool:
        nonlocal reserved
        check_layer_count(info.index + 1, limits, image)
        scanned = helper.take(info) if helper is not None else None
        if scanned is not None and scanner.seen + reserved + scanned.tree.entries > limits.max_entries:
            scanned = None  # read here: the scan fails part-way with the layer named, as it would alone
        if scanned is not None:
            tree: LayerTree | None = scanned.tree
            _count_elsewhere(image, info, scanned)
        else:
            tree = cache.answer(image, info, scanner.seen + reserved, limits) if cache is not None else None
        if tree is None:
            return False
        answers[info.index] = tree
        reserved += tree.entries
        return True

    merged = MergedFS()
    stored: set[str] = set()

    def merge(info: LayerInfo, tree: LayerTree | None) -> None:
        nonlocal reserved
        check_layer_count(info.index + 1, limits, image)
        answered = answers.pop(info.index, None)
        if answered is not None:
            reserved -= answered.entries
        if tree is None:
            assert answered is not None, "a layer was skipped that neither the cache nor the helper answered for"
            tree = answered
            scanner.settle(tree)
        elif cache is not None and info.diff_id and info.diff_id not in stored:
            cache.remember(image, info, tree)  # before merging: the merge moves its nodes
            stored.add(info.diff_id)
        if observe is not None:
            observe(tree, merged)
        merged.apply(tree)

    for info, tree in image.scan_layers(scanner, skip=skip if cache is not None or helper is not None else None):
        merge(info, tree)
    return merged


def _count_elsewhere(image: Image, info: LayerInfo, scanned: Scanned) -> None:
    """What checking a layer's bytes in the helper found, into this image's verification counts."""
    verification = image.verification
    verification.layers_checked += scanned.layers_checked
    verification.layers_unchecked += scanned.layers_unchecked
    verification.blobs_checked += scanned.blobs_checked
    if scanned.verified:
        verification.verified.add(info.index)


def build_filesystems(first: Image, second: Image, probe: ContentProbe | None = None,
                      limits: Limits = DEFAULT) -> tuple[MergedFS, MergedFS]:
    """Build two images' filesystems, parsing the base layers they share only once.

    A base layer of the second image stands in for the first image's only once both copies hashed
    to the same diff ID in this run (the second copy is read and hashed, not parsed): a claimed
    diff ID alone shares nothing. The merged view after the shared layers is then copied in memory.
    A source that cannot hash a layer without scanning it (a one-pass stream) shares nothing.
    """
    with collector_paused():
        built = _build_pair(first, second, probe, limits)
        settle_built()
    return built


def _build_pair(first: Image, second: Image, probe: ContentProbe | None,
                limits: Limits) -> tuple[MergedFS, MergedFS]:
    for image in (first, second):
        check_declared_layers(image, limits)
        image.verification.hash_layers = True
    shared = shared_base(first.known_diff_ids(), second.known_diff_ids())
    merged_first = MergedFS()
    base = MergedFS() if shared == 0 else None
    for info, tree in first.scan_layers(LayerScanner(probe, limits)):
        check_layer_count(info.index + 1, limits, first)
        assert tree is not None
        merged_first.apply(tree)
        if merged_first.layers == shared:
            base = merged_first.clone()
    verified = first.verification.verified
    announced = second.known_diff_ids() or []
    if base is None or [i.diff_id for i in first.meta.layers[:shared]] != announced[:shared] \
            or not all(index in verified for index in range(shared)):
        base, shared = MergedFS(), 0  # what was announced was not what came: share nothing
    sharing = shared > 0

    def skip(info: LayerInfo) -> bool:
        nonlocal sharing
        if not sharing or info.index >= shared:
            return False
        if second.verify_layer(info):  # raises VerificationError if its bytes are not the claimed layer
            return True
        assert info.index == 0, "a source either can hash a layer without scanning it or cannot"
        sharing = False
        return False

    merged_second: MergedFS | None = None
    for info, tree in second.scan_layers(LayerScanner(probe, limits), skip=skip):
        check_layer_count(info.index + 1, limits, second)
        if merged_second is None:  # the base layer was skipped (hashed and shared) or scanned (shares nothing)
            merged_second = base if tree is None else MergedFS()
        if tree is not None:
            merged_second.apply(tree)
    return merged_first, merged_second if merged_second is not None else base


def check_declared_layers(image: Image, limits: Limits) -> None:
    """Refuse a stack taller than the layer limit before any of it is read or looked up."""
    declared = image.known_diff_ids()
    if declared is not None:
        check_layer_count(len(declared), limits, image)


def check_layer_count(count: int, limits: Limits, image: Image) -> None:
    if count > limits.max_layers:
        raise ImageFormatError(f"the image has more than {limits.max_layers:,} layers "
                               "(raise the limit with --max-layers)", where=image.meta.reference)


class LayerScanner:
    """A scanner for one image's layers: the entry limit counts over all of them, in stack order
    (``seen`` also counts the layers answered from the cache, so they count toward the limit).

    Called, it scans a layer and settles it at once. A source may instead run ``scan`` over two
    layers at once (the registry downloads and inflates the next layer while this one is parsed)
    when ``parallel`` says the probe keeps no state between calls, and then ``settle`` each result
    in stack order. A scan counts from the layers settled before it started, and ``settle`` checks
    the total: an image over the limit fails at the same layer with the same line either way, and
    at most the layer scanned ahead is ever held beyond the limit.
    """

    def __init__(self, probe: ContentProbe | None, limits: Limits) -> None:
        self.probe = probe
        self.limits = limits
        self.seen = 0
        self.parallel = is_reentrant(probe)

    def __call__(self, stream: IO[bytes]) -> LayerTree:
        tree = self.scan(stream)
        self.settle(tree)
        return tree

    def scan(self, stream: IO[bytes]) -> LayerTree:
        """Scan one layer, on any thread, without counting it yet."""
        return scan_layer(stream, self.probe, self.limits, entries_before=self.seen)

    def settle(self, tree: LayerTree) -> None:
        """Count a layer (scanned, or answered from the cache), in stack order; past the limit, fail."""
        self.seen += tree.entries
        if self.seen > self.limits.max_entries:
            raise too_many_entries(self.limits)


def shared_base(first: list[str | None] | None, second: list[str | None] | None) -> int:
    """How many bottom layers two stacks have in common (unknown diff IDs never match)."""
    count = 0
    for a, b in zip(first or [], second or [], strict=False):  # two images' stacks differ in height
        if a is None or a != b:
            break
        count += 1
    return count

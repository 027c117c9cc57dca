"""What the helper process runs: open the same image again, take layers from the top of the stack
down while the merging process has not reached them, scan each, and send it back.

Everything a layer scan here does is what ``fs.build_filesystem`` would have done there: the same
probe and limits, the bytes hashed and checked against the layer's diff ID, the cache asked first
and written after, as ``fs.cache.CacheUse`` allows. A layer that fails here (a bad tar, a digest
mismatch, a limit) is reported as not done: the merging process then reads it itself and fails, or
not, exactly as it would have alone.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..fs import LayerScanner
from ..fs.cache import CacheUse
from ..fs.helper import Scanned
from ..fs.layer import ContentProbe
from ..fs.transfer import pack
from .channel import HelperEnd

if TYPE_CHECKING:
    from ..limits import Limits
    from ..sources.interface import Image

@dataclass(frozen=True)
class Job:
    """What a helper needs, inherited through the fork (nothing is pickled): the image's own way to
    open itself again, and the probe, cache and limits the merging process scans with."""

    reopen: Callable[[], Image]
    probe: ContentProbe | None
    cache: CacheUse | None  # None: --no-cache or --verify
    limits: Limits


def serve(job: Job, link: HelperEnd) -> None:
    """The helper process's whole life: scan layers from the top down until the two meet."""
    with job.reopen() as image:
        image.verification.hash_layers = True
        seen = 0  # entries sent back: past the limit, stop (the merging process holds them)
        while (index := link.claim()) is not None:
            scanned = _scan(image, index, job.probe, job.cache, job.limits, seen)
            if scanned is None:
                link.result(index, None)
                return  # the merging process reads this layer itself, and the rest below it
            packed = pack(scanned.tree)
            link.result(index, (len(packed), scanned.tree.entries, image.meta.layers[index].diff_id, scanned.verified,
                                scanned.layers_checked, scanned.layers_unchecked, scanned.blobs_checked,
                                scanned.from_cache), packed)
            seen += scanned.tree.entries


def _scan(image: Image, index: int, probe: ContentProbe | None, use: CacheUse | None, limits: Limits,
          seen: int) -> Scanned | None:
    try:
        info = image.meta.layers[index]
        if use is not None:
            tree = use.answer(image, info, seen, limits)
            if tree is not None:
                return Scanned(tree, verified=False, from_cache=True)
        verification = image.verification
        before = verification.layers_checked, verification.layers_unchecked, verification.blobs_checked
        scanner = LayerScanner(probe, limits)
        scanner.seen = seen
        for got, tree in image.scan_layers(scanner, skip=lambda other: other.index != index):
            if tree is None:
                continue
            if use is not None:
                use.remember(image, got, tree)  # only if its bytes matched its diff ID just now
            return Scanned(tree, verified=index in verification.verified,
                           layers_checked=verification.layers_checked - before[0],
                           layers_unchecked=verification.layers_unchecked - before[1],
                           blobs_checked=verification.blobs_checked - before[2])
        return None
    except Exception:  # noqa: BLE001 - the merging process reads the layer again and reports it
        return None

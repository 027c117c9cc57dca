"""Everything the HTML pages show, gathered in one read of each image.

The page's layer bar and wasted-space table need each layer's own tree before it is merged, so
``build_filesystem`` shows each tree to a ``wasted.LayerTracker`` (``observe``) on its way into the
merged view. That is the summary's one read, with the summary's probe and cache (a cached layer's
tree is the same tree), so the page costs what the summary costs, and works on a one-pass stream.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..fs import build_filesystem, build_filesystems
from ..fs.cache import CacheUse, LayerCache
from ..limits import DEFAULT, Limits
from ..packages.capture import capture_probe
from ..sources.interface import Image
from .bin import bin_listing
from .diff import DiffOptions, DiffResult, compare
from .executables import find_executables
from .facts import CODEC, make_probe, probe
from .history import layer_created_by
from .interface import Inspection
from .packages import packages_report, with_ownership
from .summary import summary
from .treemap import Box, size_boxes, top_level_sizes
from .wasted import LayerTracker, WastedReport


@dataclass
class ImagePage:
    summary: dict[str, Any]
    layers: list[dict[str, Any]]  # --layers rows plus wasted_written and discarded
    wasted: WastedReport
    treemap: Box
    executables: list[dict[str, Any]]  # the --executables JSON objects
    bin_entries: list[dict[str, Any]]
    packages: dict[str, Any] | None  # the --packages object, when the image has packages

    @property
    def warnings(self) -> list[str]:
        return list(self.summary.get("warnings") or []) + list((self.packages or {}).get("warnings") or [])


@dataclass
class DiffPage:
    diff: dict[str, Any]  # the diff's JSON object
    top_dirs: dict[str, list[tuple[str, int]]]  # "a"/"b" → (top-level path, bytes)
    different: bool = False
    all_entries: bool = False  # --all: every entry was compared, not only executables


def image_page(image: Image, limits: Limits = DEFAULT, cache: LayerCache | None = None) -> ImagePage:
    """Read ``image`` once (layers the cache answers for are not read) and gather what its page shows."""
    tracker = LayerTracker()
    use = CacheUse(cache, CODEC) if cache is not None else None
    merged = build_filesystem(image, probe, limits, use, observe=tracker.see)
    diff_ids = [layer.diff_id for layer in image.meta.layers]
    diff_ids += [None] * (len(tracker.layers) - len(diff_ids))
    inspection = Inspection(meta=image.meta, fs=merged, size=merged.size,
                            verification=image.verification.to_json())
    wasted = tracker.report()
    created = layer_created_by(image.meta.config, len(wasted.layers))
    layers = [{"index": s.index, "diff_id": diff_ids[s.index], "size": s.size, "entries": s.entries,
               "added": s.added, "changed": s.changed, "removed": s.removed, "created_by": created[s.index],
               "wasted_written": s.wasted_written, "discarded": s.discarded} for s in wasted.layers]
    data = summary(inspection)
    cache_directory = cache.directory if cache is not None else None
    packages = packages_report(image, inspection, cache_directory) if data.get("packages") else None
    executables = [with_ownership(inspection, e.to_json()) for e in find_executables(inspection)]
    return ImagePage(summary=data, layers=layers, wasted=wasted,
                     treemap=size_boxes(merged, tracker.same_inode), executables=executables,
                     bin_entries=[e.to_json() for e in bin_listing(inspection).entries], packages=packages)


def diff_page(first: Image, second: Image, options: DiffOptions, limits: Limits = DEFAULT,
              cache: LayerCache | None = None) -> DiffPage:
    """The diff, and each image's size by top-level directory (read as ``diff_images`` reads them)."""
    if cache is not None and not options.all_entries:
        use = CacheUse(cache, CODEC)
        fs_a = build_filesystem(first, probe, limits, use)
        fs_b = build_filesystem(second, probe, limits, use)
    else:
        every = capture_probe(make_probe(lambda path, node: options.wanted(path))) if options.all_entries else probe
        fs_a, fs_b = build_filesystems(first, second, every, limits)
    result: DiffResult = compare(Inspection(first.meta, fs_a, fs_a.size), Inspection(second.meta, fs_b, fs_b.size),
                                 options)
    return DiffPage(diff=result.to_json(), top_dirs={"a": top_level_sizes(fs_a), "b": top_level_sizes(fs_b)},
                    different=result.different, all_entries=options.all_entries)

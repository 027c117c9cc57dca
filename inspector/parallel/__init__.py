"""Scanning one image's layers on several CPUs: helper processes scan layers from the top of the
stack down while this process scans from the base up, and this process merges them all in stack
order (``fs.build_filesystem``'s ``helpers``).

``starter(jobs)`` is what a command hands to ``build_filesystem``: it starts helpers for an image
that can have them (``helper.start_helper``) and imports nothing of them for one that cannot.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ..fs.cache import CacheUse
    from ..fs.helper import HelperStart, LayerHelper
    from ..fs.layer import ContentProbe
    from ..limits import Limits
    from ..sources.interface import Image


def starter(jobs: int) -> HelperStart | None:
    """Start helpers with ``jobs`` processes in all, or None for one process."""
    if jobs < 2:
        return None

    def start(image: Image, probe: ContentProbe | None, cache: CacheUse | None, limits: Limits) -> LayerHelper | None:
        if image.reopen is None:
            return None  # decided before importing what a helper needs (15 ms a small image does without)
        from .helper import start_helper

        return start_helper(image, probe, cache, limits, jobs)

    return start

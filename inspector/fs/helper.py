"""What ``build_filesystem`` asks of a helper that scans some of an image's layers elsewhere (another
process: ``inspector.parallel``) while this process scans the others, and merges them all in order.

The helper answers for a layer only with what it scanned from that layer's own bytes in this run,
with the same probe and limits; whatever it could not do (an error, a limit, a dead process) it
answers ``None`` for, and this process reads that layer itself, so the result and every error are
the ones a scan here would give.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from .layer import LayerTree

if TYPE_CHECKING:
    from ..limits import Limits
    from ..sources.interface import Image, LayerInfo
    from .cache import CacheUse
    from .layer import ContentProbe


@dataclass
class Scanned:
    """One layer scanned elsewhere, and what checking its bytes there added to the counts
    ``sources.verify.Verification`` reports (the documents were checked here already)."""

    tree: LayerTree
    verified: bool  # its bytes matched its diff ID
    layers_checked: int = 0
    layers_unchecked: int = 0
    blobs_checked: int = 0
    from_cache: bool = False  # answered there by the layer cache (``CacheUse.answer``), not read


class LayerHelper(Protocol):
    def take(self, info: LayerInfo) -> Scanned | None:
        """Layer ``info`` if the helper took it (waiting for it), else None: scan it here. Called
        for each layer in stack order; a layer asked for is one the helper will not take."""

    def close(self) -> None:
        """Stop the helper (also when the scan here failed)."""


class HelperStart(Protocol):
    def __call__(self, image: Image, probe: ContentProbe | None, cache: CacheUse | None,
                 limits: Limits) -> LayerHelper | None:
        """A helper scanning ``image``'s layers with this very probe, cache and limits, or None
        (one process: the image cannot be opened again, one layer, one CPU)."""

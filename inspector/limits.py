"""Bounds that keep a hostile image from costing unbounded time or memory.

Each default is far above what real images reach (the largest images seen hold about a million
entries; Linux paths are at most 4096 bytes) and each can be raised with a command-line option.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_entries: int = 5_000_000  # tar members over all layers: memory grows with them
    max_depth: int = 1024  # path components of one member name
    max_layers: int = 1000  # layers in one image (overlay2 stops at 128; the containerd store goes further)
    max_ratio: int = 1000  # uncompressed bytes per stored byte of a compressed layer (gzip tops out near 1032)
    ratio_grace: int = 64 << 20  # below this many uncompressed bytes the ratio is not enforced


DEFAULT = Limits()

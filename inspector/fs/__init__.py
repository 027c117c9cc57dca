"""The merged filesystem: what a container made from the image sees, rebuilt from its layers."""

from __future__ import annotations

from ..sources.interface import Image
from .entry import Entry
from .layer import ContentProbe, LayerTree, scan_layer
from .merge import MergedFS
from .node import Node

__all__ = ["ContentProbe", "Entry", "LayerTree", "MergedFS", "Node", "build_filesystem", "scan_layer"]


def build_filesystem(image: Image, probe: ContentProbe | None = None) -> MergedFS:
    """Scan every layer of ``image`` once, in one pass over its bytes, and merge them in order."""
    merged = MergedFS()
    for _info, tree in image.scan_layers(lambda stream: scan_layer(stream, probe)):
        merged.apply(tree)
    return merged

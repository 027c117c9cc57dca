"""``--layers``: each layer's index, diff ID, size, what it added, changed and removed, and the build
step (``created_by``) that wrote it, as dive shows them.

A layer's counts are measured against the layers below it, so the layers are merged here one by
one (a plain scan: no file contents are read) and each layer's tree is compared with the merged
view before it is laid over it: a name that was not there is added, one that was is changed, a
whiteout that hides something is a removal (an opaque directory counts each name it hides).
"""

from __future__ import annotations

from typing import Any

from ..errors import ImageFormatError
from ..fs import LayerScanner, MergedFS
from ..fs.layer import LayerTree
from ..fs.node import DIR, WHITEOUT, Node
from ..limits import DEFAULT, Limits
from ..sources.interface import Image
from .history import layer_created_by


def layer_rows(image: Image, limits: Limits = DEFAULT) -> tuple[list[dict[str, Any]], list[str]]:
    merged = MergedFS()
    rows: list[dict[str, Any]] = []
    for info, tree in image.scan_layers(LayerScanner(None, limits)):  # the entry limit counts over all layers
        if info.index + 1 > limits.max_layers:
            raise ImageFormatError(f"the image has more than {limits.max_layers:,} layers "
                                   "(raise the limit with --max-layers)", where=image.meta.reference)
        assert tree is not None
        added, changed, removed = compare_layer(tree, merged)
        rows.append({"index": info.index, "diff_id": info.diff_id, "size": tree.size, "entries": tree.entries,
                     "added": added, "changed": changed, "removed": removed})
        merged.apply(tree)
    created = layer_created_by(image.meta.config, len(rows))
    for row in rows:
        row["created_by"] = created[row["index"]]
    return rows, list(merged.warnings)


def compare_layer(tree: LayerTree, merged: MergedFS) -> tuple[int, int, int]:
    """``tree``'s (added, changed, removed) counts against ``merged``, the layers below it; the
    wasted-space report reuses it so its per-layer rows match ``--layers``."""
    added = changed = removed = 0
    stack: list[tuple[Node, Node | None]] = [(tree.root, merged.root)]
    while stack:
        upper, lower = stack.pop()
        below_children = lower.children if lower is not None and lower.kind == DIR else None
        if upper.opaque and below_children:
            hidden = [n for n in below_children if n not in (upper.children or {})]
            removed += len(hidden)
        for name, node in (upper.children or {}).items():
            below = below_children.get(name) if below_children else None
            if node.kind == WHITEOUT:
                removed += below is not None
                continue
            if below is None:
                added += 1
            else:
                changed += 1
            if node.kind == DIR:
                stack.append((node, below))
    return added, changed, removed

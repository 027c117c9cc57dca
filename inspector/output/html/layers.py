"""The layer bar (one segment per layer, width = its size) and the layer and wasted-space tables."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ...reports.wasted import WastedReport
from ..human import size as human_size
from .page import layer_colour, text
from .tables import Cell, cell, num, path_cell, size_cell, table

BAR_WIDTH, BAR_HEIGHT = 1000.0, 40.0
#: Width every segment gets whatever its size, so an empty layer still shows (and can be pointed at).
MIN_SEGMENT = 3.0
#: Characters of a build step shown in a tooltip or a table cell.
STEP_CHARS = 400
#: Layers listed in the layer table (the bar shows every one; --max-layers bounds them).
MAX_LAYER_ROWS = 300


def layer_bar(layers: Sequence[dict[str, Any]]) -> str:
    """An SVG bar: each layer a segment as wide as its share of the bytes, with a tooltip."""
    total = sum(max(int(layer["size"]), 0) for layer in layers)
    spare = BAR_WIDTH - MIN_SEGMENT * len(layers)
    scale = spare / total if total and spare > 0 else 0.0
    width_each = BAR_WIDTH / len(layers) if layers and spare <= 0 else None
    x = 0.0
    parts = [f"<svg class=\"bar\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {BAR_WIDTH:.0f} {BAR_HEIGHT:.0f}\""
             " preserveAspectRatio=\"none\" role=\"img\" aria-label=\"layers by size\">"]
    for layer in layers:
        width = width_each if width_each is not None else MIN_SEGMENT + max(int(layer["size"]), 0) * scale
        tip = (f"layer {layer['index']}: {human_size(layer['size'])} ({layer['size']:,} bytes), "
               f"+{layer['added']:,} ~{layer['changed']:,} -{layer['removed']:,} entries — "
               f"{text(layer.get('created_by') or 'build step unknown', STEP_CHARS)}")
        parts.append(f"<rect class=\"seg\" data-layer=\"{int(layer['index'])}\" data-bytes=\"{int(layer['size'])}\" "
                     f"x=\"{x:.2f}\" y=\"0\" width=\"{width:.2f}\" height=\"{BAR_HEIGHT:.0f}\" "
                     f"fill=\"{layer_colour(int(layer['index']))}\"><title>{tip}</title></rect>")
        x += width
    parts.append("</svg>")
    return "".join(parts)


def swatch(layer: int | None) -> str:
    return (f"<svg width=\"12\" height=\"12\" xmlns=\"http://www.w3.org/2000/svg\" aria-hidden=\"true\">"
            f"<rect width=\"12\" height=\"12\" fill=\"{layer_colour(layer)}\"></rect></svg>")


def legend(layers: Sequence[dict[str, Any]], limit: int = 40) -> str:
    indexes = [int(layer["index"]) for layer in layers[:limit]]
    items = "".join(f"<span>{swatch(index)}layer {index}</span>" for index in indexes)
    return f"<div class=\"legend\">{items}<span>{swatch(None)}other (too small to show)</span></div>"


def layer_table(layers: Sequence[dict[str, Any]]) -> str:
    rows: list[tuple[str, Sequence[Cell]]] = [("", [
        Cell(f"<td class=\"n\" data-v=\"{layer['index']:d}\">{swatch(int(layer['index']))} {layer['index']:d}</td>"),
        size_cell(layer["size"]), num(layer["added"]), num(layer["changed"]), num(layer["removed"]),
        size_cell(layer.get("wasted_written")), size_cell(layer.get("discarded")),
        cell(layer.get("created_by"), STEP_CHARS), _digest_cell(layer.get("diff_id")),
    ]) for layer in layers[:MAX_LAYER_ROWS]]
    return table(("layer", "size", "added", "changed", "removed", "its bytes wasted later", "it discarded",
                  "created by", "diff ID"), rows, numeric=(0, 1, 2, 3, 4, 5, 6))


def _digest_cell(digest: Any) -> Cell:
    """A digest's first 12 hex digits, the whole of it in the tooltip."""
    if not isinstance(digest, str):
        return cell(None)
    return Cell(f"<td class=\"p\" title=\"{text(digest, 200)}\">{text(digest[:19], 19)}</td>")


def wasted_table(report: WastedReport) -> str:
    rows: list[tuple[str, Sequence[Cell]]] = [("", [
        path_cell(row.path), size_cell(row.bytes), num(row.copies),
        cell(", ".join(str(i) for i in sorted(row.written_by)[:20])),
        cell(", ".join(str(i) for i in sorted(row.discarded_by)[:20])), cell(row.how),
    ]) for row in report.rows]
    return table(("path", "wasted", "copies", "written by layer", "discarded by layer", "how"), rows,
                 numeric=(1, 2))

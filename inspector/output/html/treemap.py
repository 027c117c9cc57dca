"""The treemap: a squarified layout (a pure function) and its SVG.

``squarify`` is the algorithm of Bruls, Huizing and van Wijk (2000): rectangles are laid in rows
along the shorter side of what is left, a row growing while its worst aspect ratio improves, so
boxes stay close to squares and their labels readable. Areas are exactly proportional to sizes
and tile the given rectangle (up to floating-point rounding).

The SVG nests a directory's children inside its rectangle (below a label strip), so zooming is a
change of ``viewBox`` to that rectangle: the page's script does it on a click, in a few lines.
Without script the map is still whole, every box with a ``<title>`` tooltip.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

from ...reports.treemap import Box
from ..human import size as human_size
from .page import layer_colour, text

WIDTH, HEIGHT = 1200, 700
#: Height of a directory's label strip, and the gap around its children.
LABEL, PAD = 14.0, 1.5
#: Approximate width of one label character at 11px.
CHAR_WIDTH = 6.4


class Rect(NamedTuple):
    x: float
    y: float
    w: float
    h: float


def squarify(sizes: Sequence[float], x: float, y: float, w: float, h: float) -> list[Rect]:
    """One rectangle per size, in the order given, tiling ``(x, y, w, h)`` with areas proportional
    to the sizes. Sizes of 0 (or less) get an empty rectangle at the corner."""
    rects = [Rect(x, y, 0.0, 0.0)] * len(sizes)
    total = sum(s for s in sizes if s > 0)
    if total <= 0 or w <= 0 or h <= 0:
        return rects
    order = sorted((i for i, s in enumerate(sizes) if s > 0), key=lambda i: -sizes[i])
    scale = w * h / total
    areas = [sizes[i] * scale for i in order]
    start = 0
    while start < len(order):
        side = min(w, h)
        end = start + 1
        while end < len(order) and _worst(areas[start:end + 1], side) <= _worst(areas[start:end], side):
            end += 1
        row = areas[start:end]
        thickness = sum(row) / (h if w >= h else w)
        if end == len(order):  # the last row takes what is left: what is left was computed with rounding
            thickness = w if w >= h else h
        offset = 0.0
        span = h if w >= h else w
        for k, area in enumerate(row):
            length = area / thickness if k < len(row) - 1 else span - offset  # the last one absorbs drift
            index = order[start + k]
            if w >= h:  # a column on the left
                rects[index] = Rect(x, y + offset, thickness, length)
            else:  # a row along the top
                rects[index] = Rect(x + offset, y, length, thickness)
            offset += length
        if w >= h:
            x, w = x + thickness, max(w - thickness, 0.0)
        else:
            y, h = y + thickness, max(h - thickness, 0.0)
        start = end
    return rects


def _worst(row: Sequence[float], side: float) -> float:
    """The largest aspect ratio in ``row`` laid along ``side``."""
    total = sum(row)
    return max(max(row) * side * side / (total * total), total * total / (side * side * min(row)))


def render(root: Box, describe_layer: Callable[[int | None], str], width: int = WIDTH, height: int = HEIGHT) -> str:
    """The SVG of ``root``'s boxes filling ``width`` × ``height``; the root itself is not drawn."""
    parts: list[str] = [f"<svg id=\"treemap\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {width} {height}\" "
                        f"width=\"{width}\" height=\"{height}\" data-bytes=\"{root.bytes}\" role=\"img\" "
                        "aria-label=\"treemap of sizes\">"]
    stack: list[tuple[Box, Rect] | str] = []
    children = root.children
    rects = squarify([c.bytes for c in children], 0, 0, width, height)
    stack.extend(reversed(list(zip(children, rects, strict=True))))
    while stack:  # iterative: a deep chain of directories must not exhaust the interpreter's stack
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
            continue
        box, rect = item
        tip = _tooltip(box, describe_layer)
        common = (f"x=\"{rect.x:.2f}\" y=\"{rect.y:.2f}\" width=\"{rect.w:.2f}\" height=\"{rect.h:.2f}\" "
                  f"fill=\"{layer_colour(box.layer)}\" data-bytes=\"{box.bytes}\" data-kind=\"{box.kind}\"")
        inner = Rect(rect.x + PAD, rect.y + LABEL + PAD, rect.w - 2 * PAD, rect.h - LABEL - 2 * PAD)
        if box.children and inner.w > 2 and inner.h > 2:
            parts.append(f"<g class=\"d\" data-box=\"{rect.x:.2f} {rect.y:.2f} {rect.w:.2f} {rect.h:.2f}\">"
                         f"<title>{tip}</title><rect {common} data-parent=\"1\"></rect>{_label(box, rect)}")
            stack.append("</g>")
            sub = squarify([c.bytes for c in box.children], inner.x, inner.y, inner.w, inner.h)
            stack.extend(reversed(list(zip(box.children, sub, strict=True))))
        else:
            parts.append(f"<rect {common}><title>{tip}</title></rect>{_label(box, rect)}")
    parts.append("</svg>")
    return "".join(parts)


def _tooltip(box: Box, describe_layer: Callable[[int | None], str]) -> str:
    files = f", {box.files:,} files" if box.kind != "file" else ""
    return (f"{text(box.path, 500)} — {human_size(box.bytes)} ({box.bytes:,} bytes{files})"
            f" — {text(describe_layer(box.layer), 300)}")


def _label(box: Box, rect: Rect) -> str:
    if rect.w < 24 or rect.h < 12:
        return ""
    fits = int((rect.w - 4) / CHAR_WIDTH)
    name = box.name if len(box.name) <= fits else box.name[:max(fits - 1, 1)] + "…"
    return f"<text x=\"{rect.x + 3:.2f}\" y=\"{rect.y + 11:.2f}\">{text(name, 200)}</text>"

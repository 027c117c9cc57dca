"""Where the bytes of the merged view go: directory sizes, and the layer that wrote them.

Why a separate tree: the merged view may hold millions of names, a page can show a few hundred
rectangles. ``size_boxes`` sums every directory once (iteratively, bottom up), then opens the
largest directories first until ``max_boxes`` boxes are chosen; each opened directory shows its
``max_children`` largest children and one "other" box for the rest, and nothing smaller than
``1 / min_share`` of the whole is opened or shown on its own. A box's bytes always equal the sum
of its children's, so areas laid out from them add up.

A directory's colour is the layer that wrote most of its bytes. A hardlinked inode counts once
(at the first of its names the tracker knows), as ``du`` counts it.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field

from ..fs import MergedFS
from ..fs.node import DIR, FILE, Node

#: Boxes (rectangles) one treemap may hold, whatever the image.
MAX_BOXES = 600
#: Children one opened directory shows before the rest become one "other" box.
MAX_CHILDREN = 40
#: A box smaller than the whole divided by this is neither opened nor shown on its own.
MIN_SHARE = 4000
#: Top-level directories listed side by side on the diff page.
MAX_TOP_DIRS = 40

SameInode = Callable[[Node], "list[Node] | None"]


@dataclass
class Box:
    """One rectangle: a directory, a file, or the children too small to show ("other")."""

    name: str
    path: str
    bytes: int
    kind: str  # "dir", "file" or "other"
    layer: int | None  # the layer that wrote it (a directory: most of its bytes); None for "other"
    files: int = 1
    children: list[Box] = field(default_factory=list)


@dataclass
class _Totals:
    bytes: int = 0
    files: int = 0
    by_layer: dict[int, int] = field(default_factory=dict)

    @property
    def layer(self) -> int | None:
        return max(self.by_layer.items(), key=lambda item: (item[1], -item[0]))[0] if self.by_layer else None


def _file_bytes(node: Node, same_inode: SameInode | None) -> int:
    if same_inode is not None:
        names = same_inode(node)
        if names and names[0] is not node:
            return 0
    return node.size


def directory_totals(fs: MergedFS, same_inode: SameInode | None = None) -> dict[int, _Totals]:
    """``id(directory node)`` → bytes, files and bytes per layer below it, every directory once."""
    order: list[Node] = []
    stack = [fs.root]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(child for child in (node.children or {}).values() if child.kind == DIR)
    totals: dict[int, _Totals] = {}
    for directory in reversed(order):  # children before parents
        total = _Totals()
        for child in (directory.children or {}).values():
            if child.kind == DIR:
                below = totals[id(child)]
                total.bytes += below.bytes
                total.files += below.files
                for layer, size in below.by_layer.items():
                    total.by_layer[layer] = total.by_layer.get(layer, 0) + size
            elif child.kind == FILE:
                size = _file_bytes(child, same_inode)
                total.bytes += size
                total.files += 1
                total.by_layer[child.layer.index] = total.by_layer.get(child.layer.index, 0) + size
        totals[id(directory)] = total
    return totals


def size_boxes(fs: MergedFS, same_inode: SameInode | None = None, max_boxes: int = MAX_BOXES,
               max_children: int = MAX_CHILDREN, min_share: int = MIN_SHARE) -> Box:
    """The root box, its largest directories opened first, at most ``max_boxes`` boxes in all."""
    totals = directory_totals(fs, same_inode)
    whole = totals[id(fs.root)]
    root = Box("/", "/", whole.bytes, "dir", whole.layer, whole.files)
    floor = whole.bytes / min_share
    tie = itertools.count()
    queue: list[tuple[int, int, Box, Node]] = [(-root.bytes, next(tie), root, fs.root)]
    used = 1
    while queue and used < max_boxes:
        _, _, box, node = heapq.heappop(queue)
        children: list[tuple[int, str, Node]] = []
        for name, child in (node.children or {}).items():
            if child.kind == DIR:
                size = totals[id(child)].bytes
            elif child.kind == FILE:
                size = _file_bytes(child, same_inode)
            else:
                continue
            if size > 0:
                children.append((size, name, child))
        room = min(max_children, max_boxes - used - 1)
        if room < 1:
            break
        shown = [c for c in heapq.nlargest(room, children, key=lambda c: (c[0], c[1])) if c[0] >= floor]
        if len(shown) == 1 and len(children) == 1 and node is not fs.root and children[0][2].kind == FILE:
            continue  # a directory holding one file: the directory's box says it all
        rest = len(children) - len(shown)
        base = "" if box.path == "/" else box.path
        for size, name, child in shown:
            if child.kind == DIR:
                sub = totals[id(child)]
                child_box = Box(name, f"{base}/{name}", size, "dir", sub.layer, sub.files)
                if size >= floor and child.children:
                    heapq.heappush(queue, (-size, next(tie), child_box, child))
            else:
                child_box = Box(name, f"{base}/{name}", size, "file", child.layer.index)
            box.children.append(child_box)
        if rest:
            left = box.bytes - sum(c.bytes for c in box.children)
            files = box.files - sum(c.files for c in box.children)
            box.children.append(Box(f"{rest:,} more", f"{base}/…", left, "other", None, files))
        used += len(box.children)
    return root


def top_level_sizes(fs: MergedFS, limit: int = MAX_TOP_DIRS) -> list[tuple[str, int]]:
    """``(/name, bytes)`` of the root's children (files included), largest first, at most ``limit``
    of them plus one ``…`` row for the rest."""
    totals = directory_totals(fs)
    sizes: list[tuple[str, int]] = []
    for name, child in (fs.root.children or {}).items():
        if child.kind == DIR:
            sizes.append((f"/{name}", totals[id(child)].bytes))
        elif child.kind == FILE:
            sizes.append((f"/{name}", child.size))
    sizes.sort(key=lambda item: (-item[1], item[0]))
    if len(sizes) > limit:
        rest = sizes[limit:]
        sizes = sizes[:limit] + [(f"… {len(rest):,} more", sum(size for _, size in rest))]
    return sizes

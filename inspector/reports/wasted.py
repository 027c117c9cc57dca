"""Wasted space: bytes a layer wrote that a later layer overwrote or deleted, and what each layer did.

Why here and not from the merged view: once merged, an overwritten file is gone. So a
``LayerTracker`` looks at each layer's own tree just before it is laid over the layers below
(``see``), and walks it exactly as ``MergedFS.apply`` will: every lower node the upper layer
replaces, hides (an opaque directory) or whites out is discarded, with its whole subtree.

Counting: each discarded copy of a regular file counts its size once; the copy that survives in
the merged view is never counted ("copies minus the one kept"). A file written by layers 0, 1
and 2 wastes the bytes of copies 0 and 1; a file written by layer 0 and deleted by layer 1
wastes one copy. Names of one hardlinked inode count once, and only when the last of them is
discarded (while one name survives, the data does). dive's ``wastedBytes`` instead adds every
copy of a path seen in two layers or more, the kept one included, and counts a whiteout as the
size of what it deletes, so an overwrite counts twice and a deletion counts twice (README,
"HTML report").

Rows are aggregated per path; the report keeps the ``MAX_ROWS`` largest, with totals over all.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass, field
from typing import Any

from ..fs import MergedFS
from ..fs.layer import LayerTree
from ..fs.node import DIR, FILE, WHITEOUT, Node
from ..fs.paths import normalize
from .layers import compare_layer  # the --layers counts, computed the same way

#: Rows of the wasted-space table: the largest paths by wasted bytes.
MAX_ROWS = 100

OVERWRITTEN, DELETED, HIDDEN = "overwritten", "deleted", "hidden by an opaque directory"


@dataclass
class WastedPath:
    """One path whose copies were discarded: how many, their bytes, who wrote and who discarded them."""

    path: str
    bytes: int = 0
    copies: int = 0  # regular-file copies discarded at or below this path
    written_by: set[int] = field(default_factory=set)  # layer indexes of the discarded copies
    discarded_by: set[int] = field(default_factory=set)
    how: str = OVERWRITTEN

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "bytes": self.bytes, "copies": self.copies,
                "written_by": sorted(self.written_by), "discarded_by": sorted(self.discarded_by), "how": self.how}


@dataclass
class LayerStats:
    """What one layer did, as ``--layers`` counts it, plus its share of the waste."""

    index: int
    size: int
    entries: int
    added: int
    changed: int
    removed: int
    wasted_written: int = 0  # bytes this layer wrote that a later layer discarded
    discarded: int = 0  # bytes of lower layers this layer discarded


@dataclass
class WastedReport:
    total: int
    copies: int
    paths: int  # paths with a discarded copy (rows before the cut)
    rows: list[WastedPath]  # the MAX_ROWS largest, largest first
    layers: list[LayerStats]


class LayerTracker:
    """Call ``see(tree, merged)`` for each layer, bottom first, before ``merged.apply(tree)``."""

    def __init__(self) -> None:
        self.layers: list[LayerStats] = []
        self._paths: dict[str, WastedPath] = {}
        #: id(node) → the live names of its hardlinked inode (the list keeps the nodes, so ids stay theirs)
        self._inodes: dict[int, list[Node]] = {}

    def see(self, tree: LayerTree, merged: MergedFS) -> None:
        index = merged.layers
        added, changed, removed = compare_layer(tree, merged)
        stats = LayerStats(index, tree.size, tree.entries, added, changed, removed)
        self.layers.append(stats)
        self._walk(tree.root, merged.root, stats)
        self._group_hardlinks(tree)

    def _group_hardlinks(self, tree: LayerTree) -> None:
        """Note the names of each hardlinked inode this layer wrote. Found from ``hardlink_to`` (the
        source's path in the same layer), which a tree answered from the cache keeps too."""
        stack = [tree.root]
        while stack:
            node = stack.pop()
            for child in (node.children or {}).values():
                if child.kind == DIR:
                    stack.append(child)
                elif child.kind == FILE and child.hardlink_to is not None:
                    source = tree.lookup(normalize(child.hardlink_to))
                    if source is None or source.kind != FILE or source is child:
                        continue
                    self._join(source, child)

    def _join(self, a: Node, b: Node) -> None:
        group_a, group_b = self._inodes.get(id(a)), self._inodes.get(id(b))
        if group_a is None:
            group_a = self._inodes[id(a)] = [a]
        if group_b is group_a:
            return
        for node in group_b or [b]:
            group_a.append(node)
            self._inodes[id(node)] = group_a

    def same_inode(self, node: Node) -> list[Node] | None:
        """Every live name of ``node``'s inode when it is a hardlink, else None (for the treemap)."""
        return self._inodes.get(id(node))

    def _walk(self, upper_root: Node, lower_root: Node, stats: LayerStats) -> None:
        """Mirror ``MergedFS.apply``: the same decisions, noting what each one discards."""
        stack: list[tuple[Node, Node, str]] = [(upper_root, lower_root, "")]
        while stack:
            upper, lower, path = stack.pop()
            below_children = lower.children
            if not below_children or upper.children is None:
                continue
            for name, node in upper.children.items():
                below = below_children.get(name)
                if below is None:
                    continue
                child_path = f"{path}/{name}"
                if node.kind == WHITEOUT:
                    self._discard(below, child_path, DELETED, stats)
                elif node.kind == DIR and below.kind == DIR and not node.opaque:
                    stack.append((node, below, child_path))
                else:
                    self._discard(below, child_path, HIDDEN if node.kind == DIR and below.kind == DIR
                                  else OVERWRITTEN, stats)

    def _discard(self, node: Node, path: str, how: str, stats: LayerStats) -> None:
        row: WastedPath | None = None
        stack = [node]
        while stack:
            current = stack.pop()
            if current.kind == DIR:
                stack.extend((current.children or {}).values())
                continue
            if current.kind != FILE:
                continue
            size = self._bytes_freed(current)
            if size < 0:
                continue  # another name of this inode is still in the view: no copy was discarded
            if row is None:
                row = self._paths.get(path)
                if row is None:
                    row = self._paths[path] = WastedPath(path)
                row.how = how
                row.discarded_by.add(stats.index)
            row.copies += 1
            row.bytes += size
            row.written_by.add(current.layer.index)
            stats.discarded += size
            if 0 <= current.layer.index < len(self.layers):
                self.layers[current.layer.index].wasted_written += size

    def _bytes_freed(self, node: Node) -> int:
        """A file's size, or -1 while another name of its hardlinked inode is still in the view."""
        names = self._inodes.pop(id(node), None)
        if names is None:
            return node.size
        names[:] = [n for n in names if n is not node]
        return node.size if not names else -1

    def report(self, max_rows: int = MAX_ROWS) -> WastedReport:
        found = [row for row in self._paths.values() if row.copies]
        rows = heapq.nlargest(max_rows, found, key=lambda r: (r.bytes, r.copies))
        return WastedReport(total=sum(r.bytes for r in found), copies=sum(r.copies for r in found),
                            paths=len(found), rows=rows, layers=self.layers)

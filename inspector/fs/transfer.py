"""A layer's tree as bytes for another process of ours, and back: how a scan done by a helper
process reaches the process that merges (``parallel``).

Unlike the cache's format (``fs.cache.encode_tree``) these bytes never touch a disk and never come
from anyone but our own helper, over its pipe: a pickle of plain values (strings, ints, arrays,
tuples, dicts, and the probe's own content objects), so nothing is re-validated here. What came
from the image inside them is exactly what the scan kept, checked and bounded by the scan.

The nodes are columns, parents first, each node naming its parent by position: a tree 10,000 levels
deep is a list like any other (a recursive pickle of nodes would overflow the stack). The numbers
travel as flat arrays, in chunks each unpickled on its own, so unpacking a layer holds no column as
long as the layer (freed, such columns leave heap holes a long-lived process keeps). Contents
shared by hardlinks stay shared (pickle keeps one object for every reference to it). A number an
array cannot hold raises ``OverflowError`` in ``pack``: that layer is then read by the merging
process itself.
"""

from __future__ import annotations

import io
import mmap
import pickle
from array import array
from sys import intern
from typing import IO, Any

from .collector import collector_paused
from .layer import _MAX_SHARED_INTS, LayerTree
from .node import BLOCK, CHAR, DIR, FIFO, FILE, PENDING_LINK, SYMLINK, WHITEOUT, Node, _stamp

#: Every kind a layer's node may have, by its code in the ``kinds`` column.
KINDS = (FILE, DIR, SYMLINK, CHAR, BLOCK, FIFO, WHITEOUT, PENDING_LINK)
_CODE = {kind: code for code, kind in enumerate(KINDS)}


#: Nodes per chunk: each chunk is one pickle of its own, unpickled and made into nodes before the
#: next is read, so the short-lived columns of a layer are a chunk's (about 300 KB), not its whole
#: (about 8 MB per 100,000 nodes, which left that much heap in holes for good).
CHUNK = 4096


def pack(tree: LayerTree) -> bytes:
    """``tree`` as bytes ``unpack`` turns back into an equal tree (scan-time state aside)."""
    out = io.BytesIO()
    root = tree.root
    contents = _contents(root)
    _dump((tree.entries, tree.size, root.mode, root.uid, root.gid, root.mtime, root._extra, list(contents.values())),
          out)
    where = {key: position for position, key in enumerate(contents)}  # id of a content → its position
    chunk = _Chunk(where)
    position = {id(root): -1}
    stack = [root]
    count = 0
    while stack:
        node = stack.pop()
        parent = position[id(node)]
        for name, child in (node.children or {}).items():
            chunk.add(parent, name, child)
            if child.children is not None:
                position[id(child)] = count
                stack.append(child)
            count += 1
            if len(chunk.names) == CHUNK:
                _dump(chunk.columns(), out)
                chunk = _Chunk(where)
    if chunk.names:
        _dump(chunk.columns(), out)
    _dump(None, out)
    return out.getvalue()


def _dump(part: Any, out: IO[bytes]) -> None:
    """One part, one pickle with a memo of its own: one memo over all would keep every chunk alive
    until the last is read (the contents, which chunks share, are a part of their own)."""
    pickle.dump(part, out, protocol=pickle.HIGHEST_PROTOCOL)


def _contents(root: Node) -> dict[int, Any]:
    """Every distinct content object below ``root`` (hardlinks share one), by id, in a fixed order."""
    found: dict[int, Any] = {}
    stack = [root]
    while stack:
        for child in (stack.pop().children or {}).values():
            if child.content is not None and id(child.content) not in found:
                found[id(child.content)] = child.content
            if child.children is not None:
                stack.append(child)
    return found


class _Chunk:
    """The columns of up to ``CHUNK`` nodes, in the order ``pack`` meets them."""

    def __init__(self, where: dict[int, int]) -> None:
        self.where = where
        self.parents, self.modes, self.mtimes, self.contents = array("q"), array("q"), array("q"), array("q")
        self.uids, self.gids, self.sizes = array("Q"), array("Q"), array("Q")
        self.kinds = bytearray()
        self.names: list[str] = []
        self.extras: list[tuple[Any, ...] | None] = []
        self.no_mtime: list[int] = []  # positions in the chunk whose mtime is None (an array holds no None)

    def add(self, parent: int, name: str, node: Node) -> None:
        _, uid, gid = node._stamp
        if node.mtime is None:
            self.no_mtime.append(len(self.names))
        self.names.append(name)
        self.parents.append(parent)
        self.kinds.append(_CODE[node.kind])
        self.modes.append(node.mode)
        self.uids.append(uid)
        self.gids.append(gid)
        self.sizes.append(node.size)
        self.mtimes.append(0 if node.mtime is None else node.mtime)
        self.extras.append(node._extra)
        self.contents.append(-1 if node.content is None else self.where[id(node.content)])

    def columns(self) -> tuple[Any, ...]:
        return (self.names, self.parents, bytes(self.kinds), self.modes, self.uids, self.gids, self.sizes,
                self.mtimes, self.no_mtime, self.extras, self.contents)


def unpack(data: bytes | mmap.mmap) -> LayerTree:
    """The tree ``pack`` wrote, with a layer slot of its own."""
    with collector_paused():  # a million new objects and no cycles among them
        return _unpack(data)


def _unpack(data: bytes | mmap.mmap) -> LayerTree:
    stream = io.BytesIO(data) if isinstance(data, bytes) else data
    tree = LayerTree()
    root = tree.root
    head = pickle.load(stream)  # noqa: S301 - our own helper's bytes, over its own pipe
    tree.entries, tree.size, root_mode, root_uid, root_gid, root.mtime, root._extra, contents = head
    root.mode, root._stamp = root_mode, _stamp(tree.slot, root_uid, root_gid)
    slot = tree.slot
    stamps: dict[tuple[int, int], tuple[Any, int, int]] = {}  # (uid, gid) → the layer's stamp, bounded
    ints: dict[int, int] = {}  # one object per distinct mode and mtime, as the scan keeps them, bounded
    directories: dict[int, Node] = {-1: root}  # by position: the parents named by later nodes
    new = Node.__new__
    count = 0
    while (columns := pickle.load(stream)) is not None:  # noqa: S301
        names, parents, kinds, modes, uids, gids, sizes, mtimes, no_mtime, extras, positions = columns
        unset = set(no_mtime)
        for here, (name, parent, code, mode, uid, gid, size, mtime, extra, content) in enumerate(
                zip(names, parents, kinds, modes, uids, gids, sizes, mtimes, extras, positions, strict=True)):
            node = new(Node)
            kind = KINDS[code]
            if len(ints) < _MAX_SHARED_INTS:  # a hostile layer of a million distinct times: a bounded table
                mode, mtime = ints.setdefault(mode, mode), ints.setdefault(mtime, mtime)
            else:
                mode, mtime = ints.get(mode, mode), ints.get(mtime, mtime)
            node.kind, node.mode, node.size = kind, mode, size
            node.mtime = None if unset and here in unset else mtime
            stamp = stamps.get((uid, gid))
            if stamp is None:
                stamp = _stamp(slot, uid, gid)
                if len(stamps) < _MAX_SHARED_INTS:
                    stamps[(uid, gid)] = stamp
            node._stamp = stamp
            node.content, node._extra = None if content < 0 else contents[content], extra
            if kind == DIR:
                node.children = {}
                directories[count + here] = node
            else:
                node.children = None
            directories[parent].children[intern(name)] = node  # type: ignore[index]  # one copy of each name, as the scan keeps
        count += len(names)
    return tree

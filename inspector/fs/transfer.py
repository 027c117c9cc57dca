"""A layer's tree as bytes for another process of ours, and back: how a scan done by a helper
process reaches the process that merges (``parallel``).

Unlike the cache's format (``fs.cache.encode_tree``) these bytes never touch a disk and never come
from anyone but our own helper, over its pipe: a pickle of plain values (strings, ints, arrays,
tuples, dicts, and the probe's own content objects), so nothing is re-validated here. What came
from the image inside them is exactly what the scan kept, checked and bounded by the scan.

The nodes are columns, parents first, each node naming its parent by position: a tree 10,000 levels
deep is a list like any other (a recursive pickle of nodes would overflow the stack). They travel
in chunks each unpickled on its own, so unpacking a layer holds no column as long as the layer
(freed, such columns leave heap holes a long-lived process keeps). A node's kind, mode, time and
owner go as its shape, a position in its chunk's table of distinct shapes; its size in a flat
array. Contents shared by hardlinks stay shared (each is sent once and named by its position). A
size an array cannot hold raises ``OverflowError`` in ``pack``: that layer is then read by the
merging process itself.
"""

from __future__ import annotations

import io
import mmap
import pickle
from array import array
from sys import intern
from typing import Any

from .collector import collector_paused
from .layer import LayerTree, owner_stamp, shared_ints
from .node import BLOCK, CHAR, DIR, FIFO, FILE, PENDING_LINK, SYMLINK, WHITEOUT, LayerSlot, Node, _stamp

#: Every kind a layer's node may have, by its code in a shape.
KINDS = (FILE, DIR, SYMLINK, CHAR, BLOCK, FIFO, WHITEOUT, PENDING_LINK)
_CODE = {kind: code for code, kind in enumerate(KINDS)}


#: Nodes per chunk: each chunk is one pickle of its own, unpickled and made into nodes before the
#: next is read, so the short-lived columns of a layer are a chunk's (about 300 KB), not its whole
#: (about 8 MB per 100,000 nodes, which left that much heap in holes for good).
CHUNK = 4096
assert CHUNK <= 1 << 16, "a chunk's shapes are named by 16-bit positions"


def pack(tree: LayerTree) -> bytes:
    """``tree`` as bytes ``unpack`` turns back into an equal tree (scan-time state aside).

    Directory by directory, parents first: a directory's names and nodes join the columns whole
    (a list's ``extend``, not an append per node), and one comprehension finds its subdirectories.
    Contents are numbered as they are met, so the chunks are pickled first and written after the
    head that lists the contents."""
    root = tree.root
    contents: list[Any] = []
    where: dict[int, int] = {}  # id of a content → its position in ``contents``
    chunks: list[bytes] = []
    names: list[str] = []
    parents = array("q")
    nodes: list[Node] = []
    position = {id(root): -1}
    stack = [root]
    count = 0
    while stack:
        node = stack.pop()
        children = node.children
        if not children:
            continue
        kids = list(children.values())
        names += children
        nodes += kids
        parents += array("q", (position[id(node)],)) * len(kids)
        for offset in [offset for offset, child in enumerate(kids) if child.children is not None]:
            child = kids[offset]
            position[id(child)] = count + offset
            stack.append(child)
        count += len(kids)
        if len(names) >= CHUNK:  # whole chunks out, the rest kept (a directory may hold a million names)
            cut = len(names) // CHUNK * CHUNK
            for at in range(0, cut, CHUNK):
                chunks.append(_pickled(_columns(names[at:at + CHUNK], parents[at:at + CHUNK], nodes[at:at + CHUNK],
                                                where, contents)))
            del names[:cut], parents[:cut], nodes[:cut]
    if names:
        chunks.append(_pickled(_columns(names, parents, nodes, where, contents)))
    head = (tree.entries, tree.size, root.mode, root.uid, root.gid, root.mtime, root._extra, contents)
    return b"".join([_pickled(head), *chunks, _pickled(None)])


def _pickled(part: Any) -> bytes:
    """One part, one pickle with a memo of its own: one memo over all would keep every chunk alive
    until the last is read (the contents, which chunks share, are a part of their own)."""
    return pickle.dumps(part, protocol=pickle.HIGHEST_PROTOCOL)


def _columns(names: list[str], parents: array[int], nodes: list[Node], where: dict[int, int],
             contents: list[Any]) -> tuple[Any, ...]:
    """Up to ``CHUNK`` nodes as columns. A layer's nodes have few shapes (kind, mode, time and
    owner together): a chunk sends a table of its distinct shapes and a column of 16-bit positions
    in it (a chunk has at most 65,536 nodes), so the unpacking side makes one object per distinct
    value, not one per node. Sizes go as an array of 64-bit numbers (``OverflowError`` past that,
    see the module)."""
    shapes, shape_at = _table([(_CODE[node.kind], node.mode, node.mtime, node._stamp) for node in nodes])
    shapes = [(code, mode, mtime, stamp[1], stamp[2]) for code, mode, mtime, stamp in shapes]  # the slot: theirs
    sizes = array("Q", [node.size for node in nodes])
    found = [node.content for node in nodes]
    for content in found:
        if content is not None and id(content) not in where:  # hardlinks share one: it goes once
            where[id(content)] = len(contents)
            contents.append(content)
    at = array("q", [-1 if content is None else where[id(content)] for content in found])
    return names, parents, shapes, shape_at, sizes, [node._extra for node in nodes], at


def _table(values: list[Any]) -> tuple[list[Any], array[int]]:
    """The distinct ``values`` in order of appearance, and each value's position among them."""
    positions: dict[Any, int] = {}
    position = positions.setdefault
    at = array("H", [position(value, len(positions)) for value in values])  # a new value: the next position
    return list(positions), at


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
        names, parents, shapes, shape_at, sizes, extras, positions = columns
        made = [_shape(shape, slot, ints, stamps) for shape in shapes]
        for here, (name, parent, shape, size, extra, content) in enumerate(
                zip(names, parents, shape_at, sizes, extras, positions, strict=True)):
            node = new(Node)
            kind, node.mode, node.mtime, node._stamp = made[shape]
            node.kind, node.size = kind, size
            node.content, node._extra = None if content < 0 else contents[content], extra
            if kind == DIR:
                node.children = {}
                directories[count + here] = node
            else:
                node.children = None
            directories[parent].children[intern(name)] = node  # type: ignore[index]  # one copy of each name, as the scan keeps
        count += len(names)
    return tree


def _shape(shape: tuple[int, int, int | None, int, int], slot: LayerSlot, ints: dict[int, int],
           stamps: dict[tuple[int, int], tuple[LayerSlot, int, int]]) -> tuple[str, int, int | None, Any]:
    """A shape as nodes take it: the kind's word, the layer's one object for the mode and for the
    time (``ints``, bounded as the scan's table is; None, an implied directory's time, stays
    None), and the layer's stamp for the owner (``stamps``, bounded)."""
    code, mode, mtime, uid, gid = shape
    mode, mtime = shared_ints(ints, mode, mtime)
    return KINDS[code], mode, mtime, stamps.get((uid, gid)) or owner_stamp(stamps, slot, (uid, gid))

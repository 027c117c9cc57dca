"""One name in a filesystem tree, kept small because images hold millions of them."""

from __future__ import annotations

from typing import Any, Generic, TypeVar

T = TypeVar("T")

FILE, DIR, SYMLINK, CHAR, BLOCK, FIFO = "file", "dir", "symlink", "char", "block", "fifo"
#: Only inside a single layer's tree: hides the same name in lower layers (overlay's 0/0 char device).
WHITEOUT = "whiteout"
#: Only inside a single layer's tree: a hardlink whose source is not in its own layer; the merge
#: resolves it against the layers below.
PENDING_LINK = "pending-link"


class LayerSlot:
    """The position of the layer that wrote a node, shared by all of that layer's nodes.

    One-pass sources scan layers before they know the stack order; the merge fills in ``index``.
    """

    __slots__ = ("index",)

    def __init__(self, index: int = -1) -> None:
        self.index = index

    def __repr__(self) -> str:
        return f"layer {self.index}"


NO_LAYER = LayerSlot(-1)
_NO_EXTRA: tuple[Any, ...] = (None, None, None, None, False)


class _Rare(Generic[T]):
    """One of the attributes few nodes have, kept in the node's ``_extra`` tuple at ``index``; a node
    that has none of them has no tuple (setting the default to a node without one makes none).
    Setting one makes a new tuple, so copies of a node share it safely: one 80-byte object where a
    list took two (its object and its items), 112 bytes."""

    __slots__ = ("default", "index")

    def __init__(self, index: int, default: T) -> None:
        self.index, self.default = index, default

    def __get__(self, node: Node, owner: type | None = None) -> T:
        extra = node._extra
        return self.default if extra is None else extra[self.index]

    def __set__(self, node: Node, value: T) -> None:
        extra = node._extra
        if extra is None:
            if value is None or value is False:
                return
            extra = _NO_EXTRA
        node._extra = extra[:self.index] + (value,) + extra[self.index + 1:]


#: ``(layer, uid, gid)`` triples already made, so the nodes sharing one share one tuple: an image
#: has few owners per layer. Bounded (emptied when full), so a hostile image of all-different owners
#: costs a tuple per node, never an unbounded table.
_STAMPS: dict[tuple[LayerSlot, int, int], tuple[LayerSlot, int, int]] = {}
_MAX_STAMPS = 4096


def _stamp(layer: LayerSlot, uid: int, gid: int) -> tuple[LayerSlot, int, int]:
    key = (layer, uid, gid)
    stamp = _STAMPS.get(key)
    if stamp is None:
        if len(_STAMPS) >= _MAX_STAMPS:
            _STAMPS.clear()
        stamp = _STAMPS[key] = key
    return stamp


class _Stamped(Generic[T]):
    """One part of a node's shared ``(layer, uid, gid)`` stamp; setting it takes another stamp."""

    __slots__ = ("index",)

    def __init__(self, index: int) -> None:
        self.index = index

    def __get__(self, node: Node, owner: type | None = None) -> T:
        value: T = node._stamp[self.index]  # type: ignore[assignment]  # the part this descriptor names
        return value

    def __set__(self, node: Node, value: T) -> None:
        parts: list[Any] = list(node._stamp)
        parts[self.index] = value
        node._stamp = _stamp(*parts)


class Node:
    """A file, directory, link or device: the attributes a tar header carries, plus where it came from.

    ``content`` is shared by every hardlink to the same data, so a link keeps its data when the
    name it was linked to is removed later, as on a real filesystem.

    What few nodes have (a symlink's ``target``, a hardlink's ``hardlink_to``, ``xattrs``, a
    device's ``rdev``, a layer directory's ``opaque`` mark) shares one slot, ``_extra``, None for
    every other node: 32 bytes less per node, 32 MB on an image of a million files. The layer that
    wrote the node and its owner share another, ``_stamp``, one tuple for all the nodes of a layer
    with the same owner: eight slots make a 96-byte object where ten made 112 (objects are sized in
    steps of 16 bytes), 15 MB less on that image. The attributes read per node by every walk
    (``kind``, ``mode``, ``children``, ``content``, ``size``) keep slots of their own.
    """

    __slots__ = ("_extra", "_stamp", "children", "content", "kind", "mode", "mtime", "size")

    def __init__(
        self,
        kind: str,
        mode: int = 0o755,
        uid: int = 0,
        gid: int = 0,
        size: int = 0,
        mtime: int | None = None,
        layer: LayerSlot = NO_LAYER,
        stamp: tuple[LayerSlot, int, int] | None = None,
    ) -> None:
        """``stamp``: another node's ``(layer, uid, gid)`` to share, in place of those three."""
        self.kind = kind
        self.mode = mode
        self._stamp = _stamp(layer, uid, gid) if stamp is None else stamp
        self.size = size
        self.mtime = mtime
        self.children: dict[str, Node] | None = {} if kind == DIR else None
        self.content: Any = None
        self._extra: tuple[Any, ...] | None = None  # (target, hardlink_to, xattrs, rdev, opaque) once one is set

    #: The layer that wrote this node, and its owner: the three parts of ``_stamp``.
    layer: _Stamped[LayerSlot] = _Stamped(0)
    uid: _Stamped[int] = _Stamped(1)
    gid: _Stamped[int] = _Stamped(2)

    #: A symlink's target, as stored.
    target: _Rare[str | None] = _Rare(0, None)
    #: The absolute path this name was hardlinked to in its layer.
    hardlink_to: _Rare[str | None] = _Rare(1, None)
    xattrs: _Rare[dict[str, bytes] | None] = _Rare(2, None)
    #: (major, minor) of a character or block device.
    rdev: _Rare[tuple[int, int] | None] = _Rare(3, None)
    #: In a layer's own tree: the directory hides everything below it (``.wh..wh..opq``).
    opaque: _Rare[bool] = _Rare(4, False)

    def take_attributes(self, other: Node) -> None:
        """Become ``other`` except for children: what applying a directory over a directory does."""
        self.mode, self._stamp = other.mode, other._stamp
        self.mtime, self.xattrs = other.mtime, other.xattrs

    def __repr__(self) -> str:
        return f"Node({self.kind}, {self.mode:04o}, {self.uid}:{self.gid}, {self.layer})"


def copy_children(source: Node, target: Node, layer: LayerSlot | None = None) -> None:
    """Copy every node below ``source`` into the directory ``target`` (iterative: trees go 10,000
    levels deep). Contents, xattrs and targets are shared: they never
    change once read. ``layer``: the slot every copy gets; None keeps each node's own."""
    stack = [(source, target)]
    restamped: dict[int, tuple[LayerSlot, int, int]] = {}  # id of a stamp → the copies' stamp
    while stack:
        here, there = stack.pop()
        if here.children is None:
            continue
        assert there.children is not None
        for name, child in here.children.items():
            stamp = child._stamp
            if layer is not None:
                key = id(stamp)  # the stamp is alive (``child`` holds it) for as long as this map
                new = restamped.get(key)
                if new is None:
                    new = restamped[key] = _stamp(layer, stamp[1], stamp[2])
                stamp = new
            twin = Node(child.kind, child.mode, 0, 0, child.size, child.mtime, NO_LAYER, stamp)
            twin.content = child.content
            twin._extra = child._extra  # shared: setting an attribute replaces the tuple
            there.children[name] = twin
            if child.children is not None:
                stack.append((child, twin))


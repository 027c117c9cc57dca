"""One name in a filesystem tree, kept small because images hold millions of them."""

from __future__ import annotations

from typing import Any

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


class Node:
    """A file, directory, link or device: the attributes a tar header carries, plus where it came from.

    ``content`` is shared by every hardlink to the same data, so a link keeps its data when the
    name it was linked to is removed later, as on a real filesystem.
    """

    __slots__ = (
        "kind", "mode", "uid", "gid", "size", "mtime", "target", "hardlink_to",
        "xattrs", "layer", "children", "opaque", "rdev", "content",
    )

    def __init__(
        self,
        kind: str,
        mode: int = 0o755,
        uid: int = 0,
        gid: int = 0,
        size: int = 0,
        mtime: int | None = None,
        layer: LayerSlot = NO_LAYER,
    ) -> None:
        self.kind = kind
        self.mode = mode
        self.uid = uid
        self.gid = gid
        self.size = size
        self.mtime = mtime
        self.layer = layer
        self.target: str | None = None
        self.hardlink_to: str | None = None
        self.xattrs: dict[str, bytes] | None = None
        self.children: dict[str, Node] | None = {} if kind == DIR else None
        self.opaque = False
        self.rdev: tuple[int, int] | None = None
        self.content: Any = None

    def take_attributes(self, other: Node) -> None:
        """Become ``other`` except for children: what applying a directory over a directory does."""
        self.mode, self.uid, self.gid = other.mode, other.uid, other.gid
        self.mtime, self.xattrs, self.layer = other.mtime, other.xattrs, other.layer

    def __repr__(self) -> str:
        return f"Node({self.kind}, {self.mode:04o}, {self.uid}:{self.gid}, {self.layer})"


def copy_children(source: Node, target: Node, layer: LayerSlot | None = None) -> int:
    """Copy every node below ``source`` into the directory ``target`` (iterative: trees go 10,000
    levels deep); returns how many were made. Contents, xattrs and targets are shared: they never
    change once read. ``layer``: the slot every copy gets; None keeps each node's own."""
    made = 0
    stack = [(source, target)]
    while stack:
        here, there = stack.pop()
        if here.children is None:
            continue
        assert there.children is not None
        for name, child in here.children.items():
            twin = Node(child.kind, child.mode, child.uid, child.gid, child.size, child.mtime,
                        child.layer if layer is None else layer)
            twin.target, twin.hardlink_to, twin.xattrs = child.target, child.hardlink_to, child.xattrs
            twin.rdev, twin.content, twin.opaque = child.rdev, child.content, child.opaque
            there.children[name] = twin
            made += 1
            if child.children is not None:
                stack.append((child, twin))
    return made


"""The merged filesystem: layer trees laid over each other as the overlay driver does.

At every name the upper layer wins. Two directories merge (the upper one's attributes win) unless
the upper one is opaque; a whiteout hides the name below; anything else replaces what was below,
dropping a whole subtree when a directory is replaced. Verified entry for entry against
``docker export`` by the engine-parity tests.
"""

from __future__ import annotations

from typing import Iterator

from .entry import Entry
from .layer import LayerTree, copy_link_source
from .node import DIR, FILE, PENDING_LINK, SYMLINK, WHITEOUT, Node
from .paths import normalize, to_absolute

MAX_SYMLINK_HOPS = 40  # as Linux's MAXSYMLINKS

#: A path as a linked list of names, leaf first: O(1) to extend however deep the tree is.
_Trail = "tuple[str, _Trail] | None"


def _trail_path(trail: "tuple[str, object] | None") -> str:
    names: list[str] = []
    while trail is not None:
        names.append(trail[0])
        trail = trail[1]  # type: ignore[assignment]
    return "/" + "/".join(reversed(names))


class MergedFS:
    """The filesystem a container made from the image would see, before anything runs in it."""

    def __init__(self) -> None:
        self.root = Node(DIR)
        self.layers = 0
        self.size = 0  # bytes of all layer tars, uncompressed: what `docker images` calls the size
        self.warnings: list[str] = []

    # building -------------------------------------------------------------------------------
    def apply(self, layer: LayerTree) -> None:
        """Lay the next layer (upper) over what is merged so far."""
        layer.slot.index = self.layers
        self.size += layer.size
        stack: list[tuple[Node, Node, _Trail]] = [(self.root, layer.root, None)]
        while stack:  # iterative: 10,000-level deep trees must not exhaust the stack
            lower, upper, trail = stack.pop()
            children = lower.children
            assert children is not None and upper.children is not None
            for name, node in upper.children.items():
                below = children.get(name)
                if node.kind == WHITEOUT:
                    if below is not None:
                        del children[name]
                elif node.kind == DIR and below is not None and below.kind == DIR and not node.opaque:
                    below.take_attributes(node)
                    stack.append((below, node, (name, trail)))
                else:
                    children[name] = self._settle(node, (name, trail))
        self.layers += 1

    def _settle(self, node: Node, trail: _Trail) -> Node:
        """Make an upper node final: nothing below it remains to hide, and its links resolve."""
        if node.kind == PENDING_LINK:
            return self._resolve_pending_link(node, trail)
        stack = [(node, trail)] if node.kind == DIR else []
        while stack:
            directory, where = stack.pop()
            directory.opaque = False
            kids = directory.children
            assert kids is not None
            for name in [n for n, child in kids.items() if child.kind == WHITEOUT]:
                del kids[name]
            for name, child in kids.items():
                if child.kind == PENDING_LINK:
                    kids[name] = self._resolve_pending_link(child, (name, where))
                elif child.kind == DIR:
                    stack.append((child, (name, where)))
        return node

    def _resolve_pending_link(self, node: Node, trail: _Trail) -> Node:
        """A hardlink to a lower layer's file: the containerd store allows it, overlay2 refuses it."""
        assert node.hardlink_to is not None
        source = self.lookup(node.hardlink_to, follow=False)
        if source is None or source.kind in (DIR, PENDING_LINK):
            self.warnings.append(f"{_trail_path(trail)}: hardlink to {node.hardlink_to}, "
                                 "which is not in the image; kept as an empty file")
            node.kind = FILE
            return node
        link = copy_link_source(source, node.layer)
        link.hardlink_to = node.hardlink_to
        return link

    def clone(self) -> "MergedFS":
        """An independent copy (content facts are shared: they never change once read)."""
        copy = MergedFS()
        copy.layers, copy.size, copy.warnings = self.layers, self.size, list(self.warnings)
        stack = [(self.root, copy.root)]
        while stack:
            source, target = stack.pop()
            target.take_attributes(source)
            if source.children is None:
                continue
            assert target.children is not None
            for name, child in source.children.items():
                twin = Node(child.kind, child.mode, child.uid, child.gid, child.size, child.mtime, child.layer)
                twin.target, twin.hardlink_to, twin.xattrs = child.target, child.hardlink_to, child.xattrs
                twin.rdev, twin.content = child.rdev, child.content
                target.children[name] = twin
                if child.children is not None:
                    stack.append((child, twin))
        return copy

    # reading --------------------------------------------------------------------------------
    def lookup(self, path: str, follow: bool = True) -> Node | None:
        """The node at ``path``, following symlinks inside the image (never outside it)."""
        found = self.resolve(path, follow_last=follow)
        return found[1] if found else None

    def resolve(self, path: str, follow_last: bool = True) -> tuple[str, Node] | None:
        """Resolve ``path`` like the kernel would with the image as root: ``(real path, node)``.

        Absolute symlink targets restart at the image root and ``..`` stops at it, so nothing ever
        escapes the image. A loop or a chain longer than 40 links resolves to None.
        """
        pending = list(normalize(path))
        pending.reverse()
        where: list[tuple[str, Node]] = []
        node = self.root
        hops = 0
        while pending:
            part = pending.pop()
            if part == "..":
                if where:
                    where.pop()
                node = where[-1][1] if where else self.root
                continue
            if node.kind != DIR or node.children is None:
                return None
            child = node.children.get(part)
            if child is None:
                return None
            if child.kind == SYMLINK and (pending or follow_last):
                hops += 1
                if hops > MAX_SYMLINK_HOPS:
                    return None
                target = child.target or ""
                if target.startswith("/"):
                    where, node = [], self.root
                for step in reversed([p for p in target.split("/") if p not in ("", ".")]):
                    pending.append(step)
                continue
            where.append((part, child))
            node = child
        return to_absolute(tuple(p for p, _ in where)), node

    def walk(self, prefix: str = "/") -> Iterator[tuple[str, Node]]:
        """Every entry at or below ``prefix`` (not the root itself), sorted by path."""
        parts = normalize(prefix)
        node = self.root
        for part in parts:
            if node.children is None or part not in node.children:
                return
            node = node.children[part]
        if parts:
            yield to_absolute(parts), node
        yield from _walk_children(to_absolute(parts).rstrip("/"), node)

    def entries(self, prefix: str = "/") -> Iterator[Entry]:
        """The public view of ``walk``: ``Entry`` objects in the ``--files`` schema."""
        for path, node in self.walk(prefix):
            yield Entry.of(path, node)

    def count(self) -> int:
        """How many entries the merged view holds (the root excluded)."""
        return sum(1 for _ in self.walk())


def _walk_children(path: str, node: Node) -> Iterator[tuple[str, Node]]:
    """Depth first, names sorted: a directory is followed by its contents. Iterative, so a
    10,000-level deep tree cannot exhaust the interpreter's stack."""
    stack: list[Iterator[tuple[str, Node]]] = [_sorted_children(path, node)]
    while stack:
        for child_path, child in stack[-1]:
            yield child_path, child
            if child.children:
                stack.append(_sorted_children(child_path, child))
                break
        else:
            stack.pop()


def _sorted_children(path: str, node: Node) -> Iterator[tuple[str, Node]]:
    children = node.children or {}
    return ((f"{path}/{name}", children[name]) for name in sorted(children))

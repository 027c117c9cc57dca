"""The merged filesystem: layer trees laid over each other as the overlay driver does.

At every name the upper layer wins. Two directories merge (the upper one's attributes win) unless
the upper one is opaque; a whiteout hides the name below; anything else replaces what was below,
dropping a whole subtree when a directory is replaced. Verified entry for entry against
``docker export`` by the engine-parity tests.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from .entry import Entry
from .layer import LayerTree, copy_link_source
from .node import DIR, FILE, PENDING_LINK, SYMLINK, WHITEOUT, Node, copy_children
from .paths import normalize, to_absolute

MAX_SYMLINK_HOPS = 40  # as Linux's MAXSYMLINKS
#: Linux refuses to create a symlink whose target is PATH_MAX bytes or longer (ENAMETOOLONG), so
#: the engine cannot extract one: such a link never resolves.
PATH_MAX = 4096

#: A path as a linked list of names, leaf first: O(1) to extend however deep the tree is.
_Trail = tuple[str, Any] | None


#: A resolved position as a linked list, innermost directory first: ``(name, node, parent)``; None is
#: the root. ``..`` is its parent, O(1), and remembered resolutions share their prefixes.
_Where = tuple[str, Node, Any] | None
#: A link and where following it leads (None: nowhere), as ``_walk`` remembers it.
_Through = tuple[Node, "tuple[int, _Where, Node] | None"]


#: What a walk ends with: ``(links followed, where, node)``, or None when the path leads nowhere.
_Resolved = tuple[int, _Where, Node] | None


class _Frame:
    """One walk in progress: the top-level path (``link`` None) or the target of ``link``."""

    __slots__ = ("follow_last", "hops", "link", "pending", "where")

    def __init__(self, link: Node | None, where: _Where, pending: list[str], follow_last: bool) -> None:
        self.link, self.where, self.pending, self.follow_last, self.hops = link, where, pending, follow_last, 0


def _where_path(where: _Where) -> str:
    names: list[str] = []
    while where is not None:
        names.append(where[0])
        where = where[2]
    return "/" + "/".join(reversed(names))


def _trail_path(trail: _Trail) -> str:
    names: list[str] = []
    while trail is not None:
        names.append(trail[0])
        trail = trail[1]
    return "/" + "/".join(reversed(names))


class MergedFS:
    """The filesystem a container made from the image would see, before anything runs in it."""

    def __init__(self) -> None:
        self.root = Node(DIR)
        self.layers = 0
        self.size = 0  # bytes of all layer tars, uncompressed: what `docker images` calls the size
        self.warnings: list[str] = []
        #: ``_walk``'s memory of each link's resolution; None while layers are being merged (the tree changes).
        self._links: dict[int, _Through] | None = {}

    # building -------------------------------------------------------------------------------
    def apply(self, layer: LayerTree) -> None:
        """Lay the next layer (upper) over what is merged so far."""
        layer.slot.index = self.layers
        self._links = None  # the tree changes below: nothing resolved before holds, nor during
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
        self._links = {}

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

    def clone(self) -> MergedFS:
        """An independent copy (content facts are shared: they never change once read)."""
        copy = MergedFS()
        copy.layers, copy.size, copy.warnings = self.layers, self.size, list(self.warnings)
        copy.root.take_attributes(self.root)
        copy_children(self.root, copy.root)
        return copy

    # reading --------------------------------------------------------------------------------
    def lookup(self, path: str, follow: bool = True) -> Node | None:
        """The node at ``path``, following symlinks inside the image (never outside it)."""
        found = self.resolve(path, follow_last=follow)
        return found[1] if found else None

    def resolve(self, path: str, follow_last: bool = True) -> tuple[str, Node] | None:
        """Resolve ``path`` like the kernel would with the image as root: ``(real path, node)``.

        Absolute symlink targets restart at the image root and ``..`` stops at it, so nothing ever
        escapes the image. A loop, a chain of more than 40 links, or a link the kernel could not hold
        (a target past PATH_MAX, or with a NUL byte) resolves to None.

        Bounded time however the links are made: each link's target is walked once per merged view
        (memoised, see ``_walk``), so a path costs its own components plus, the first time only,
        those of the links it crosses. Without that, one 900 kB ``../../..`` target named by 2,000
        PATH entries cost minutes.
        """
        links = self._links if self._links is not None else {}  # during a merge: this call only
        found = self._walk(list(reversed(normalize(path))), follow_last, links)
        if found is None:
            return None
        _, where, node = found
        return _where_path(where), node

    def _walk(self, pending: list[str], follow_last: bool, links: dict[int, _Through]) -> _Resolved:
        """Walk ``pending`` (a stack, next name last) from the root: ``(links followed, where, node)``.

        A link met for the first time is resolved from zero, in a frame of its own that walks its
        target (from the root when absolute, else from the link's directory), and remembered in
        ``links`` with how many links it took, itself included. Exact, not an approximation: a node
        has one place in the tree, so its target always starts from the same directory, and the
        counts add up, so the 40-hop limit applies to the whole resolution as the kernel applies it.
        A link needed again while its own target is being walked can never resolve (it needs
        itself), nor can any link that needs it. Iterative: link chains nest as deep as they like.
        """
        frame = _Frame(None, None, pending, follow_last)
        stack: list[_Frame] = []
        active: set[int] = set()
        while True:
            outcome, needed = self._advance(frame, links, active)
            if needed is not None:  # a link not resolved yet: resolve it first, then retry the name
                target = needed.target or ""
                if len(target) >= PATH_MAX or "\x00" in target:
                    links[id(needed)] = (needed, None)
                    continue
                parts = [p for p in target.split("/") if p not in ("", ".")]
                parts.reverse()
                stack.append(frame)
                active.add(id(needed))
                frame = _Frame(needed, None if target.startswith("/") else frame.where, parts, True)
                continue
            if frame.link is None:
                return outcome
            result = None if outcome is None or outcome[0] >= MAX_SYMLINK_HOPS else \
                (outcome[0] + 1, outcome[1], outcome[2])
            links[id(frame.link)] = (frame.link, result)  # the entry keeps the link, so its id stays unique
            active.discard(id(frame.link))
            frame = stack.pop()

    def _advance(self, frame: _Frame, links: dict[int, _Through],
                 active: set[int]) -> tuple[_Resolved, Node | None]:
        """Walk ``frame`` until it ends (``(outcome, None)``) or meets a link not resolved yet
        (``(None, link)``, with the link's name pushed back to retry)."""
        where, pending, hops = frame.where, frame.pending, frame.hops
        node = where[1] if where is not None else self.root
        try:
            while pending:
                part = pending.pop()
                if part == "..":
                    where = where[2] if where is not None else None
                    node = where[1] if where is not None else self.root
                    continue
                if node.kind != DIR or node.children is None:
                    return None, None
                child = node.children.get(part)
                if child is None:
                    return None, None
                if child.kind == SYMLINK and (pending or frame.follow_last):
                    known = links.get(id(child))
                    if known is None:
                        if id(child) in active:
                            return None, None
                        pending.append(part)
                        return None, child
                    through = known[1]
                    if through is None:
                        return None, None
                    hops += through[0]
                    if hops > MAX_SYMLINK_HOPS:
                        return None, None
                    _, where, node = through
                    continue
                where = (part, child, where)
                node = child
            return (hops, where, node), None
        finally:
            frame.where, frame.hops = where, hops

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

    def select(self, keep: Callable[[str, Node], bool]) -> Iterator[tuple[str, Node]]:
        """The entries of ``walk()`` for which ``keep(name, node)`` is true, in the same order.

        One loop, and a path made only for what is kept and for directories: the reports that look
        for a few kinds of file (executables, Java homes, world-writable files) walk every entry of
        every image, and the generators of ``walk`` cost more than their own tests.
        """
        top = self.root.children or {}
        stack: list[tuple[str, dict[str, Node], Iterator[str]]] = [("", top, iter(sorted(top)))]
        while stack:
            path, children, names = stack[-1]
            for name in names:
                node = children[name]
                if keep(name, node):
                    yield f"{path}/{name}", node
                if node.children:
                    stack.append((f"{path}/{name}", node.children, iter(sorted(node.children))))
                    break
            else:
                stack.pop()

    def entries(self, prefix: str = "/") -> Iterator[Entry]:
        """The public view of ``walk``: ``Entry`` objects in the ``--files`` schema."""
        for path, node in self.walk(prefix):
            yield Entry.of(path, node)

    def count(self, below: Node | None = None) -> int:
        """How many entries the merged view holds below ``below`` (the root by default), not
        counting it: no paths made, nothing sorted."""
        total = 0
        stack = [self.root if below is None else below]
        while stack:
            children = stack.pop().children
            if children:
                total += len(children)
                stack.extend(child for child in children.values() if child.children)
        return total


def walk_pair(a: MergedFS, b: MergedFS, prefix: str = "/") -> Iterator[tuple[str, Node | None, Node | None]]:
    """``a.walk(prefix)`` and ``b.walk(prefix)`` side by side: each path of either, in the order both
    walk it, with its node in ``a`` and in ``b`` (None where that view has no such name). Nothing is
    held but the directories being walked (``diff --all`` of two views of a million entries each
    held every path of both in dicts before). Iterative, as ``walk``."""
    parts = normalize(prefix)
    left: Node | None = a.root
    right: Node | None = b.root
    for part in parts:
        left = (left.children or {}).get(part) if left is not None else None
        right = (right.children or {}).get(part) if right is not None else None
    if left is None and right is None:
        return
    base = to_absolute(parts).rstrip("/")
    if parts:
        yield to_absolute(parts), left, right
    stack = [_paired_children(base, left, right)]
    while stack:
        for path, here, there in stack[-1]:
            yield path, here, there
            if (here is not None and here.children) or (there is not None and there.children):
                stack.append(_paired_children(path, here, there))
                break
        else:
            stack.pop()


def _paired_children(path: str, left: Node | None, right: Node | None
                     ) -> Iterator[tuple[str, Node | None, Node | None]]:
    mine = (left.children if left is not None else None) or {}
    theirs = (right.children if right is not None else None) or {}
    names = sorted(mine.keys() | theirs.keys()) if theirs and mine else sorted(mine or theirs)
    return ((f"{path}/{name}", mine.get(name), theirs.get(name)) for name in names)


def _walk_children(path: str, node: Node) -> Iterator[tuple[str, Node]]:
    """Depth first, names sorted: a directory is followed by its contents. Iterative, so a
    10,000-level deep tree cannot exhaust the interpreter's stack; one generator, each directory
    a sorted list of its names (a generator per directory cost a resumption per entry)."""
    top = node.children or {}
    stack: list[tuple[str, dict[str, Node], Iterator[str]]] = [(path, top, iter(sorted(top)))]
    while stack:
        base, children, names = stack[-1]
        for name in names:
            child = children[name]
            child_path = f"{base}/{name}"
            yield child_path, child
            below = child.children
            if below:
                stack.append((child_path, below, iter(sorted(below))))
                break
        else:
            stack.pop()

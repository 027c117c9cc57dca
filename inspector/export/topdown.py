"""``cat`` from a source that can read any one layer alone (a registry): top layers first, no more than needed.

Why: from a registry every layer read is a download, and the file asked for usually lives in the
top layers (the application on its base). Reading the stack from the top, the answer is known as
soon as the layers read so far resolve the path on their own.

Why that is exact: let P be the merge of the top layers read so far (by the very merge code that
builds the full view, ``MergedFS.apply``). If following the path through P finds a node at every
step (every directory, every symlink, the final node), the layers below cannot change any of them:
a lower layer only adds what an upper one does not name (an upper directory merges with or replaces
whatever is below it, keeping the children it names; an upper file, link or device replaces what
is below), so every name found in P is found in the full view with the same node, and symlinks
resolve the same way. So the answer is final when P resolves the path to a file whose bytes come
from a layer of P (a hardlink that P could not resolve is not final: its source may be lower),
or to something that is not a file (the same error as the full view gives). Anything else (the
path or a component missing from P: a lower layer may supply it; whiteouts and opaque directories
only ever remove lower names, so they are never needed to decide) reads the next layer down.

Every layer read is hashed and checked as in any scan; layers never read are never trusted for
anything. After ``TRIES`` layers without an answer, the rest of the stack is read at once (each
earlier attempt re-merges copies of the few layers read, so that stays cheap; the whole stack is
merged from the trees themselves, copying nothing).
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from ..fs import LayerScanner, check_declared_layers, check_layer_count
from ..fs.layer import LayerTree
from ..fs.links import follow
from ..fs.merge import MergedFS
from ..fs.node import DIR, FILE, Node
from ..limits import DEFAULT, Limits
from ..sources.interface import Image, LayerInfo
from .origins import Origin, origin_probe

TRIES = 3


@runtime_checkable
class ReadsOneLayer(Protocol):
    """A source that can scan one layer of its stack alone (``RegistryImage``)."""

    def scan_one(self, info: LayerInfo, scanner: LayerScanner) -> LayerTree: ...


def merged_for_path(image: Image, path: str, limits: Limits = DEFAULT) -> MergedFS | None:
    """A merged view that answers for ``path`` exactly as the full view would, reading as few layers as it
    can from the top; None when ``image`` cannot read its layers one by one."""
    if not isinstance(image, ReadsOneLayer):
        return None
    check_declared_layers(image, limits)
    image.verification.hash_layers = True
    layers = image.meta.layers
    scanner = LayerScanner(origin_probe, limits)
    read: list[LayerTree] = []  # top first, never merged themselves (a merge takes its layers apart)
    while len(read) < len(layers):
        batch = 1 if len(read) < TRIES else len(layers) - len(read)
        for _ in range(batch):
            info = layers[len(layers) - 1 - len(read)]
            check_layer_count(len(read) + 1, limits, image)
            read.append(image.scan_one(info, scanner))
        whole = len(read) == len(layers)
        merged = _merge(read, layers[len(layers) - len(read):], keep=not whole)
        if whole or _final(merged, path, layers[len(layers) - len(read)].index):
            return merged
    return _merge(read, layers, keep=False)  # an image without layers


def _merge(read: list[LayerTree], infos: list[LayerInfo], keep: bool) -> MergedFS:
    """The merge of ``read``; ``keep``: merge copies, as a later attempt merges these trees again
    (the last merge, of the whole stack, takes the trees themselves: nothing reads them after)."""
    merged = MergedFS()
    trees = list(reversed(read))  # bottom first, as ``infos``
    for tree in trees:
        merged.apply(_copy(tree) if keep else tree)
    for tree, info in zip(trees, infos, strict=True):
        tree.slot.index = info.index  # the merge numbered them from 0: the copies share the slot
    return merged


def _final(merged: MergedFS, path: str, lowest: int) -> bool:
    node = follow(merged, path).node
    if node is None:
        return False
    if node.kind != FILE:
        return True
    return isinstance(node.content, Origin) and node.content.layer >= lowest


def _copy(tree: LayerTree) -> LayerTree:
    """A copy of ``tree`` to merge (iterative: trees may be 10,000 levels deep); content facts are shared."""
    twin = LayerTree()
    twin.slot, twin.size, twin.entries = tree.slot, tree.size, tree.entries
    twin.root = _node(tree.root)
    stack: list[tuple[Node, Node]] = [(tree.root, twin.root)]
    while stack:
        source, target = stack.pop()
        assert source.children is not None and target.children is not None
        for name, child in source.children.items():
            copy = _node(child)
            target.children[name] = copy
            if child.children is not None:
                stack.append((child, copy))
    return twin


def _node(source: Node) -> Node:
    copy = Node(source.kind, source.mode, source.uid, source.gid, source.size, source.mtime, source.layer)
    copy.target, copy.hardlink_to, copy.xattrs = source.target, source.hardlink_to, source.xattrs
    copy.rdev, copy.content, copy.opaque = source.rdev, source.content, source.opaque
    if source.kind == DIR and source.children is None:
        copy.children = None
    return copy

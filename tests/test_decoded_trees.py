"""Decoded layer trees kept in an audit worker's memory (``fs.cache.DecodedTrees``).

The next image on the same base gets a copy of the tree decoded before: the copy must be exactly
what decoding the entry again gives, whatever the previous image's merge did to its own copy, and
the memory must never answer for an entry whose bytes changed since.
"""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from inspector.fs.cache import BadEntry, DecodedTrees, LayerCache, decode_tree, encode_tree
from inspector.fs.layer import LayerTree, scan_layer
from inspector.fs.merge import MergedFS
from inspector.reports import FACTS_CODEC
from inspector.reports.facts import probe
from testdata.imagebuilder import E, layer_tar

DIFF_ID = "sha256:" + "ab" * 32

#: Every kind of node a layer tree holds: hardlinks sharing content, a whiteout, an opaque
#: directory, a hardlink to a lower layer (pending), xattrs, a device, a symlink.
LAYER = [
    E("etc/", "dir"),
    E("etc/os-release", data=b"ID=debian\n"),
    E("bin/", "dir"),
    E("bin/tool", data=b"#!/bin/sh\necho hi\n", mode=0o755, xattrs={"security.capability": b"\x01\x02"}),
    E("bin/tool2", "hardlink", target="bin/tool"),
    E("bin/sh", "symlink", target="tool"),
    E("dev/", "dir"),
    E("dev/null", "char", devmajor=1, devminor=3),
    E("var/", "dir"),
    E("var/.wh.gone", data=b""),
    E("opt/", "dir"),
    E("opt/.wh..wh..opq", data=b""),
    E("opt/new", data=b"x"),
    E("usr/", "dir"),
    E("usr/lower-link", "hardlink", target="usr/lib/from-below"),
]
BELOW = [E("usr/", "dir"), E("usr/lib/", "dir"), E("usr/lib/from-below", data=b"lower"),
         E("var/", "dir"), E("var/gone", data=b"g"), E("opt/", "dir"), E("opt/old", data=b"o")]


def _scan(entries: list[E]) -> LayerTree:
    return scan_layer(io.BytesIO(layer_tar(entries)), probe)


def _stored(tmp_path: Path, decoded: DecodedTrees | None) -> LayerCache:
    cache = LayerCache(tmp_path / "cache", decoded=decoded)
    cache.put(DIFF_ID, FACTS_CODEC, _scan(LAYER))
    return cache


def _tree(cache: LayerCache) -> LayerTree:
    entry = cache.entry(DIFF_ID, FACTS_CODEC.name)
    assert entry is not None
    tree = cache.tree(entry, FACTS_CODEC)
    assert tree is not None
    return tree


def _merged_files(top: LayerTree) -> list[tuple[str, str, int, str | None]]:
    merged = MergedFS()
    merged.apply(_scan(BELOW))
    merged.apply(top)
    return [(path, node.kind, node.mode, node.target) for path, node in merged.walk()] + \
        [("warnings", str(merged.warnings), 0, None)]


def test_each_image_gets_a_copy_as_good_as_a_fresh_decode(tmp_path: Path) -> None:
    decoded = DecodedTrees()
    cache = _stored(tmp_path, decoded)
    fresh = _merged_files(_tree(LayerCache(tmp_path / "cache")))  # no memory: decoded from the file
    first = _tree(cache)
    assert decoded.nodes > 0, "the decoded tree is kept"
    assert _merged_files(first) == fresh
    for _ in range(3):  # each merge moves nodes out of its tree and fills in its slot
        again = _tree(cache)
        assert again.slot is not first.slot and again.slot.index == -1
        assert encode_tree(again, FACTS_CODEC) == encode_tree(_tree(LayerCache(tmp_path / "cache")), FACTS_CODEC)
        assert _merged_files(again) == fresh
    copy = _tree(cache)  # not merged: as the scan left it
    tool = copy.lookup(("bin", "tool"))
    link = copy.lookup(("bin", "tool2"))
    assert tool is not None and link is not None and tool.content is link.content, \
        "hardlinks still share one content in a copy"
    assert copy.lookup(("opt",)).opaque  # type: ignore[union-attr]


def test_an_entry_rewritten_since_is_decoded_again(tmp_path: Path) -> None:
    decoded = DecodedTrees()
    cache = _stored(tmp_path, decoded)
    assert _tree(cache).lookup(("bin", "tool")) is not None
    cache.put(DIFF_ID, FACTS_CODEC, _scan([E("other", data=b"o")]))  # another worker's entry, say
    tree = _tree(cache)
    assert tree.lookup(("bin", "tool")) is None and tree.lookup(("other",)) is not None


def test_a_tampered_entry_is_not_answered_from_memory(tmp_path: Path) -> None:
    decoded = DecodedTrees()
    cache = _stored(tmp_path, decoded)
    _tree(cache)
    path = next((tmp_path / "cache" / "layers").iterdir())
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    path.write_bytes(bytes(data))
    assert cache.entry(DIFF_ID, FACTS_CODEC.name) is None, "the seal no longer matches: the layer is read"
    assert not path.exists()


def test_the_memory_is_bounded_oldest_out(tmp_path: Path) -> None:
    tree = _scan(LAYER)
    nodes = encode_tree(tree, FACTS_CODEC)[1]
    decoded = DecodedTrees(max_nodes=2 * nodes)
    for seal in ("a", "b", "c"):
        decoded.put(seal, "codec", _scan(LAYER), nodes)
    assert decoded.nodes == 2 * nodes
    assert decoded.get("a", "codec") is None, "the oldest went first"
    assert decoded.get("b", "codec") is not None and decoded.get("c", "codec") is not None
    too_big = DecodedTrees(max_nodes=nodes - 1)
    too_big.put("a", "codec", _scan(LAYER), nodes)
    assert too_big.nodes == 0 and too_big.get("a", "codec") is None


def test_decode_still_refuses_what_it_did_not_write() -> None:
    with pytest.raises(BadEntry):
        decode_tree(b'{"entries": 1}', FACTS_CODEC)


def test_a_tree_ten_thousand_levels_deep_is_kept_copied_and_selected(tmp_path: Path) -> None:
    """A hostile layer nests directories as deep as the limits allow: keeping, copying and the
    reports' filtered walk are iterative, never recursion."""
    from inspector.fs.node import DIR, FILE, Node

    tree = LayerTree()
    here = tree.root
    for _ in range(10_000):
        child = Node(DIR, layer=tree.slot)
        here.children["d"] = child  # type: ignore[index]
        here = child
    here.children["x"] = Node(FILE, 0o755, layer=tree.slot)  # type: ignore[index]
    tree.entries = 10_001
    cache = LayerCache(tmp_path / "cache", decoded=DecodedTrees())
    cache.put(DIFF_ID, FACTS_CODEC, tree)
    _tree(cache)
    copy = _tree(cache)  # from memory this time
    merged = MergedFS()
    merged.apply(copy)
    found = list(merged.select(lambda name, node: node.kind == FILE))
    assert [path.count("/d") for path, _ in found] == [10_000]
    assert merged.count() == 10_001


def _nodes(tree: LayerTree) -> list[tuple[str, object]]:
    found, stack = [], [tree.root]
    while stack:
        for name, child in (stack.pop().children or {}).items():
            found.append((name, child))
            stack.append(child)
    return found


def test_a_decoded_tree_shares_its_modes_times_and_names_as_a_scanned_one_does() -> None:
    """From the cache, every node had int objects of its own for its mode and time, and names of its
    own: a million entries from the cache peaked at 316 MB where a scan peaks at 199 MB."""
    import sys

    layer = [E("d/", "dir")] + [E(f"d/s{i % 50}/", "dir") for i in range(50)]
    layer += [E(f"d/s{i % 50}/same-name-{i % 7}-{i // 350}", data=b"#!/bin/sh\n" if i % 3 else b"x",
                mode=0o755 if i % 2 else 0o644) for i in range(2_000)]
    tree = _scan(layer)
    back = decode_tree(encode_tree(tree, FACTS_CODEC)[0], FACTS_CODEC)
    nodes = _nodes(back)
    assert len(nodes) == len(_nodes(tree)) == 2_051
    modes = {id(node.mode) for _, node in nodes}  # type: ignore[attr-defined]
    times = {id(node.mtime) for _, node in nodes}  # type: ignore[attr-defined]
    assert len(modes) == len({node.mode for _, node in nodes}) == 2  # type: ignore[attr-defined]  # 0o755, 0o644
    assert len(times) == 1
    assert len({id(node.kind) for _, node in nodes}) == 2  # type: ignore[attr-defined]  # "dir", "file": 53 MB a million
    assert all(name is sys.intern(name) for name, _ in nodes)
    facts = [node.content for _, node in nodes if node.content is not None]  # type: ignore[attr-defined]
    assert facts and len({id(f.kind) for f in facts}) == len({f.kind for f in facts})


def test_a_decoded_tree_of_more_distinct_times_than_the_shared_table_is_whole() -> None:
    """The table of shared ints is bounded (a hostile entry of a million distinct times shares none
    past it): the values past it are all there, and equal to what was stored."""
    layer = [E("d/", "dir")] + [E(f"d/f{i}", data=b"x", mode=0o600 + (i % 64), mtime=1_000_000 + i)
                                for i in range(5_000)]
    tree = _scan(layer)
    back = decode_tree(encode_tree(tree, FACTS_CODEC)[0], FACTS_CODEC)
    want = {name: (node.mode, node.mtime) for name, node in _nodes(tree)}  # type: ignore[attr-defined]
    assert {name: (node.mode, node.mtime) for name, node in _nodes(back)} == want  # type: ignore[attr-defined]

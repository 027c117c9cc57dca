"""Property-based tests of the merged filesystem against a small, independent model of overlay2.

Hypothesis generates random layer stacks -- files, directories, symlinks, fifos, hardlinks to files
written earlier in the same layer, whiteouts of names that may or may not exist below, opaque
markers, names from a three-letter alphabet so that they collide all the time, parents that are
sometimes listed and sometimes only implied, setuid/setgid/sticky modes -- and checks what
``scan_layer`` + ``MergedFS.apply`` rebuild against ``Model``, written here from the engine's rules
without looking at how ``inspector.fs`` implements them:

1. each layer on its own, as moby's ``archive.Unpack`` (overlay2's ``ApplyDiff``) writes it into an
   empty directory, one header after the other: a missing parent becomes a 0755 root directory --
   2755 when the directory it is made in is setgid at that moment (mkdir(2) inherits S_ISGID; the
   layer root counts, and a ``/`` entry sets its mode, while ``./`` and ``.`` are skipped); a name
   that exists is removed (subtree and all) and written again unless both are directories, in
   which case the new header's mode and owner are applied to the existing directory; a hardlink
   is a new name for the source's inode, and the link header's owner and mode are then applied to
   that inode, so to every name of it; symlinks are always 0777; ``.wh.NAME`` becomes a 0/0 char
   device (a "whiteout") at NAME and ``.wh..wh..opq`` marks its directory opaque;
2. the layers stacked as overlayfs shows them, bottom first: a whiteout hides the name and its
   subtree; a directory over a directory merges (the upper one's attributes win) unless the upper
   one is opaque, which hides every lower child; anything else replaces (dropping a subtree).

``strict`` stacks stay inside what ``docker load`` accepts: no path twice in a layer (tar-split
refuses duplicates), no name below a non-directory the same layer wrote (ENOTDIR), no whiteout of a
name the same layer wrote (mknod: EEXIST), no listed directory removed later in its layer (its
mtime is set last: chtimes fails). ``lenient`` stacks also hold those hand-made cases, which the
reader accepts: duplicates follow the unpacking rules above (as extracting the tar would), whatever
stands where a parent directory must be is replaced by a new parent directory, and a whiteout
replaces whatever the layer wrote at its name.

The model was checked against ``docker load`` + ``docker create`` + ``docker export`` (Docker
20.10.24, overlay2): 1,000 random strict stacks gave exactly the model's view (type, mode, owner,
size, target of every path), and so did the 56 of 300 lenient stacks that the engine loads.
"""

from __future__ import annotations

import io
import itertools
import json
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

import inspector
from inspector.fs import MergedFS, scan_layer
from inspector.output import renderer
from testdata.imagebuilder import E, ImageSpec, layer_tar, write_docker_archive, write_oci_layout

# ---------------------------------------------------------------------------------------------
# the model
# ---------------------------------------------------------------------------------------------

WH = ".wh."
OPQ = ".wh..wh..opq"


#: What imagebuilder writes when an ``E`` gives no mode (the tar header's mode field).
DEFAULT_MODES = {"file": 0o644, "dir": 0o755, "symlink": 0o777, "hardlink": 0o644, "fifo": 0o644}


def norm(name: str) -> tuple[str, ...]:
    """``./a/``, ``/a``, ``a//b`` → names below the root (the generator writes no ``..``)."""
    return tuple(p for p in name.split("/") if p not in ("", "."))


def absolute(parts: tuple[str, ...]) -> str:
    return "/" + "/".join(parts)


@dataclass
class M:
    """One name as the model sees it."""

    kind: str  # file, dir, symlink, fifo, whiteout
    mode: int
    uid: int
    gid: int
    size: int = 0
    target: str | None = None
    hardlink_to: str | None = None
    inode: int = 0  # names sharing an inode (hardlinks) share this number
    opaque: bool = False
    layer: int = -1

    def view(self) -> tuple:
        return (self.kind, self.mode, self.uid, self.gid, self.size, self.target, self.hardlink_to, self.layer)


def _drop(tree: dict[tuple, M], path: tuple, keep_self: bool = False) -> None:
    """Remove ``path`` and everything below it (only what is below with ``keep_self``)."""
    n = len(path)
    for p in [p for p in tree if p[:n] == path and (len(p) > n or not keep_self)]:
        del tree[p]


class LayerModel:
    """One layer unpacked into an empty directory, header after header."""

    def __init__(self) -> None:
        self.tree: dict[tuple, M] = {}
        self.root_mode = 0o755  # the layer's own (empty) directory, as the driver creates it
        self._inodes = itertools.count(1)

    # what the generator asks, to stay inside what the engine accepts -----------------------
    def parents_ok(self, parts: tuple) -> bool:
        """Every proper ancestor is a directory of this layer or not written by it."""
        for i in range(1, len(parts)):
            e = self.tree.get(parts[:i])
            if e is not None and e.kind != "dir":
                return False
        return True

    def files(self) -> list[tuple]:
        return sorted(p for p, e in self.tree.items() if e.kind == "file")

    # unpacking ---------------------------------------------------------------------------
    def _make_parents(self, parts: tuple) -> None:
        """MkdirAll(0755, root) of the parent; lenient: a non-directory in the way is replaced.

        mkdir(2) in a setgid directory makes a setgid directory (and the later chown to root keeps
        the bit), so a created parent is 2755 when the directory it is created in is setgid at
        that moment: a directory of this layer, or the layer's root after a ``/`` entry.
        """
        for i in range(1, len(parts) + 1):
            p = parts[:i]
            e = self.tree.get(p)
            if e is None or e.kind != "dir":
                _drop(self.tree, p)
                inherited = (self.tree[p[:-1]].mode if len(p) > 1 else self.root_mode) & 0o2000
                self.tree[p] = M("dir", 0o755 | inherited, 0, 0, inode=next(self._inodes))

    def apply(self, e: E) -> None:
        parts = norm(e.path)
        if not parts:
            # Unpack skips "." ("./", "."), but "/" is applied to the layer's root directory
            if e.path.startswith("/"):
                self.root_mode = (DEFAULT_MODES[e.type] if e.mode is None else e.mode) & 0o7777
            return
        base = parts[-1]
        if base == OPQ:
            self._make_parents(parts[:-1])
            if parts[:-1]:
                self.tree[parts[:-1]].opaque = True
            return
        if base.startswith(WH):
            self._make_parents(parts[:-1])
            hidden = parts[:-1] + (base[len(WH):],)
            _drop(self.tree, hidden)
            self.tree[hidden] = M("whiteout", 0, e.uid, e.gid)
            return
        self._make_parents(parts[:-1])
        mode = (DEFAULT_MODES[e.type] if e.mode is None else e.mode) & 0o7777
        if e.type == "hardlink":
            source_path = norm(e.target)
            source = self.tree[source_path]  # the generator only links to files present now
            assert source.kind == "file"
            new = M("file", mode, e.uid, e.gid, source.size, hardlink_to=absolute(source_path), inode=source.inode)
            for name in self.tree.values():  # chown + chmod act on the inode: every name of it
                if name.inode == source.inode:
                    name.mode, name.uid, name.gid = mode, e.uid, e.gid
        elif e.type == "symlink":
            new = M("symlink", 0o777, e.uid, e.gid, target=e.target, inode=next(self._inodes))
        elif e.type == "file":
            new = M("file", mode, e.uid, e.gid, len(e.data), inode=next(self._inodes))
        else:
            new = M(e.type, mode, e.uid, e.gid, inode=next(self._inodes))
        old = self.tree.get(parts)
        if old is not None and old.kind == "dir" and new.kind == "dir":
            old.mode, old.uid, old.gid = new.mode, new.uid, new.gid  # merged: children stay, opaque too
            return
        _drop(self.tree, parts)
        self.tree[parts] = new


def layer_model(entries: Iterable[E]) -> dict[tuple, M]:
    model = LayerModel()
    for e in entries:
        model.apply(e)
    return model.tree


def merged_model(layers: list[list[E]]) -> dict[str, tuple]:
    """The overlay of every layer's own tree, bottom first: ``{path: M.view()}``."""
    merged: dict[tuple, M] = {}
    for index, entries in enumerate(layers):
        tree = layer_model(entries)
        for path in sorted(tree, key=len):  # parents before children
            upper = tree[path]
            below = merged.get(path)
            if upper.kind == "whiteout":
                _drop(merged, path)
            elif upper.kind == "dir" and below is not None and below.kind == "dir":
                if upper.opaque:
                    _drop(merged, path, keep_self=True)
                below.mode, below.uid, below.gid, below.layer = upper.mode, upper.uid, upper.gid, index
            else:
                _drop(merged, path)
                merged[path] = replace(upper, layer=index)
    return {absolute(p): e.view() for p, e in merged.items()}


# ---------------------------------------------------------------------------------------------
# the code under test
# ---------------------------------------------------------------------------------------------

def inspector_fs(layers: list[list[E]]) -> MergedFS:
    merged = MergedFS()
    for entries in layers:
        merged.apply(scan_layer(io.BytesIO(layer_tar(entries))))
    return merged


def inspector_view(merged: MergedFS) -> dict[str, tuple]:
    view: dict[str, tuple] = {}
    for e in merged.entries():
        assert e.path not in view, f"duplicate path {e.path}"
        view[e.path] = (e.type, e.mode, e.uid, e.gid, e.size, e.target, e.hardlink_to, e.layer)
    return view


# ---------------------------------------------------------------------------------------------
# random layer stacks
# ---------------------------------------------------------------------------------------------

NAMES = ("a", "b", "c")
MODES = (0o644, 0o755, 0o600, 0o700, 0o750, 0o711, 0o000, 0o777, 0o4755, 0o2755, 0o6711, 0o1777, 0o3775, 0o4750)
IDS = (0, 0, 1, 2, 65534)
KINDS = ("file",) * 5 + ("dir",) * 3 + ("symlink",) * 2 + ("hardlink",) * 4 + ("whiteout",) * 3 + \
        ("opaque",) * 2 + ("fifo", "root")
SYMLINK_TARGETS = ("a", "b", "../c", "/a/b", "/c", "b/a", ".", "/")

names = st.lists(st.sampled_from(NAMES), min_size=1, max_size=3).map(tuple)


def spelled(draw, parts: tuple, directory: bool = False) -> str:
    """A member name as some producer spells it: ``a/b``, ``./a/b``, ``/a/b``, ``a/b/``."""
    name = draw(st.sampled_from(("", "", "./", "/"))) + "/".join(parts)
    if directory and draw(st.booleans()):
        name += "/"
    return name


@st.composite
def layer_entries(draw, lenient: bool, lower: dict[str, tuple] | None = None) -> list[E]:
    """One layer's tar entries, in tar order; ``lenient`` also allows what the engine refuses.

    ``lower`` holds the merged view below (from the model): whiteouts and opaque markers often aim
    at names that exist there, so that they hide something.
    """
    lower = lower or {}
    below = sorted(norm(p) for p in lower)
    below_dirs = sorted(norm(p) for p, v in lower.items() if v[0] == "dir")
    state = LayerModel()
    entries: list[E] = []
    written: set[tuple] = set()
    dir_entries: set[tuple] = set()
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(KINDS))
        parts = draw(names)
        if kind == "whiteout" and below and draw(st.booleans()):
            parts = draw(st.sampled_from(below))
        elif kind == "opaque" and below_dirs and draw(st.booleans()):
            parts = draw(st.sampled_from(below_dirs))
        owner = {"uid": draw(st.sampled_from(IDS)), "gid": draw(st.sampled_from(IDS))}
        if kind == "root":
            entry = E(draw(st.sampled_from(("./", "/", "."))), "dir", mode=draw(st.sampled_from(MODES)), **owner)
        elif kind == "whiteout":
            if not lenient and (not state.parents_ok(parts) or parts in state.tree):
                continue  # the engine: ENOTDIR below a non-directory; mknod EEXIST on a name it wrote
            entry = E(spelled(draw, parts[:-1] + (WH + parts[-1],)))
        elif kind == "opaque":
            parts = parts[:2]
            if not lenient and not state.parents_ok(parts + (OPQ,)):
                continue
            entry = E(spelled(draw, parts + (OPQ,)))
        elif kind == "hardlink":
            # always one the engine accepts: a file this layer holds now, the new name not above it
            sources = [p for p in state.files() if p != parts and p[:len(parts)] != parts]
            if not sources or not state.parents_ok(parts):
                continue
            source = draw(st.sampled_from(sources))
            entry = E(spelled(draw, parts), "hardlink", target=spelled(draw, source),
                      mode=draw(st.sampled_from(MODES)), **owner)
        else:
            if not lenient and not state.parents_ok(parts):
                continue
            mode = draw(st.sampled_from(MODES))
            if kind == "file":
                entry = E(spelled(draw, parts), data=b"x" * draw(st.integers(0, 5)), mode=mode, **owner)
            elif kind == "dir":
                entry = E(spelled(draw, parts, directory=True), "dir", mode=mode, **owner)
            elif kind == "symlink":
                entry = E(spelled(draw, parts), "symlink", target=draw(st.sampled_from(SYMLINK_TARGETS)),
                          mode=draw(st.sampled_from((0o777, 0o755))), **owner)
            else:
                entry = E(spelled(draw, parts), "fifo", mode=mode, **owner)
        if not lenient:
            here = norm(entry.path)
            if here in written:
                continue  # `docker load` refuses a layer naming a path twice (tar-split: "duplicates of file paths")
            if entry.type != "dir" and any(d[:len(here)] == here for d in dir_entries):
                continue  # directory mtimes are set last: removing a listed directory fails the layer (chtimes)
            written.add(here)
            if entry.type == "dir":
                dir_entries.add(here)
        state.apply(entry)
        entries.append(entry)
    return entries


@st.composite
def layer_stacks(draw, lenient: bool = False, min_layers: int = 2, max_layers: int = 5) -> list[list[E]]:
    layers: list[list[E]] = []
    for _ in range(draw(st.integers(min_layers, max_layers))):
        layers.append(draw(layer_entries(lenient, merged_model(layers))))
    return layers


# ---------------------------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------------------------

def describe(layers: list[list[E]]) -> str:
    lines = []
    for i, entries in enumerate(layers):
        lines.append(f"layer {i}:")
        for e in entries:
            extra = f" -> {e.target}" if e.target else ""
            lines.append(f"  {e.type:8} {e.path!r}{extra} mode={e.mode if e.mode is None else oct(e.mode)} "
                         f"{e.uid}:{e.gid} size={len(e.data)}")
    return "\n".join(lines)


def _show(view: tuple | None) -> str:
    if view is None:
        return "absent"
    kind, mode, uid, gid, size, target, hardlink_to, layer = view
    return (f"{kind} {mode:04o} {uid}:{gid} size={size}" + (f" -> {target!r}" if target is not None else "")
            + (f" link={hardlink_to}" if hardlink_to else "") + f" layer={layer}")


def assert_matches_model(layers: list[list[E]]) -> None:
    expected = merged_model(layers)
    got = inspector_view(inspector_fs(layers))
    if got != expected:
        diff = []
        for path in sorted(set(got) | set(expected)):
            if got.get(path) != expected.get(path):
                diff.append(f"  {path}: inspector={_show(got.get(path))} model={_show(expected.get(path))}")
        raise AssertionError("merged view differs from the model "
                             "(type, mode, uid, gid, size, target, hardlink_to, layer):\n"
                             + "\n".join(diff) + "\n" + describe(layers))


MODEL_SETTINGS = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@MODEL_SETTINGS
@given(layer_stacks())
# whiteout + new directory of the same name in one layer: a plain directory that merges with the lower one
@example([[E("d/", "dir"), E("d/old", data=b"o")], [E(".wh.d"), E("d/", "dir", mode=0o700, uid=9, gid=9)]])
# a whiteout-only layer still gives the implied parent directory its 0755 root attributes
@example([[E("d/", "dir", mode=0o1777, uid=3, gid=3), E("d/x", data=b"x")], [E("d/.wh.x")]])
# the link header's owner and mode land on every name of the inode
@example([[E("f", data=b"abc", mode=0o644), E("g", "hardlink", target="f", mode=0o4711, uid=7, gid=8),
           E("f", data=b"new!", mode=0o600)], [E("h", data=b"h")]])
# opaque marker before its directory's own entry, over a lower directory and a lower symlink
@example([[E("a/", "dir"), E("a/x", data=b"x"), E("b", "symlink", target="a")],
          [E("a/.wh..wh..opq"), E("a/", "dir", mode=0o750), E("b/.wh..wh..opq"), E("b/y", data=b"")]])
# a directory the unpacker creates inside a setgid directory of the same layer is setgid too (mkdir(2)
# inherits S_ISGID): docker export shows /a/a as 2755 -- found by this test, checked on Docker 20.10
@example([[], [E("a", "dir", mode=0o2755), E("a/a/.wh..wh..opq")]])
@example([[E("a/", "dir", mode=0o2755, gid=5), E("a/b/c/d", data=b"1")]])
# ... and the layer's root takes the mode of a "/" entry (only "./" and "." are skipped): /x is 2755
@example([[E("/", "dir", mode=0o2755), E("x/y", data=b"1")]])
def test_merged_view_matches_the_model(layers):
    assert_matches_model(layers)


@MODEL_SETTINGS
@given(layer_stacks(lenient=True))
# a child under a file the same layer wrote: the file is replaced by a 0755 root directory
@example([[E("a/", "dir"), E("a/x", data=b"x")], [E("a", data=b"f", mode=0o600), E("a/b", data=b"b")]])
# a whiteout of a name the same layer wrote replaces it (the engine refuses the layer)
@example([[E("a", data=b"lower")], [E("a/", "dir", mode=0o700), E("a/x", data=b"x"), E(".wh.a")]])
def test_lenient_stacks_match_the_model(layers):
    assert_matches_model(layers)


def _depth_first_key(path: str) -> list[str]:
    return path.split("/")


@settings(max_examples=150, deadline=None)
@given(layer_stacks(lenient=True))
def test_listing_is_sorted_depth_first_unique_and_has_no_whiteouts(layers):
    merged = inspector_fs(layers)
    paths = [e.path for e in merged.entries()]
    assert paths == sorted(paths, key=_depth_first_key)
    assert len(paths) == len(set(paths))
    assert not any(name.startswith(WH) for p in paths for name in p.split("/")), paths
    assert merged.count() == len(paths)
    for path in paths:  # every listed entry's parent is a listed directory
        parent = path.rsplit("/", 1)[0]
        if parent:
            node = merged.lookup(parent, follow=False)
            assert node is not None and node.kind == "dir", path
    # a subtree listing is exactly the matching slice of the whole listing
    for prefix in ("/a", "/b/c"):
        sub = [e.path for e in merged.entries(prefix)]
        assert sub == [p for p in paths if p == prefix or p.startswith(prefix + "/")]


# --- the same stack in every layout gives the same --files JSON ---------------------------------

LAYOUT_WRITERS = {
    "docker-archive (legacy)": lambda path, spec: write_docker_archive(path / "legacy.tar", spec, "legacy")
    or path / "legacy.tar",
    "docker-archive (docker25, gzip)": lambda path, spec: write_docker_archive(path / "d25.tar", spec, "docker25-gzip")
    or path / "d25.tar",
    "oci (zstd)": lambda path, spec: write_oci_layout(path / "oci-zstd", spec, "zstd") or path / "oci-zstd",
    "oci (gzip)": lambda path, spec: write_oci_layout(path / "oci-gzip", spec, "gzip") or path / "oci-gzip",
    "oci-archive (gzip)": lambda path, spec: write_oci_layout(path / "oci.tar", spec, "gzip", as_tar=True)
    or path / "oci.tar",
}


def files_json(ref: str) -> tuple[str, list[str]]:
    with inspector.open_image(ref) as image:
        merged = inspector.build_filesystem(image)
    out = io.StringIO()
    renderer("json").files(merged.entries(), out)
    return out.getvalue(), merged.warnings


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_stacks(lenient=True))
def test_every_layout_gives_the_same_files_json(layers):
    spec = ImageSpec(layers, config={"Cmd": ["/a"]}, tags=["prop/stack:1"])
    with tempfile.TemporaryDirectory() as tmp:
        results = {name: files_json(str(write(Path(tmp), spec))) for name, write in LAYOUT_WRITERS.items()}
    (first_name, first), *rest = results.items()
    for name, result in rest:
        assert result == first, f"{name} differs from {first_name}"
    # and it is the model's view, rendered
    assert [e["path"] for e in json.loads(first[0])] == list(inspector_view(inspector_fs(layers)))


@settings(max_examples=150, deadline=None)
@given(layer_stacks(lenient=True))
def test_select_keeps_what_the_walk_would_in_the_walks_order(layers):
    """``MergedFS.select`` (the reports' filtered walk) gives exactly the walk's entries that pass."""
    merged = inspector_fs(layers)
    tests = [lambda name, node: True, lambda name, node: node.kind == "file",
             lambda name, node: node.kind != "dir" and len(name) % 2 == 0, lambda name, node: False]
    for keep in tests:
        expected = [(path, node) for path, node in merged.walk() if keep(path.rsplit("/", 1)[1], node)]
        got = list(merged.select(keep))
        assert [p for p, _ in got] == [p for p, _ in expected]
        assert all(a is b for (_, a), (_, b) in zip(got, expected, strict=True))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(layer_stacks(), layer_stacks(), st.sampled_from(["/", "/a", "/a/b", "/b/", "/missing"]))
def test_walk_pair_walks_both_views_side_by_side(first, second, prefix):
    """``walk_pair`` (``diff --all``'s walk) holds each view's walk, in its order, node for node, and
    the union of both in one order that agrees with each."""
    from inspector.fs.merge import walk_pair

    a, b = inspector_fs(first), inspector_fs(second)
    pairs = list(walk_pair(a, b, prefix))
    for index, view in ((1, a), (2, b)):
        mine = [(pair[0], pair[index]) for pair in pairs if pair[index] is not None]
        walked = list(view.walk(prefix))
        assert [p for p, _ in mine] == [p for p, _ in walked]
        assert all(x is y for (_, x), (_, y) in zip(mine, walked, strict=True))
    paths = [path for path, _, _ in pairs]
    assert len(paths) == len(set(paths))
    assert paths == sorted(paths, key=_depth_first_key)

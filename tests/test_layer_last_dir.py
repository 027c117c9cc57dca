"""The layer scan remembers the directory the last member went to (``LayerTree.last_dir``).

Nearly every member of a layer lands beside the one before it, so its parent is taken from that
memory instead of splitting its name and walking from the root. The memory must never outlive the
directory: a whiteout, a replaced directory, a root entry or a hardlink may change the tree between
two members of the same directory. Each layer here is scanned twice: with plain names (``a/b``),
which take the remembered directory, and with every name spelled ``./a/b``, which never does. Both
trees must be the same, and the same as what the engine makes of the directed cases.
"""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.fs.layer import scan_layer
from inspector.fs.node import Node

Member = tuple[str, str, str]  # (kind, name, link target)


def _tar(members: list[Member], spelled: str = "") -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for number, (kind, name, link) in enumerate(members):
            info = tarfile.TarInfo(spelled + name if name else "./")
            info.mtime, info.uid, info.mode = 1_600_000_000 + number, number, 0o640 + number % 8
            data = b""
            if kind == "dir":
                info.type = tarfile.DIRTYPE
            elif kind == "symlink":
                info.type, info.linkname = tarfile.SYMTYPE, link
            elif kind == "hardlink":
                info.type, info.linkname = tarfile.LNKTYPE, spelled + link
            else:
                data = f"{name} {number}".encode()
                info.size = len(data)
            tar.addfile(info, io.BytesIO(data) if data else None)
    return out.getvalue()


def _dump(node: Node, path: str = "") -> dict[str, Any]:
    shown: dict[str, Any] = {path or "/": (node.kind, node.mode, node.uid, node.gid, node.size, node.mtime,
                                           node.target, node.hardlink_to, node.opaque)}
    for name, child in sorted((node.children or {}).items()):
        shown.update(_dump(child, f"{path}/{name}"))
    return shown


def _both(members: list[Member]) -> tuple[dict[str, Any], dict[str, Any]]:
    remembered = _dump(scan_layer(io.BytesIO(_tar(members))).root)
    long_way = _dump(scan_layer(io.BytesIO(_tar(members, spelled="./"))).root)
    return remembered, long_way


def test_a_directory_whited_out_between_two_of_its_members_is_made_again() -> None:
    remembered, long_way = _both([("dir", "d", ""), ("file", "d/f1", ""), ("file", ".wh.d", ""),
                                  ("file", "d/f2", "")])
    assert remembered == long_way
    assert remembered["/d"][0] == "dir" and "/d/f2" in remembered and "/d/f1" not in remembered


def test_a_directory_replaced_by_a_file_then_written_into_again() -> None:
    remembered, long_way = _both([("dir", "d", ""), ("file", "d/f1", ""), ("file", "d", ""),
                                  ("file", "d/f2", "")])
    assert remembered == long_way
    assert remembered["/d"][0] == "dir" and set(remembered) == {"/", "/d", "/d/f2"}


def test_an_opaque_marker_and_a_redeclared_directory_keep_their_contents() -> None:
    remembered, long_way = _both([("dir", "d", ""), ("file", "d/f1", ""), ("file", "d/.wh..wh..opq", ""),
                                  ("dir", "d", ""), ("file", "d/f2", ""), ("hardlink", "d/l", "d/f2"),
                                  ("file", "d/.wh.f1", ""), ("dir", "", ""), ("file", "d/f3", "")])
    assert remembered == long_way
    assert remembered["/d"][-1] is True and remembered["/d/f1"][0] == "whiteout"
    assert {"/d/f2", "/d/l", "/d/f3"} <= set(remembered)


#: Few paths, so that the orders that matter (a member of ``a``, then something that removes or
#: replaces ``a``, then another member of ``a``) come up often; "" is the root's own entry.
_PATHS = ["a", "a/b", "a/c", "a/b/c", ".wh.a", "a/.wh.b", "a/.wh..wh..opq", "b", "b/a", ".wh.b", ""]
_members = st.lists(st.tuples(st.sampled_from(["dir", "file", "file", "symlink", "hardlink"]), st.sampled_from(_PATHS),
                              st.sampled_from(["a", "a/b", "b/a", "a/c"])), min_size=1, max_size=30)


@settings(max_examples=500, deadline=None)
@given(_members)
def test_remembering_the_directory_changes_no_tree(drawn: list[Member]) -> None:
    members = [("dir" if not path else "file" if ".wh." in path else kind, path, link) for kind, path, link in drawn]
    remembered, long_way = _both(members)
    assert remembered == long_way


def test_the_depth_limit_holds_for_names_beside_the_last_one() -> None:
    """A name taken the short way is one deeper than a directory that passed the limit: at the limit
    it is accepted, one deeper is refused, whichever way it was reached."""
    from inspector.errors import ImageFormatError
    from inspector.limits import Limits

    limits = Limits(max_depth=3)
    at_limit = [("file", "a/b/c", ""), ("file", "a/b/d", ""), ("dir", "a/b/e", "")]
    for spelled in ("", "./"):
        tree = scan_layer(io.BytesIO(_tar(at_limit, spelled)), limits=limits)
        assert set(_dump(tree.root)) >= {"/a/b/c", "/a/b/d", "/a/b/e"}
        with pytest.raises(ImageFormatError, match="4 directories deep"):
            scan_layer(io.BytesIO(_tar([*at_limit, ("file", "a/b/e/f", "")], spelled)), limits=limits)

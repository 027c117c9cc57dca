"""Layer changeset rules: each test builds a small multi-layer image and checks the merged listing.

The expectations follow what Docker's overlay2 driver shows in a container (``docker export``): every
layer is unpacked into an empty directory of its own and the directories are then stacked by
overlayfs. Where that differs from a naive "extract every layer into one directory", the test says so.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

import inspector
from testdata.imagebuilder import E, ImageSpec, opaque, whiteout

ROOT = {"uid": 0, "gid": 0}


def ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:i]) for i in range(1, len(parts))]


def under(listing: dict[str, Any], directory: str) -> list[str]:
    """Paths strictly below ``directory`` in a listing."""
    return sorted(p for p in listing if p.startswith(directory.rstrip("/") + "/"))


def assert_entry(entry: dict[str, Any], **expected: Any) -> None:
    got = {key: entry[key] for key in expected}
    assert got == expected, f"{entry['path']}: {got} != {expected}"


# --- whiteouts ---------------------------------------------------------------------------------

def test_whiteout_removes_a_file_of_a_lower_layer(files_of):
    fs = files_of([
        [E("etc/", "dir"), E("etc/a", data=b"alpha"), E("etc/b", data=b"beta")],
        [whiteout("etc/a")],
    ])
    assert "/etc/a" not in fs
    assert_entry(fs["/etc/b"], type="file", size=len(b"beta"), layer=0)
    assert fs["/etc"]["type"] == "dir"
    assert not any(".wh." in p for p in fs), "whiteout markers must never be listed"


def test_whiteout_removes_a_whole_directory_subtree(files_of):
    fs = files_of([
        [E("d/", "dir"), E("d/x", data=b"x"), E("d/sub/", "dir"), E("d/sub/deep", data=b"deep"),
         E("d/link", "symlink", target="x"), E("keep", data=b"k")],
        [whiteout("d"), whiteout("never-existed")],  # a whiteout of a missing name is a no-op
    ])
    assert [p for p in fs if p == "/d" or p.startswith("/d/")] == []
    assert "/never-existed" not in fs
    assert_entry(fs["/keep"], type="file", size=1, layer=0)
    assert not any(".wh." in p for p in fs)


def test_whiteout_applies_only_to_lower_layers(files_of):
    fs = files_of([
        [E("f", data=b"old"), E("g", data=b"g")],
        [whiteout("f")],
        [E("f", data=b"recreated!")],  # a later layer may bring the name back
    ])
    assert_entry(fs["/f"], type="file", size=len(b"recreated!"), layer=2)
    assert fs["/g"]["layer"] == 0


# --- opaque directories ------------------------------------------------------------------------

@pytest.mark.parametrize("order", ["dir-marker-entries", "dir-entries-marker", "marker-dir-entries"])
def test_opaque_hides_all_lower_children_but_keeps_its_own_layer(files_of, order):
    parts = {
        "dir": [E("d/", "dir", mode=0o750, uid=3, gid=4)],
        "marker": [opaque("d")],
        "entries": [E("d/new", data=b"new"), E("d/newdir/", "dir"), E("d/newdir/inner", data=b"i")],
    }
    top = [entry for part in order.split("-") for entry in parts[part]]
    fs = files_of([
        [E("d/", "dir"), E("d/x", data=b"x"), E("d/sub/", "dir"), E("d/sub/deep", data=b"deep"),
         E("d/newdir/", "dir"), E("d/newdir/lower", data=b"lower"),
         E("other/", "dir"), E("other/o", data=b"o")],
        [E("d/from-layer1", data=b"1"), E("d/sub/more", data=b"m")],
        top,
    ])
    assert under(fs, "/d") == ["/d/new", "/d/newdir", "/d/newdir/inner"]
    assert_entry(fs["/d"], type="dir", mode="0750", uid=3, gid=4, layer=2)
    assert_entry(fs["/d/new"], type="file", size=3, layer=2)
    assert_entry(fs["/d/newdir/inner"], type="file", size=1, layer=2)
    assert_entry(fs["/other/o"], type="file", layer=0)  # siblings of the opaque dir are untouched
    assert not any(".wh." in p for p in fs)


def test_opaque_on_a_nested_directory_hides_only_that_directory(files_of):
    fs = files_of([
        [E("d/", "dir"), E("d/x", data=b"x"), E("d/sub/", "dir"), E("d/sub/y", data=b"y")],
        [E("d/", "dir"), E("d/sub/", "dir"), opaque("d/sub"), E("d/sub/z", data=b"z")],
    ])
    assert under(fs, "/d") == ["/d/sub", "/d/sub/z", "/d/x"]


def test_rm_rf_then_mkdir_written_as_opaque_directory(files_of):
    # What overlay2 itself produces for `RUN rm -rf d && mkdir d && touch d/new`.
    fs = files_of([
        [E("d/", "dir", mode=0o755), E("d/old", data=b"old"), E("d/olddir/", "dir"), E("d/olddir/f", data=b"f")],
        [E("d/", "dir", mode=0o700, uid=9, gid=9), opaque("d"), E("d/new", data=b"new")],
    ])
    assert under(fs, "/d") == ["/d/new"]
    assert_entry(fs["/d"], type="dir", mode="0700", uid=9, gid=9, layer=1)


def test_rm_rf_then_mkdir_written_as_whiteout_plus_new_directory(files_of):
    # Some producers write `.wh.d` followed by a new `d/` in the same layer. overlay2 unpacks the
    # whiteout as a 0/0 char device, then *replaces* it with a plain (not opaque) directory, so
    # overlayfs merges it with the lower `d`: the lower children stay visible (checked against
    # `docker export` on overlay2; moby go-archive Unpack + overlayWhiteoutConverter.ConvertRead).
    lower = [E("d/", "dir"), E("d/old", data=b"old"), E("d/olddir/", "dir"), E("d/olddir/f", data=b"ff")]
    fs = files_of([
        lower,
        [whiteout("d"), E("d/", "dir", mode=0o700, uid=9, gid=9), E("d/new", data=b"new")],
    ])
    assert under(fs, "/d") == ["/d/new", "/d/old", "/d/olddir", "/d/olddir/f"]
    assert_entry(fs["/d"], type="dir", mode="0700", uid=9, gid=9, layer=1)
    assert_entry(fs["/d/new"], layer=1, size=3)
    assert_entry(fs["/d/old"], layer=0, size=3)


# --- type changes ------------------------------------------------------------------------------

def test_file_replaced_by_directory(files_of):
    fs = files_of([
        [E("x", data=b"I am a file")],
        [E("x/", "dir", mode=0o711), E("x/child", data=b"c")],
    ])
    assert_entry(fs["/x"], type="dir", mode="0711", size=0, layer=1)
    assert under(fs, "/x") == ["/x/child"]


def test_directory_replaced_by_file_drops_the_subtree(files_of):
    fs = files_of([
        [E("d/", "dir"), E("d/a", data=b"a"), E("d/sub/", "dir"), E("d/sub/b", data=b"b")],
        [E("d", data=b"now a file", mode=0o600)],
    ])
    assert_entry(fs["/d"], type="file", mode="0600", size=len(b"now a file"), layer=1)
    assert under(fs, "/d") == []


def test_directory_replaced_by_symlink_drops_the_subtree(files_of):
    fs = files_of([
        [E("d/", "dir"), E("d/a", data=b"a"), E("d/sub/", "dir"), E("d/sub/b", data=b"b"),
         E("real/", "dir"), E("real/r", data=b"r")],
        [E("d", "symlink", target="/real")],
    ])
    assert_entry(fs["/d"], type="symlink", target="/real", layer=1)
    assert under(fs, "/d") == []
    assert "/real/r" in fs  # the link's target is listed once, at its own path


def test_symlink_replaced_by_directory(files_of):
    fs = files_of([
        [E("s", "symlink", target="target_dir"), E("target_dir/", "dir"), E("target_dir/t", data=b"t")],
        [E("s/", "dir", mode=0o750), E("s/n", data=b"n")],
    ])
    assert_entry(fs["/s"], type="dir", mode="0750", target=None, layer=1)
    assert under(fs, "/s") == ["/s/n"]
    assert under(fs, "/target_dir") == ["/target_dir/t"]  # the old target is not touched


# --- hardlinks ---------------------------------------------------------------------------------

def test_hardlinks_resolve_within_the_layer(files_of):
    data = b"shared inode content"
    inode = {"mode": 0o750, "uid": 12, "gid": 34}  # real producers repeat the inode's attributes on every name
    fs = files_of([[
        E("bin/", "dir"),
        E("bin/tool", data=data, **inode),
        E("bin/alias", "hardlink", target="bin/tool", **inode),
        E("bin/dotted", "hardlink", target="./bin/tool", **inode),  # name forms apply to link targets too
        E("bin/absolute", "hardlink", target="/bin/tool", **inode),
    ]])
    assert_entry(fs["/bin/tool"], type="file", size=len(data), mode="0750", uid=12, gid=34, hardlink_to=None)
    for name in ("alias", "dotted", "absolute"):
        assert_entry(fs[f"/bin/{name}"], type="file", size=len(data), mode="0750", uid=12, gid=34,
                     hardlink_to="/bin/tool", layer=0)


def test_hardlink_header_attributes_apply_to_the_shared_inode(files_of):
    # The engine links the name, then chowns and chmods it from the link's own header: that changes
    # the one inode, so every name of it shows the attributes of the last header applied (checked
    # with `docker export` on overlay2; moby go-archive createTarFile + handleLChmod).
    fs = files_of([[
        E("bin/", "dir"),
        E("bin/tool", data=b"tool binary", mode=0o750, uid=12, gid=34),
        E("bin/alias", "hardlink", target="bin/tool", mode=0o4711, uid=7, gid=8),
        E("bin/last", "hardlink", target="bin/tool", mode=0o700, uid=5, gid=6),
        E("bin/other", data=b"unrelated", mode=0o755),
    ]])
    for name in ("tool", "alias", "last"):
        assert_entry(fs[f"/bin/{name}"], type="file", size=len(b"tool binary"), mode="0700", uid=5, gid=6)
    assert_entry(fs["/bin/other"], mode="0755", uid=0, gid=0)


def test_hardlink_keeps_its_content_when_the_source_is_whited_out(files_of):
    data = b"hello, hardlink"
    fs = files_of([
        [E("a/", "dir"), E("a/f", data=data), E("a/g", "hardlink", target="a/f")],
        [whiteout("a/f")],
    ])
    assert "/a/f" not in fs
    assert_entry(fs["/a/g"], type="file", size=len(data), hardlink_to="/a/f", layer=0)


def test_hardlink_content_read_through_the_api_survives_the_whiteout(image_writer):
    data = b"bytes behind two names"
    ref = image_writer(ImageSpec([
        [E("a/", "dir"), E("a/f", data=data), E("a/g", "hardlink", target="a/f")],
        [whiteout("a/f")],
    ]))

    def probe(path, node, member):
        return lambda stream: stream.read()

    with inspector.open_image(ref) as img:
        from inspector.fs import scan_layer

        merged = inspector.MergedFS()
        for _info, tree in img.scan_layers(lambda stream: scan_layer(stream, probe)):
            merged.apply(tree)
    node = merged.lookup("/a/g")
    assert node is not None and node.content == data


# --- names -------------------------------------------------------------------------------------

def test_path_spellings_name_the_same_entry(files_of):
    fs = files_of([
        [E("./a", data=b"first"), E("b/", "dir", mode=0o700), E("/c", data=b"c"), E("./b/x", data=b"x"),
         E("./e/", "dir", mode=0o700)],
        [E("a", data=b"second version"), E("/b/", "dir", mode=0o711), E("c/", "dir"), E("b//y/../z", data=b"z"),
         E("/e", "dir", mode=0o750)],
    ])
    assert sorted(fs) == ["/a", "/b", "/b/x", "/b/z", "/c", "/e"]
    assert_entry(fs["/a"], type="file", size=len(b"second version"), layer=1)
    assert_entry(fs["/b"], type="dir", mode="0711", layer=1)
    assert_entry(fs["/b/x"], type="file", layer=0)
    assert_entry(fs["/c"], type="dir", layer=1)
    assert_entry(fs["/e"], type="dir", mode="0750", layer=1)


def test_duplicate_members_in_one_layer_merge_and_the_later_wins(files_of):
    # The spec forbids duplicates in a layer (`docker load` refuses them); read leniently, they
    # must still give one entry per path, as extracting the tar would.
    fs = files_of([
        [E("dup", data=b"one"), E("./dup", data=b"two!"), E("d/", "dir", mode=0o700), E("/d", "dir", mode=0o751),
         E("d/f", data=b"f")],
    ])
    assert sorted(fs) == ["/d", "/d/f", "/dup"]
    assert_entry(fs["/dup"], type="file", size=len(b"two!"))
    assert_entry(fs["/d"], type="dir", mode="0751")


@pytest.mark.parametrize("fmt", ["pax", "gnu"])
def test_long_names(files_of, fmt):
    long_dir = "/".join(["d" * 60, "e" * 60, "f" * 60])  # 182 chars
    keep = f"{long_dir}/{'k' * 40}.txt"
    gone = f"{long_dir}/{'g' * 40}.txt"
    link = f"{long_dir}/{'l' * 40}"
    target = "/" + "t" * 150
    assert len(keep) > 200 and len(target) > 100
    removal = whiteout(gone)
    removal.fmt = fmt
    assert len(removal.path) > 200
    fs = files_of([
        [E(keep, data=b"keep", fmt=fmt), E(gone, data=b"gone", fmt=fmt), E(link, "symlink", target=target, fmt=fmt)],
        [removal],
    ])
    assert_entry(fs["/" + keep], type="file", size=4, layer=0)
    assert "/" + gone not in fs
    assert_entry(fs["/" + link], type="symlink", target=target)
    assert sorted(fs) == sorted(ancestors("/" + keep) + ["/" + keep, "/" + link])


def test_unicode_names(files_of):
    names = ["données/café.txt", "日本語/ファイル", "emoji-🐳", "Ωmega"]
    fs = files_of([
        [E("données/", "dir"), E(names[0], data="é".encode()), E(names[1], data=b"jp"), E(names[2], data=b"w"),
         E(names[3], data=b"o"), E("données/supprimé", data=b"x")],
        [whiteout("données/supprimé")],
    ])
    for name in names:
        assert "/" + name in fs
    assert fs["/données/café.txt"]["size"] == len("é".encode())
    assert "/données/supprimé" not in fs


# --- attributes --------------------------------------------------------------------------------

def test_setuid_setgid_and_sticky_bits_are_kept(files_of):
    fs = files_of([
        [E("bin/", "dir"), E("bin/su", data=b"su", mode=0o4755), E("bin/wall", data=b"w", mode=0o2755),
         E("bin/both", data=b"b", mode=0o6711), E("tmp/", "dir", mode=0o1777), E("shared/", "dir", mode=0o3775)],
        [E("bin/late", data=b"l", mode=0o4750)],
    ])
    assert fs["/bin/su"]["mode"] == "4755"
    assert fs["/bin/wall"]["mode"] == "2755"
    assert fs["/bin/both"]["mode"] == "6711"
    assert fs["/tmp"]["mode"] == "1777"
    assert fs["/shared"]["mode"] == "3775"
    assert fs["/bin/late"]["mode"] == "4750"


def test_uid_and_gid_are_kept(files_of):
    fs = files_of([
        [E("home/", "dir"), E("home/app/", "dir", uid=1000, gid=1001, mode=0o700),
         E("home/app/data", data=b"d", uid=1000, gid=1001), E("home/app/link", "symlink", target="data", uid=5, gid=6),
         E("srv", data=b"s", uid=65534, gid=65534)],
    ])
    assert_entry(fs["/home/app"], uid=1000, gid=1001, mode="0700")
    assert_entry(fs["/home/app/data"], uid=1000, gid=1001)
    assert_entry(fs["/home/app/link"], uid=5, gid=6, type="symlink", target="data")
    assert_entry(fs["/srv"], uid=65534, gid=65534)
    assert_entry(fs["/home"], **ROOT)


def test_device_nodes_and_fifos(files_of):
    fs = files_of([[
        E("dev/", "dir"),
        E("dev/null", "char", mode=0o666, devmajor=1, devminor=3),
        E("dev/sda", "block", mode=0o660, devmajor=8, devminor=0, gid=6),
        E("run/", "dir"),
        E("run/pipe", "fifo", mode=0o620),
    ]])
    assert_entry(fs["/dev/null"], type="char", mode="0666", size=0, device=[1, 3])
    assert_entry(fs["/dev/sda"], type="block", mode="0660", gid=6, device=[8, 0])
    assert_entry(fs["/run/pipe"], type="fifo", mode="0620", size=0)


CAPABILITY = bytes.fromhex("0100000200200000000000000000000000000000")  # cap_net_bind_service+ep


def test_security_capability_xattr_is_kept(image_writer, list_files):
    spec = ImageSpec([
        [E("usr/", "dir"), E("usr/bin/", "dir"),
         E("usr/bin/ping", data=b"ping", mode=0o755, xattrs={"security.capability": CAPABILITY}),
         E("usr/bin/plain", data=b"plain", xattrs={"security.capability": CAPABILITY})],
        [E("usr/bin/plain", data=b"replaced")],  # a replacement does not inherit the old file's xattrs
    ])
    ref = image_writer(spec)
    with inspector.open_image(ref) as img:
        entries = {e.path: e for e in inspector.build_filesystem(img).entries()}
    assert entries["/usr/bin/ping"].xattrs == {"security.capability": CAPABILITY}
    assert entries["/usr/bin/plain"].xattrs == {}

    listing = {e["path"]: e for e in list_files(ref)}
    assert listing["/usr/bin/ping"]["xattrs"] == {"security.capability": CAPABILITY.hex()}
    assert listing["/usr/bin/plain"]["xattrs"] == {}


# --- implied parent directories ---------------------------------------------------------------

def test_implied_parents_are_root_owned_0755_directories(files_of):
    fs = files_of([[E("usr/share/doc/pkg/copyright", data=b"c", uid=7, gid=7)]])
    for path in ("/usr", "/usr/share", "/usr/share/doc", "/usr/share/doc/pkg"):
        assert_entry(fs[path], type="dir", mode="0755", uid=0, gid=0, layer=0)
    assert_entry(fs["/usr/share/doc/pkg/copyright"], uid=7, gid=7)


def test_implied_parent_replaces_lower_directory_attributes(files_of):
    # overlay2: the upper layer's directory (made by the unpacker, 0755 root) wins over the lower one.
    fs = files_of([
        [E("tmp/", "dir", mode=0o1777), E("tmp/old", data=b"o"),
         E("etc/", "dir", mode=0o700, uid=5, gid=6), E("etc/hosts", data=b"h")],
        [E("tmp/x", data=b"x"), E("etc/passwd", data=b"p")],
    ])
    assert_entry(fs["/tmp"], type="dir", mode="0755", uid=0, gid=0, layer=1)
    assert_entry(fs["/etc"], type="dir", mode="0755", uid=0, gid=0, layer=1)
    assert under(fs, "/tmp") == ["/tmp/old", "/tmp/x"]  # still a merge, not a replacement
    assert under(fs, "/etc") == ["/etc/hosts", "/etc/passwd"]


def test_implied_parent_hides_a_lower_symlink_of_the_same_name(files_of):
    # Verified with `docker export`: lower `lib -> usr/lib` + upper `lib/x/foo` gives a real /lib
    # directory holding only x/foo; nothing is written through the symlink.
    fs = files_of([
        [E("usr/", "dir"), E("usr/lib/", "dir"), E("usr/lib/libc.so", data=b"libc"),
         E("lib", "symlink", target="usr/lib")],
        [E("lib/x/foo", data=b"foo")],
    ])
    assert_entry(fs["/lib"], type="dir", mode="0755", uid=0, gid=0, target=None, layer=1)
    assert under(fs, "/lib") == ["/lib/x", "/lib/x/foo"]
    assert under(fs, "/usr/lib") == ["/usr/lib/libc.so"]


def test_directory_entry_after_its_children_sets_the_attributes(files_of):
    fs = files_of([
        [E("d/", "dir"), E("d/lower", data=b"l")],
        [E("d/f", data=b"f"), E("d/", "dir", mode=0o710, uid=7, gid=8)],
    ])
    assert_entry(fs["/d"], type="dir", mode="0710", uid=7, gid=8, layer=1)
    assert under(fs, "/d") == ["/d/f", "/d/lower"]


# --- the listing itself ------------------------------------------------------------------------

def test_layer_is_the_last_layer_that_wrote_the_entry(files_of):
    fs = files_of([
        [E("a", data=b"a0"), E("b", data=b"b0"), E("d/", "dir", mode=0o700), E("d/x", data=b"x")],
        [E("a", data=b"a1"), E("e/", "dir"), E("e/y", data=b"y")],
        [E("d/", "dir", mode=0o750), E("d/z", data=b"z")],
    ])
    expected = {"/a": 1, "/b": 0, "/d": 2, "/d/x": 0, "/d/z": 2, "/e": 1, "/e/y": 1}
    assert {p: e["layer"] for p, e in fs.items()} == expected
    assert fs["/d"]["mode"] == "0750"


def test_files_path_limits_the_listing_to_a_subtree(image_writer, list_files):
    ref = image_writer(ImageSpec([
        [E("sub/", "dir"), E("sub/a", data=b"a"), E("sub/inner/", "dir"), E("sub/inner/b", data=b"b"),
         E("subdir/", "dir"), E("subdir/c", data=b"c"), E("sub.txt", data=b"t"), E("top", data=b"t")],
        [E("sub/inner/late", data=b"l")],
    ]))
    full = list_files(ref)
    expected = [e for e in full if e["path"] == "/sub" or e["path"].startswith("/sub/")]
    assert {e["path"] for e in expected} == {"/sub", "/sub/a", "/sub/inner", "/sub/inner/b", "/sub/inner/late"}
    assert list_files(ref, "/sub") == expected
    assert list_files(ref, "/sub/inner") == [e for e in expected if e["path"].startswith("/sub/inner")]


def test_root_is_never_listed(files_of):
    fs = files_of([
        [E("./", "dir", mode=0o700), E("a", data=b"a")],
        [E("/", "dir", mode=0o755), E("b", data=b"b")],
        [E(".", "dir", mode=0o750), E("c/", "dir")],
    ])
    assert sorted(fs) == ["/a", "/b", "/c"]


def test_entries_are_sorted_depth_first_with_names_sorted_per_level(image_writer, list_files):
    # '-' < '.' < '/' in code-point order: a plain sort of the path strings would put /a-1 and /a.b
    # between /a and /a/c; the depth-first order puts a directory's contents right after it.
    names = ["b", "a.b", "a/z/q", "a/c", "a-1", "a", "a/z", "B", "a/z/p", "é"]
    layer = [E(n + "/", "dir") if n in ("a", "a/z") else E(n, data=b"x") for n in names]
    entries = list_files(image_writer(ImageSpec([layer])))
    paths = [e["path"] for e in entries]
    expected = sorted(("/" + n for n in names), key=lambda p: p.split("/"))
    assert paths == expected
    assert paths.index("/a/z/q") < paths.index("/a-1")


def test_json_listing_is_one_parseable_array_with_the_documented_fields(image_writer, run_cli):
    ref = image_writer(ImageSpec([[E("f", data=b"f")]]))
    code, out, err = run_cli(ref, "--files", "--json")
    assert code == 0, err
    (entry,) = json.loads(out)
    for key in ("path", "type", "mode", "uid", "gid", "size", "target", "hardlink_to", "layer", "xattrs"):
        assert key in entry
    assert entry["path"] == "/f" and entry["mode"] == "0644"


def test_symlinks_are_always_mode_0777_whatever_the_header_says(files_of):
    # Linux symlinks have no permissions of their own: the engine shows 0777 (found by the parity tests).
    fs = files_of([[E("t", data=b"t"), E("l", "symlink", target="t", mode=0o755, uid=5, gid=6)]])
    assert_entry(fs["/l"], type="symlink", mode="0777", uid=5, gid=6, target="t")


def test_implied_directories_inherit_setgid_from_their_parent_in_the_layer(files_of):
    # mkdir in a setgid directory makes a setgid directory; checked with docker export (20.10, overlay2):
    # /d/x and /a/z come out 2755, while a root entry spelled "./" is not applied at all
    fs = files_of([
        [E("a/a", data=b""), E("a/z/q", data=b"")],
        [E("./", "dir", mode=0o2755), E("d/", "dir", mode=0o2755), E("d/x/y", data=b"x"),
         E("a/", "dir", mode=0o2755), whiteout("a/z/q"), E("b/c", data=b"c")],
    ])
    assert_entry(fs["/d/x"], type="dir", mode="2755", uid=0, gid=0)
    assert_entry(fs["/a/z"], type="dir", mode="2755")
    assert_entry(fs["/b"], type="dir", mode="0755")


def test_a_root_entry_spelled_slash_is_applied_to_the_layer_root(files_of):
    # unlike "./" and ".", the engine applies "/" to the layer's directory: its setgid reaches /x
    fs = files_of([[E("/", "dir", mode=0o2755), E("x/y", data=b"1")]])
    assert_entry(fs["/x"], type="dir", mode="2755")

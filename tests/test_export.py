"""``cat`` and ``export``: bytes out of the merged view, never from or to outside the image/DEST."""

from __future__ import annotations

import gzip
import json
import os
import stat
import tarfile
from pathlib import Path

import pytest

from testdata.imagebuilder import E, ImageSpec, whiteout

PASSWD = b"root:x:0:0:root:/root:/sbin/nologin\n"
TOOL = b"\x7fELF fake tool bytes" * 100


def _spec() -> ImageSpec:
    return ImageSpec(layers=[
        [E("etc/", "dir"), E("etc/passwd", data=PASSWD), E("usr/", "dir"), E("usr/bin/", "dir"),
         E("usr/bin/tool", data=TOOL, mode=0o4755), E("usr/bin/alias", "hardlink", target="usr/bin/tool", mode=0o4755),
         E("tmp/", "dir", mode=0o1777), E("old", data=b"old content"), E("dev/", "dir"),
         E("dev/null", "char", mode=0o666, devmajor=1, devminor=3), E("run/", "dir"), E("run/fifo", "fifo")],
        [E("bin", "symlink", target="usr/bin"), E("escape", "symlink", target="/"),
         E("up", "symlink", target="../../../../etc/passwd"), E("etc/motd", data=b"new layer wins\n"),
         whiteout("old"), E("locked/", "dir", mode=0o500), E("locked/inside", data=b"inside")],
    ])


@pytest.fixture
def ref(image_writer) -> str:
    return image_writer(_spec(), "oci-gzip")


def _cat(run_cli_bytes, ref: str, path: str):
    return run_cli_bytes(ref, path)


def test_cat_writes_the_file(ref, run_cli):
    code, out, err = run_cli("cat", ref, "/etc/passwd")
    assert code == 0, err
    assert out.encode() == PASSWD


def test_cat_follows_symlinks_inside_the_image_only(ref, run_cli):
    code, out, _ = run_cli("cat", ref, "/bin/tool")  # /bin -> usr/bin
    assert code == 0 and out.encode("utf-8", "surrogateescape") == TOOL
    code, out, _ = run_cli("cat", ref, "/up")  # ../../../../etc/passwd stops at the image root
    assert code == 0 and out.encode() == PASSWD
    code, out, _ = run_cli("cat", ref, "/escape/etc/passwd")  # -> / is the image's root, not the host's
    assert code == 0 and out.encode() == PASSWD


@pytest.mark.parametrize("path, words", [("/etc", "dir"), ("/old", "does not exist"), ("/nothing", "does not exist")])
def test_cat_refuses_what_is_not_a_file(ref, run_cli, path, words):
    code, out, err = run_cli("cat", ref, path)
    assert code == 2 and out == ""
    assert words in err and len(err.strip().splitlines()) == 1


def test_cat_of_a_one_pass_stream_explains_it_cannot_look_twice(image_writer, run_cli):
    archive = image_writer(_spec(), "legacy")
    code, _, err = run_cli("cat", "-", "/etc/passwd", input=Path(archive).read_bytes())
    assert code == 2 and "only once" in err


def test_cat_of_a_gzipped_archive_reads_it_again(image_writer, run_cli, tmp_path):
    archive = Path(image_writer(_spec(), "legacy"))
    packed = tmp_path / "image.tar.gz"
    packed.write_bytes(gzip.compress(archive.read_bytes()))
    code, out, err = run_cli("cat", str(packed), "/etc/motd")
    assert code == 0, err
    assert out == "new layer wins\n"


def test_export_to_a_directory(ref, run_cli, tmp_path):
    dest = tmp_path / "out"
    code, _, err = run_cli("export", ref, str(dest))
    assert code == 0, err
    assert (dest / "etc/passwd").read_bytes() == PASSWD
    assert (dest / "etc/motd").read_bytes() == b"new layer wins\n"
    assert not (dest / "old").exists()
    tool, alias = dest / "usr/bin/tool", dest / "usr/bin/alias"
    assert tool.read_bytes() == TOOL
    assert os.stat(tool).st_ino == os.stat(alias).st_ino, "hardlinks stay hardlinks"
    assert stat.S_IMODE(os.stat(tool).st_mode) == 0o755, "setuid is dropped unless --special-bits"
    assert os.readlink(dest / "bin") == "usr/bin" and os.readlink(dest / "escape") == "/"
    assert stat.S_IMODE(os.stat(dest / "tmp").st_mode) == 0o1777
    assert stat.S_IMODE(os.stat(dest / "locked").st_mode) == 0o500
    assert (dest / "locked/inside").read_bytes() == b"inside"
    assert stat.S_ISFIFO(os.lstat(dest / "run/fifo").st_mode)
    assert not (dest / "dev/null").exists() and "device" in err


def test_export_keeps_special_bits_when_asked(ref, run_cli, tmp_path):
    dest = tmp_path / "out"
    assert run_cli("export", ref, str(dest), "--special-bits")[0] == 0
    assert stat.S_IMODE(os.stat(dest / "usr/bin/tool").st_mode) == 0o4755


def test_export_never_writes_through_links_in_dest(ref, run_cli, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "out"
    dest.mkdir()
    (dest / "etc").symlink_to(outside)  # a planted link: DEST is not empty, so export refuses at once
    code, _, err = run_cli("export", ref, str(dest))
    assert code == 2 and "not an empty directory" in err
    assert list(outside.iterdir()) == []


def test_export_a_subtree(ref, run_cli, tmp_path):
    dest = tmp_path / "out"
    assert run_cli("export", ref, str(dest), "--path", "/usr/bin")[0] == 0
    assert sorted(p.name for p in (dest / "bin").iterdir()) == ["alias", "tool"]


def test_export_as_tar_matches_the_listing(ref, run_cli, tmp_path):
    target = tmp_path / "out.tar"
    code, _, err = run_cli("export", ref, str(target))
    assert code == 0, err
    listing = {e["path"].lstrip("/"): e for e in json.loads(run_cli(ref, "--files", "--format", "json")[1])}
    with tarfile.open(target) as tar:
        members = {m.name: m for m in tar.getmembers()}
        assert set(members) == set(listing)
        for name, member in members.items():
            expected = listing[name]
            assert member.mode == int(expected["mode"], 8), name
            if member.isfile():
                assert member.size == expected["size"], name
        assert tar.extractfile("usr/bin/tool").read() == TOOL
        names = {members["usr/bin/alias"], members["usr/bin/tool"]}
        (link,) = [m for m in names if m.islnk()]  # one name carries the bytes, the other links to it
        (data,) = [m for m in names if m.isfile()]
        assert link.linkname == data.name
        assert not any(n.startswith(("/", "..")) for n in members)

"""Broken input: exit code 2 and exactly one line on stderr saying what is wrong and where.

Never a traceback, never the CLI's catch-all "internal error" (that one is reserved for bugs), and
nothing half-printed on stdout.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from testdata.imagebuilder import E, ImageSpec, write_docker_archive, write_oci_layout

#: Incompressible, so that cutting or garbling a compressed blob always lands in real data.
NOISE = b"".join(hashlib.sha256(b"%d" % i).digest() for i in range(2000))
#: Compressible, so that zstd writes real compressed blocks.
TEXT = b"".join(b"line %d of a compressible text file\n" % i for i in range(3000))

SPEC = ImageSpec([
    [E("etc/", "dir"), E("etc/os-release", data=b"ID=test\n")],
    [E("data/", "dir"), E("data/noise", data=NOISE), E("data/text", data=TEXT), E("data/z", data=b"z")],
], config={"Cmd": ["/bin/true"]}, tags=["broken/app:1"])
BROKEN = 1  # the index of the layer the hooks damage


def assert_one_line_error(result: tuple[int, str, str], *, where: str | list[str],
                          problem: list[str], also: list[str] = ()) -> str:
    """Exit 2, empty stdout, one stderr line containing ``where``, one of ``problem`` and all of ``also``."""
    code, out, err = result
    assert "Traceback" not in out + err, err
    assert code == 2, f"exit {code}: {err}"
    assert out == "", out
    lines = err.splitlines()
    assert len(lines) == 1, f"expected one line on stderr, got {len(lines)}: {err!r}"
    line = lines[0]
    assert "internal error" not in line, line
    wheres = [where] if isinstance(where, str) else where
    assert any(w in line for w in wheres), f"{line!r} does not say where: {wheres}"
    assert any(p in line.lower() for p in problem), f"{line!r} does not name the problem: {problem}"
    for item in also:
        assert item in line, f"{item!r} missing from {line!r}"
    return line


def layer_names(ref_path: str) -> list[str]:
    """The store names of an image's layers, read from the written fixture itself."""
    path = Path(ref_path)
    if path.is_dir():
        read = lambda name: (path / name).read_bytes()  # noqa: E731
    else:
        tar = tarfile.open(path)
        read = lambda name: tar.extractfile(name).read()  # noqa: E731
    try:
        index = json.loads(read("index.json")) if _has(path, "index.json") else None
        if index is None:
            return json.loads(read("manifest.json"))[0]["Layers"]
        digest = index["manifests"][0]["digest"]
        manifest = json.loads(read("blobs/sha256/" + digest.split(":", 1)[1]))
        return ["blobs/sha256/" + layer["digest"].split(":", 1)[1] for layer in manifest["layers"]]
    finally:
        if not path.is_dir():
            tar.close()


def _has(path: Path, name: str) -> bool:
    if path.is_dir():
        return (path / name).is_file()
    with tarfile.open(path) as tar:
        return name in tar.getnames()


def layer_where(ref_path: str, index: int) -> list[str]:
    """How an error may point at layer ``index``: its v1 directory id or its blob digest."""
    name = layer_names(ref_path)[index]
    return [name.split("/")[0] if name.endswith("/layer.tar") else name.rsplit("/", 1)[-1]]


def rewrite_tar(src: str, dst: str, replace: dict[str, bytes | None]) -> None:
    """Copy an archive, replacing members (``None``: dropping them)."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as tout:
        for member in tin.getmembers():
            if member.name in replace:
                data = replace[member.name]
                if data is None:
                    continue
                member = tarfile.TarInfo(member.name)
                member.size = len(data)
                tout.addfile(member, io.BytesIO(data))
            else:
                tout.addfile(member, tin.extractfile(member) if member.isfile() else None)


def write(tmp_path: Path, layout: str, spec: ImageSpec = SPEC, **kwargs) -> str:
    """Write ``spec``: ``legacy``/``docker25``/``docker25-gzip`` archives, ``oci-<c>`` dirs, ``oci-archive-<c>``."""
    if layout in ("legacy", "docker25", "docker25-gzip"):
        path = tmp_path / f"{layout}.tar"
        write_docker_archive(path, spec, layout, **kwargs)
    elif layout.startswith("oci-archive-"):
        path = tmp_path / f"{layout}.tar"
        write_oci_layout(path, spec, compression=layout.rsplit("-", 1)[1], as_tar=True, **kwargs)
    else:
        path = tmp_path / layout
        write_oci_layout(path, spec, compression=layout.split("-", 1)[1], **kwargs)
    return str(path)


def run_ref(run_cli, path: str, via: str) -> tuple[int, str, str]:
    """Run ``--files --format json`` on ``path`` by its path or through standard input."""
    if via == "stdin":
        return run_cli("-", "--files", "--format", "json", input=Path(path).read_bytes())
    return run_cli(path, "--files", "--format", "json")


def where_for(path: str, via: str) -> list[str]:
    return ["stdin"] if via == "stdin" else [path]


# --- the reference does not lead to an image ---------------------------------------------------

@pytest.mark.parametrize("ref", ["docker-archive:/nonexistent.tar", "oci-archive:/nonexistent.tar",
                                 "oci:/nonexistent-layout"])
def test_missing_file(run_cli, ref):
    assert_one_line_error(run_cli(ref, "--files"), where=ref.split(":", 1)[1],
                          problem=["no such file", "not found", "does not exist", "cannot open"])


@pytest.mark.parametrize("prefix", ["", "oci:"])
@pytest.mark.parametrize("contents", ["empty", "unrelated-files"])
def test_directory_that_is_not_a_layout(run_cli, tmp_path, prefix, contents):
    directory = tmp_path / "not-a-layout"
    directory.mkdir()
    if contents == "unrelated-files":
        (directory / "README").write_text("hello\n")
        (directory / "blobs").mkdir()
    assert_one_line_error(run_cli(f"{prefix}{directory}", "--files"), where=str(directory),
                          problem=["not a container image", "not an image", "not an oci", "index.json",
                                   "manifest.json", "no image"])


@pytest.mark.parametrize("prefix", ["docker-archive:", "oci-archive:"])
def test_archive_transport_given_a_directory(run_cli, tmp_path, prefix):
    layout = write(tmp_path, "oci-gzip")
    assert_one_line_error(run_cli(f"{prefix}{layout}", "--files"), where=layout,
                          problem=["directory", "not a file", "expects a file"])


def test_oci_transport_given_a_file(run_cli, tmp_path):
    archive = write(tmp_path, "legacy")
    assert_one_line_error(run_cli(f"oci:{archive}", "--files"), where=archive,
                          problem=["directory", "not a dir", "oci-archive"])


@pytest.mark.parametrize("via", ["path", "docker-archive:", "oci-archive:", "stdin"])
def test_tar_that_is_not_an_image(run_cli, tmp_path, via):
    archive = tmp_path / "photos.tar"
    with tarfile.open(archive, "w") as tar:
        for name, data in (("holiday/beach.txt", b"sand\n"), ("notes.json", b'{"not": "an image"}')):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    if via == "stdin":
        result = run_ref(run_cli, str(archive), "stdin")
    else:
        result = run_cli(("" if via == "path" else via) + str(archive), "--files")
    assert_one_line_error(result, where=where_for(str(archive), via),
                          problem=["not a container image", "not an image", "index.json", "manifest.json",
                                   "no image"])


@pytest.mark.parametrize("via", ["path", "stdin"])
@pytest.mark.parametrize("content", [b"", b"just some text, not an archive\n" * 40], ids=["empty", "text"])
def test_file_that_is_not_a_tar(run_cli, tmp_path, via, content):
    path = tmp_path / "not-a-tar.tar"
    path.write_bytes(content)
    assert_one_line_error(run_ref(run_cli, str(path), via), where=where_for(str(path), via),
                          problem=["not a", "tar", "empty", "truncated", "invalid", "header"])


# --- the image's own documents are broken --------------------------------------------------------

@pytest.mark.parametrize("via", ["path", "stdin"])
def test_manifest_names_a_missing_layer(run_cli, tmp_path, via):
    good = write(tmp_path, "legacy")
    manifest = json.loads(tarfile.open(good).extractfile("manifest.json").read())
    missing = "0" * 64 + "/layer.tar"
    manifest[0]["Layers"][BROKEN] = missing
    broken = str(tmp_path / "missing-layer.tar")
    rewrite_tar(good, broken, {"manifest.json": json.dumps(manifest).encode()})
    assert_one_line_error(run_ref(run_cli, broken, via), where=where_for(broken, via),
                          problem=["missing", "not found", "no such", "absent"], also=[missing])


@pytest.mark.parametrize("via", ["path", "stdin"])
def test_docker25_archive_lacking_a_layer_blob(run_cli, tmp_path, via):
    good = write(tmp_path, "docker25")
    blob = layer_names(good)[BROKEN]
    broken = str(tmp_path / "missing-blob.tar")
    rewrite_tar(good, broken, {blob: None})
    assert_one_line_error(run_ref(run_cli, broken, via), where=where_for(broken, via),
                          problem=["missing", "not found", "no such", "absent", "cannot read"],
                          also=[blob.rsplit("/", 1)[1]])


def test_oci_layout_lacking_a_layer_blob(run_cli, tmp_path):
    layout = write(tmp_path, "oci-gzip")
    blob = layer_names(layout)[BROKEN]
    os.unlink(Path(layout) / blob)
    assert_one_line_error(run_cli(layout, "--files"), where=layout,
                          problem=["missing", "not found", "no such", "absent", "cannot read"],
                          also=[blob.rsplit("/", 1)[1]])


@pytest.mark.parametrize("via", ["path", "stdin"])
def test_manifest_json_is_not_json(run_cli, tmp_path, via):
    good = write(tmp_path, "legacy")
    broken = str(tmp_path / "bad-manifest.tar")
    rewrite_tar(good, broken, {"manifest.json": b"[{\"Config\": this is not JSON"})
    assert_one_line_error(run_ref(run_cli, broken, via), where=where_for(broken, via),
                          problem=["json"], also=["manifest.json"])


def test_index_json_is_not_json(run_cli, tmp_path):
    layout = write(tmp_path, "oci-none")
    (Path(layout) / "index.json").write_text("{ nope")
    assert_one_line_error(run_cli(layout, "--files"), where=layout, problem=["json"], also=["index.json"])


# --- layer blobs are damaged -------------------------------------------------------------------

def truncate(index: int, data: bytes) -> bytes:
    """Cut the broken layer in the middle of its data (for an uncompressed tar: inside NOISE)."""
    if index != BROKEN:
        return data
    start = data.find(NOISE[:64])
    cut = start + len(NOISE) // 2 if start >= 0 else len(data) // 2
    return data[:cut]


@pytest.mark.parametrize("layout, via", [
    ("legacy", "path"), ("legacy", "stdin"), ("docker25", "path"), ("docker25", "stdin"),
    ("docker25-gzip", "path"), ("docker25-gzip", "stdin"),
    ("oci-none", "path"), ("oci-gzip", "path"), ("oci-zstd", "path"),
    ("oci-archive-gzip", "path"), ("oci-archive-zstd", "path"),
])
def test_truncated_layer(run_cli, tmp_path, layout, via):
    path = write(tmp_path, layout, layer_bytes_hook=truncate)
    assert_one_line_error(run_ref(run_cli, path, via), where=where_for(path, via),
                          problem=["truncated", "unexpected end", "ended", "incomplete", "corrupt"],
                          also=layer_where(path, BROKEN))


def garble_middle(index: int, data: bytes) -> bytes:
    """Flip bits in the middle of the broken layer's compressed stream (gzip's CRC catches it)."""
    if index != BROKEN:
        return data
    assert data[:2] == b"\x1f\x8b", "the fixture layer should be gzip"
    damaged = bytearray(data)
    middle = len(damaged) // 2
    for i in range(middle, middle + 64):
        damaged[i] ^= 0x5A
    return bytes(damaged)


@pytest.mark.parametrize("layout, via", [
    ("docker25-gzip", "path"), ("docker25-gzip", "stdin"), ("oci-gzip", "path"), ("oci-archive-gzip", "path"),
])
def test_corrupt_gzip_layer(run_cli, tmp_path, layout, via):
    path = write(tmp_path, layout, layer_bytes_hook=garble_middle)
    assert_one_line_error(run_ref(run_cli, path, via), where=where_for(path, via),
                          problem=["corrupt", "crc", "invalid", "gzip", "truncated"],
                          also=layer_where(path, BROKEN))


def _zstd_header_length(data: bytes) -> int:
    """Length of a zstd frame header (RFC 8878, 3.1.1.1), to find the first block header."""
    descriptor = data[4]
    single_segment = bool(descriptor & 0x20)
    dict_id = (0, 1, 2, 4)[descriptor & 0x03]
    content_size = (1 if single_segment else 0, 2, 4, 8)[descriptor >> 6]
    return 4 + 1 + (0 if single_segment else 1) + dict_id + content_size


def zstd_reserved_bit(index: int, data: bytes) -> bytes:
    """Set the frame header's reserved bit, which decoders must reject."""
    if index != BROKEN:
        return data
    assert data[:4] == b"\x28\xb5\x2f\xfd"
    return data[:4] + bytes([data[4] | 0x08]) + data[5:]


def zstd_bad_block(index: int, data: bytes) -> bytes:
    """Make the first block's type the reserved value 3 (every decoder must reject it)."""
    if index != BROKEN:
        return data
    assert data[:4] == b"\x28\xb5\x2f\xfd"
    at = _zstd_header_length(data)
    return data[:at] + bytes([data[at] | 0x06]) + data[at + 1:]


@pytest.mark.parametrize("layout", ["oci-zstd", "oci-archive-zstd"])
@pytest.mark.parametrize("hook", [zstd_reserved_bit, zstd_bad_block])
def test_corrupt_zstd_layer(run_cli, tmp_path, layout, hook):
    path = write(tmp_path, layout, layer_bytes_hook=hook)
    assert_one_line_error(run_ref(run_cli, path, "path"), where=path,
                          problem=["corrupt", "zstd", "invalid", "truncated"],
                          also=layer_where(path, BROKEN))


# --- the outer archive is damaged ----------------------------------------------------------------

def _cut_inside_largest_member(path: str) -> int:
    with tarfile.open(path) as tar:
        biggest = max(tar.getmembers(), key=lambda m: m.size)
        return biggest.offset_data + biggest.size // 2


@pytest.mark.parametrize("layout, via", [
    ("legacy", "path"), ("legacy", "stdin"), ("docker25", "path"), ("docker25-gzip", "stdin"),
    ("oci-archive-gzip", "path"), ("legacy", "gzip-file"),
])
def test_truncated_outer_archive(run_cli, tmp_path, layout, via):
    good = write(tmp_path, layout)
    data = Path(good).read_bytes()[:_cut_inside_largest_member(good)]
    if via == "gzip-file":
        data = gzip.compress(Path(good).read_bytes(), mtime=0)
        data = data[: len(data) // 2]
    broken = tmp_path / "truncated.tar"
    broken.write_bytes(data)
    result = run_ref(run_cli, str(broken), "stdin" if via == "stdin" else "path")
    assert_one_line_error(result, where=where_for(str(broken), "stdin" if via == "stdin" else "path"),
                          problem=["truncated", "unexpected end", "ended", "incomplete", "corrupt"])


# --- hostile member names ------------------------------------------------------------------------

@pytest.mark.parametrize("entry", [
    E("../../etc/evil", data=b"x"),
    E("a/../../b", data=b"x"),
    E("ok/../../../outside/", "dir"),
    E("link", "hardlink", target="../../etc/shadow"),
], ids=["dotdot", "dotdot-after-a-name", "dotdot-dir", "hardlink-target"])
@pytest.mark.parametrize("via", ["path", "stdin"])
def test_member_name_escaping_the_root(run_cli, tmp_path, entry, via):
    spec = ImageSpec([[E("base", data=b"b")], [E("ok/", "dir"), E("a/", "dir"), entry]])
    path = write(tmp_path, "legacy", spec)
    bad_name = entry.target or entry.path
    assert_one_line_error(run_ref(run_cli, path, via), where=where_for(path, via),
                          problem=["escape", "outside", "breakout", "..", "climb"],
                          also=[bad_name.rstrip("/")] + layer_where(path, 1))


def test_symlink_target_outside_the_root_is_not_an_error(run_cli, tmp_path):
    # Symlink targets are stored verbatim (FACTS 65); only names and hardlink targets are checked.
    spec = ImageSpec([[E("up", "symlink", target="../../../etc/passwd")]])
    code, out, err = run_cli(write(tmp_path, "legacy", spec), "--files", "--format", "json")
    assert code == 0, err
    assert [(e["path"], e["target"]) for e in json.loads(out)] == [("/up", "../../../etc/passwd")]

"""Only what is needed is downloaded, on a cold cache too: ``diff`` shares layers by digests we computed,
``cat`` reads the top layers first and stops as soon as the rest cannot change the answer.

Requests are counted at the bed's proxy (a real docker-registry behind it). Every run has its own
empty ``XDG_CACHE_HOME`` (the ``run`` fixture) or ``--no-cache``, so nothing comes from a cache.
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

from testdata.imagebuilder import E, ImageSpec, opaque, whiteout, write_docker_archive, write_oci_layout

from .conftest import BASE_LAYERS, Bed, Proxy, Runner, _layer_digests


@pytest.fixture(scope="module")
def zstd_base(bed: Bed, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    """The base image's layers again, zstd-compressed: the same diff IDs under other blob digests."""
    layout = tmp_path_factory.mktemp("zstd-base") / "oci"
    write_oci_layout(layout, ImageSpec(BASE_LAYERS, config={"Cmd": ["/bin/sh"]}), compression="zstd")
    bed.anon.push(f"oci:{layout}", "test/base-zstd:1")
    return f"{bed.proxy.host}/test/base-zstd:1", _layer_digests(layout)


def _diff(run: Runner, a: str, b: str, *extra: str) -> dict:
    result = run("diff", a, b, "--format", "json", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.mark.parametrize("extra", [("--no-cache",), ("--all", "--no-cache"), ("--all",)])
def test_diff_downloads_the_shared_base_once(bed: Bed, run: Runner, proxy: Proxy, extra: tuple[str, ...]) -> None:
    """The second image's base layers have the blob digests the first image's download computed (and
    the same diff IDs): they are not downloaded again. Same answer as the two archives give."""
    got = _diff(run, f"registry:{bed.names['base']}", f"registry:{bed.names['app']}", *extra)
    base, own = set(bed.layers["base"]), {bed.layers["app"][2]}
    assert proxy.blob_gets(base) == len(base), proxy.counts
    assert proxy.blob_gets(own) == 1, proxy.counts
    expected = _diff(run, bed.archives["base"], bed.archives["app"], *extra)
    for key in ("added", "removed", "changed", "config", "summary"):
        assert got[key] == expected[key], key


def test_diff_shares_nothing_on_a_claimed_diff_id_alone(bed: Bed, run: Runner, proxy: Proxy,
                                                          zstd_base: tuple[str, list[str]]) -> None:
    """Same diff IDs, other blobs (zstd): no digest we computed names them, so each is downloaded and
    hashed before the merged base is shared."""
    name, zstd_layers = zstd_base
    assert set(zstd_layers).isdisjoint(bed.layers["base"])
    got = _diff(run, f"registry:{bed.names['base']}", f"registry:{name}", "--all", "--no-cache")
    assert got["added"] == got["removed"] == got["changed"] == []
    assert proxy.blob_gets(set(zstd_layers)) == len(zstd_layers), proxy.counts
    assert proxy.blob_gets(set(bed.layers["base"])) == len(bed.layers["base"]), proxy.counts


def test_diff_refuses_a_shared_layer_that_was_tampered_with(bed: Bed, run: Runner, proxy: Proxy) -> None:
    """The first image's copy of a base layer is damaged on the way: exit 3, nothing is vouched for."""
    proxy.flip_blob = bed.layers["base"][1]
    result = run("diff", f"registry:{bed.names['base']}", f"registry:{bed.names['app']}", "--no-cache")
    result_line = result.err.strip()
    assert result.code == 3, result.err
    assert "Traceback" not in result.err and len(result_line.splitlines()) == 1, result.err
    assert "digest" in result_line


# --- cat: the top layers first -------------------------------------------------------------------
@pytest.fixture(scope="module")
def stacked(bed: Bed, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str, list[str]]:
    """Four layers with the edge cases a top-down read must respect: a file replaced higher up, a
    whiteout, an opaque directory, a symlink (absolute, into a lower layer), a hardlink, a directory
    symlink in a path. Returns the registry name, the archive reference, the layer digests (bottom first)."""
    layers = [
        [E("etc/", "dir"), E("etc/motd", data=b"base motd\n"), E("etc/gone", data=b"deleted later\n"),
         E("opt/", "dir"), E("opt/old/", "dir"), E("opt/old/kept", data=b"hidden by an opaque dir\n"),
         E("real/", "dir"), E("real/deep.txt", data=b"reached through a directory link\n"),
         E("bin/", "dir"), E("bin/tool", data=b"the tool\n", mode=0o755)],
        [E("etc/", "dir"), E("etc/motd", data=b"middle motd\n"), E("usr/", "dir"),
         E("usr/lib/", "dir"), E("usr/lib/lib.so", data=b"library in layer 1\n" * 50)],
        [E("etc/", "dir"), whiteout("etc/gone"), E("opt/", "dir"), E("opt/old/", "dir"),
         opaque("opt/old"), E("opt/old/new", data=b"the opaque dir's own\n")],
        [E("app/", "dir"), E("app/motd", "symlink", target="/etc/motd"), E("app/lib", "symlink", target="../usr/lib"),
         E("app/data", data=b"app data\n"), E("app/data-link", "hardlink", target="app/data"),
         E("link", "symlink", target="real"), E("app/tool", "symlink", target="/bin/tool")],
    ]
    root = tmp_path_factory.mktemp("stacked")
    spec = ImageSpec(layers, config={"Cmd": ["/bin/tool"]})
    write_oci_layout(root / "oci", spec, compression="gzip")
    write_docker_archive(root / "stacked.tar", spec)
    bed.anon.push(f"oci:{root / 'oci'}", "test/stacked:1")
    return f"{bed.proxy.host}/test/stacked:1", f"docker-archive:{root / 'stacked.tar'}", _layer_digests(root / "oci")


# path -> the layers (bottom = 0) a top-down read must download before it knows the answer
CASES = {
    "/app/data": 1,  # in the top layer
    "/app/data-link": 1,  # a hardlink within the top layer
    "/app/motd": 3,  # a symlink up top, its target replaced in layer 1
    "/app/lib/lib.so": 3,  # a relative directory link from the top into layer 1
    "/opt/old/new": 2,  # the opaque directory's own file, layer 2
    "/app/tool": 4,  # a symlink up top, its target in the base layer: every layer
    "/link/deep.txt": 4,  # a directory symlink, its target in the base
}


@pytest.mark.parametrize("path", sorted(CASES))
def test_cat_downloads_only_the_layers_that_decide(bed: Bed, run: Runner, proxy: Proxy,
                                                   stacked: tuple[str, str, list[str]], path: str) -> None:
    """Same bytes as from the archive; the layers above the answer are downloaded once, the layer
    holding the bytes once more (to copy them), the layers below it never."""
    name, archive, digests = stacked
    expected = run("cat", archive, path)
    assert expected.code == 0, expected.err
    got = run("cat", f"registry:{name}", path, "--no-cache")
    assert got.code == 0, got.err
    assert got.out == expected.out
    top = CASES[path]
    read = set(digests[len(digests) - top:])
    assert proxy.blob_gets(set(digests) - read) == 0, proxy.counts
    assert len(read) <= proxy.blob_gets(read) <= len(read) + 1, proxy.counts


@pytest.mark.parametrize("path", ["/etc/gone", "/opt/old/kept", "/nowhere", "/app"])
def test_cat_errors_as_the_full_view_does(bed: Bed, run: Runner, proxy: Proxy,
                                          stacked: tuple[str, str, list[str]], path: str) -> None:
    """Deleted by a whiteout, hidden by an opaque directory, absent, a directory: the same one line."""
    name, archive, _digests = stacked
    expected = run("cat", archive, path)
    got = run("cat", f"registry:{name}", path, "--no-cache")
    assert got.code == expected.code == 2, (got.err, expected.err)
    assert got.one_error(2) == expected.one_error(2).replace(archive, f"registry:{name}")


# --- the inflating worker thread: its failures are the main thread's one line -----------------------
def _push_one_layer(bed: Bed, root: Path, name: str, blob: bytes, media_type: str) -> str:
    """An OCI layout of one layer whose blob is exactly ``blob`` (digests made from it), pushed as NAME:1."""
    blobs = root / "blobs" / "sha256"
    blobs.mkdir(parents=True)

    def put(data: bytes) -> dict[str, object]:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return {"digest": f"sha256:{digest}", "size": len(data)}

    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}).encode()
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                           "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **put(config)},
                           "layers": [{"mediaType": media_type, **put(blob)}]}).encode()
    (root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", **put(manifest)}]}))
    (root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')
    bed.anon.push(f"oci:{root}", f"{name}:1")
    return f"{bed.proxy.host}/{name}:1"


def test_a_zstd_bomb_stops_at_the_ratio_limit(bed: Bed, run: Runner, proxy: Proxy, tmp_path: Path) -> None:
    """A tar of 200 MiB of zeros in a few kilobytes of zstd: the worker stops it (exit 2, one line), in
    bounded memory (the runner's RLIMIT_AS is 1 GiB) and time."""
    import zstandard

    member = tarfile.TarInfo("zeros")
    member.size = 200 << 20
    compressor = zstandard.ZstdCompressor().compressobj()
    parts = [compressor.compress(member.tobuf(tarfile.PAX_FORMAT))]
    zeros = bytes(1 << 20)
    parts += [compressor.compress(zeros) for _ in range(200)]
    parts.append(compressor.flush())
    blob = b"".join(parts)
    assert len(blob) < 200_000
    name = _push_one_layer(bed, tmp_path / "oci", "test/bomb", blob, "application/vnd.oci.image.layer.v1.tar+zstd")
    result = run(f"registry:{name}", "--no-cache", timeout=60)
    result.one_error(2, "decompression bomb")


def test_a_corrupt_gzip_under_its_own_digest_is_one_line(bed: Bed, run: Runner, proxy: Proxy, tmp_path: Path) -> None:
    """The registry holds a broken gzip stream, digest and all: the worker's inflate error is one line, exit 2."""
    tar = io.BytesIO()
    with tarfile.open(fileobj=tar, mode="w") as archive:
        data = os.urandom(300_000)
        member = tarfile.TarInfo("noise")
        member.size = len(data)
        archive.addfile(member, io.BytesIO(data))
    compressed = gzip.compress(tar.getvalue())
    blob = compressed[:len(compressed) // 2]
    name = _push_one_layer(bed, tmp_path / "oci", "test/broken", blob, "application/vnd.oci.image.layer.v1.tar+gzip")
    for command in ([f"registry:{name}", "--no-cache"], ["cat", f"registry:{name}", "/noise", "--no-cache"]):
        result = run(*command, timeout=60)
        result.one_error(2, "layer 0", "corrupt or truncated")


def test_a_parse_that_stops_early_stops_the_worker(bed: Bed, run: Runner, proxy: Proxy) -> None:
    """The parser gives up in the middle of a layer (the entry limit): the inflating worker is stopped
    and the run ends at once with the limit's one line (no hang, no traceback, no second error)."""
    result = run(f"registry:{bed.names['sample']}", "--no-cache", "--max-entries", "5", timeout=60)
    result.one_error(2, "more than 5 entries")

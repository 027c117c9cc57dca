"""The per-layer cache: a repeat look reads no layer, shared layers are read once, and nothing
corrupt or unverified is ever trusted."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from testdata.imagebuilder import E, ImageSpec

BASE = [E("etc/", "dir"), E("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n"),
        E("bin/", "dir"), E("bin/sh", data=b"#!/bin/busybox\n", mode=0o755)]
SPEC_A = ImageSpec(layers=[BASE, [E("app-a", data=b"a")]], config={"Entrypoint": ["/bin/sh"]})
SPEC_B = ImageSpec(layers=[BASE, [E("app-b", data=b"b")]], config={"Entrypoint": ["/bin/sh"]})


@pytest.fixture
def cache_env(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache"
    monkeypatch.setenv("XDG_CACHE_HOME", str(directory))
    return directory / "inspect-image"


def _blobs(layout: Path) -> dict[str, Path]:
    """Layer blobs of an OCI layout, by diff order."""
    index = json.loads((layout / "index.json").read_text())
    manifest = json.loads((layout / "blobs/sha256" / index["manifests"][0]["digest"].split(":")[1]).read_text())
    return {str(i): layout / "blobs/sha256" / d["digest"].split(":")[1] for i, d in enumerate(manifest["layers"])}


def _spoil(path: Path) -> None:
    """Garbage of the blob's own size: a cache hit checks the size (README), never the bytes."""
    os.chmod(path, 0o644)
    path.write_bytes(b"not a layer any more".ljust(path.stat().st_size, b"!"))


def test_a_repeat_inspection_reads_no_layer(image_writer, run_cli, cache_env):
    ref = image_writer(SPEC_A, "oci-gzip")
    first = run_cli(ref, "--format", "json")
    assert first[0] == 0, first[2]
    for blob in _blobs(Path(ref)).values():
        _spoil(blob)  # from now on, reading any layer would fail
    second = run_cli(ref, "--format", "json")
    assert second[0] == 0, second[2]
    assert json.loads(second[1])["executables"] == json.loads(first[1])["executables"]
    assert run_cli(ref, "--files", "--format", "json")[0] == 0, "the listing is served from the same cache"
    assert run_cli(ref, "--format", "json", "--no-cache")[0] == 2, "--no-cache reads the (spoiled) layers"


def test_layers_shared_between_images_are_read_once(image_writer, run_cli, cache_env):
    ref_a = image_writer(SPEC_A, "oci-gzip", name="a")
    ref_b = image_writer(SPEC_B, "oci-gzip", name="b")
    assert run_cli(ref_a)[0] == 0
    _spoil(_blobs(Path(ref_b))["0"])  # the base layer, shared with A
    code, out, err = run_cli(ref_b, "--files", "--format", "json")
    assert code == 0, err
    assert "/app-b" in {e["path"] for e in json.loads(out)}


def test_a_corrupt_cache_entry_is_detected_and_rebuilt(image_writer, run_cli, cache_env):
    ref = image_writer(SPEC_A, "oci-gzip")
    expected = run_cli(ref, "--files", "--format", "json")[1]
    entries = sorted((cache_env / "layers").iterdir())
    assert entries, "the first run fills the cache"
    for entry in entries:
        data = bytearray(entry.read_bytes())
        data[-5] ^= 0xFF
        entry.write_bytes(bytes(data))
    code, out, err = run_cli(ref, "--files", "--format", "json")
    assert code == 0, err
    assert out == expected, "a corrupt entry is never trusted: the layers were read again"
    for blob in _blobs(Path(ref)).values():
        _spoil(blob)
    code, out, err = run_cli(ref, "--files", "--format", "json")
    assert code == 0 and out == expected, "the entries were rebuilt, valid: now they serve alone"


def test_a_layer_that_does_not_match_its_diff_id_is_never_cached(image_writer, run_cli, cache_env):
    def tamper(index: int, data: bytes) -> bytes:
        return data.replace(b"root:x", b"evil:x") if index == 0 else data

    bad = image_writer(SPEC_A, "legacy", name="bad", layer_bytes_hook=tamper)
    code, _, err = run_cli(bad, "--files")
    assert code == 3, err
    good = image_writer(SPEC_A, "legacy", name="good")  # the genuine layer, same diff ID
    code, out, _ = run_cli("cat", good, "/etc/passwd")
    assert code == 0 and out.startswith("root:x")
    listing = json.loads(run_cli(good, "--files", "--format", "json")[1])
    assert {e["path"] for e in listing} >= {"/etc/passwd", "/app-a"}

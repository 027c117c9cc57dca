"""A warm ``--packages`` repeat, answered from the image-level report cache (README, "The cache").

What a user sees: the repeat prints exactly what the cold run printed (stdout and stderr, byte for
byte); a damaged or hostile report entry is refused and the report computed again, never shown; a
layer whose blob changed is read and checked as without any cache; ``--verify`` and ``--no-cache``
never look at the report cache; a changed build step (the config's history) is never answered
with the old one.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import zlib
from pathlib import Path

import pytest

from testdata import packages_fixtures as fx
from testdata.imagebuilder import ImageSpec
from tests.conftest import cli_env

MEMORY = 512 << 20
MAGIC = b"inspect-image-cache"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A cache directory of this test's own (the suite's shared one would answer across tests)."""
    home = tmp_path / "xdg"
    monkeypatch.setenv("XDG_CACHE_HOME", str(home))
    return home / "inspect-image"


def run(*args: str) -> tuple[int, str, str]:
    """The CLI in a subprocess, under a memory and a time limit."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))

    proc = subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, env=cli_env(),
                          timeout=60, preexec_fn=limit)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def packages(ref: str, *extra: str) -> tuple[str, str]:
    code, out, err = run(ref, "--packages", "--format", "json", *extra)
    assert code == 0, err
    assert "Traceback" not in err and "internal error" not in err
    return out, err


def report_entries(cache: Path) -> list[Path]:
    folder = cache / "reports"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def reseal(path: Path, document: object) -> None:
    """Write ``document`` as a sealed entry (what only someone who can write the cache can do)."""
    body = document if isinstance(document, bytes) else json.dumps(document).encode()
    rest = json.dumps({"raw": len(body)}).encode() + b"\n" + zlib.compress(body)
    path.write_bytes(MAGIC + b" 3 " + hashlib.sha256(rest).hexdigest().encode() + b"\n" + rest)


def unsealed(path: Path) -> dict:
    _, _, rest = path.read_bytes().partition(b"\n")
    _, _, body = rest.partition(b"\n")
    return json.loads(zlib.decompress(body))


@pytest.fixture
def tampered(image_writer) -> str:
    return image_writer(ImageSpec([fx.debian_base_layer(), fx.tampering_layer()], history=fx.APP_HISTORY),
                        "legacy")


@pytest.mark.parametrize("layout", ["legacy", "oci-gzip"])
def test_repeat_prints_exactly_what_the_cold_run_printed(image_writer, cache: Path, layout: str) -> None:
    ref = image_writer(ImageSpec([fx.debian_base_layer(), fx.tampering_layer()], history=fx.APP_HISTORY), layout)
    cold = packages(ref)
    assert len(report_entries(cache)) == 1
    assert packages(ref) == cold
    assert json.loads(cold[0])["integrity"]["modified"][0]["path"] == "/bin/ls"
    code, table_cold, err_cold = run(ref, "--packages")
    assert code == 0
    assert run(ref, "--packages") == (0, table_cold, err_cold)
    assert run(ref, "--packages", "--no-cache") == (0, table_cold, err_cold)


def test_the_repeat_is_answered_by_the_report_cache(tampered: str, cache: Path) -> None:
    """Proof that the entry answers (a marker someone with write access to the cache put there), and
    that ``--verify``, ``--no-cache`` and a policy never look at it."""
    cold, _ = packages(tampered)
    [entry] = report_entries(cache)
    document = unsealed(entry)
    document["report"]["os"]["pretty_name"] = "MARKER"
    reseal(entry, document)
    assert "MARKER" in packages(tampered)[0]
    for extra in (["--verify"], ["--no-cache"]):
        assert packages(tampered, *extra)[0] == cold
    code, out, _ = run(tampered, "--packages", "--format", "json", "--fail-on", "shell")
    assert "MARKER" not in out


@pytest.mark.parametrize("damage", ["flip", "truncate", "empty", "zlib-bomb", "float", "shape", "deep",
                                    "dev-zero", "fifo", "directory"])
def test_a_damaged_report_entry_is_refused_never_shown(tampered: str, cache: Path, damage: str) -> None:
    cold = packages(tampered)
    [entry] = report_entries(cache)
    original, document = unsealed(entry), unsealed(entry)
    data = entry.read_bytes()
    entry.unlink()
    if damage == "flip":
        entry.write_bytes(data[:-5] + bytes([data[-5] ^ 1]) + data[-4:])
    elif damage == "truncate":
        entry.write_bytes(data[: len(data) // 2])
    elif damage == "empty":
        entry.write_bytes(b"")
    elif damage == "zlib-bomb":
        body = zlib.compress(b" " * (64 << 20))
        rest = json.dumps({"raw": 1 << 28}).encode() + b"\n" + body
        entry.write_bytes(MAGIC + b" 3 " + hashlib.sha256(rest).hexdigest().encode() + b"\n" + rest)
    elif damage == "float":
        document["report"]["integrity"]["checked"] = 1e999
        reseal(entry, document)
    elif damage == "shape":
        document["report"]["packages"] = [5, "MARKER"]
        reseal(entry, document)
    elif damage == "deep":
        reseal(entry, b'{"report": ' + b"[" * 100_000 + b"]" * 100_000 + b', "warnings": []}')
    elif damage == "dev-zero":
        entry.symlink_to("/dev/zero")
    elif damage == "fifo":
        os.mkfifo(entry)
    else:
        entry.mkdir()
    assert packages(tampered) == cold
    [rebuilt] = report_entries(cache)
    assert unsealed(rebuilt) == original
    assert packages(tampered) == cold  # rebuilt: the repeat is whole again


def test_a_changed_layer_blob_is_read_and_checked_not_answered(image_writer, cache: Path) -> None:
    """Same config (same claimed diff IDs), another blob for the app layer: the report cache must not
    answer; the layer is read and refused against its diff ID (exit 3), as without any cache."""
    ref = image_writer(ImageSpec([fx.debian_base_layer(), fx.tampering_layer()], history=fx.APP_HISTORY),
                       "oci-gzip")
    packages(ref)
    manifest_index = json.loads((Path(ref) / "index.json").read_text())
    digest = manifest_index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((Path(ref) / "blobs" / "sha256" / digest).read_text())
    app = Path(ref) / "blobs" / "sha256" / manifest["layers"][1]["digest"].split(":")[1]
    layer = io.BytesIO()
    with tarfile.open(fileobj=layer, mode="w") as tar:
        info = tarfile.TarInfo("usr/local/bin/other")
        data = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"other " * 40
        info.size, info.mode = len(data), 0o755
        tar.addfile(info, io.BytesIO(data))
    os.chmod(app, 0o644)
    app.write_bytes(gzip.compress(layer.getvalue()))
    code, out, err = run(ref, "--packages", "--format", "json")
    assert code == 3, err
    assert out == "" and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_another_layer_or_build_step_is_never_answered_with_the_old_report(image_writer, cache: Path) -> None:
    base = fx.debian_base_layer()
    genuine = image_writer(ImageSpec([base], history=[{"created_by": "debootstrap bookworm"}]), "legacy")
    patched = image_writer(ImageSpec([base, fx.tampering_layer()], history=fx.APP_HISTORY), "legacy")
    renamed = image_writer(ImageSpec([base, fx.tampering_layer()],
                                     history=[{"created_by": "debootstrap bookworm"}, {"created_by": "COPY other"}]),
                           "legacy")
    first = {ref: packages(ref) for ref in (genuine, patched, renamed)}
    assert json.loads(first[genuine][0])["integrity"]["modified"] == []
    assert json.loads(first[patched][0])["integrity"]["modified"][0]["layer_created_by"] == "COPY app/ / # tampering"
    assert json.loads(first[renamed][0])["integrity"]["modified"][0]["layer_created_by"] == "COPY other"
    assert len(report_entries(cache)) == 3
    for ref, cold in first.items():
        assert packages(ref) == cold


def test_a_pipe_is_never_consumed_by_the_report_cache(tampered: str, cache: Path) -> None:
    """A one-pass stream cannot say its layers before it is read: no lookup, the same answer."""
    cold = packages(tampered)
    assert len(report_entries(cache)) == 1
    for _ in range(2):
        proc = subprocess.run([sys.executable, "-m", "inspector", "-", "--packages", "--format", "json"],
                              input=Path(tampered).read_bytes(), capture_output=True, env=cli_env(), timeout=60)
        assert (proc.returncode, proc.stdout.decode(), proc.stderr.decode()) == (0, *cold)


@pytest.mark.engine
def test_the_engine_is_never_consumed_by_the_report_cache(image_writer, cache: Path) -> None:
    """``docker:`` says its layers only by a save (or the layer cache): no lookup, the same answer."""
    tag = f"inspector-test/packages-warm:t{os.getpid()}"
    ref = image_writer(ImageSpec([fx.debian_base_layer(), fx.tampering_layer()], history=fx.APP_HISTORY,
                                 tags=[tag]), "legacy")
    loaded = subprocess.run(["docker", "load", "-i", ref], capture_output=True, timeout=120)
    if loaded.returncode != 0:
        pytest.skip(f"docker load: {loaded.stderr.decode()[:200]}")
    try:
        first = packages(f"docker:{tag}")
        assert json.loads(first[0])["integrity"]["modified"][0]["path"] == "/bin/ls"
        assert packages(f"docker:{tag}") == first
    finally:
        subprocess.run(["docker", "rmi", "-f", tag], capture_output=True, timeout=60)

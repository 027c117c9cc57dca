"""Nothing is skipped, shared or answered from the cache on a claim.

The tampered archive of each pair (``testdata.hostile_pairs``) reuses the genuine config, so it
claims the genuine diff IDs, but its top layer adds a setuid ``/bin/sh``. Whatever the state of
the cache (cold, warm from the genuine image, or refused), it is refused with exit 3 or its shell
is reported: never the genuine image's answer with exit 0.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from testdata.hostile_pairs import SETUID_SH, write_pair

from .conftest import run_cli

FILE_LAYOUTS = ["legacy", "docker25", "oci-none", "oci-gzip", "oci-archive"]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    directory = tmp_path / "cache-home"
    monkeypatch.setenv("XDG_CACHE_HOME", str(directory))
    return directory / "inspect-image"


def _refused(code: int, err: str) -> None:
    assert code == 3, err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err and "internal error" not in err
    assert "layer 1" in err


def _warm(genuine: str) -> None:
    for view in ("--files", "--executables"):
        code, _, err = run_cli(genuine, view, "--format", "json")
        assert code == 0, err


# --- one image: cold, warm, --no-cache ---------------------------------------------------------
@pytest.mark.parametrize("layout", FILE_LAYOUTS)
def test_a_tampered_archive_is_refused_cold_warm_and_without_cache(tmp_path, cache_dir, layout):
    genuine, tampered = write_pair(tmp_path, layout)
    _refused(*run_cli(tampered, "--files", "--format", "json")[::2])  # cold
    _warm(genuine)
    for view in ("--files", "--executables"):
        code, out, err = run_cli(tampered, view, "--format", "json")  # warm
        assert out == ""
        _refused(code, err)
    _refused(*run_cli(tampered, "--files", "--no-cache")[::2])
    _refused(*run_cli(tampered, "--files", "--verify")[::2])


@pytest.mark.parametrize("layout", ["legacy", "oci-none"])
def test_same_size_tampering_is_refused_cold_without_cache_and_with_verify(tmp_path, cache_dir, layout):
    # no cheap check tells a same-size layer apart (README: what a cache hit trusts); a hash does
    genuine, tampered = write_pair(tmp_path, layout, same_size=True)
    _refused(*run_cli(tampered, "--files")[::2])
    _warm(genuine)
    _refused(*run_cli(tampered, "--files", "--no-cache")[::2])
    _refused(*run_cli(tampered, "--files", "--verify")[::2])


def test_a_missing_layer_blob_is_an_error_even_with_a_warm_cache(tmp_path, cache_dir):
    genuine, _ = write_pair(tmp_path, "oci-none")
    _warm(genuine)
    manifest_index = json.loads((Path(genuine) / "index.json").read_text())
    blobs = Path(genuine) / "blobs" / "sha256"
    manifest = json.loads((blobs / manifest_index["manifests"][0]["digest"][7:]).read_text())
    (blobs / manifest["layers"][1]["digest"][7:]).unlink()
    for extra in ([], ["--no-cache"]):
        code, out, err = run_cli(genuine, "--files", *extra)
        assert code == 2 and out == "", err
        assert len(err.strip().splitlines()) == 1 and ("missing" in err or "cannot read" in err), err


# --- cat and export ----------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["legacy", "oci-none", "oci-gzip"])
def test_cat_and_export_never_emit_the_attackers_bytes(tmp_path, cache_dir, layout):
    genuine, tampered = write_pair(tmp_path, layout)
    _warm(genuine)
    code, out, err = run_cli("cat", genuine, "/app/run")
    assert code == 0 and "genuine" in out, err
    for path in ("/bin/sh", "/app/run"):
        code, out, err = run_cli("cat", tampered, path)
        assert out == "" and "attacker" not in out
        _refused(code, err)
    dest = tmp_path / "exported"
    code, _, err = run_cli("export", tampered, str(dest))
    _refused(code, err)
    assert not (dest / "bin" / "sh").exists()
    code, out, err = run_cli("export", tampered, "-")
    _refused(code, err)
    assert SETUID_SH.decode("latin-1") not in out


# --- diff --------------------------------------------------------------------------------------
def _diff_outcome(genuine: str, tampered: str, *extra: str) -> tuple[int, dict | None, str]:
    code, out, err = run_cli("diff", genuine, tampered, "--exit-code", "--format", "json", *extra)
    assert "Traceback" not in err and "internal error" not in err
    return code, json.loads(out) if out else None, err


def _assert_caught(code: int, result: dict | None, err: str) -> None:
    """Exit 3, or the setuid shell reported as added: never "no difference"."""
    assert code != 0, "the tampered image passed the review gate"
    if code == 3:
        assert result is None and "layer 1" in err
    else:
        assert code == 1, err
        assert "/bin/sh" in {e["path"] for e in result["added"]}
        assert result["summary"]["setuid"]["added"] == ["/bin/sh"]


@pytest.mark.parametrize("layout", ["legacy", "docker25", "oci-gzip"])
@pytest.mark.parametrize("extra", [[], ["--verify"], ["--no-cache"], ["--all"], ["--all", "--no-cache"]])
def test_diff_never_shares_a_layer_on_its_claimed_diff_id(tmp_path, cache_dir, layout, extra):
    genuine, tampered = write_pair(tmp_path, layout)
    _assert_caught(*_diff_outcome(genuine, tampered, *extra))  # cold (or no cache)
    _warm(genuine)
    _assert_caught(*_diff_outcome(genuine, tampered, *extra))  # warm


@pytest.mark.parametrize("extra", [["--verify"], ["--no-cache"], ["--all", "--no-cache"]])
def test_diff_catches_same_size_tampering_when_it_hashes(tmp_path, cache_dir, extra):
    genuine, tampered = write_pair(tmp_path, "legacy", same_size=True)
    _assert_caught(*_diff_outcome(genuine, tampered, *extra))


def test_diff_of_a_genuine_copy_still_shares_and_agrees(tmp_path, cache_dir):
    genuine, _ = write_pair(tmp_path, "legacy")
    copy = tmp_path / "copy.tar"
    shutil.copy(genuine, copy)
    for extra in ([], ["--no-cache"], ["--verify"], ["--all"]):
        code, result, err = _diff_outcome(genuine, str(copy), *extra)
        assert code == 0, err
        assert result["added"] == result["removed"] == result["changed"] == []


# --- limits count cached layers before they are decoded -----------------------------------------
def test_cached_layers_count_toward_the_entry_and_layer_limits(tmp_path, cache_dir):
    genuine, _ = write_pair(tmp_path, "legacy")
    _warm(genuine)
    code, _, err = run_cli(genuine, "--files", "--max-entries", "3")
    assert code == 2 and "--max-entries" in err and len(err.strip().splitlines()) == 1, err
    code, _, err = run_cli(genuine, "--max-entries", "3")
    assert code == 2 and "--max-entries" in err, err
    code, _, err = run_cli(genuine, "--files", "--max-layers", "1")
    assert code == 2 and "--max-layers" in err and len(err.strip().splitlines()) == 1, err
    assert run_cli(genuine, "--files", "--max-entries", "4")[0] == 0, "the image has exactly 4 entries"
    assert os.listdir(cache_dir / "layers"), "the entries stay: the limit is the user's, not the entry's fault"

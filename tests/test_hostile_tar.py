"""Hostile tar headers, end to end: the CLI under a 1 GiB address-space limit and a 20 s timeout.

Each class of ``testdata.hostile_tar.HOSTILE`` (PAX lengths huge or overrunning, 100k PAX records,
GNU long names declaring 8 GiB, sparse maps declaring 2^62, owners of 10^30) is a layer of a
docker-archive, read from the file and from standard input: exit 2, one stderr line, no traceback.
Before our own parser, these took minutes (CVE-2024-6232) or died with MemoryError ("internal error").
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from testdata import hostile_tar as H

from .conftest import cli_env

MEMORY = 1 << 30
TIMEOUT = 20


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run(*args: str, stdin: Path | None = None) -> tuple[int, str, str]:
    with open(stdin, "rb") if stdin else open("/dev/null", "rb") as source:
        proc = subprocess.run([sys.executable, "-m", "inspector", *args], stdin=source, capture_output=True,
                              check=False, env=cli_env(), timeout=TIMEOUT, preexec_fn=_limit)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


def assert_refused(code: int, err: str, *words: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err
    assert code == 2, err
    assert len(err.strip().splitlines()) == 1, err
    assert all(word in err for word in words), err


CASES = [(cls, name) for cls, cases in H.HOSTILE.items() for name in cases]


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[tuple[str, str], Path]:
    root = tmp_path_factory.mktemp("hostile-tar")
    return {(cls, name): Path(H.image_with_layer(root / f"{cls}-{name}.tar", H.HOSTILE[cls][name]()))
            for cls, name in CASES}


@pytest.mark.parametrize(("cls", "name"), CASES, ids=[f"{c}-{n}" for c, n in CASES])
def test_hostile_layer_from_a_file(cls: str, name: str, images: dict[tuple[str, str], Path]) -> None:
    code, _, err = run(str(images[cls, name]), "--files", "--format", "json")
    assert_refused(code, err, "layer")


FIRST_OF_EACH = [(cls, next(iter(cases))) for cls, cases in H.HOSTILE.items()]


@pytest.mark.parametrize(("cls", "name"), FIRST_OF_EACH, ids=[f"{c}-{n}" for c, n in FIRST_OF_EACH])
def test_hostile_layer_from_stdin(cls: str, name: str, images: dict[tuple[str, str], Path]) -> None:
    code, _, err = run("-", stdin=images[cls, name])
    assert_refused(code, err)


# --- global headers: counted, shared, and never a capability ------------------------------------------------

@pytest.fixture(scope="module")
def global_xattrs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """10,000 global xattrs (and a global security.capability) before 3,000 files."""
    root = tmp_path_factory.mktemp("globals")
    return Path(H.image_with_layer(root / "globals.tar", H.global_xattr_layer(10_000, 3000)))


def test_global_xattrs_are_not_copied_to_every_file(global_xattrs: Path) -> None:
    code, out, err = run(str(global_xattrs), "--files", "--format", "json")
    assert code == 0, err
    files = [e for e in json.loads(out) if e["path"].startswith("/f/")]
    assert len(files) == 3000
    assert not any(e.get("xattrs") or e.get("capabilities") for e in files)


def test_global_records_count_as_entries(global_xattrs: Path) -> None:
    code, _, err = run(str(global_xattrs), "--files", "--max-entries", "10000")
    assert_refused(code, err, "--max-entries")
    code, _, err = run(str(global_xattrs), "--files", "--max-entries", "20000")
    assert code == 0, err


def test_repeated_global_headers_stop_at_the_entry_limit(tmp_path: Path) -> None:
    path = H.image_with_layer(tmp_path / "repeated.tar", H.global_xattr_layer(10_000, 10, headers=30))
    code, _, err = run(path, "--max-entries", "100000")
    assert_refused(code, err, "--max-entries")


# --- sparse members -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("flavour", ["old-gnu", "pax-0.1", "pax-1.0", "layer-name"])
@pytest.mark.parametrize("how", ["file", "stdin", "verify"])
def test_sparse_member_in_the_outer_archive_is_refused(flavour: str, how: str, tmp_path: Path) -> None:
    """64 GiB of holes in 5 kB: hashing them would take minutes; the archive is refused at once."""
    path = Path(H.archive_with_sparse_member(tmp_path / "outer.tar", flavour))
    if how == "stdin":
        code, _, err = run("-", stdin=path)
    else:
        code, _, err = run(str(path), *(["--verify"] if how == "verify" else []))
    assert_refused(code, err, "sparse member", "refused")


@pytest.mark.parametrize("version", ["old-gnu", "0.0", "0.1", "1.0"])
def test_sparse_file_in_a_layer_is_its_real_size_and_never_inflated(version: str, tmp_path: Path) -> None:
    real = 64 << 30
    fragments = [(0, 512), (real - 512, 512)]
    member = (H.old_gnu_sparse("bin/holes", real, fragments) if version == "old-gnu"
              else H.pax_sparse("bin/holes", real, version, fragments))
    path = H.image_with_layer(tmp_path / "sparse.tar", H.layer(H.directory("bin/"), member, H.regular("after", b"a")))
    code, out, err = run(path, "--files", "--format", "json")
    assert code == 0, err
    entries = {e["path"]: e for e in json.loads(out)}
    assert entries["/bin/holes"]["type"] == "file" and entries["/bin/holes"]["size"] == real
    assert "/after" in entries
    code, out, err = run(path)  # the summary probes executables: the sparse one is not read
    assert code == 0, err
    code, out, err = run("cat", path, "/bin/holes")
    assert code == 0 and out == "", err  # its content is never inflated (README, Limits)

"""Issue 11, items 2, 3, 4, 5c and 6c: the outer container of an image is as hostile as its layers.

Each case runs the CLI in a child under an address-space limit and a time limit, and asserts what a
user sees: the exit code, exactly one stderr line, no traceback, and that bytes we did not verify
(an altered duplicate, a host file) never reach stdout or an exported tree.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path

import pytest

from testdata import hostile_sources as h

from .conftest import cli_env

MEMORY = 1 << 30


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run(*args: str, stdin: object = None, timeout: float = 30) -> tuple[int, bytes, str]:
    proc = subprocess.run([sys.executable, "-m", "inspector", *args], stdin=stdin or subprocess.DEVNULL,
                          capture_output=True, env=cli_env(), timeout=timeout, preexec_fn=_limit)
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "surrogateescape")


def piped(generator: list[str], *args: str, timeout: float = 60) -> tuple[int, bytes, str]:
    """``python -m testdata.hostile_sources GENERATOR | inspect-image - ARGS``."""
    producer = subprocess.Popen([sys.executable, "-m", "testdata.hostile_sources", *generator],
                                stdout=subprocess.PIPE, env=cli_env())
    try:
        return run("-", *args, stdin=producer.stdout, timeout=timeout)
    finally:
        assert producer.stdout is not None
        producer.stdout.close()
        producer.wait(timeout=timeout)


def one_error(code: int, err: str, expected: int, *words: str) -> str:
    assert code == expected, f"exit {code}, expected {expected}: {err}"
    assert "Traceback" not in err and "internal error" not in err, err
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    line = lines[0]
    assert all(c >= " " and c != "\x7f" for c in line), repr(line)
    for word in words:
        assert word.lower() in line.lower(), f"{word!r} not in {line!r}"
    return line


# --- item 2: what we output is what we verified ---------------------------------------------------

@pytest.mark.parametrize("spelling", ["{}", "./{}", "/{}"])
def test_duplicate_member_in_docker_archive_is_refused(tmp_path: Path, spelling: str) -> None:
    archive = h.duplicate_docker_archive(tmp_path / "dup.tar", spelling)
    code, out, err = run(archive, "--verify", "--files")
    one_error(code, err, 2, "layer.tar", "twice")
    assert b"evil" not in out


def test_duplicate_member_cat_and_export_never_emit_the_altered_copy(tmp_path: Path) -> None:
    for compress in (False, True):  # random access, and a gzip'd archive read in passes
        archive = h.duplicate_docker_archive(tmp_path / f"dup{compress}.tar", compress=compress)
        code, out, err = run("cat", archive, "/etc/motd")
        one_error(code, err, 2, "twice")
        assert h.ALTERED not in out
        dest = tmp_path / f"out{compress}"
        code, out, err = run("export", archive, str(dest))
        one_error(code, err, 2, "twice")
        written = [p for p in dest.rglob("*") if p.is_file()] if dest.exists() else []
        assert all(h.ALTERED not in p.read_bytes() for p in written)


def test_duplicate_member_piped(tmp_path: Path) -> None:
    archive = h.duplicate_docker_archive(tmp_path / "dup.tar", "./{}")
    with open(archive, "rb") as stdin:
        code, out, err = run("-", "--files", stdin=stdin)
    one_error(code, err, 2, "layer.tar", "twice")


def test_duplicate_blob_in_oci_archive(tmp_path: Path) -> None:
    archive = h.duplicate_oci_archive(tmp_path / "dup-oci.tar")
    code, out, err = run("cat", f"oci-archive:{archive}", "/etc/motd")
    one_error(code, err, 2, "blobs/sha256/", "twice")
    assert h.ALTERED not in out
    with open(archive, "rb") as stdin:
        code, out, err = run("-", "--files", stdin=stdin)
    one_error(code, err, 2, "twice")


def test_symlink_blob_in_oci_archive_is_refused(tmp_path: Path) -> None:
    archive = h.oci_archive_blob_symlink(tmp_path / "link-oci.tar")
    code, out, err = run("cat", f"oci-archive:{archive}", "/etc/motd")
    one_error(code, err, 2, "link")
    assert h.ALTERED not in out


def test_legacy_links_between_layer_members_still_work(tmp_path: Path) -> None:
    """``docker save`` links a layer shared by two images to its first copy: that must keep working."""
    from testdata.imagebuilder import E, ImageSpec, write_docker_archive

    base = [E("etc/", "dir"), E("etc/motd", data=h.GENUINE)]
    specs = [ImageSpec([base], {}, ["a:1"]), ImageSpec([[E("x", data=b"x")], base], {}, ["b:1"])]
    path = tmp_path / "shared.tar"
    write_docker_archive(path, specs, "legacy")
    code, out, err = run("cat", f"{path}:b:1", "/etc/motd", "--verify")
    assert (code, out) == (0, h.GENUINE), err
    with open(path, "rb") as stdin:
        code, out, err = run("-", "--tag", "b:1", "--verify", "--json", stdin=stdin)
    assert code == 0, err


# --- item 3: every digest is checked or refused --------------------------------------------------

BAD_DIGESTS = {
    "cyrillic": "sh\u0430256:" + "a" * 64,
    "uppercase": "sha256:" + "A" * 64,
    "short": "sha256:" + "a" * 63,
    "md5": "md5:" + "0" * 32,
    "newline": "sha256:" + "a" * 64 + "\n",
    "escape": "sha256:\x1b]52;c;aGk=\x07" + "a" * 40,
    "sha512-short": "sha512:" + "a" * 64,
}


#: every spelling where the config is named; the lookalike, the escape and md5 everywhere else
CASES = [("config", kind) for kind in sorted(BAD_DIGESTS)] + \
    [(where, kind) for where in ("manifest", "layer", "diff_id") for kind in ("cyrillic", "escape", "md5")]


@pytest.mark.parametrize(("where", "kind"), CASES)
def test_unsupported_digest_is_refused_and_shown_escaped(tmp_path: Path, where: str, kind: str) -> None:
    bad = BAD_DIGESTS[kind]
    if kind in ("cyrillic", "uppercase"):  # the genuine hex under a lookalike name
        bad = bad.split(":")[0] + (":{hex}" if kind == "cyrillic" else ":{HEX}")
    layout = h.oci_with_digest(tmp_path / "oci", where, bad)
    code, out, err = run(f"oci:{layout}", "--json")
    one_error(code, err, 3, "digest")
    assert "\x1b" not in err and "\u0430" not in err


def test_cyrillic_config_name_with_genuine_hex(tmp_path: Path) -> None:
    """The ID printed would look genuine: refuse it, showing the lookalike letter escaped."""
    spoof = h.oci_with_digest(tmp_path / "oci", "config", "sh\u0430256:{hex}")
    code, out, err = run(f"oci:{spoof}", "--verify")
    one_error(code, err, 3, "digest", "\\u0430")
    assert b"sha256:" not in out


@pytest.mark.parametrize("where", ["manifest", "config", "layer", "diff_id"])
def test_sha512_is_checked(tmp_path: Path, where: str) -> None:
    right = h.oci_with_digest(tmp_path / "right", where, None)
    code, out, err = run(f"oci:{right}", "--verify", "--json")
    assert code == 0, err
    checked = json.loads(out)["verification"]
    assert checked["documents_checked"] + checked["blobs_checked"] + checked["layers_checked"] >= 3
    wrong = h.oci_with_digest(tmp_path / "wrong", where, "sha512:" + "ab" * 64)
    code, out, err = run(f"oci:{wrong}", "--verify", "--json")
    one_error(code, err, 3, "sha512:" + "ab" * 64)


def test_sha512_diff_id_in_a_stream(tmp_path: Path) -> None:
    right = h.legacy_with_diff_id(tmp_path / "right.tar", None)
    with open(right, "rb") as stdin:
        code, out, err = run("-", "--verify", "--json", stdin=stdin)
    assert code == 0, err
    assert json.loads(out)["verification"]["layers_checked"] == 1
    code, out, err = run(right, "--verify", "--json")
    assert code == 0, err
    assert json.loads(out)["verification"]["layers_checked"] == 1
    wrong = h.legacy_with_diff_id(tmp_path / "wrong.tar", "sha512:" + "cd" * 64)
    for stdin_path in (None, wrong):
        if stdin_path:
            with open(stdin_path, "rb") as stdin:
                code, out, err = run("-", "--verify", stdin=stdin)
        else:
            code, out, err = run(wrong, "--verify")
        one_error(code, err, 3, "does not match")


def test_legacy_config_name_is_still_checked(tmp_path: Path) -> None:
    good = h.legacy_with_diff_id(tmp_path / "good.tar", "sha256:" + "0" * 64)
    import tarfile

    from testdata.make_bad_inputs import rewrite_tar

    with tarfile.open(good) as tar:
        config = next(m.name for m in tar.getmembers() if m.name.endswith(".json") and "/" not in m.name
                      and m.name != "manifest.json")
    bad = rewrite_tar(good, str(tmp_path / "bad.tar"), replace={config: b'{"config":{}}'})
    code, out, err = run(bad)
    one_error(code, err, 3, "does not match")


# --- item 4: an OCI folder is a closed world ------------------------------------------------------

@pytest.mark.parametrize("how", ["blob-symlink", "blobs-symlink", "algo-symlink", "index-symlink", "fifo", "dir"])
@pytest.mark.parametrize("command", ["cat", "summary"])
def test_oci_folder_never_reaches_out(tmp_path: Path, how: str, command: str) -> None:
    layout = h.oci_reaching_out(tmp_path / "oci", tmp_path / "host", how)
    args = ["cat", f"oci:{layout}", "/secret.txt"] if command == "cat" else [f"oci:{layout}", "--json"]
    start = time.monotonic()
    code, out, err = run(*args, "--no-cache", timeout=20)
    assert time.monotonic() - start < 15
    word = {"fifo": "regular", "dir": "regular"}.get(how, "symlink")
    one_error(code, err, 2, word)
    assert h.HOST_SECRET not in out


# --- item 5c: nested compression -------------------------------------------------------------------

def test_nested_gzip_bomb_is_stopped_by_the_product_of_the_stages(tmp_path: Path) -> None:
    bomb = h.nested_gzip_bomb(tmp_path / "bomb.tar.gz", 2 << 30)
    start = time.monotonic()
    code, out, err = run(bomb, "--files", timeout=60)
    seconds = time.monotonic() - start
    one_error(code, err, 2, "max-ratio")
    assert seconds < 10, seconds
    with open(bomb, "rb") as stdin:
        code, out, err = run("-", "--files", stdin=stdin, timeout=60)
    one_error(code, err, 2, "max-ratio")


# --- item 6c: bounded memory in one-pass readers -----------------------------------------------------

def test_one_pass_junk_members_stay_bounded() -> None:
    code, out, err = piped(["junk", "20", str(60 << 20)], "--files")
    one_error(code, err, 2, "MiB")


def test_one_pass_members_count_toward_max_entries() -> None:
    code, out, err = piped(["many", "3000"], "--files", "--max-entries", "1000")
    one_error(code, err, 2, "--max-entries")

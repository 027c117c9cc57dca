"""Issue 11, items 5 (symlink resolution, export of deep trees, the libjvm.so vendor scan) and 9
(export cases): an image of a few megabytes must cost seconds, never minutes, and never an
internal error.

Every case runs the CLI in a child under an address-space limit and a time limit, and asserts what
a user sees: the exit code, the report (exact, not just "it finished"), stderr without a traceback.
Timeouts are generous absolute ones (before the fixes each case ran 30 s to minutes).
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from testdata import hostile_trees as h

from .conftest import run_cli_limited, write_image


def run_bytes(*args: object, timeout: float = 20) -> tuple[int, bytes, str]:
    """``python -m inspector ARGS`` under the memory limit and ``timeout``: exit code, stdout, stderr."""
    proc = run_cli_limited(*args, timeout=timeout)
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "surrogateescape")


def run(*args: object, timeout: float = 20) -> tuple[int, str, str]:
    code, out, err = run_bytes(*args, timeout=timeout)
    return code, out.decode("utf-8", "surrogateescape"), err


def no_crash(err: str) -> None:
    assert "Traceback" not in err and "internal error" not in err, err


def one_error(code: int, err: str, *words: str) -> str:
    assert code == 2, f"exit {code}: {err}"
    no_crash(err)
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    for word in words:
        assert word.lower() in lines[0].lower(), f"{word!r} not in {lines[0]!r}"
    return lines[0]


# --- symlink resolution ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["updots", "chain", "loop", "maze"])
def test_symlinks_followed_for_every_path_entry_cost_seconds(tmp_path: Path, kind: str) -> None:
    """Each PATH directory is followed by the entrypoint search, the executables and the JRE report:
    2,000 entries crossing links of 4,000-byte (or 900 kB) targets must not cost minutes."""
    ref = write_image(tmp_path, h.link_bomb_spec(kind), "legacy", kind)
    start = time.monotonic()
    code, out, err = run(ref, "--config", "--json", timeout=20)
    elapsed = time.monotonic() - start
    assert code == 0, err
    no_crash(err)
    entrypoint = json.loads(out)["entrypoint"]
    if kind == "chain":  # 40 links is Linux's limit, and still resolves, exactly as before
        assert entrypoint["path"] == "/bin/sh" and entrypoint["exists"], entrypoint
        assert entrypoint["chain"] == []  # found on PATH as /l0/sh, itself not a link
    else:
        assert not entrypoint["exists"] and "not found on the image's PATH" in " ".join(entrypoint["problems"])
    code, out, err = run(ref, "--json", timeout=20)  # the summary: executables, shells, Java, /bin
    assert code == 0, err
    no_crash(err)
    print(f"{kind}: --config in {elapsed:.2f} s")


def test_a_chain_of_41_links_does_not_resolve(tmp_path: Path) -> None:
    """The memoised resolution keeps Linux's 40-hop limit exact: one more link and it fails."""
    spec = h.link_bomb_spec("chain")
    layer = spec.layers[0]
    first = next(e for e in layer if e.path == "l0")
    layer.append(h.E("l-1", "symlink", target=first.path))
    spec.config = {"Env": ["PATH=/l-1:/l0"], "Entrypoint": ["sh"]}
    ref = write_image(tmp_path, spec, "legacy")
    code, out, err = run(ref, "--config", "--json")
    assert code == 0, err
    entrypoint = json.loads(out)["entrypoint"]
    assert entrypoint["path"] == "/bin/sh"  # through /l0 (40 links), not /l-1 (41)
    code, out, err = run("cat", ref, "/l-1/sh")
    one_error(code, err, "/l-1/sh")
    code, out, err = run("cat", ref, "/l0/sh")
    assert code == 0 and out == "#!/bin/sh\n", err


# --- export of deep trees -------------------------------------------------------------------------

#: 5,000 files in the deepest 125 of 1,000 nested directories: each file's parents were opened
#: one by one for every file (5 million opens) before export kept them open.
DEEP_LEVELS_WITH_FILES = 125


@pytest.fixture(scope="module")
def deep_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    spec = h.deep_tree_spec(levels_with_files=DEEP_LEVELS_WITH_FILES)
    return write_image(tmp_path_factory.mktemp("deep"), spec, "legacy", "deep")


@pytest.mark.parametrize("to", ["dir", "tar"])
def test_export_of_a_deep_tree_costs_about_its_listing(deep_image: str, tmp_path: Path, to: str) -> None:
    start = time.monotonic()
    code, out, err = run(deep_image, "--files", "--json", "--no-cache", timeout=60)
    listing_time = time.monotonic() - start
    assert code == 0, err
    listed = {e["path"].lstrip("/") for e in json.loads(out)}
    dest = tmp_path / ("out" if to == "dir" else "out.tar")
    start = time.monotonic()
    code, _, err = run("export", deep_image, dest, "--no-cache", timeout=60)
    export_time = time.monotonic() - start
    assert code == 0, err
    no_crash(err)
    if to == "tar":
        with tarfile.open(dest) as tar:
            names = {m.name for m in tar}
    else:
        names = set()
        stack = [""]  # iterative: os.walk recurses once per level
        while stack:
            relative = stack.pop()
            for item in os.scandir(os.path.join(dest, relative)):
                names.add(os.path.join(relative, item.name))
                if item.is_dir(follow_symlinks=False):
                    stack.append(os.path.join(relative, item.name))
        # pytest's recursive rmtree of old temporary folders overflows the stack on 1,000 levels
        subprocess.run(["rm", "-rf", str(dest)], check=True)
    assert names == listed
    assert len(names) == h.DEPTH + DEEP_LEVELS_WITH_FILES * h.FILES_PER_LEVEL
    print(f"export to {to}: {export_time:.2f} s, listing {listing_time:.2f} s")
    assert export_time < 4 * listing_time + 5, (export_time, listing_time)


# --- the libjvm.so vendor scan --------------------------------------------------------------------

def test_a_flooded_libjvm_is_scanned_in_bounded_time(tmp_path: Path) -> None:
    """256 MiB of ``\\0N/A`` (64 million candidate vendor strings) with the real vendor inside the
    first 64 MiB, where HotSpot builds keep it: found, in seconds, in bounded memory."""
    ref = h.write_flooded_libjvm(tmp_path / "oci", 256 << 20, vendor_at=40 << 20)
    start = time.monotonic()
    code, out, err = run(ref, "--jre", "--json", "--no-cache", timeout=30)
    elapsed = time.monotonic() - start
    assert code == 0, err
    no_crash(err)
    (runtime,) = json.loads(out)
    assert runtime["vendor"] == "Eclipse Adoptium", runtime
    assert any("libjvm.so" in e for e in runtime["evidence"])
    print(f"flooded libjvm.so: {elapsed:.2f} s")


# --- export: a DEST that is a link, a link target with a NUL byte ---------------------------------

def test_export_refuses_a_tar_dest_that_is_a_dangling_symlink(tmp_path: Path) -> None:
    ref = write_image(tmp_path, h.deep_tree_spec(2, 1), "legacy")
    planted = tmp_path / "victim"
    dest = tmp_path / "out.tar"
    dest.symlink_to(planted)
    code, _, err = run("export", ref, dest)
    one_error(code, err, str(dest))
    assert not planted.exists() and os.path.islink(dest)


def test_export_refuses_a_tar_dest_that_exists(tmp_path: Path) -> None:
    ref = write_image(tmp_path, h.deep_tree_spec(2, 1), "legacy")
    dest = tmp_path / "out.tar"
    dest.write_bytes(b"keep")
    code, _, err = run("export", ref, dest)
    one_error(code, err, str(dest), "exists")
    assert dest.read_bytes() == b"keep"


@pytest.fixture
def nul_ref(tmp_path: Path) -> str:
    return write_image(tmp_path, h.nul_target_spec(), "legacy", "nul")


def refused_as_malformed(code: int, err: str) -> bool:
    """The engine's tar reader refuses a layer whose PAX linkpath holds a NUL; the layer reader may
    too (one line naming the NUL, exit 2). Otherwise the image is read and the link is reported."""
    if code == 2:
        one_error(code, err, "NUL")
        return True
    return False


@pytest.mark.parametrize("to", ["dir", "tar", "-"])
def test_a_link_target_with_a_nul_byte_is_skipped_with_a_warning(nul_ref: str, tmp_path: Path, to: str) -> None:
    """No filesystem can hold such a link: export leaves it out and says so, whatever DEST is."""
    dest = {"dir": str(tmp_path / "out"), "tar": str(tmp_path / "out.tar"), "-": "-"}[to]
    code, out, err = run_bytes("export", nul_ref, dest)
    if refused_as_malformed(code, err):
        return
    assert code == 0, err
    no_crash(err)
    warnings = [line for line in err.splitlines() if "warning" in line]
    assert len(warnings) == 1 and "/etc/evil" in warnings[0] and "NUL" in warnings[0], err
    if to == "dir":
        assert sorted(os.listdir(tmp_path / "out")) == ["after", "etc"]
        assert os.listdir(tmp_path / "out" / "etc") == ["passwd"]
    else:
        data = out if to == "-" else (tmp_path / "out.tar").read_bytes()
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            assert sorted(m.name for m in tar) == ["after", "etc", "etc/passwd"]


@pytest.mark.parametrize("view", ["--files", "--json", "--executables", "--jre"])
def test_a_link_target_with_a_nul_byte_is_listed_not_a_crash(nul_ref: str, view: str) -> None:
    code, out, err = run(nul_ref, view) if view != "--files" else run(nul_ref, "--files", "--json")
    if refused_as_malformed(code, err):
        return
    assert code == 0, err
    no_crash(err)
    if view == "--files":
        (evil,) = [e for e in json.loads(out) if e["path"] == "/etc/evil"]
        assert evil["target"] == h.NUL_TARGET  # JSON keeps it exactly


def test_cat_through_a_link_target_with_a_nul_byte_is_one_line(nul_ref: str) -> None:
    code, out, err = run("cat", nul_ref, "/etc/evil")
    line = one_error(code, err, "NUL")
    assert out == "" and "/etc/evil" in line

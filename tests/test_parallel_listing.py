"""A long listing written by two processes (``parallel.listing``): the same bytes as one process
writes, whatever happens to the fork.

Each case runs in a process of its own: a fork is made only while no other thread runs, which the
test process cannot promise (other tests leave daemon threads), and the threshold of entries is
lowered there so that small images are split too. Every case checks that a fork was made, so none
can pass by writing everything in one process.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from testdata.imagebuilder import E, ImageSpec
from tests.conftest import cli_env, write_image

#: Runs the CLI with ``parallel.listing.MIN_ENTRIES`` at 1, and reports on stderr how many forks
#: the listing made and how each ended (``forks=1 exits=[0]``: its part was the one written).
#: ``FAIL`` makes the fork fail: ``raise`` (an exception while writing) or ``kill`` (killed midway).
_CLI = textwrap.dedent("""
    import os, signal, sys
    import inspector.parallel.listing as listing
    import inspector.output.json_format as json_format
    listing.MIN_ENTRIES = 1
    first = os.getpid()
    forks = []
    real_fork = os.fork
    def fork():
        pid = real_fork()
        if pid and sys._getframe(1).f_globals["__name__"] == listing.__name__:  # not the scan's helpers
            forks.append(pid)
        return pid
    os.fork = fork
    statuses = []
    real_waitpid = os.waitpid
    def waitpid(pid, options):
        got = real_waitpid(pid, options)
        if pid in forks:
            statuses.append(got[1])
        return got
    os.waitpid = waitpid
    real_write = json_format.write_entries
    def write(entries, out, first_entry):
        if os.getpid() != first and os.environ.get("FAIL") == "raise":
            raise OSError("no space left for the listing")
        if os.getpid() != first and os.environ.get("FAIL") == "kill":
            os.kill(os.getpid(), signal.SIGKILL)
        return real_write(entries, out, first_entry)
    json_format.write_entries = write
    from inspector.cli import main
    try:
        main(sys.argv[1:])
    finally:
        print(f"forks={len(forks)} exits={statuses}", file=sys.stderr)
""")


def _run(*args: str, fail: str | None = None) -> tuple[int, bytes, str]:
    env = {**cli_env(), **({"FAIL": fail} if fail else {})}
    proc = subprocess.run([sys.executable, "-c", _CLI, *args], capture_output=True, env=env, timeout=60)
    return proc.returncode, proc.stdout, proc.stderr.decode("utf-8", "replace")


#: Names a terminal or a JSON reader must not take for anything else, and one that is not UTF-8:
#: the fork must write them as this process does (the same encoding, the same error handler).
HOSTILE = ImageSpec(layers=[
    [E("usr/", "dir"), E("usr/bin/", "dir"), E("usr/bin/ls", data=b"\x7fELF", mode=0o755)],
    [E(f"srv/{i:03d}-\x1b[31mred\x1b[0m\u202e\x85.txt", data=b"x") for i in range(40)]
    + [E("srv/caf\udce9", data=b"latin-1"), E("srv/\"quoted\\\"", data=b"q"),
       E("srv/link", "symlink", target="\x1b]0;title\x07"), E("srv/\u65e5\u672c\u00e9", data=b"utf-8"),
       E("zzz/", "dir"), E("zzz/last", data=b"z")],
])


@pytest.mark.parametrize("layout", ["legacy", "oci-gzip"])
def test_the_listing_written_by_two_processes_is_the_one_process_listing(tmp_path: Path, layout: str) -> None:
    reference = write_image(tmp_path, HOSTILE, layout)
    one = _run(reference, "--files", "--format", "json", "--no-cache", "--jobs", "1")
    two = _run(reference, "--files", "--format", "json", "--no-cache", "--jobs", "2")
    assert one[0] == 0, one[2]
    assert "forks=0" in one[2] and "forks=1 exits=[0]" in two[2]
    assert two[:2] == one[:2]
    paths = [entry["path"] for entry in json.loads(one[1].decode("utf-8", "surrogateescape"))]
    assert paths[-1] == "/zzz/last" and len(paths) == len(set(paths)) == 50  # every entry, once, in order


@pytest.mark.parametrize("fail", ["raise", "kill"])
def test_a_fork_that_fails_leaves_the_rest_to_this_process(tmp_path: Path, fail: str) -> None:
    reference = write_image(tmp_path, HOSTILE, "oci-gzip")
    one = _run(reference, "--files", "--format", "json", "--no-cache", "--jobs", "1")
    two = _run(reference, "--files", "--format", "json", "--no-cache", "--jobs", "2", fail=fail)
    assert "forks=1 exits=[0]" not in two[2] and "forks=1 exits=[" in two[2]
    assert two[:2] == one[:2] and one[0] == 0


@pytest.mark.parametrize("args", [("--files",), ("--files", "/srv", "--format", "json"), ("--files", "/srv"),
                                  ("--files", "/srv/", "--format", "json"), ("--files", "/usr/bin/ls")])
def test_a_table_and_a_listing_below_the_root_are_written_by_two_processes_too(
        tmp_path: Path, args: tuple[str, ...]) -> None:
    reference = write_image(tmp_path, HOSTILE, "oci-gzip")
    one = _run(reference, *args, "--no-cache", "--jobs", "1")
    two = _run(reference, *args, "--no-cache", "--jobs", "2")
    assert one[0] == 0 and one[1], one[2]
    assert "forks=1 exits=[0]" in two[2]
    assert two[:2] == one[:2]


def test_a_pattern_is_written_by_one_process(tmp_path: Path) -> None:
    """How many entries a pattern names is known only once it is expanded: one process writes it."""
    reference = write_image(tmp_path, HOSTILE, "oci-gzip")
    one = _run(reference, "--files", "/srv/0*", "--format", "json", "--no-cache", "--jobs", "1")
    two = _run(reference, "--files", "/srv/0*", "--format", "json", "--no-cache", "--jobs", "2")
    assert one[0] == 0 and len(json.loads(one[1])) == 40, one[2]
    assert "forks=0" in two[2] and two[:2] == one[:2]


#: ``write_listing`` itself, over a listing of numbers: ``CASE`` picks what goes wrong.
_UNIT = textwrap.dedent("""
    import io, os, sys, tempfile
    import inspector.parallel.listing as listing
    real_fork = os.fork
    forks = []
    def fork():
        pid = real_fork()
        if pid:
            forks.append(pid)
        return pid
    os.fork = fork
    case, total, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    first = os.getpid()
    def write(numbers, out, first_entry):
        wrote = False
        for n in numbers:
            if case == "bad-entry" and n == size - 3:
                raise ValueError(f"entry {n} cannot be written")
            if case == "closed" and os.getpid() == first and n == 5:
                raise BrokenPipeError("the reader went away")
            out.write(("" if first_entry else ",") + str(n))
            first_entry, wrote = False, True
        return wrote
    with tempfile.TemporaryFile() as raw:
        out = io.TextIOWrapper(raw, encoding="utf-8")
        try:
            wrote = listing.write_listing(lambda start: iter(range(start, size)), total, write, out, 2)
        except Exception as exc:
            print(f"error={type(exc).__name__}: {exc}")
        else:
            out.flush()
            raw.seek(0)
            print(f"text={raw.read().decode()} wrote={wrote}")
    for pid in forks:
        try:
            os.waitpid(pid, os.WNOHANG)
            print("fork left running")
        except ChildProcessError:
            pass
    print(f"forks={len(forks)}")
""")


def _unit(case: str, total: int, size: int) -> str:
    proc = subprocess.run([sys.executable, "-c", _UNIT, case, str(total), str(size)], capture_output=True,
                          text=True, env=cli_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout


@pytest.mark.parametrize("total", [100_000, 60_000, 1_000_000, 50_000])
def test_a_wrong_total_only_unbalances_the_two_parts(total: int) -> None:
    """The split is a count of entries: told too few or too many, the listing is still whole."""
    size = 100_000
    expected = ",".join(map(str, range(size)))
    assert _unit("plain", total, size) == f"text={expected} wrote=True\nforks=1\n"


def test_below_the_threshold_no_fork_is_made() -> None:
    assert _unit("plain", 49_999, 10) == f"text={','.join(map(str, range(10)))} wrote=True\nforks=0\n"


def test_an_entry_that_cannot_be_written_fails_as_with_one_process() -> None:
    """The fork fails on it; this process then writes that part itself and meets the same error."""
    assert _unit("bad-entry", 100_000, 100_000) == "error=ValueError: entry 99997 cannot be written\nforks=1\n"


def test_a_closed_output_stops_the_fork() -> None:
    assert _unit("closed", 100_000, 100_000) == "error=BrokenPipeError: the reader went away\nforks=1\n"


def test_an_empty_listing_writes_nothing() -> None:
    assert _unit("plain", 100_000, 0) == "text= wrote=False\nforks=1\n"


def test_a_tree_ten_thousand_levels_deep_is_listed_by_two_processes_as_by_one(tmp_path: Path) -> None:
    """The fork passes over the first part by walking it, as the listing does: iteratively."""
    deep = "/".join(["d"] * 10_000)
    reference = write_image(tmp_path, ImageSpec([[E(f"{deep}/leaf", data=b"x"), E("z", data=b"z")]]), "oci-gzip")
    args = ("--files", "--format", "json", "--no-cache", "--max-depth", "20000")
    one = _run(reference, *args, "--jobs", "1")
    two = _run(reference, *args, "--jobs", "2")
    assert one[0] == 0, one[2]
    assert "forks=1 exits=[0]" in two[2] and two[:2] == one[:2]
    assert len(json.loads(one[1])) == 10_002

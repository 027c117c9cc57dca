"""``--files PATH`` answers as ``ls -l PATH`` would (issue 12.8).

A PATH that is not in the image is an exit-2 error, as ``cat`` and ``export --path`` are. Symlinks
in the directories leading to PATH are followed inside the image (``/bin/ls`` where ``/bin`` is a
link to ``usr/bin``); the last component is not (``ls -l /bin`` shows the link itself, ``/bin/``
its directory). Shell-style patterns match against the merged view, ``*`` within one name, ``**``
across any number of directories; a pattern that matches nothing is exit 2 with one line.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest

from testdata.imagebuilder import E, ImageSpec

from .conftest import run_cli, write_image


def _files(ref: str, *args: str) -> list[dict[str, Any]]:
    code, out, err = run_cli(ref, "--files", *args, "--json")
    assert code == 0, err
    assert "Traceback" not in err
    return json.loads(out)


def _jdk(home: str) -> list[E]:
    return [E(home, "dir"), E(f"{home}/bin", "dir"), E(f"{home}/bin/java", data=b"\x7fELF", mode=0o755),
            E(f"{home}/release", data=b'JAVA_VERSION="21"\n'), E(f"{home}/lib", "dir"),
            E(f"{home}/lib/server", "dir"), E(f"{home}/lib/server/libjvm.so", data=b"\x7fELF")]


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory) -> str:
    base = [
        E("usr", "dir"), E("usr/bin", "dir"), E("usr/bin/ls", data=b"ls", mode=0o755, uid=7),
        E("usr/bin/java", "symlink", target="/etc/alternatives/java"),
        E("bin", "symlink", target="usr/bin"),  # merged /usr, as Debian 12 has it
        E("etc", "dir"), E("etc/alternatives", "dir"),
        E("etc/alternatives/java", "symlink", target="/usr/lib/jvm/jdk-21/bin/java"),
        E("usr/lib", "dir"), E("usr/lib/jvm", "dir"), *_jdk("usr/lib/jvm/jdk-21"), *_jdk("usr/lib/jvm/jre-17"),
        E("opt", "dir"), *_jdk("opt/deep/er/jdk"), E("opt/current", "symlink", target="deep/er/jdk"),
        E("opt/lit[1]", data=b"a file whose name looks like a pattern"),
    ]
    upper = [E("usr/lib/jvm/jre-17/.wh.release")]  # a whiteout: the merged view has no such file
    return write_image(tmp_path_factory.mktemp("files"), ImageSpec([base, upper]), "legacy", "img")


@pytest.mark.parametrize("path", ["/nope", "/usr/bin/nope", "/bin/nope", "/usr/lib/jvm/jre-17/release",
                                  "/usr/bin/ls/x"])
def test_a_missing_path_is_an_error(image: str, path: str) -> None:
    code, out, err = run_cli(image, "--files", path)
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("inspect-image: error:") and path in err, err
    assert "does not exist" in err


def test_through_a_symlinked_directory(image: str) -> None:
    """``ls -l /bin/ls`` with ``/bin -> usr/bin`` shows the file, under the name asked for."""
    entries = _files(image, "/bin/ls")
    assert [(e["path"], e["type"], e["uid"]) for e in entries] == [("/bin/ls", "file", 7)]
    code, out, err = run_cli(image, "--files", "/bin/ls")
    assert code == 0 and out.endswith("  /bin/ls\n") and out.count("\n") == 1, (out, err)


def test_the_last_component_is_not_followed(image: str) -> None:
    assert [(e["path"], e["type"], e["target"]) for e in _files(image, "/bin")] == [("/bin", "symlink", "usr/bin")]
    assert [e["path"] for e in _files(image, "/usr/bin/java")] == ["/usr/bin/java"]
    # with a trailing slash, the directory it names, as ls -l /bin/ lists it
    listed = _files(image, "/bin/")
    assert [(e["path"], e["type"]) for e in listed] == [("/bin", "dir"), ("/bin/java", "symlink"), ("/bin/ls", "file")]


def test_relative_links_deep_in_the_path(image: str) -> None:
    assert [e["path"] for e in _files(image, "/opt/current/bin")] == ["/opt/current/bin", "/opt/current/bin/java"]


@pytest.mark.parametrize("pattern, expected", [
    ("/usr/lib/jvm/*/release", ["/usr/lib/jvm/jdk-21/release"]),            # jre-17's was whited out
    ("/**/libjvm.so", ["/opt/deep/er/jdk/lib/server/libjvm.so", "/usr/lib/jvm/jdk-21/lib/server/libjvm.so",
                       "/usr/lib/jvm/jre-17/lib/server/libjvm.so"]),
    ("/usr/lib/jvm/j??-*/bin/java", ["/usr/lib/jvm/jdk-21/bin/java", "/usr/lib/jvm/jre-17/bin/java"]),
    ("/bin/l[s]", ["/bin/ls"]),                                               # through the /bin link
    ("/opt/current/*/java", ["/opt/current/bin/java"]),
    ("/opt/lit[1]", ["/opt/lit[1]"]),                                         # a literal name wins
])
def test_patterns_match_the_merged_view(image: str, pattern: str, expected: list[str]) -> None:
    assert [e["path"] for e in _files(image, pattern)] == expected


def test_a_pattern_lists_matched_directories_like_ls(image: str) -> None:
    paths = [e["path"] for e in _files(image, "/usr/lib/jvm/*/lib")]
    assert paths[:3] == ["/usr/lib/jvm/jdk-21/lib", "/usr/lib/jvm/jdk-21/lib/server",
                         "/usr/lib/jvm/jdk-21/lib/server/libjvm.so"]
    assert len(paths) == 6 and len(set(paths)) == 6


@pytest.mark.parametrize("pattern", ["/usr/lib/jvm/*/nothing", "/**/nothing.so", "/nope/*"])
def test_a_pattern_matching_nothing_is_an_error(image: str, pattern: str) -> None:
    code, out, err = run_cli(image, "--files", pattern)
    assert code == 2 and out == "", (out, err)
    assert err.count("\n") == 1 and "matches nothing" in err and pattern in err, err


def test_patterns_through_link_loops_are_bounded(tmp_path: Path) -> None:
    """30 links to the root make ``/*/*/*/*/*/*`` reach 30^6 paths: refused in seconds, one line."""
    layer = [E(f"l{i:02d}", "symlink", target=".") for i in range(30)]
    ref = write_image(tmp_path, ImageSpec([layer]), "legacy", "loops")
    started = time.monotonic()
    code, _out, err = run_cli(ref, "--files", "/*/*/*/*/*/*", timeout=60)
    assert time.monotonic() - started < 30
    assert code == 2 and err.count("\n") == 1 and "more than" in err, err

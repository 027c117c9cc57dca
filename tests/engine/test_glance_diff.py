"""The diff of the two realistic images answers in its first screen (issue 13, item 4).

"What does distroless drop compared to the JDK image?" -- ``inspect-image diff`` of the fat Debian
JDK image and the distroless-style Temurin JRE image (``realistic_images``), rendered at 80 and
200 columns as a user's terminal would (``COLUMNS``): the summary block is within the first 24
lines, no line is wider than the terminal unless it is one unbreakable token, no token is split,
and the Java line names both runtimes with their tool counts. Counts are checked against the JSON.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
import sys
from typing import Any

import pytest

from tests.diff_text import summary_block

from . import realistic_images as realistic
from .helpers import REPO_ROOT, inspector_env

SCREEN = 24


@pytest.fixture(scope="module")
def pair(docker_client: Any) -> tuple[str, str]:
    fat = realistic.ensure_or_skip(lambda: realistic.ensure_fat(docker_client))
    slim, _ = realistic.ensure_or_skip(lambda: realistic.ensure_distroless(docker_client))
    return f"docker:{fat}", f"docker:{slim}"


def _run(*args: str, columns: int | None) -> str:
    return _run_once(args, columns)


@functools.cache
def _run_once(args: tuple[str, ...], columns: int | None) -> str:
    """One CLI run per rendering (several tests read each)."""
    env = inspector_env()
    env.pop("COLUMNS", None)
    if columns is not None:
        env["COLUMNS"] = str(columns)
    proc = subprocess.run([sys.executable, "-m", "inspector", "diff", *args], capture_output=True, cwd=REPO_ROOT,
                          env=env, timeout=600)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, stderr
    assert "Traceback" not in stderr
    return proc.stdout.decode("utf-8")


@pytest.fixture(scope="module")
def result(pair: tuple[str, str]) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(_run(*pair, "--format", "json", columns=None))
    return data




@pytest.mark.parametrize("columns", [80, 200])
def test_first_screen_answers(pair: tuple[str, str], result: dict[str, Any], columns: int) -> None:
    lines = _run(*pair, columns=columns).splitlines()
    screen = lines[:SCREEN]
    end = screen.index("", 3) if "" in screen[3:] else None
    assert end is not None, f"the summary block does not end within the first {SCREEN} lines:\n" + "\n".join(screen)
    block = summary_block(lines)
    for label in ("size", "layers", "platform", "user", "entrypoint", "java", "shells", "package managers",
                  "setuid files", "setgid files", "executables"):
        assert label in block, (label, screen)
    summary = result["summary"]
    assert block["executables"] == (f"{summary['removed']:,} removed, {summary['added']:,} added, "
                                    f"{summary['changed']:,} changed")
    assert block["shells"].startswith(f"removed {len(summary['shells']['removed'])}: ")
    assert block["setuid files"].startswith(f"removed {len(summary['setuid']['removed'])}: ")
    assert block["layers"] == f"{summary['layers']['a']} → {summary['layers']['b']}"
    assert re.fullmatch(r"\S+MB → \S+MB \(-\S+MB\)", block["size"]), block["size"]
    # the Java line names both runtimes: Debian's JDK 17 with its tools, Temurin's JRE 25 with its own
    (jdk,), (jre,) = summary["java"]["a"], summary["java"]["b"]
    java = re.fullmatch(r"Debian JDK (17(?:\.\d+)+) \((\d+) tools\) → Temurin JRE (25(?:\.\d+)+) \((\d+) tools\)",
                        block["java"])
    assert java, block["java"]
    assert int(java.group(2)) == len(jdk["tools"]) and int(java.group(4)) == len(jre["tools"])
    # the version java -version prints: the release file's, without a build or vendor suffix
    assert jdk["version"].startswith(java.group(1)) and jre["version"].startswith(java.group(3))
    assert "javac" in jdk["tools"] and "javac" not in jre["tools"]


@pytest.mark.parametrize("columns", [80, 200])
def test_fits_the_width_and_splits_no_token(pair: tuple[str, str], columns: int) -> None:
    wide = _run(*pair, columns=None)
    text = _run(*pair, columns=columns)
    too_wide = [line for line in text.splitlines() if len(line) > columns and len(line.split()) > 1]
    assert not too_wide, too_wide[:5]
    assert sorted(text.split()) == sorted(wide.split()), "the same tokens as unwrapped, none split"


def test_jdk_tools_by_name_per_home(pair: tuple[str, str], result: dict[str, Any]) -> None:
    lines = _run(*pair, columns=None).splitlines()
    (jdk,) = result["summary"]["java"]["a"]
    (line,) = [line for line in lines if line.startswith(f"- {jdk['home']} (")]
    assert line.endswith("): " + " ".join(jdk["tools"]))
    assert not any(f"{jdk['home']}/bin/" in line for line in lines[:lines.index("config")]), \
        "tools are named, not spelled out as paths, before the per-file lists"

"""Hostile images against the views added on top of the core (verdict, policy, --bin, diff summary,
fitted tables, HTML), run as a user would: the CLI in a subprocess under 1 GiB of address space and
a time limit. Each test here failed before the fix it pins (see the commit that added it).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from testdata import hostile_views as H

from .conftest import cli_env, write_image

MEMORY = 1 << 30


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run(*args: object, timeout: float = 30) -> tuple[int, str, str]:
    """``python -m inspector ARGS`` under MEMORY and ``timeout``: exit code, stdout, stderr."""
    proc = subprocess.run([sys.executable, "-m", "inspector", *map(str, args)], stdin=subprocess.DEVNULL,
                          capture_output=True, env=cli_env(), timeout=timeout, preexec_fn=_limit, check=False)
    err = proc.stderr.decode("utf-8", "surrogateescape")
    assert "Traceback" not in err and "internal error" not in err, err
    return proc.returncode, proc.stdout.decode("utf-8", "surrogateescape"), err


def findings(ref: str, rules: str) -> tuple[int, list[dict[str, Any]]]:
    code, out, err = run(ref, "--fail-on", rules, "--format", "json")
    assert code in (0, 1), err
    found = json.loads(out)["findings"]
    assert isinstance(found, list)
    return code, found


@pytest.mark.parametrize("case", sorted(H.root_dodges()))
def test_root_user_is_not_dodged(tmp_path: Path, case: str) -> None:
    """The engine (moby/sys/user) runs each of these as UID 0: a signed number is a number, a
    numeric USER is always a UID (never a name), a passwd number it cannot convert is 0, a name
    may hold a space. ``root-user`` must say so, and the verdict must not call them unstartable."""
    ref = write_image(tmp_path, H.root_dodges()[case], "legacy", case)
    code, found = findings(ref, "root-user,cannot-start")
    assert code == 1
    assert [f["rule"] for f in found] == ["root-user"], found


@pytest.mark.parametrize("case", sorted(H.cannot_start()))
def test_cannot_start_is_not_passed(tmp_path: Path, case: str) -> None:
    ref = write_image(tmp_path, H.cannot_start()[case], "legacy", case)
    code, found = findings(ref, "cannot-start")
    assert code == 1, found
    assert [f["rule"] for f in found] == ["cannot-start"], found
    code, out, err = run(ref, "--config")
    assert code == 0, err
    assert "CANNOT START" in out.upper() or "cannot start" in out, out


def _timed(*args: object) -> tuple[float, str]:
    started = time.monotonic()
    code, out, err = run(*args, timeout=120)
    assert code == 0, err
    return time.monotonic() - started, out


def test_summary_costs_what_it_shows(tmp_path: Path) -> None:
    """The summary table shows 20 rows of /bin and counts; escaping every entry of a crowded /bin
    (and every unowned executable) behind it cost 5x the scan before (25 s for 10^5 files, against
    5 s for --config, which reads the same layers). Now the summary costs about what --config does."""
    ref = write_image(tmp_path, H.crowded_bin(), "legacy", "crowded")
    run(ref, "--config", timeout=120)  # fills the layer cache: both runs below read the same tree
    config_time, _ = _timed(ref, "--config")
    summary_time, out = _timed(ref)
    assert "/bin: 40,001 entries" in out or "40,000 entries" in out, out[:2000]
    assert "… and 39,980 more" in out
    assert summary_time < 2 * config_time + 1.5, (summary_time, config_time)

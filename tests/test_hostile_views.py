"""Hostile images against the views added on top of the core (verdict, policy, --bin, diff summary,
fitted tables, HTML), run as a user would: the CLI in a subprocess under 1 GiB of address space and
a time limit. Each test here failed before the fix it pins (see the commit that added it).
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest

from testdata import hostile_views as H

from .conftest import run_cli_limited, write_image


def run(*args: object, timeout: float = 30) -> tuple[int, str, str]:
    """``python -m inspector ARGS`` under the memory limit and ``timeout``: exit code, stdout, stderr."""
    proc = run_cli_limited(*args, timeout=timeout)
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


@pytest.mark.parametrize("case", sorted(H.laundered_setuid()))
def test_allow_globs_match_real_paths_only(tmp_path: Path, case: str) -> None:
    """Held: findings carry the merged view's real paths, so ``..``, ``//``, ``.``, bytes that are
    not UTF-8, a symlinked directory or a second hardlink name cannot bring /usr/bin/su under
    an allow-list glob for another directory."""
    policy = tmp_path / "policy.toml"
    policy.write_text('fail-on = ["setuid", "world-writable"]\n[allow]\n'
                      'setuid = ["/var/spool/app/**"]\nworld-writable = ["/var/spool/app/**"]\n')
    ref = write_image(tmp_path, H.laundered_setuid()[case], "legacy", case)
    code, out, err = run(ref, "--policy", policy, "--format", "json")
    assert code == 1, err
    found = {(f["rule"], f["path"]) for f in json.loads(out)["findings"]}
    assert {("setuid", "/usr/bin/su"), ("world-writable", "/usr/bin/su")} <= found, found


#: What no byte of terminal output may hold: C0 (but newline), DEL, C1, bidi controls.
_RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


@pytest.fixture(scope="module")
def loud_pair(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    directory = tmp_path_factory.mktemp("loud")
    return write_image(directory, H.loud(), "legacy", "loud"), write_image(directory, H.quiet(), "legacy", "quiet")


@pytest.mark.parametrize("view", [[], ["--config"], ["--bin"], ["--executables"], ["--jre"], ["--fail-on", "all"]])
def test_no_raw_control_reaches_the_terminal(loud_pair: tuple[str, str], view: list[str]) -> None:
    """Held: every new cell, note, finding line and owner name is escaped, at a narrow width too
    (wrapping must not split an escape back into raw bytes)."""
    for columns in ("24", "200"):
        proc = run_cli_limited(loud_pair[0], *view, env={"COLUMNS": columns}, timeout=60)
        text = (proc.stdout + proc.stderr).decode("utf-8", "surrogateescape")
        assert proc.returncode in (0, 1) and "Traceback" not in text
        assert not _RAW.findall(text), _RAW.findall(text)[:5]
        assert not any(line.startswith("FORGED") for line in text.splitlines())


def test_no_raw_control_in_the_diff_summary(loud_pair: tuple[str, str]) -> None:
    """Held: the summary block's java line (from the image's release file), user, entrypoint and
    setuid names are escaped."""
    loud, quiet = loud_pair
    for a, b in ((quiet, loud), (loud, quiet)):
        proc = run_cli_limited("diff", a, b, env={"COLUMNS": "50"}, timeout=60)
        text = proc.stdout.decode("utf-8", "surrogateescape")
        assert proc.returncode == 0 and "java " in text and "setuid files" in text
        assert not _RAW.findall(text + proc.stderr.decode("utf-8", "surrogateescape"))


@pytest.mark.parametrize("args", [["{loud}"], ["diff", "{quiet}", "{loud}"], ["diff", "{loud}", "{quiet}", "--all"]])
def test_html_page_stays_inert(loud_pair: tuple[str, str], args: list[str]) -> None:
    """Held: markup the image chose is text on the page (one script, the page's own)."""
    loud, quiet = loud_pair
    code, out, err = run(*[a.format(loud=loud, quiet=quiet) for a in args], "--format", "html")
    assert code == 0, err
    assert out.count("<script") == 1 and "<img" not in out and "alert(1)</script>" not in out
    assert not _RAW.findall(out)


def test_diff_summary_shows_a_user_turned_root(tmp_path: Path) -> None:
    """``USER app`` in both, but B's /etc/passwd gives ``app`` UID 0: the summary's ``user`` pair is
    the configured string (equal), so it said nothing changed; ``uid`` says who runs."""
    a = write_image(tmp_path, H.same_user_name(1000), "legacy", "a")
    b = write_image(tmp_path, H.same_user_name(0), "legacy", "b")
    code, out, err = run("diff", a, b, "--format", "json")
    assert code == 0, err
    summary = json.loads(out)["summary"]
    assert summary["user"] == {"a": "app", "b": "app"}
    assert summary["uid"] == {"a": 1000, "b": 0}


@pytest.mark.parametrize("case", sorted(H.root_dodges()))
def test_summary_user_line_says_root(tmp_path: Path, case: str) -> None:
    """The summary's user line showed ``app`` / ``+0`` / ``my app`` for a container the engine runs
    as UID 0; it now says so, and JSON's ``uid`` is 0."""
    ref = write_image(tmp_path, H.root_dodges()[case], "legacy", case)
    code, out, err = run(ref)
    assert code == 0, err
    (line,) = [line for line in out.splitlines() if line.startswith("user ")]
    assert "root" in line or "UID 0" in line, line
    code, out, err = run(ref, "--format", "json")
    assert json.loads(out)["uid"] == 0


def test_a_config_nested_as_deep_as_json_allows_is_drawn(tmp_path: Path) -> None:
    """A label and an Env entry nested 960 levels deep (the config parser takes up to ~970): the
    tables show "…" past 32 levels instead of exhausting the stack (an internal error before);
    JSON keeps the value whole."""
    import sys

    from testdata.imagebuilder import E, ImageSpec

    depth = 960
    nested: Any = "x"
    for _ in range(depth):
        nested = [nested]
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 2 * depth)  # the builder's json.dumps, from inside pytest's stack
    try:
        ref = write_image(tmp_path, ImageSpec([[E("bin/", "dir"), E("bin/sh", data=b"#!/bin/sh\n", mode=0o755)]],
                                              config={"Entrypoint": ["/bin/sh"], "Labels": {"deep": nested},
                                                      "Env": ["A=1", nested]}), "legacy", "deep")
    finally:
        sys.setrecursionlimit(limit)
    for view in ([], ["--config"]):
        code, out, _ = run(ref, *view, "--no-cache")
        assert code == 0 and "deep" in out and "…" in out
    code, out, _ = run(ref, "--config", "--format", "json", "--no-cache")
    assert code == 0
    sys.setrecursionlimit(limit + 2 * depth)
    try:
        value = json.loads(out)["config"]["labels"]["deep"]
    finally:
        sys.setrecursionlimit(limit)
    for _ in range(depth):
        value = value[0]
    assert value == "x"

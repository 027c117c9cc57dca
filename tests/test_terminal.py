"""The terminal is ours, not the image's (issue 11.7, 11.5 for tables).

Every view runs under a real pseudo-terminal on images whose names, link targets, config strings,
tags and reference hold terminal attacks (``testdata/hostile_text.py``). What reaches the terminal
must hold no control character but LF (and tab), no C1, no DEL, no bidi or other format character,
no invalid UTF-8: the hostile text is shown, escaped, on the row it belongs to. Then the size
attack: a 16 MB label and 100k env entries and labels must render in seconds, cut, while JSON keeps
every byte.
"""

from __future__ import annotations

import json
import os
import pty
import resource
import select
import shutil
import subprocess
import sys
import time
import tty
import unicodedata
from pathlib import Path

import pytest

from testdata.hostile_text import (
    BIDI,
    OSC52,
    TITLE,
    hostile_spec,
    huge_config_spec,
    second_spec,
)
from testdata.imagebuilder import E, ImageSpec

from .conftest import cli_env, write_image

MEMORY_LIMIT = 1 << 30


def run_in_pty(*args: str, timeout: float = 60, memory: int | None = MEMORY_LIMIT) -> tuple[int, bytes]:
    """Run the CLI with a pseudo-terminal as stdout and stderr: ``(exit code, every byte it drew)``.

    The pty is raw, so the bytes read are the bytes written (no LF to CRLF translation)."""
    master, slave = pty.openpty()
    tty.setraw(slave)

    def limit() -> None:
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    proc = subprocess.Popen([sys.executable, "-m", "inspector", *args], stdin=subprocess.DEVNULL,
                            stdout=slave, stderr=slave, env=cli_env(), preexec_fn=limit,  # noqa: PLW1509
                            close_fds=True)
    os.close(slave)
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    try:
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                proc.kill()
                raise AssertionError(f"{args}: still running after {timeout} s")
            ready, _, _ = select.select([master], [], [], min(left, 1.0))
            if not ready:
                continue
            try:
                chunk = os.read(master, 1 << 16)
            except OSError:  # EIO: every writer closed the pty
                break
            if not chunk:
                break
            chunks.append(chunk)
        return proc.wait(timeout=max(deadline - time.monotonic(), 1)), b"".join(chunks)
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


def assert_terminal_safe(drawn: bytes) -> str:
    """No byte a terminal acts on: returns the text for further checks."""
    bad_bytes = sorted({b for b in drawn if (b < 0x20 and b not in (0x0A, 0x09)) or b == 0x7F})
    assert not bad_bytes, f"control bytes reached the terminal: {bad_bytes}"
    text = drawn.decode("utf-8", "surrogateescape")
    bad = sorted({f"U+{ord(c):04X}" for c in text
                  if unicodedata.category(c) in ("Cc", "Cf", "Cs", "Zl", "Zp") and c not in "\n\t"})
    assert not bad, f"characters a terminal acts on (C1, bidi, invalid UTF-8) reached it: {bad}"
    assert "Traceback" not in text and "internal error" not in text, text[-2000:]
    return text


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    where = tmp_path_factory.mktemp("hostile")
    a = write_image(where, hostile_spec(), "legacy", "a")
    b = write_image(where, second_spec(), "oci-archive", "b")
    named = where / f"img{TITLE}{BIDI}.tar"  # the reference itself is shown in the summary and diff
    shutil.copy(a, named)
    return {"a": a, "b": b, "named": str(named)}


VIEWS = [[], ["--bin"], ["--executables"], ["--jre"], ["--config"], ["--files"], ["--files", "/bin"]]


@pytest.mark.parametrize("fmt", ["table", "json"])
@pytest.mark.parametrize("view", VIEWS, ids=lambda v: " ".join(v) or "summary")
def test_views_draw_nothing_the_image_chose(images: dict[str, str], view: list[str], fmt: str) -> None:
    code, drawn = run_in_pty(images["named"], "--tag", f"evil/img:t{TITLE}", *view, "--format", fmt)
    text = assert_terminal_safe(drawn)
    assert code == 0, text
    lines = text.splitlines()
    # the merge's warning names the missing hardlink source, escaped, on one line
    warnings = [line for line in lines if line.startswith("inspect-image: warning:")]
    assert any("\\x1b]52;c;" in line and "\\n-rwxr-xr-x" in line for line in warnings), warnings
    # no row was forged: the fake ls row stays inside the name it was part of
    assert not any(line.startswith("-rwxr-xr-x     0     0        10  /bin/forged") for line in lines)
    if fmt == "json":
        body = "\n".join(line for line in lines if not line.startswith("inspect-image: "))
        json.loads(body)  # still one valid JSON document, and the same values (checked below)


def test_json_in_a_terminal_is_the_same_value(images: dict[str, str]) -> None:
    """C1, DEL and bidi characters are written as JSON escapes: the parsed value is exact."""
    code, drawn = run_in_pty(images["a"], "--tag", f"evil/img:t{TITLE}", "--config", "--json")
    text = assert_terminal_safe(drawn)
    assert code == 0
    body = json.loads("\n".join(line for line in text.splitlines() if not line.startswith("inspect-image: ")))
    config = hostile_spec().config
    assert config is not None
    assert body["config"]["user"] == config["User"]
    assert body["config"]["env"] == config["Env"]
    assert body["config"]["labels"] == config["Labels"]


def test_table_shows_the_hostile_text_escaped(images: dict[str, str]) -> None:
    code, drawn = run_in_pty(images["a"], "--tag", f"evil/img:t{TITLE}", "--config")
    text = assert_terminal_safe(drawn)
    assert code == 0
    assert "evil\\x1b]0;pwned\\x07\\rok" in text  # the user, every character accounted for
    assert "A=\\x1b]52;c;cm0gLXJmIH4K\\x07" in text
    assert "C=\\x9b31m\\x7f" in text and "D=\\xff\\xfe" in text and "E=\\u202egnp.exe\\u202c" in text


@pytest.mark.parametrize("extra", [[], ["--all"], ["--format", "json"], ["--all", "--format", "json"]])
def test_diff_draws_nothing_the_image_chose(tmp_path: Path, extra: list[str]) -> None:
    """Both references are file names holding terminal attacks too (the diff's header shows them)."""
    single_a = write_image(tmp_path, hostile_spec(tags=[]), "legacy", f"a{OSC52}")
    single_b = write_image(tmp_path, second_spec(), "oci-archive", f"b{TITLE}{BIDI}")
    code, drawn = run_in_pty("diff", single_a, single_b, *extra)
    text = assert_terminal_safe(drawn)
    assert code == 0, text
    if "json" in extra:
        body = json.loads("\n".join(line for line in text.splitlines() if not line.startswith("inspect-image: ")))
        assert body["a"].endswith(f"a{OSC52}.tar")
    else:
        header = next(line for line in text.splitlines() if line.startswith("--- "))
        assert header.endswith("a\\x1b]52;c;cm0gLXJmIH4K\\x07.tar")
        assert "+ env Z=\\x1b]0;pwned\\x07" in text
        assert "added\\x1b]52;c;" in text


@pytest.mark.parametrize("args", [
    ["{a}", "--tag", f"no{OSC52}"],                       # an unknown tag: the error lists hostile tags
    ["{a}", "--tag", f"evil/img:t{TITLE}", "--files", f"/nope{TITLE}"],
    ["cat", "{a}", f"/nope{OSC52}", "--tag", f"evil/img:t{TITLE}"],
    ["cat", "{a}", f"/bin/n1{TITLE}/x", "--tag", f"evil/img:t{TITLE}"],
    ["export", "{a}", "{tmp}/out\x1b]0;t\x07", "--tag", f"evil/img:t{TITLE}", "--path", f"/nope{BIDI}"],
    [f"/nonexistent{OSC52}.tar"],
])
def test_error_lines_draw_nothing_the_image_chose(images: dict[str, str], tmp_path: Path, args: list[str]) -> None:
    code, drawn = run_in_pty(*(a.format(a=images["a"], tmp=tmp_path) for a in args))
    text = assert_terminal_safe(drawn)
    assert code == 2, text
    lines = [line for line in text.splitlines() if not line.startswith("inspect-image: warning:")]
    assert len(lines) == 1 and lines[0].startswith("inspect-image: error: "), lines


# --- size: a huge value must not cost minutes in a table ------------------------------------------

@pytest.fixture(scope="module")
def huge(tmp_path_factory: pytest.TempPathFactory) -> str:
    return write_image(tmp_path_factory.mktemp("huge"), huge_config_spec(), "legacy", "huge")


@pytest.mark.parametrize("view", [[], ["--config"]], ids=["summary", "config"])
def test_huge_config_renders_fast_and_cut(huge: str, view: list[str]) -> None:
    started = time.monotonic()
    code, drawn = run_in_pty(huge, *view, timeout=40)
    took = time.monotonic() - started
    text = assert_terminal_safe(drawn)
    assert code == 0, text[-2000:]
    assert took < 10, f"{took:.1f} s"  # 16 s before the cut, 2.5 s after, on 2 shared CPUs
    assert len(drawn) < 4 << 20, f"{len(drawn):,} bytes drawn"
    assert "E999=value999\n" in text and "E1000=" not in text
    assert "… and 99,000 more" in text  # the env list, cut
    assert "more characters" in text     # the 16 MB label, cut


def test_huge_config_json_keeps_everything(huge: str) -> None:
    code, drawn = run_in_pty(huge, "--config", "--json", timeout=40)
    assert code == 0
    body = json.loads(drawn)
    assert len(body["config"]["env"]) == 100_000
    assert len(body["config"]["labels"]) == 100_001
    assert len(body["config"]["labels"]["big"]) == len("word " * ((16 << 20) // 5))


def test_warnings_are_bounded(tmp_path: Path) -> None:
    """One warning per dangling hardlink: 150 of them print 100 lines and a count, not 150 lines."""
    layer = [E("d", "dir")] + [E(f"d/h{i}", "hardlink", target=f"d/missing{i}{TITLE}") for i in range(150)]
    ref = write_image(tmp_path, ImageSpec([layer]), "legacy", "links")
    code, drawn = run_in_pty(ref, "--files", "/d/h1")
    text = assert_terminal_safe(drawn)
    assert code == 0, text
    warnings = [line for line in text.splitlines() if line.startswith("inspect-image: warning:")]
    assert len(warnings) == 101 and warnings[-1] == "inspect-image: warning: … and 50 more warnings", warnings[-2:]

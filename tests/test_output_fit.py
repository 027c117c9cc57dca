"""``output.fit``: tables fit the width without ever splitting a path, a version or a word."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from inspector.output import fit

PATHS = ["/usr/lib/jvm/java-17-openjdk-amd64/bin/jarsigner", "/usr/bin/java -> /etc/alternatives/java",
         "/opt/java/openjdk/lib/server/libjvm.so", "/x"]
COLUMNS = [fit.Column("mode"), fit.Column("owner"), fit.Column("size", right=True), fit.Column("type"),
           fit.Column("kind", prose=True), fit.Column("flags", prose=True), fit.Column("path", spill=True)]
ROWS = [["-rwxr-xr-x", "0:0", "12kB", "file", "ELF64 x86_64 dynamic stripped", "-", PATHS[0]],
        ["lrwxrwxrwx", "0:0", "-", "symlink", "ELF64 x86_64 dynamic stripped", "-", PATHS[1]],
        ["-rwsr-xr-x", "0:0", "87.3MB", "file", "script #!/bin/sh", "setuid setgid world-writable", PATHS[2]],
        ["-rwxr-xr-x", "65532:65532", "489MB", "file", "other", "-", PATHS[3]]]


def tokens(rows: list[list[str]]) -> set[str]:
    return {token for row in rows for cell in row for token in cell.split()}


def assert_fits(text: str, width: int | None, expected_tokens: set[str]) -> None:
    """Every line within ``width`` unless it is one token; every token of the input whole."""
    for line in text.splitlines():
        if width is not None and len(line) > width:
            assert len(line.split()) == 1, f"line of {len(line)} > {width} is not one token: {line!r}"
    printed = set(text.split())
    assert expected_tokens <= printed, f"split or lost: {sorted(expected_tokens - printed)}"


@pytest.mark.parametrize("width", [20, 40, 60, 80, 120, 200])
def test_table_fits_without_splitting_a_token(width: int) -> None:
    text = fit.table(COLUMNS, ROWS, width)
    assert_fits(text, width, tokens(ROWS))
    headers = {t.rstrip(":") for t in text.split()}  # narrow: one "header: value" record per row
    assert {c.header for c in COLUMNS} <= headers


def test_wide_terminal_is_one_line_per_row() -> None:
    text = fit.table(COLUMNS, ROWS, 200)
    assert len(text.splitlines()) == 2 + len(ROWS)  # header, rule, rows


def test_long_path_goes_on_its_own_line_at_80() -> None:
    lines = fit.table(COLUMNS, ROWS, 80).splitlines()
    own = [line for line in lines if line.strip() == PATHS[0]]
    assert own, lines  # the long path on a line of its own, whole
    assert all(len(line) <= 80 for line in lines)


def test_unbreakable_token_longer_than_width_is_printed_whole() -> None:
    path = "/" + "a" * 150
    text = fit.table(COLUMNS, [["-rw-r--r--", "0:0", "1B", "file", "other", "-", path]], 80)
    assert path in text.split()
    assert_fits(text, 80, {path})


def test_no_width_never_wraps() -> None:
    text = fit.table(COLUMNS, ROWS, None)
    assert len(text.splitlines()) == 2 + len(ROWS)
    long_value = "word " * 100
    assert len(fit.pairs([("labels", long_value.strip())], None).splitlines()) == 1
    assert len(fit.paragraph(long_value, None).splitlines()) == 1


@pytest.mark.parametrize("width", [80, 120, 200])
def test_pairs_wrap_values_at_spaces_only(width: int) -> None:
    rows = [("entrypoint", "/bin/sh -c 'java -jar /app.jar'"),
            ("labels", ", ".join(f"org.opencontainers.image.label{i}=value-{i}" for i in range(12))),
            ("path", "/" + "b" * (width + 10))]
    text = fit.pairs(rows, width)
    assert_fits(text, width, {t for _, v in rows for t in v.split()} | {"entrypoint", "labels", "path"})


def test_paragraph_wraps_at_spaces() -> None:
    text = fit.paragraph("problem: the jar /usr/lib/jvm/java-17-openjdk-amd64/lib/app.jar is missing " * 3, 80, "  ")
    assert_fits(text, 80, {"/usr/lib/jvm/java-17-openjdk-amd64/lib/app.jar"})
    assert all(line.startswith("  ") for line in text.splitlines())


def _width_in_child(env: dict[str, str]) -> str:
    """``fit.width()`` in a child whose stdout is a pipe (as when the CLI's output is piped)."""
    code = "from inspector.output import fit; print(fit.width())"
    return subprocess.run([sys.executable, "-c", code], env=env, stdout=subprocess.PIPE, check=True,
                          text=True).stdout.strip()


def test_width_piped_is_none_and_columns_overrides() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    assert _width_in_child(env) == "None"
    assert _width_in_child({**env, "COLUMNS": "123"}) == "123"
    assert _width_in_child({**env, "COLUMNS": "5"}) == str(fit.MIN_WIDTH)
    assert _width_in_child({**env, "COLUMNS": "wide"}) == "None"


def test_width_on_a_terminal_defaults_to_80_when_unknown() -> None:
    """On a pseudo-terminal whose size is unset (0x0), the width is 80."""
    import pty

    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [os.getcwd(), env.get("PYTHONPATH")]))
    leader, follower = pty.openpty()
    try:
        proc = subprocess.run([sys.executable, "-c", "from inspector.output import fit; print(fit.width())"],
                              env=env, stdout=follower, check=True, timeout=30)
        assert proc.returncode == 0
        os.close(follower)
        follower = -1
        output = os.read(leader, 100).decode().strip()
    finally:
        if follower >= 0:
            os.close(follower)
        os.close(leader)
    assert output == "80"

"""Hostile values the table renderers lay out themselves (not only escape): a modification time no
calendar holds (``--bin``'s date column) and a build step of 300k characters with control bytes
(``--layers``'s ``created by``). Each is one CLI run under a memory and a time limit."""

from __future__ import annotations

from collections.abc import Callable

from testdata.imagebuilder import E, ImageSpec

from .conftest import run_cli_limited


def test_bin_date_of_an_mtime_past_year_9999_is_a_dash(image_writer: Callable[..., str]) -> None:
    ref = image_writer(ImageSpec([[E("bin/", "dir"), E("bin/far", data=b"x", mode=0o755, mtime=2 ** 40)]]))
    proc = run_cli_limited(ref, "--bin")
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert (proc.returncode, err) == (0, ""), err
    row = next(line for line in out.splitlines() if line.endswith(" far"))
    assert row.split()[4] == "-", row  # mode user group size date name


def test_layers_created_by_is_cut_and_inert(image_writer: Callable[..., str]) -> None:
    step = "RUN \x1b]0;owned\x07 " + "word " * 60_000
    ref = image_writer(ImageSpec([[E("a", data=b"x")]], history=[{"created_by": step}]))
    proc = run_cli_limited(ref, "--layers")
    out, err = proc.stdout.decode(), proc.stderr.decode()
    assert (proc.returncode, err) == (0, ""), err
    assert "\x1b" not in out and "\x07" not in out
    assert len(out) < 800, len(out)  # the cell is cut at CREATED_BY_LIMIT (200), not only at escape's 1000
    assert "word …" in out

"""Help that teaches (issue 13, item 8): the main form first, examples at the end of every
command's help, and the diff's ``+``, ``-`` and ``~`` explained. Read as a user reads it:
``inspect-image … --help`` in a subprocess, at 80 columns."""

from __future__ import annotations

import functools
import re

import pytest
from click.testing import CliRunner

from inspector.cli import cli

from .conftest import run_cli

#: The commands cli.py defines (``audit`` lives in cli_audit.py and is checked for examples too
#: when it has them: see ``test_every_command_ends_with_examples``).
COMMANDS = ("inspect", "diff", "sbom", "cat", "export")


def _help(*args: str) -> list[str]:
    return list(_help_text(args))


@functools.cache
def _help_text(args: tuple[str, ...]) -> tuple[str, ...]:
    """One subprocess per help text (each is read by several tests)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "80")
        code, out, err = run_cli(*args, "--help")
    assert code == 0, err
    assert err == ""
    return tuple(out.splitlines())


def _examples(lines: list[str]) -> list[str]:
    """The example command lines of the last paragraph, which must be the ``Examples:`` block."""
    while lines and not lines[-1].strip():
        lines = lines[:-1]
    start = max(i for i, line in enumerate(lines) if line.strip() == "Examples:")
    block = lines[start + 1:]
    assert all(line.startswith("    inspect-image ") for line in block), block
    return [line.strip() for line in block]


def test_top_level_help_shows_the_main_form_then_the_commands() -> None:
    lines = _help()
    text = "\n".join(lines)
    main_form = "inspect-image IMAGE [--bin|--executables|--jre|--config|--files [PATH]]"
    assert main_form in text
    assert text.index(main_form) < text.index("Commands:")
    commands = lines[lines.index("Commands:") + 1:]
    for name in COMMANDS:
        assert any(re.match(rf"\s+{name}\s+\S", line) for line in commands), name
    assert 2 <= len(_examples(lines)) <= 3


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_ends_with_examples(command: str) -> None:
    examples = _examples(_help(command))
    assert 2 <= len(examples) <= 3, examples
    for example in examples:
        words = example.split()
        assert words[0] == "inspect-image"
        if command != "inspect":  # the main form needs no command word
            assert words[1] == command, example


@pytest.mark.parametrize("command", ["", *COMMANDS])
def test_help_fits_80_columns(command: str) -> None:
    lines = _help(*([command] if command else []))
    assert all(len(line) <= 80 for line in lines), [line for line in lines if len(line) > 80]


def test_diff_help_explains_the_signs() -> None:
    text = " ".join(" ".join(_help("diff")).split())
    for sign, meaning in (("-", "removed"), ("+", "added"), ("~", "changed")):
        assert re.search(rf'"{re.escape(sign)}" is in [^.;]*\({meaning}\)|"{re.escape(sign)}" [^.;]*{meaning}', text), \
            (sign, text)
    assert "-> target" in text


def test_the_examples_are_real_commands() -> None:
    """Every example's options exist (parsed in-process: click reports an unknown option before it
    acts on the trailing --help)."""
    for command in ("", *COMMANDS):
        for example in _examples(_help(*([command] if command else []))):
            argv = example.split("#")[0].split("|")[0].split(">")[0].split()[1:]
            argv = [arg.strip("'") for arg in argv]
            result = CliRunner().invoke(cli, [*argv, "--help"])
            assert result.exit_code == 0 and "Usage:" in result.output, (example, result.output)
            assert "Error" not in result.output, (example, result.output)

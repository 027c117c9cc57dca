"""Starting the command line imports only what the command needs (issue 20's start-up goal).

Timing assertions do not belong in tests (the bench's ``--version`` row measures the time); what a
test can hold steady is *what* is imported: ``--version``, ``--help`` and a usage error must not pay
for the tar parser, the reports, the renderers, the engine client or the fleet machinery.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("inspector.fs", "inspector.reports", "inspector.tarwalk", "inspector.output.html", "inspector.audit",
         "inspector.sbom", "inspector.packages", "inspector.sources.opener", "inspector.sources.engine",
         "docker", "elftools", "tabulate", "isal", "zstandard", "distributed")

PROBE = """
import json, sys
from inspector.cli import main
try:
    main(sys.argv[1:])
except SystemExit:
    pass
loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('inspector', 'docker', 'elftools', 'tabulate',
                                                               'isal', 'zstandard', 'distributed'))
sys.stderr.write('\\nMODULES ' + json.dumps(loaded) + '\\n')
"""


def _loaded(*argv: str) -> set[str]:
    run = subprocess.run([sys.executable, "-c", PROBE, *argv], capture_output=True, text=True, timeout=60)
    line = [x for x in run.stderr.splitlines() if x.startswith("MODULES ")][-1]
    return set(json.loads(line[len("MODULES "):]))


@pytest.mark.parametrize("argv", [["--version"], ["--help"], ["inspect", "--help"], ["diff", "--help"],
                                  ["inspect", "--bogus"]])
def test_starting_imports_no_parser_report_or_client(argv: list[str]) -> None:
    loaded = _loaded(*argv)
    heavy = sorted(m for m in loaded if any(m == h or m.startswith(h + ".") for h in HEAVY))
    assert heavy == [], f"{argv} imported {heavy}"


def test_audit_is_imported_when_asked_for() -> None:
    assert "inspector.cli_audit" in _loaded("audit", "--help")
    assert "inspector.cli_audit" not in _loaded("--version")


def test_the_python_api_still_offers_its_names() -> None:
    code = ("import inspector, inspector.sources as s; "
            "print(inspector.open_image.__name__, inspector.build_filesystem.__name__, inspector.Entry.__name__, "
            "s.EngineOptions.__name__, s.Image.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=60)
    assert out.stdout.split() == ["open_image", "build_filesystem", "Entry", "EngineOptions", "Image"]


def test_the_listed_help_of_a_lazy_command_is_its_own() -> None:
    """--help lists audit without importing it: the line it shows is the command's own first line."""
    from click.testing import CliRunner

    from inspector import cli_audit
    from inspector.cli import cli

    listed = CliRunner().invoke(cli, ["--help"], terminal_width=200).output
    line = next(x for x in listed.splitlines() if x.strip().startswith("audit "))
    assert line.split(None, 1)[1] == cli_audit.command().get_short_help_str(200)


@pytest.mark.parametrize("command", [["-m", "inspector"], ["-c", "from inspector.launch import main; main()"]])
def test_version_is_answered_before_click_is_imported(command: list[str]) -> None:
    """``--version`` alone is answered by the entry point with the line click's version option prints."""
    from click.testing import CliRunner

    from inspector.cli import cli

    probe = "; ".join(["import sys, json, atexit",
                       "atexit.register(lambda: sys.stderr.write('MODULES ' + json.dumps(sorted(sys.modules))))"])
    code = command[1] if command[0] == "-c" else "import runpy; runpy.run_module('inspector', run_name='__main__')"
    run = subprocess.run([sys.executable, "-c", f"{probe}\n{code}", "--version"], capture_output=True, text=True,
                         timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout == CliRunner().invoke(cli, ["--version"]).output
    loaded = set(json.loads(run.stderr.split("MODULES ", 1)[1]))
    assert "click" not in loaded and "typing" not in loaded and "inspector.cli" not in loaded


def test_anything_else_goes_to_the_command_line() -> None:
    run = subprocess.run([sys.executable, "-m", "inspector", "--help", "--version"], capture_output=True, text=True,
                         timeout=60)
    assert "Usage:" in run.stdout, "not the fast path: click answers (its --help)"

"""The README's JSON schema is a promise (fields are added, never renamed or removed): every field
name its tables document must appear in real CLI output (issue 13, "Tests and proof").

The tables are read from README.md itself, so a field documented tomorrow is checked tomorrow.
The output is the CLI's JSON for the committed sample image (testdata/sample/distroless-java.tar),
and a diff of that image against a changed copy of it (a shell, a setuid file, another user and
env, new package, a changed executable), in both the executables and the ``--all`` view.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from testdata.imagebuilder import E
from testdata.make_sample import sample_spec, tiny_elf

from .conftest import REPO_ROOT, run_cli

SAMPLE = str(REPO_ROOT / "testdata" / "sample" / "distroless-java.tar")
README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
IDENTIFIER = re.compile(r"[a-z][a-z0-9_]*")


def _section(title: str) -> str:
    """The README text under the heading ``title`` (up to the next heading of any level)."""
    start = README.index(title)
    following = re.search(r"^#{2,3} ", README[start + len(title):], re.MULTILINE)
    return README[start: start + len(title) + (following.start() if following else len(README))]


def _rows(section: str) -> Iterator[tuple[str, str]]:
    """``(field cell, meaning cell)`` of each row of the section's Markdown table."""
    for line in section.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) >= 2 and not set(cells[0]) <= {"-"} and cells[0] != "field":
            yield cells[0], cells[-1]


def _without_parentheses(text: str) -> str:
    """Text with every parenthesised aside removed (it holds examples and values, not field names)."""
    previous = None
    while previous != text:
        previous, text = text, re.sub(r"\([^()]*\)", "", text)
    return text


def _names(text: str) -> list[str]:
    """The field names a cell documents: backticked identifiers, and the names of a backticked
    ``{a, b, c}``; values in parentheses are not field names."""
    names: list[str] = []
    for quoted in re.findall(r"`([^`]+)`", _without_parentheses(text)):
        if IDENTIFIER.fullmatch(quoted):
            names.append(quoted)
        elif quoted.startswith("{") and quoted.endswith("}"):
            names += [n.strip() for n in quoted[1:-1].split(",") if IDENTIFIER.fullmatch(n.strip())]
    return names


def _cli_json(*args: str, codes: tuple[int, ...] = (0,)) -> Any:
    code, out, err = run_cli(*args, "--format", "json")
    assert code in codes, err
    assert "Traceback" not in err
    return json.loads(out)


def _keys(value: Any) -> set[str]:
    """Every key at any depth, and every string value (``differences`` and ``compared`` name
    fields by value)."""
    found: set[str] = set()
    if isinstance(value, dict):
        for key, item in value.items():
            found.add(key)
            found |= _keys(item)
    elif isinstance(value, list):
        for item in value:
            found |= _keys(item)
    elif isinstance(value, str):
        found.add(value)
    return found


@pytest.fixture(scope="module")
def summary() -> dict[str, Any]:
    result: dict[str, Any] = _cli_json(SAMPLE)
    return result


def test_the_readme_has_the_tables() -> None:
    """The parser finds what it checks: a README reshaped so that nothing is read must fail here."""
    assert len(list(_rows(_section("### `--files --format json`")))) >= 12
    assert len(list(_rows(_section("### `inspect-image IMAGE --format json` (the summary)")))) >= 14
    assert "notes" in _names(dict(_rows(_section("### `inspect-image IMAGE --format json`")))["`entrypoint`"])


def test_files_schema() -> None:
    entries = _cli_json(SAMPLE, "--files")
    documented = [n for cell, _ in _rows(_section("### `--files --format json`")) for n in _names(cell)]
    assert {"path", "type", "mode", "uid", "gid", "target", "package", "layer_created_by"} <= set(documented)
    for entry in entries:
        missing = [n for n in documented if n not in entry]
        assert not missing, (entry["path"], missing)


def test_summary_schema(summary: dict[str, Any]) -> None:
    rows = list(_rows(_section("### `inspect-image IMAGE --format json` (the summary)")))
    for cell, meaning in rows:
        (field,) = _names(cell)
        if meaning.startswith("only with `--fail-on`"):
            value = _cli_json(SAMPLE, "--fail-on", "all", codes=(0, 1)).get(field)
            assert value is not None, field
        else:
            assert field in summary, field
            value = summary[field]
        subfields = _names(meaning)
        objects = [value] if isinstance(value, dict) else [v for v in value if isinstance(v, dict)] \
            if isinstance(value, list) else []
        if field == "packages":  # {"dpkg": 123}: keys are managers, not documented names
            continue
        for obj in objects:
            missing = [n for n in subfields if n not in obj]
            assert not missing, (field, missing)
        if subfields and not (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            assert objects, f"{field}: the sample shows no object to check"  # (a list of names has none)


def test_views_named_in_the_schema(summary: dict[str, Any]) -> None:
    config = _cli_json(SAMPLE, "--config")
    assert config["config"].keys() >= {"entrypoint", "cmd", "user", "workdir", "problems"}
    assert config["entrypoint"].keys() == summary["entrypoint"].keys()
    documented = ("kind", "elf", "shebang", "setuid", "setgid", "world_writable", "capabilities", "resolves_to",
                  "package", "layer_created_by")
    for item in _cli_json(SAMPLE, "--executables"):
        assert all(name in item for name in documented), item["path"]


@pytest.fixture(scope="module")
def changed(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The sample with a shell, a setuid file, a changed java launcher, another user and env."""
    from testdata.imagebuilder import write_docker_archive

    spec = sample_spec()
    extra = [E("bin/sh", "file", tiny_elf(), mode=0o755), E("usr/bin/passwd", "file", tiny_elf(), mode=0o4755),
             E("usr/lib/jvm/temurin21_jre_amd64/bin/java", "file", tiny_elf() + b"v2", mode=0o755),
             E("var/lib/dpkg/status.d/bash", "file", b"Package: bash\nVersion: 5.2\nArchitecture: amd64\n"),
             E("var/lib/dpkg/status.d/libc6", "file",
               b"Package: libc6\nVersion: 2.36-9+deb12u11\nArchitecture: amd64\n")]
    config = dict(spec.config or {}, User="0", Env=["PATH=/bin:/usr/bin", "EXTRA=1"],
                  Entrypoint=["/bin/sh", "-c", "java -jar /app/app.jar"], Cmd=None, WorkingDir="/app",
                  ExposedPorts={"8080/tcp": {}}, Labels={"changed": "yes"})
    path = tmp_path_factory.mktemp("schema") / "changed.tar"
    write_docker_archive(path, dataclasses.replace(spec, layers=[*spec.layers, extra], config=config), "legacy")
    return str(path)


@pytest.mark.parametrize("view", [(), ("--all",)], ids=["executables", "all"])
def test_diff_schema(changed: str, view: tuple[str, ...]) -> None:
    result = _cli_json("diff", SAMPLE, changed, *view)
    paragraph = _section("### `inspect-image diff A B --format json`").split("\n\n")[1]
    documented = re.findall(r"`([a-z][a-z0-9_]*)`", paragraph)
    assert {"summary", "size", "platform", "java", "jdk_tools", "upgraded"} <= set(documented)
    present = _keys(result)
    # "entries" names the view ``compared`` reports; the other view has "executables" instead; under
    # --all the records are in the --files schema, which has no ``resolves_to`` (README says so)
    optional = {"entries", "executables"} | ({"resolves_to"} if view else set())
    missing = [name for name in documented if name not in present and name not in optional]
    assert not missing, missing
    assert result["summary"]["compared"] in documented
    for side in ("a", "b"):
        for runtime in result["summary"]["java"][side]:
            assert runtime.keys() >= {"home", "vendor", "distribution", "version", "runtime_version", "type", "tools"}


def test_check_can_fail() -> None:
    """The name extraction keeps field names and drops values: a value list in parentheses is not
    a field, a field outside one is."""
    cell = "`argv` (ENTRYPOINT + CMD), `kind` (`elf`, `script`, `other`), `{path, layer}`"
    assert _names(cell) == ["argv", "kind", "path", "layer"]


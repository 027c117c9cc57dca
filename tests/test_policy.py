"""``inspect-image IMAGE --fail-on RULE,… [--policy FILE]``: each rule on an image that violates it
and on one that comes close without violating it, allow-lists, policy files good and bad, exit
codes 0/1/2, and hostile names in findings, as a user sees them (exit code, stderr lines, JSON).

Every run is a subprocess under a memory and a time limit, as a CI job would run it.
"""

from __future__ import annotations

import json
import pickle
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inspector import policy, reports
from inspector.policy import render as policy_render
from inspector.sources import open_image
from testdata import policy_images as P
from testdata.imagebuilder import ImageSpec

from .conftest import run_cli_limited, write_image

PREFIX = "inspect-image: policy: "


def run(*args: object, input: bytes | None = None, timeout: float = 30) -> tuple[int, str, str]:
    """``python -m inspector ARGS`` under the memory limit and ``timeout``: exit code, stdout, stderr."""
    proc = run_cli_limited(*args, input=input, timeout=timeout)
    err = proc.stderr.decode("utf-8", "surrogateescape")
    assert "Traceback" not in err and "internal error" not in err, err
    return proc.returncode, proc.stdout.decode("utf-8", "surrogateescape"), err


def findings_of(out: str) -> list[dict[str, Any]]:
    found = json.loads(out)["findings"]
    assert isinstance(found, list)
    return found


def policy_lines(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith(PREFIX)]


def one_error(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2, f"exit {code}: {err}"
    assert out == ""
    lines = err.strip("\n").split("\n")
    assert len(lines) == 1, err
    assert lines[0].startswith("inspect-image: error: ") or lines[0].startswith("Error: "), lines[0]
    for word in words:
        assert word in lines[0], f"{word!r} not in {lines[0]!r}"


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str, ImageSpec], str]:
    """``images(name, spec)``: the spec written once per module as a docker archive."""
    directory = tmp_path_factory.mktemp("policy")
    written: dict[str, str] = {}

    def get(name: str, spec: ImageSpec) -> str:
        if name not in written:
            written[name] = write_image(directory, spec, "legacy", name)
        return written[name]

    return get


@pytest.fixture(scope="module")
def base(images: Callable[[str, ImageSpec], str]) -> str:
    return images("base", P.base())


def write_policy(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "policy.toml"
    path.write_bytes(text.encode() if isinstance(text, str) else text)
    return str(path)


# --- every rule: violated, and not -------------------------------------------------------------


def test_the_clean_base_passes_every_rule(base: str) -> None:
    code, out, err = run(base, "--fail-on", "all", "--format", "json")
    assert code == 0, err
    assert findings_of(out) == []
    assert err == ""


#: What the user reads for each finding of the violating images (paths in ``P.PAIRS``).
EVIDENCE = {
    "cannot-start": ["/usr/bin/missing does not exist in the image: the container cannot start"],
    "shell": ["shell bash (a link to /bin/sh)", "shell sh (ELF executable)"],
    "package-manager": ["package manager apt-get (ELF executable)"],
    "setuid": ["setuid executable, mode 4755, owner 0:0", "setgid executable, mode 2755, owner 0:0"],
    "capabilities": ["file capabilities cap_net_bind_service=ep"],
    "root-user": ["User is not set: the container runs as root (UID 0)"],
    "jdk-tools": [f"{tool}, a JDK tool, in the Java runtime at /{P.JAVA_HOME} (Temurin 21.0.4 JDK)"
                  for tool in ("jar", "javac")],
    "unowned-executable": ["no package owns it; written by layer 1 (/bin/sh -c #(nop) ADD layer1 /)"],
    "modified-file": [f"md5 {P.md5(P.OTHER_ELF)}, package dpkg/app recorded {P.md5(P.ELF)}; "
                      "written by layer 1 (/bin/sh -c #(nop) ADD layer1 /)"],
    "world-writable": ["dir writable by anyone, mode 0777, owner 0:0", "file writable by anyone, mode 0666, owner 0:0"],
}


def _checked(images: Callable[..., str], rule: str, variant: str,
             build: Callable[[], ImageSpec]) -> tuple[int, str, str]:
    """The image ``build()`` makes, checked against ``rule`` alone with JSON output."""
    return run(images(f"{rule}-{variant}", build()), "--fail-on", rule, "--format", "json")


@pytest.mark.parametrize("rule", policy.RULES)
def test_an_image_violating_the_rule_exits_1_with_its_findings(rule: str, images: Callable[..., str]) -> None:
    violating, paths, _ = P.PAIRS[rule]
    code, out, err = _checked(images, rule, "violates", violating)
    assert code == 1, err
    found = findings_of(out)
    assert [f["rule"] for f in found] == [rule] * len(paths)
    assert [f["path"] for f in found] == paths
    assert all(isinstance(f["evidence"], str) and f["evidence"] for f in found)
    if rule in EVIDENCE:
        assert [f["evidence"] for f in found] == EVIDENCE[rule]
    assert set(found[0]) == {"rule", "path", "evidence"}
    lines = policy_lines(err)  # the CI log says why, one line each, too
    assert len(lines) == len(paths)
    assert all(line.startswith(f"{PREFIX}{rule}") for line in lines)


@pytest.mark.parametrize("rule", policy.RULES)
def test_an_image_close_to_the_rule_passes_it(rule: str, images: Callable[..., str]) -> None:
    _, _, passing = P.PAIRS[rule]
    code, out, err = _checked(images, rule, "passes", passing)
    assert code == 0, err
    assert findings_of(out) == []
    assert policy_lines(err) == []


def test_only_the_enabled_rules_count(images: Callable[..., str]) -> None:
    """The setuid image differs from the clean base by two unowned setuid executables: every other
    rule passes it."""
    violating, _, _ = P.PAIRS["setuid"]
    ref = images("setuid-violates", violating())
    code, out, err = run(ref, "--fail-on", "all", "--format", "json")
    assert code == 1 and {f["rule"] for f in findings_of(out)} == {"setuid", "unowned-executable"}
    others = ",".join(r for r in policy.RULES if r not in ("setuid", "unowned-executable"))
    code, out, err = run(ref, "--fail-on", others, "--format", "json")
    assert code == 0, err
    assert findings_of(out) == []


def evaluate_in_process(ref: str, rules: list[str]) -> list[policy.Finding]:
    """The API the audit calls, on the real reports of a written image."""
    with open_image(ref) as image:
        inspection = reports.inspect_image(image)
    return policy.evaluate(inspection, None, policy.load_policy(None, rules))


@pytest.mark.parametrize("user", sorted(P.ROOT_BY_NAME))
def test_users_that_are_root(user: str, images: Callable[..., str]) -> None:
    """``toor`` has UID 0 in the image's passwd; ``00`` and
    ``0:0`` are UID 0 as numbers; ``root`` asks for root even without a passwd."""
    (finding,) = evaluate_in_process(images(f"root-{user}", P.ROOT_BY_NAME[user]), ["root-user"])
    assert finding.path is None and "UID 0" in finding.evidence and repr(user) in finding.evidence


@pytest.mark.parametrize("user", sorted(P.NOT_ROOT))
def test_users_that_are_not_root(user: str, images: Callable[..., str]) -> None:
    assert evaluate_in_process(images(f"user-{user}", P.NOT_ROOT[user]), ["root-user"]) == []


# --- where findings go -------------------------------------------------------------------------


def test_table_view_prints_the_view_then_one_line_per_finding(images: Callable[..., str]) -> None:
    ref = images("setuid-violates", P.PAIRS["setuid"][0]())
    code, out, err = run(ref, "--fail-on", "setuid")
    assert code == 1
    assert "setuid 1, setgid 1" in out  # the summary is printed as usual
    assert err.splitlines() == [
        f"{PREFIX}setuid /usr/bin/su: setuid executable, mode 4755, owner 0:0",
        f"{PREFIX}setuid /usr/bin/wall: setgid executable, mode 2755, owner 0:0",
    ]


@pytest.mark.parametrize("view", ["--executables", "--files"])
def test_every_view_takes_a_policy(view: str, images: Callable[..., str]) -> None:
    ref = images("world-writable-violates", P.PAIRS["world-writable"][0]())
    code, out, err = run(ref, view, "--fail-on", "world-writable")
    assert code == 1, err
    assert out
    assert len(policy_lines(err)) == 2
    if view == "--files":
        assert "/etc/app.conf" in out


def test_json_objects_carry_findings_lists_do_not(images: Callable[..., str]) -> None:
    ref = images("modified-file-violates", P.PAIRS["modified-file"][0]())
    code, out, err = run(ref, "--packages", "--fail-on", "modified-file", "--json")
    assert code == 1, err
    report = json.loads(out)
    assert report["integrity"]["modified"][0]["path"] == "/app"
    assert [f["path"] for f in report["findings"]] == ["/app"]
    code, out, err = run(ref, "--config", "--fail-on", "modified-file", "--json")
    assert code == 1 and [f["path"] for f in findings_of(out)] == ["/app"]
    code, out, err = run(ref, "--executables", "--fail-on", "modified-file", "--json")
    assert code == 1 and isinstance(json.loads(out), list)
    assert len(policy_lines(err)) == 1


def test_without_a_policy_the_summary_has_no_findings(base: str) -> None:
    code, out, _ = run(base, "--json")
    assert code == 0 and "findings" not in json.loads(out)


def test_integrity_that_cannot_be_checked_is_a_finding(images: Callable[..., str]) -> None:
    """Standard input cannot be read twice: when integrity needs a second read (a packaged file that is a
    hardlink to a lower layer's file), modified-file cannot look, and a gate that cannot look fails."""
    relinked = P.image(extra=[P.E("app", "hardlink", target="etc/hostname")])
    data = Path(images("relinked", relinked)).read_bytes()
    code, out, err = run("-", "--no-cache", "--fail-on", "modified-file", "--json", input=data)
    assert code == 1, err
    (finding,) = findings_of(out)
    assert finding["path"] is None
    assert finding["evidence"].startswith("package integrity could not be checked")


def test_layers_view_refuses_a_policy(base: str) -> None:
    code, out, err = run(base, "--layers", "--fail-on", "shell")
    assert code == 2 and out == ""
    assert err.splitlines()[-1] == "Error: --fail-on and --policy read the image's files: not with --layers"


# --- allow-lists and policy files --------------------------------------------------------------


def test_allow_list_lets_matching_paths_pass(images: Callable[..., str], tmp_path: Path) -> None:
    ref = images("setuid-violates", P.PAIRS["setuid"][0]())
    file = write_policy(tmp_path, 'fail-on = ["setuid"]\n[allow]\nsetuid = ["/usr/bin/su"]\n')
    code, out, err = run(ref, "--policy", file, "--json")
    assert code == 1
    assert [f["path"] for f in findings_of(out)] == ["/usr/bin/wall"]
    file = write_policy(tmp_path, 'fail-on = ["setuid"]\n[allow]\nsetuid = ["/usr/bin/**"]\n')
    code, out, err = run(ref, "--policy", file, "--json")
    assert code == 0, err
    assert findings_of(out) == []


def test_allow_list_of_another_rule_does_not_apply(images: Callable[..., str], tmp_path: Path) -> None:
    ref = images("setuid-violates", P.PAIRS["setuid"][0]())
    file = write_policy(tmp_path, 'fail-on = ["setuid"]\n[allow]\nshell = ["/**"]\n')
    code, out, _ = run(ref, "--policy", file, "--json")
    assert code == 1 and len(findings_of(out)) == 2


def test_dir_glob_matches_the_directory_itself(images: Callable[..., str], tmp_path: Path) -> None:
    ref = images("world-writable-violates", P.PAIRS["world-writable"][0]())
    file = write_policy(tmp_path, '[allow]\nworld-writable = ["/data/**"]\n')
    code, out, _ = run(ref, "--policy", file, "--fail-on", "world-writable", "--json")
    assert code == 1
    assert [f["path"] for f in findings_of(out)] == ["/etc/app.conf"]


def test_policy_file_and_fail_on_add_up(images: Callable[..., str], tmp_path: Path) -> None:
    ref = images("shell-violates", P.PAIRS["shell"][0]())
    file = write_policy(tmp_path, 'fail-on = ["setuid"]\n')
    code, out, _ = run(ref, "--policy", file, "--json")
    assert code == 0 and findings_of(out) == []
    code, out, _ = run(ref, "--policy", file, "--fail-on", "shell", "--json")
    assert code == 1 and {f["rule"] for f in findings_of(out)} == {"shell"}


BAD_POLICIES = [
    ("fail-on = [", ("not valid TOML",)),
    ('fail_on = ["shell"]', ("unknown key 'fail_on'",)),
    ('fail-on = ["shel"]', ("unknown rule 'shel'",)),
    ('fail-on = "shell"', ("fail-on must be a list",)),
    ('fail-on = [""]', ("no rule named",)),
    ('fail-on = ["shell"]\n[allow]\nsetiud = ["/x"]', ("unknown rule 'setiud'",)),
    ('fail-on = ["shell"]\n[allow]\nshell = "/bin/sh"', ("allow.shell must be a list",)),
    ('fail-on = ["shell"]\n[allow]\nshell = [""]', ("allow.shell must be a list",)),
    ('fail-on = ["shell"]\n[allow]\nshell = ["bin/*"]', ("not an absolute path glob",)),
    ('fail-on = ["shell"]\nallow = ["/x"]', ("allow must be a table",)),
    ('[allow]\nshell = ["/bin/sh"]', ("enables no rule",)),
    (b'fail-on = ["shell"] # \xff\n', ("not UTF-8",)),
    (b"#" * (policy.config.MAX_POLICY_BYTES + 1), ("larger than",)),
]


@pytest.mark.parametrize(("text", "words"), BAD_POLICIES)
def test_bad_policy_file_is_refused(text: str | bytes, words: tuple[str, ...], tmp_path: Path) -> None:
    file = write_policy(tmp_path, text)
    with pytest.raises(policy.PolicyError) as caught:
        policy.load_policy(file, [])
    message = str(caught.value)
    assert message.startswith(f"{file}: ") and "\n" not in message
    for word in words:
        assert word in message


@pytest.mark.parametrize(("text", "words"), [BAD_POLICIES[0], BAD_POLICIES[5]])
def test_bad_policy_file_is_one_error_line(text: str, words: tuple[str, ...], base: str, tmp_path: Path) -> None:
    file = write_policy(tmp_path, text)
    code, out, err = run(base, "--policy", file)
    one_error(code, out, err, file, *words)


def test_missing_policy_file(base: str, tmp_path: Path) -> None:
    code, out, err = run(base, "--policy", str(tmp_path / "nope.toml"))
    one_error(code, out, err, "nope.toml", "cannot read the policy file")
    with pytest.raises(policy.PolicyError, match="cannot read the policy file"):
        policy.load_policy(str(tmp_path), [])


@pytest.mark.parametrize("value", ["shell,bogus", " , "])
def test_unknown_rule_on_the_command_line(value: str, base: str) -> None:
    code, out, err = run(base, "--fail-on", value)
    one_error(code, out, err, "--fail-on")


def test_fail_on_takes_lists_and_repeats(images: Callable[..., str]) -> None:
    ref = images("setuid-violates", P.PAIRS["setuid"][0]())
    code, out, _ = run(ref, "--fail-on", " shell , setuid", "--fail-on", "capabilities", "--json")
    assert code == 1 and {f["rule"] for f in findings_of(out)} == {"setuid"}


# --- hostile images ----------------------------------------------------------------------------


def test_hostile_names_are_escaped_on_the_terminal_and_exact_in_json(images: Callable[..., str]) -> None:
    ref = images("hostile", P.hostile())
    rules = "world-writable,cannot-start,shell,unowned-executable"
    code, out, err = run(ref, "--fail-on", rules)
    assert code == 1
    lines = err.splitlines()
    assert lines and all(line.startswith(PREFIX) for line in lines), err  # the \n forged no line
    for raw in ("\x1b", "\x07", "\u202e"):
        assert raw not in err
    assert "evil\\x1b]0;pwned\\x07\\nforged line\\u202e" in err
    assert f"{PREFIX}unowned-executable /bin/sh: no package owns it; written by layer 1 (RUN \\x1b[2J" in err
    assert sum("world-writable" in line for line in lines) == 2  # /tmpw and the file in it
    assert any(line.startswith(f"{PREFIX}cannot-start: ") and "\\x1b" in line for line in lines)
    code, out, _ = run(ref, "--fail-on", rules, "--json")
    assert code == 1
    paths = [f["path"] for f in findings_of(out)]
    assert any(f["evidence"].endswith(f"({P.HOSTILE_STEP})") for f in findings_of(out))
    assert f"/tmpw/{P.HOSTILE_NAME}" in paths
    assert any(P.HOSTILE_NAME in f["evidence"] for f in findings_of(out) if f["rule"] == "cannot-start")


def test_many_findings_are_bounded_on_the_terminal(images: Callable[..., str]) -> None:
    count = policy_render.MAX_LINES + 201
    ref = images("many", P.many_world_writable(count))
    code, out, err = run(ref, "--fail-on", "world-writable", "--bin")
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == policy_render.MAX_LINES + 1
    assert lines[-1] == f"{PREFIX}… and 201 more findings (--format json lists them all)"
    code, out, _ = run(ref, "--fail-on", "world-writable", "--json")
    assert len(findings_of(out)) == count


# --- the Python API the audit command uses -----------------------------------------------------


def test_policy_api_for_the_audit() -> None:
    loaded = policy.load_policy(None, ["shell,setuid", "modified-file"])
    assert loaded.enabled == {"shell", "setuid", "modified-file"}
    assert policy.needs_packages(loaded)
    assert not policy.needs_packages(policy.load_policy(None, ["shell"]))
    everything = policy.Policy.all({"setuid": ["/usr/bin/su"]})
    assert everything.enabled == set(policy.RULES) and everything.allows("setuid", "/usr/bin/su")
    assert not everything.allows("setuid", None) and not everything.allows("shell", "/usr/bin/su")
    assert pickle.loads(pickle.dumps(everything)) == everything  # a process pool or Dask worker gets a copy
    assert hash(everything) == hash(policy.Policy.all({"setuid": ["/usr/bin/su"]}))
    assert policy.Finding("shell", "/bin/sh", "x").to_json() == {"rule": "shell", "path": "/bin/sh", "evidence": "x"}
    assert policy.load_policy(None, []).enabled == frozenset()
    with pytest.raises(policy.PolicyError):
        policy.Policy.all({"nope": ["/x"]})


def test_the_readme_example_policy_is_valid(tmp_path: Path) -> None:
    """The example file the README shows loads, with the rules and globs it says."""
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = readme[readme.index("    # policy.toml\n"):].split("\n\n")
    text = "\n".join(line[4:] for part in block[:2] for line in part.splitlines())
    loaded = policy.load_policy(write_policy(tmp_path, text), [])
    assert loaded.enables("root-user") and not loaded.enables("modified-file")
    assert loaded.allows("world-writable", "/var/lib/app/spool") and loaded.allows("setuid", "/usr/bin/su")


def test_evaluate_without_a_packages_report(images: Callable[..., str]) -> None:
    """The audit may call ``evaluate`` with ``packages=None``: unowned executables are found from the
    inspection alone; modified files cannot be, and say so instead of passing."""
    ref = images("unowned-executable-violates", P.PAIRS["unowned-executable"][0]())
    found = evaluate_in_process(ref, ["unowned-executable", "modified-file"])
    assert [(f.rule, f.path) for f in found] == [("unowned-executable", "/usr/local/bin/dropped"),
                                                 ("modified-file", None)]
    assert found[1].evidence == "package integrity was not checked (no packages report)"

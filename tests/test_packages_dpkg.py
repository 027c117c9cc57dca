"""dpkg databases: every rule of the status format, distroless status.d, and the host's own database."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from inspector.packages import dpkg, read_packages
from testdata.packages_fixtures import (
    LIBC,
    LS,
    NSSWITCH,
    OS_RELEASE,
    distroless_files,
    dpkg_files,
    md5,
)


def by_name(files: dict[str, bytes]):
    return {p.name: p for p in read_packages(files).packages}


def test_status_rules() -> None:
    packages = by_name(dpkg_files())
    assert sorted(packages) == ["base-files", "coreutils", "libc6"]  # removed-thing: config-files only
    libc = packages["libc6"]
    assert (libc.version, libc.arch, libc.source_name, libc.source_version) == \
        ("2.36-9+deb12u10", "amd64", "glibc", "2.36-9+deb12u10")
    assert packages["base-files"].source_name == "base-files-src"  # Source without a version
    assert packages["base-files"].source_version == "12.4+deb12u5"
    assert packages["coreutils"].source_name == "coreutils"  # no Source: the package is its own source


def test_files_digests_and_conffiles_from_info() -> None:
    packages = by_name(dpkg_files())
    coreutils = {f.path: f for f in packages["coreutils"].files}
    assert set(coreutils) == {"/bin", "/bin/ls", "/usr", "/usr/share/doc/coreutils"}  # "/." dropped
    assert (coreutils["/bin/ls"].digest, coreutils["/bin/ls"].algorithm) == (md5(LS), "md5")
    assert coreutils["/bin"].digest is None
    libc = {f.path: f for f in packages["libc6"].files}  # found through the multi-arch name libc6:amd64
    assert libc["/lib/x86_64-linux-gnu/libc.so.6"].digest == md5(LIBC)
    assert libc["/etc/nsswitch.conf"].conffile and libc["/etc/nsswitch.conf"].digest == md5(NSSWITCH)
    assert libc["/etc/old.conf"].conffile and libc["/etc/old.conf"].digest is None  # obsolete: not checked


def test_continuation_lines_and_case() -> None:
    stanzas = dpkg.parse_stanzas("package: a\nVersion: 1\nDescription: x\n more: y\n\tz\nnot a field\n\n")
    assert stanzas == [{"package": "a", "version": "1", "description": "x\nmore: y\nz"}]


@pytest.mark.parametrize("status, installed", [
    ("install ok installed", True), ("deinstall ok config-files", False), ("purge ok not-installed", False),
    ("hold ok installed", True), ("install ok half-configured", True), ("garbage", False),
])
def test_status_states(status: str, installed: bool) -> None:
    assert dpkg.installed({"status": status}) is installed


def test_distroless_status_d() -> None:
    files = {**distroless_files(), "/etc/os-release": OS_RELEASE}
    found = read_packages(files)
    packages = {p.name: p for p in found.packages}
    assert sorted(packages) == ["base-files", "libc6"]  # the .md5sums file is no package
    assert [(f.path, f.digest) for f in packages["libc6"].files] == [("/lib/x86_64-linux-gnu/libc.so.6", md5(LIBC))]
    assert packages["libc6"].db == "/var/lib/dpkg/status.d/libc6"
    assert packages["libc6"].purl == "pkg:deb/debian/libc6@2.36-9%2Bdeb12u10?arch=amd64&distro=debian-12" \
        "&upstream=glibc"
    assert packages["base-files"].purl == "pkg:deb/debian/base-files@12.4%2Bdeb12u5?arch=amd64&distro=debian-12"
    assert found.os is not None and (found.os.id, found.os.version_id) == ("debian", "12")


def test_bad_md5sums_lines_are_a_warning() -> None:
    files = distroless_files()
    files["/var/lib/dpkg/status.d/libc6.md5sums"] += b"nonsense\n\xff\xfe  bin/x\n"
    found = read_packages(files)
    assert any("status.d/libc6.md5sums: 2 lines" in w for w in found.warnings)


@pytest.mark.skipif(shutil.which("dpkg-query") is None or not Path("/var/lib/dpkg/status").exists(),
                    reason="no dpkg database on this machine")
def test_host_database_matches_dpkg_query() -> None:
    """The CI machine's own /var/lib/dpkg, read as an image's, against dpkg-query."""
    root = Path("/var/lib/dpkg")
    files = {"/var/lib/dpkg/status": (root / "status").read_bytes()}
    for path in (root / "info").iterdir():
        if path.suffix in (".list", ".md5sums", ".conffiles"):
            files[f"/var/lib/dpkg/info/{path.name}"] = path.read_bytes()
    found = read_packages(files)
    out = subprocess.run(["dpkg-query", "-W", "-f",
                          ("${db:Status-Status} ${Package} ${Version} ${Architecture} ${source:Package} "
                          "${source:Version}\n")], check=True, capture_output=True, text=True).stdout
    expected = {tuple(line.split()[1:]) for line in out.splitlines()
                if line.split()[0] not in dpkg.GONE_STATES}
    assert {(p.name, p.version, p.arch, p.source_name, p.source_version) for p in found.packages} == expected
    assert not found.warnings
    with_sums = [p for p in found.packages if any(f.digest for f in p.files)]
    assert len(with_sums) > len(found.packages) // 2  # md5sums attached, multi-arch names included

"""A probe may say which files without an execute bit it reads (``fs.layer.plain_interest``).

The layer scan then skips asking it of every other such file. The declaration must cover every
file the probe would read: a file it left out would silently lose its facts (a JDK ``release``,
``/etc/passwd``, a package database, a ``libjvm.so`` without an execute bit). Each probe that
declares one is asked of a matrix of paths and modes, and must answer None wherever the scan would
not ask. A scan with a recording probe shows that the declaration is honoured.
"""

from __future__ import annotations

import io
import tarfile
from typing import Any

import pytest

from inspector.fs.layer import interest_of, plain_interest, scan_layer
from inspector.fs.node import FILE, LayerSlot, Node
from inspector.packages import apk, dpkg, os_release, rpm, rpm_manifest
from inspector.reports.facts import ACCOUNT_FILES, TEXT_FILES, make_probe, probe, probe_sha1, texts_probe

NAMES = ["release", "os-release", "libjvm.so", "passwd", "group", "status", "installed", "Packages", "rpmdb.sqlite",
         "x.list", "x.md5sums", "x.conffiles", "java", "data.bin", "release.txt", ""]
DIRECTORIES = ["/", "/etc/", "/opt/jdk/", "/usr/lib/jvm/temurin/lib/server/", "/usr/lib/", f"{dpkg.ROOT}/",
               f"{dpkg.INFO}/", f"{dpkg.STATUS_D}/", "/lib/apk/db/", "/usr/lib/apk/db/", "/var/lib/rpmmanifest/",
               *(directory + "/" for directory in rpm.DIRECTORIES), "/srv/var/lib/dpkg/"]
PATHS = sorted({d + n for d in DIRECTORIES for n in NAMES} | set(ACCOUNT_FILES) | set(apk.PATHS)
               | set(os_release.PATHS) | {dpkg.STATUS, rpm_manifest.PATH}
               | {f"{d}/{n}" for d in rpm.DIRECTORIES for n in rpm.NAMES})
MODES = [0o644, 0o600, 0o4644, 0o755, 0o700, 0o001, 0o010]


def _asked(interest: tuple[frozenset[str], tuple[str, ...]], path: str, mode: int) -> bool:
    return bool(mode & 0o111) or path[path.rfind("/") + 1:] in interest[0] or path.startswith(interest[1])


@pytest.mark.parametrize("name, chosen", [("probe", probe), ("probe_sha1", probe_sha1), ("texts_probe", texts_probe)])
def test_a_declared_interest_covers_every_file_the_probe_reads(name: str, chosen: Any) -> None:
    interest = interest_of(chosen)
    assert interest is not None, f"{name} declares what it reads"
    for path in PATHS:
        for mode in MODES:
            for size in (10, 1 << 20):
                node = Node(FILE, mode, 0, 0, size, 0, LayerSlot())
                if not _asked(interest, path, mode):
                    assert chosen(path, node, None) is None, (path, oct(mode), size)


def test_a_probe_that_hashes_other_files_declares_nothing() -> None:
    """``diff --all`` and the HTML report hash files by their own rules: every file is asked."""
    assert interest_of(make_probe(lambda path, node: path.endswith(".jar"))) is None
    assert interest_of(None) is None


def _layer(files: dict[str, int]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.GNU_FORMAT) as tar:
        for name, mode in files.items():
            info = tarfile.TarInfo(name)
            info.mode, info.size = mode, 3
            tar.addfile(info, io.BytesIO(b"abc"))
    return out.getvalue()


def test_the_scan_asks_only_what_the_probe_declared() -> None:
    asked: list[str] = []

    def recording(path: str, node: Node, member: Any = None) -> None:
        asked.append(path)

    gated = plain_interest(recording, frozenset({"release"}), ("/etc/passwd", "/var/lib/dpkg/"))
    layer = _layer({"data/x": 0o644, "usr/bin/tool": 0o755, "etc/passwd": 0o644, "etc/passwd-": 0o600,
                    "opt/jdk/release": 0o644, "var/lib/dpkg/status": 0o644, "srv/notes": 0o600, "sbin/init": 0o700})
    scan_layer(io.BytesIO(layer), gated)
    assert asked == ["/usr/bin/tool", "/etc/passwd", "/etc/passwd-", "/opt/jdk/release", "/var/lib/dpkg/status",
                     "/sbin/init"]
    asked.clear()
    scan_layer(io.BytesIO(layer), _plain(asked))
    assert len(asked) == 8  # without a declaration, every regular file


def _plain(asked: list[str]) -> Any:
    def every(path: str, node: Node, member: Any = None) -> None:
        asked.append(path)
    return every


def test_the_names_the_reports_read_are_declared() -> None:
    interest = interest_of(probe)
    assert interest is not None
    assert TEXT_FILES | {"libjvm.so"} <= interest[0]
    assert all(path.startswith(interest[1]) for path in (*ACCOUNT_FILES, dpkg.STATUS, *apk.PATHS, rpm_manifest.PATH))

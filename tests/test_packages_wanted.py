"""Which files the layer scan keeps for the package readers: ``packages.wanted`` refuses most paths
with one prefix test, and must still want every file some reader reads."""

from __future__ import annotations

import itertools

from inspector import packages
from inspector.packages import apk, dpkg, os_release, rpm, rpm_manifest


def _any_reader_wants(path: str) -> bool:
    return dpkg.wanted(path) or apk.wanted(path) or rpm.wanted(path) or os_release.wanted(path)


#: Every file a reader reads, as the readers name them.
READ = [dpkg.STATUS, f"{dpkg.STATUS_D}/base-files", f"{dpkg.INFO}/libc6:amd64.list",
        f"{dpkg.INFO}/bash.md5sums", f"{dpkg.INFO}/bash.conffiles", *apk.PATHS, rpm_manifest.PATH,
        *os_release.PATHS, *(f"{d}/{n}" for d in rpm.DIRECTORIES for n in rpm.NAMES)]


def test_every_file_a_reader_reads_is_kept() -> None:
    for path in READ:
        assert packages.wanted(path), path


def test_the_prefix_test_changes_no_answer() -> None:
    """Near misses of every wanted path: a component more or less, a character changed, a parent."""
    candidates = set(READ)
    for path in READ:
        parent = path.rpartition("/")[0]
        candidates |= {path + "x", path + "/x", path[:-1], "/x" + path, parent, parent + "/",
                       path.upper(), path.replace("/var/", "/usr/"), path.replace("lib", "lib64")}
    candidates |= {"/" + "/".join(p) for p in itertools.product(("var", "lib", "dpkg", "etc", "usr"), repeat=3)}
    for path in sorted(candidates):
        assert packages.wanted(path) == _any_reader_wants(path), path

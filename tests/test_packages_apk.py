"""apk's installed database, hand-written after Alpine's format documentation (Debian has no apk)."""

from __future__ import annotations

import hashlib

from inspector.packages import apk, read_packages
from testdata.packages_fixtures import BUSYBOX, SECURETTY, apk_installed

ALPINE = b'NAME="Alpine Linux"\nID=alpine\nVERSION_ID=3.20.3\nPRETTY_NAME="Alpine Linux v3.20"\n'


def test_packages_files_and_sha1() -> None:
    found = read_packages({"/lib/apk/db/installed": apk_installed(), "/etc/os-release": ALPINE})
    assert not found.warnings
    packages = {p.name: p for p in found.packages}
    assert sorted(packages) == ["busybox-binsh", "musl"]
    busybox = packages["busybox-binsh"]
    assert (busybox.version, busybox.arch, busybox.license, busybox.source_name) == \
        ("1.36.1-r28", "x86_64", "GPL-2.0-only", "busybox")
    files = {f.path: f for f in busybox.files}
    assert set(files) == {"/bin/busybox", "/etc/securetty"}  # R belongs to the last F
    binary = files["/bin/busybox"]
    assert (binary.algorithm, binary.digest) == ("sha1", hashlib.sha1(BUSYBOX).hexdigest())
    assert files["/bin/busybox"].mode == 0o755
    assert files["/etc/securetty"].digest == hashlib.sha1(SECURETTY).hexdigest()
    assert packages["musl"].purl == "pkg:apk/alpine/musl@1.2.5-r0?arch=x86_64&distro=alpine-3.20.3"
    assert busybox.purl == "pkg:apk/alpine/busybox-binsh@1.36.1-r28?arch=x86_64&distro=alpine-3.20.3&upstream=busybox"


def test_wolfi_location_and_one_file_behind_a_link() -> None:
    data = apk_installed()
    assert len(read_packages({"/usr/lib/apk/db/installed": data}).packages) == 2
    # /lib -> usr/lib: both spellings reach the same bytes; each package is listed once
    assert len(read_packages({"/usr/lib/apk/db/installed": data, "/lib/apk/db/installed": data}).packages) == 2


def test_checksum_spellings() -> None:
    assert apk.decode_checksum("Q1" + "A" * 27 + "=") == ("sha1", "00" * 20)
    assert apk.decode_checksum("Q1!!notbase64") is None
    assert apk.decode_checksum("Q1AAAA") is None  # decodes, but not to 20 bytes
    assert apk.decode_checksum("d41d8cd98f00b204e9800998ecf8427e") == ("md5", "d41d8cd98f00b204e9800998ecf8427e")


def test_stanza_without_name_is_a_warning() -> None:
    found = read_packages({"/lib/apk/db/installed": b"V:1.0\nA:x86_64\n\nP:ok\nV:2\n"})
    assert [p.name for p in found.packages] == ["ok"]
    assert found.warnings == ["/lib/apk/db/installed: a package without P: or V: was skipped"]

"""Hostile package databases: truncated, looping, lying about counts, not UTF-8. Each reader must end
quickly with a warning naming the database, never an exception, a hang or unbounded memory."""

from __future__ import annotations

import json
import random
import resource
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from inspector.packages import read_packages, rpm
from inspector.packages.rpm_header import HeaderError, parse_header
from testdata import packages_fixtures as fx
from testdata.imagebuilder import ImageSpec
from tests.conftest import cli_env


def test_bdb_overflow_loop_and_huge_length() -> None:
    found = rpm.read_database("/var/lib/rpm/Packages", fx.bdb_overflow_loop())
    assert found.packages == []
    assert found.warnings == ["/var/lib/rpm/Packages: 1 records with broken overflow chains were skipped"]


def test_bdb_chain_through_a_non_overflow_page_and_out_of_the_file() -> None:
    size = 512
    for first in (1, 99):  # back to the hash page itself; past the end of the file
        data = fx.bdb_hash(size, [fx.bdb_offpage_record(size, first, 100)])
        assert rpm.read_database("/var/lib/rpm/Packages", data).warnings == \
            ["/var/lib/rpm/Packages: 1 records with broken overflow chains were skipped"]


def test_bdb_truncated_and_lying_about_its_pages() -> None:
    data = fx.bdb_hash(512, [fx.bdb_offpage_record(512, 2, 100)], last=1_000_000)
    found = rpm.read_database("/var/lib/rpm/Packages", data[:700])
    assert found.warnings[0] == "/var/lib/rpm/Packages: claims 1000001 pages but holds 1; reading those"
    bad = rpm.read_database("/var/lib/rpm/Packages", b"\0" * 100)
    assert bad.warnings == ["/var/lib/rpm/Packages: unreadable rpm database (too short for a BerkeleyDB metadata page)"]


def test_bdb_entry_count_larger_than_the_page() -> None:
    page = bytearray(fx.bdb_offpage_record(512, 2, 100))
    struct.pack_into("<H", page, 20, 0xFFFF)
    found = rpm.read_database("/var/lib/rpm/Packages", fx.bdb_hash(512, [bytes(page)]))
    assert found.packages == [] and all("/var/lib/rpm/Packages" in w for w in found.warnings)


@pytest.mark.parametrize("blob, message", [
    (b"\0\0", "shorter than 8"),
    (struct.pack(">II", 0xFFFFFF, 16), "claims"),
    (struct.pack(">II", 1, 0x7FFFFFFF), "claims"),
    (struct.pack(">II", 2, 100) + b"\0" * 40, "claims"),
])
def test_header_lies(blob: bytes, message: str) -> None:
    with pytest.raises(HeaderError, match=message):
        parse_header(blob)


def test_header_counts_larger_than_the_data_are_skipped() -> None:
    blob = fx.header_blob([(1000, 6, b"name\0", 1), (1001, 6, b"1\0", 1),
                           (1117, 8, b"a\0", 0xFFFFFFF), (1030, 3, b"\0\0", 1 << 30)])
    tags = parse_header(blob)
    assert tags[1000] == "name" and 1117 not in tags and 1030 not in tags


def test_header_bad_utf8_and_missing_nul() -> None:
    blob = fx.header_blob([(1000, 6, b"n\xff\xfeme\0", 1), (1001, 6, b"1", 1)])
    tags = parse_header(blob)
    assert tags[1000] == "n\ufffd\ufffdme" and 1001 not in tags


def test_ndb_damaged_slots() -> None:
    good = fx.header_blob([(1000, 6, b"pkg\0", 1), (1001, 6, b"1\0", 1)])
    data = bytearray(fx.ndb_packages([good, good]))
    struct.pack_into("<I", data, 32 + 16 + 8, 0xFFFFFFF)  # the second slot points past the file
    found = rpm.read_database("/var/lib/rpm/Packages.db", bytes(data))
    assert [p.name for p in found.packages] == ["pkg"]
    assert found.warnings == ["/var/lib/rpm/Packages.db: 1 damaged slots were skipped"]
    huge = bytearray(data)
    struct.pack_into("<I", huge, 12, 0xFFFFFFFF)
    assert "unreadable rpm database" in rpm.read_database("/var/lib/rpm/Packages.db", bytes(huge)).warnings[0]


def test_sqlite_view_is_not_run() -> None:
    started = time.monotonic()
    found = rpm.read_database("/var/lib/rpm/rpmdb.sqlite", fx.sqlite_with_view())
    assert found.warnings == ["/var/lib/rpm/rpmdb.sqlite: unreadable rpm database (no Packages table)"]
    assert time.monotonic() - started < 2


def test_sqlite_garbage_and_truncation() -> None:
    garbage = b"SQLite format 3\0" + b"\xff" * 5000
    assert "unreadable" in rpm.read_database("/var/lib/rpm/rpmdb.sqlite", garbage).warnings[0]
    assert "not an SQLite 3 database" in rpm.read_database("/var/lib/rpm/rpmdb.sqlite", b"junk").warnings[0]


def test_sqlite_rows_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("inspector.packages.rpm_sqlite.MAX_PACKAGES", 1000)
    found = rpm.read_database("/var/lib/rpm/rpmdb.sqlite", fx.sqlite_slow_table())
    assert "/var/lib/rpm/rpmdb.sqlite: more than 1,000 packages; the rest were ignored" in found.warnings


def test_dpkg_and_apk_bad_utf8_and_junk() -> None:
    files = {"/var/lib/dpkg/status": b"Package: \xff\xfe\nVersion: 1\n\n\x00\x01\x02\n\nPackage: x\n",
             "/lib/apk/db/installed": b"P:\xff\nV:1\nR:orphan\nZ:Q1zzz\nF:\nR:../../../etc/passwd\n\n"}
    found = read_packages(files)
    names = sorted(p.name for p in found.packages)
    assert names == ["\ufffd", "\ufffd\ufffd"]
    apk_package = next(p for p in found.packages if p.manager == "apk")
    assert [f.path for f in apk_package.files] == ["/orphan", "/etc/passwd"]  # normalized, never above /
    assert "/var/lib/dpkg/status: a stanza without Package or Version was skipped" in found.warnings


def test_random_bytes_never_raise() -> None:
    """Every reader over random and bit-flipped databases: warnings only, quickly."""
    rng = random.Random(14)
    good = fx.header_blob([(1000, 6, b"pkg\0", 1), (1001, 6, b"1\0", 1), (1117, 8, b"a\0b\0", 2),
                           (1118, 8, b"/d/\0", 1), (1116, 4, b"\0\0\0\0\0\0\0\0", 2)])
    seeds = {"/var/lib/rpm/Packages.db": fx.ndb_packages([good] * 3),
             "/var/lib/rpm/Packages": fx.bdb_overflow_loop(),
             "/var/lib/dpkg/status": fx.dpkg_status().encode(),
             "/lib/apk/db/installed": fx.apk_installed()}
    started = time.monotonic()
    for _ in range(300):
        files = {}
        for path, data in seeds.items():
            mutated = bytearray(data)
            for _ in range(rng.randrange(1, 20)):
                mutated[rng.randrange(len(mutated))] = rng.randrange(256)
            files[path] = bytes(mutated[:rng.randrange(len(mutated) + 1)])
        read_packages(files)
    assert time.monotonic() - started < 10


# --- the CLI over images holding hostile databases: bounded, one warning line, never a crash ----

MEMORY = 1 << 30


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def run_limited(*args: str, timeout: float = 30) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "inspector", *args], check=False, stdin=subprocess.DEVNULL,
                          capture_output=True, env=cli_env(), timeout=timeout, preexec_fn=_limit)
    return proc.returncode, proc.stdout.decode("utf-8", "replace"), proc.stderr.decode("utf-8", "replace")


@pytest.mark.parametrize("path, data, warning", [
    ("/var/lib/rpm/Packages", fx.bdb_overflow_loop(),
     "/var/lib/rpm/Packages: 1 records with broken overflow chains were skipped"),
    ("/usr/lib/sysimage/rpm/rpmdb.sqlite", fx.sqlite_with_view(),
     "/usr/lib/sysimage/rpm/rpmdb.sqlite: unreadable rpm database (no Packages table)"),
    ("/var/lib/rpm/Packages.db", b"RpmP" + struct.pack("<III", 0, 1, 0xFFFFFFF) + b"\0" * 16,
     "/var/lib/rpm/Packages.db: unreadable rpm database (unsupported NDB version 0 or slot page count 268435455)"),
    ("/var/lib/dpkg/status", b"Package: \x1b]52;c;aGk=\x07\nVersion: 1\n\nno colon here\nVersion: 2\n",
     "/var/lib/dpkg/status: a stanza without Package or Version was skipped"),
])
def test_cli_warns_once_and_goes_on(tmp_path: Path, write_image, path: str, data: bytes, warning: str) -> None:
    ref = write_image(tmp_path, ImageSpec([fx.entries({path: data})]), "legacy", "hostile")
    code, out, err = run_limited(ref, "--packages", "--format", "json", "--no-cache")
    assert code == 0, err
    assert "Traceback" not in err and "internal error" not in err
    assert err.splitlines() == [f"inspect-image: warning: {warning}"]
    assert json.loads(out)["warnings"] == [warning]
    code, out, err = run_limited(ref, "--packages", "--no-cache")  # the table escapes the image's strings
    assert code == 0 and "\x1b" not in out


def test_cli_database_larger_than_the_bound(tmp_path: Path, write_image) -> None:
    big = b"Package: a\nVersion: 1\n\n" * 3_000_000  # 69 MB: over the 64 MiB bound for a text database
    ref = write_image(tmp_path, ImageSpec([fx.entries({"/var/lib/dpkg/status": big})]), "legacy", "big")
    code, out, err = run_limited(ref, "--packages", "--format", "json", "--no-cache", timeout=60)
    assert code == 0, err
    assert err.splitlines() == [("inspect-image: warning: /var/lib/dpkg/status: 69,000,000 bytes, larger than "
                                 "this tool reads; its packages are not listed")]
    assert json.loads(out)["packages"] == []

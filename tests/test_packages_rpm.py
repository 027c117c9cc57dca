"""rpm databases made here by Debian's rpm (sqlite) and db5.3_load (BerkeleyDB), checked against rpm -qa."""

from __future__ import annotations

import hashlib
import os
import shutil
from pathlib import Path

import pytest

from inspector.packages import read_packages, rpm
from inspector.packages.rpm_header import split_source_rpm
from testdata import packages_fixtures as fx

pytestmark = pytest.mark.skipif(fx.have_rpm() is not None, reason=str(fx.have_rpm()))


@pytest.fixture(scope="module")
def rpm_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("rpm")
    return fx.rpm_sqlite_db(directory, fx.build_rpms(directory))


def triples(found) -> set[str]:
    return {f"{p.name} {p.version} {p.arch}" for p in found.packages}


def test_sqlite_matches_rpm_qa(rpm_db: Path) -> None:
    files = {"/var/lib/rpm/rpmdb.sqlite": (rpm_db / "rpmdb.sqlite").read_bytes()}
    found = read_packages(files)
    assert not found.warnings
    assert triples(found) == fx.rpm_query(rpm_db.parent.parent.parent, "/var/lib/rpm") == \
        {"hello-fixture 1:1.2.3-4 noarch", "world-fixture 1.2.3-4 noarch"}
    hello = next(p for p in found.packages if p.name == "hello-fixture")
    assert (hello.epoch, hello.license, hello.vendor, hello.source_name, hello.source_version) == \
        (1, "MIT", "Fixture Vendor", "hello-fixture", "1.2.3-4")
    files_by_path = {f.path: f for f in hello.files}
    binary = files_by_path["/usr/bin/hello"]
    assert (binary.algorithm, binary.digest) == ("sha256", hashlib.sha256(fx.HELLO_BYTES).hexdigest())
    assert binary.mode is not None and binary.mode & 0o7777 == 0o4755 and binary.size == len(fx.HELLO_BYTES)
    assert files_by_path["/etc/hello.conf"].conffile and not binary.conffile


def test_wal_rows_are_read(rpm_db: Path) -> None:
    """A committed row still in rpmdb.sqlite-wal is part of the database."""
    blobs = fx.header_blobs(rpm_db / "rpmdb.sqlite")
    main = bytes((rpm_db / "rpmdb.sqlite").read_bytes())
    reduced = fx.wal_database(main, blobs[0][1], 99)
    found = read_packages({"/usr/lib/sysimage/rpm/rpmdb.sqlite": reduced[0],
                           "/usr/lib/sysimage/rpm/rpmdb.sqlite-wal": reduced[1]})
    assert len(found.packages) == 3 and not found.warnings
    assert len(read_packages({"/usr/lib/sysimage/rpm/rpmdb.sqlite": reduced[0]}).packages) == 2


@pytest.mark.skipif(shutil.which("db5.3_load") is None,
                    reason="db5.3_load is not installed (apt-get install db5.3-util)")
def test_berkeleydb_matches_rpm_bdb_ro(rpm_db: Path, tmp_path: Path) -> None:
    blobs = fx.header_blobs(rpm_db / "rpmdb.sqlite")
    root = tmp_path / "root"
    packages_file = fx.bdb_packages(blobs, root / "var/lib/rpm/Packages")
    found = read_packages({"/var/lib/rpm/Packages": packages_file.read_bytes()})
    assert not found.warnings
    assert triples(found) == fx.rpm_query(root, "/var/lib/rpm", "bdb_ro") == \
        {"hello-fixture 1:1.2.3-4 noarch", "world-fixture 1.2.3-4 noarch"}


@pytest.mark.skipif(shutil.which("db5.3_load") is None, reason="db5.3_load is not installed")
def test_berkeleydb_with_one_record_and_an_empty_bucket_page(rpm_db: Path, tmp_path: Path) -> None:
    """db5.3_load leaves an empty bucket page of type 0 here; rpm's bdb_ro refuses it, we skip it."""
    blobs = fx.header_blobs(rpm_db / "rpmdb.sqlite")[:1]
    data = fx.bdb_packages(blobs, tmp_path / "Packages").read_bytes()
    page_size = int.from_bytes(data[20:24], "little")
    assert 0 in {data[n * page_size + 25] for n in range(1, len(data) // page_size)}  # the type-0 page is there
    found = read_packages({"/usr/lib/sysimage/rpm/Packages": data})
    assert len(triples(found)) == 1 and not found.warnings


def test_ndb(rpm_db: Path) -> None:
    blobs = [blob for _, blob in fx.header_blobs(rpm_db / "rpmdb.sqlite")]
    found = read_packages({"/var/lib/rpm/Packages.db": fx.ndb_packages(blobs)})
    assert triples(found) == {"hello-fixture 1:1.2.3-4 noarch", "world-fixture 1.2.3-4 noarch"}


GO_RPMDB = os.environ.get("GO_RPMDB_TESTDATA")  # a checkout's pkg/testdata (MIT; too big to commit here)


@pytest.mark.skipif(not GO_RPMDB, reason="set GO_RPMDB_TESTDATA to go-rpmdb's pkg/testdata for the real NDB sample")
def test_real_ndb_sample_from_go_rpmdb() -> None:
    data = Path(GO_RPMDB, "sle15-bci/Packages.db").read_bytes()  # type: ignore[arg-type]
    found = rpm.read_database("/var/lib/rpm/Packages.db", data)
    assert len(found.packages) == 35 and not found.warnings  # go-rpmdb's SLE15WithNDB list
    glibc = next(p for p in found.packages if p.name == "glibc")
    assert (glibc.version, glibc.source_name) == ("2.31-9.3.2", "glibc")


def test_azure_linux_manifest() -> None:
    line = ("bash\t5.1.8-1.cm2\t1675843162\t1669161610\tMicrosoft Corporation\t(none)\t7418487\tx86_64\t0\t"
            "bash-5.1.8-1.cm2.src.rpm")
    found = read_packages({"/var/lib/rpmmanifest/container-manifest-2": (line + "\nnot a record\n").encode(),
                           "/etc/os-release": b"ID=azurelinux\nVERSION_ID=3.0\n"})
    [bash] = found.packages
    assert (bash.name, bash.version, bash.arch, bash.vendor, bash.files) == \
        ("bash", "5.1.8-1.cm2", "x86_64", "Microsoft Corporation", [])
    assert bash.purl == "pkg:rpm/azurelinux/bash@5.1.8-1.cm2?arch=x86_64&distro=azurelinux-3.0" \
        "&upstream=bash-5.1.8-1.cm2.src.rpm"
    assert found.warnings == [
        "/var/lib/rpmmanifest/container-manifest-2: 1 lines that are not rpm -qa records were ignored"]


def test_split_source_rpm() -> None:
    assert split_source_rpm("gcc11-11.2.1+git610-1.3.9.src.rpm") == ("gcc11", "11.2.1+git610-1.3.9")
    assert split_source_rpm("odd") == ("odd", None)

"""Every rpm database in an image: sqlite, NDB or BerkeleyDB, at each place rpm keeps one.

Places: ``/var/lib/rpm`` (the classic), ``/usr/lib/sysimage/rpm`` (Fedora ≥ 36, SUSE),
``/usr/share/rpm`` (CoreOS); in each, the first of ``rpmdb.sqlite``, ``Packages.db`` (NDB) and
``Packages`` (BerkeleyDB) present is the database, as only one backend is configured at a time.
Two places that are one directory (a symlink) hold the same bytes and are read once.
"""

from __future__ import annotations

from . import rpm_bdb, rpm_manifest, rpm_ndb, rpm_sqlite
from .interface import DbFiles, ReadResult
from .rpm_header import HeaderError, package_from_header

DIRECTORIES = ("/var/lib/rpm", "/usr/lib/sysimage/rpm", "/usr/share/rpm")
SQLITE, NDB, BDB = "rpmdb.sqlite", "Packages.db", "Packages"
NAMES = (SQLITE, SQLITE + "-wal", NDB, BDB)


def wanted(path: str) -> bool:
    directory, _, name = path.rpartition("/")
    return (directory in DIRECTORIES and name in NAMES) or rpm_manifest.wanted(path)


def read(files: DbFiles) -> ReadResult:
    result = ReadResult()
    done: set[bytes] = set()
    for directory in DIRECTORIES:
        for name in (SQLITE, NDB, BDB):
            path = f"{directory}/{name}"
            data = files.get(path)
            if data is None:
                continue
            if data not in done:
                done.add(data)
                result.extend(read_database(path, data, files.get(path + "-wal") if name == SQLITE else None))
            break
    if not result.packages:
        result.extend(rpm_manifest.read(files))
    return result


def read_database(path: str, data: bytes, wal: bytes | None = None) -> ReadResult:
    """One database file: its header blobs, each parsed; every failure a warning naming ``path``."""
    result = ReadResult()
    name = path.rpartition("/")[2]
    try:
        if name == SQLITE:
            blobs = rpm_sqlite.read_blobs(data, wal, result.warnings, path)
        elif name == NDB:
            blobs = rpm_ndb.read_blobs(data, result.warnings, path)
        else:
            blobs = rpm_bdb.read_values(data, result.warnings, path)
    except (rpm_sqlite.SqliteError, rpm_ndb.NdbError, rpm_bdb.BdbError) as exc:
        result.warnings.append(f"{path}: unreadable rpm database ({exc})")
        return result
    bad = 0
    for blob in blobs:
        if len(blob) < 16:
            continue  # BerkeleyDB's record 0 holds a counter, not a header
        try:
            result.packages.append(package_from_header(blob, path))
        except HeaderError:
            bad += 1
    if bad:
        result.warnings.append(f"{path}: {bad} damaged package headers were skipped")
    return result

"""RPM's ``rpmdb.sqlite`` (Fedora ≥ 33, RHEL 9, Azure Linux, ...): ``SELECT blob FROM Packages``.

The database is in WAL mode, and an image may ship a non-empty ``rpmdb.sqlite-wal`` holding
committed rows that are not in the main file yet. So both files are written to a private
temporary directory (never opened where the image put them, never shared) and opened there by the
standard library's sqlite3, which replays the WAL. The file is hostile: only a real table named
``Packages`` is read (a view could compute forever), with ``trusted_schema`` off and a progress
handler that stops the query after a bounded number of steps.
"""

from __future__ import annotations

import os

from .interface import MAX_PACKAGES

MAX_STEPS = 200_000_000  # sqlite VM instructions: far more than reading 100,000 rows needs


class SqliteError(ValueError):
    """Not an rpm sqlite database we can read."""


def read_blobs(main: bytes, wal: bytes | None, warnings: list[str], db: str) -> list[bytes]:
    if not main.startswith(b"SQLite format 3\0"):
        raise SqliteError("not an SQLite 3 database")
    import sqlite3  # here: every summary imports the package readers, few images hold an rpm sqlite database
    import tempfile
    with tempfile.TemporaryDirectory(prefix="inspect-image-rpmdb-") as directory:
        path = os.path.join(directory, "rpmdb.sqlite")
        with open(path, "wb") as out:
            out.write(main)
        if wal:
            with open(path + "-wal", "wb") as out:
                out.write(wal)
        steps = 0

        def progress() -> int:
            nonlocal steps
            steps += 1000
            return 1 if steps > MAX_STEPS else 0

        try:
            connection = sqlite3.connect(path, isolation_level=None)
        except sqlite3.Error as exc:
            raise SqliteError(str(exc)) from None
        try:
            connection.set_progress_handler(progress, 1000)
            connection.execute("PRAGMA trusted_schema = OFF")
            kind = connection.execute("SELECT type FROM sqlite_master WHERE name = 'Packages'").fetchone()
            if kind is None or kind[0] != "table":
                raise SqliteError("no Packages table")
            blobs = []
            for (blob,) in connection.execute("SELECT blob FROM Packages"):
                if isinstance(blob, bytes):
                    blobs.append(blob)
                if len(blobs) >= MAX_PACKAGES:
                    warnings.append(f"{db}: more than {MAX_PACKAGES:,} packages; the rest were ignored")
                    break
            return blobs
        except sqlite3.Error as exc:
            raise SqliteError(str(exc)) from None
        finally:
            connection.close()

"""Alpine's apk database: ``/lib/apk/db/installed`` (``/usr/lib/apk/db/installed`` on Wolfi).

Format (Alpine wiki, "Apk spec", installed database): stanzas of ``X:value`` lines separated by
blank lines. ``P`` name, ``V`` version, ``A`` arch, ``o`` origin (the source package), ``L``
license; then the files: ``F`` a directory (relative to /), ``R`` a file in the last ``F``, ``a``
that file's ``owner:group:mode``, ``Z`` its checksum: ``Q1`` + base64 of a SHA-1 (``Q2``: SHA-256),
or, in very old databases, an MD5 in hex.
"""

from __future__ import annotations

import base64
import binascii
import posixpath
import re

from .interface import (
    MAX_FIELD,
    MAX_FILES_PER_PACKAGE,
    MAX_PACKAGES,
    DbFiles,
    Package,
    PackageFile,
    ReadResult,
    text,
)

PATHS = ("/lib/apk/db/installed", "/usr/lib/apk/db/installed")
_ALGORITHMS = {"Q1": ("sha1", 20), "Q2": ("sha256", 32)}
_HEX_MD5 = re.compile(r"[0-9a-fA-F]{32}")


def wanted(path: str) -> bool:
    return path in PATHS


def decode_checksum(value: str) -> tuple[str, str] | None:
    """``(algorithm, hex)`` of a ``Z:``/``C:`` value, or None when it is not one we know."""
    algorithm = _ALGORITHMS.get(value[:2])
    if algorithm is not None:
        try:
            raw = base64.b64decode(value[2:], validate=True)
        except (binascii.Error, ValueError):
            return None
        return (algorithm[0], raw.hex()) if len(raw) == algorithm[1] else None
    if _HEX_MD5.fullmatch(value):
        return "md5", value.lower()
    return None


def read(files: DbFiles) -> ReadResult:
    """The packages of every apk database present (a /lib → /usr/lib link makes them one file)."""
    result = ReadResult()
    done: set[bytes] = set()
    for path in PATHS:
        data = files.get(path)
        if data is None or data in done:
            continue
        done.add(data)
        parse(data, path, result)
    return result


def parse(data: bytes, db: str, result: ReadResult) -> None:
    fields: dict[str, str] = {}
    entries: list[PackageFile] = []
    directory = ""
    current: PackageFile | None = None
    dropped = 0

    def finish() -> None:
        nonlocal fields, entries, directory, current
        if fields:
            if "P" in fields and "V" in fields:
                if len(result.packages) < MAX_PACKAGES:
                    result.packages.append(Package("apk", fields["P"], fields["V"], fields.get("A"),
                                                   fields.get("o") or fields["P"], fields["V"],
                                                   fields.get("L"), db, entries))
            else:
                result.warnings.append(f"{db}: a package without P: or V: was skipped")
        fields, entries, directory, current = {}, [], "", None

    for line in text(data).splitlines():
        if not line.strip():
            finish()
            continue
        key, sep, value = line.partition(":")
        if not sep or len(key) != 1:
            continue
        value = value[:MAX_FIELD]
        if key == "F":
            directory, current = value.strip("/"), None
        elif key == "R":
            if len(entries) >= MAX_FILES_PER_PACKAGE:
                dropped += 1
                current = None
                continue
            current = PackageFile(posixpath.normpath("/" + (f"{directory}/{value}" if directory else value)))
            entries.append(current)
        elif key == "a" and current is not None:
            mode = value.rsplit(":", 1)[-1]
            current.mode = int(mode, 8) & 0o7777 if 0 < len(mode) <= 7 and all(c in "01234567" for c in mode) else None
        elif key == "Z" and current is not None:
            checksum = decode_checksum(value)
            if checksum is not None:
                current.algorithm, current.digest = checksum
        elif key not in fields:
            fields[key] = value
    finish()
    if dropped:
        result.warnings.append(f"{db}: {dropped:,} file records past {MAX_FILES_PER_PACKAGE:,} per package ignored")
    if len(result.packages) >= MAX_PACKAGES:
        result.warnings.append(f"{db}: more than {MAX_PACKAGES:,} packages; the rest were ignored")

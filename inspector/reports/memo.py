"""Package databases parsed once per process for identical bytes.

An audit worker reports image after image, and a fleet is mostly shared bases: twenty images on one
Debian base hold the same dpkg status and ``info/*.list`` files, byte for byte, unless their own
layers install something. Parsing them is a pure function of those bytes, so the memo is keyed by
the bytes themselves (every captured path and its whole content, compared in full on a hit), not by
any name or digest an image claims: an image whose top layer changes one byte of its database gets
its own parse. Nothing here trusts a claim; it only avoids repeating work on equal input.

Bounded: at most ``MAX_KEPT`` inputs, each of at most ``MAX_INPUT_BYTES`` (a larger database is
parsed every time), least recently used first out.
"""

from __future__ import annotations

from ..lru import BoundedLru
from ..packages import PackageSet
from ..packages import read_packages as _read_packages
from ..packages.interface import DbFiles

MAX_KEPT = 4
MAX_INPUT_BYTES = 64 << 20

_Key = tuple[tuple[str, bytes], ...]
_kept: BoundedLru[_Key, PackageSet] = BoundedLru(MAX_KEPT)


def read_packages(files: DbFiles) -> PackageSet:
    """``packages.read_packages(files)``, from the memo when these exact files were parsed before.
    Each caller gets its own ``PackageSet`` and lists (callers prepend warnings); the ``Package``
    objects are shared, and nothing changes them once read."""
    if sum(len(data) for data in files.values()) > MAX_INPUT_BYTES:
        return _read_packages(files)
    key: _Key = tuple(sorted(files.items()))
    found = _kept.get(key)
    if found is None:
        found = _read_packages(files)
        _kept.put(key, found)
    return PackageSet(found.os, list(found.packages), list(found.warnings))


def forget() -> None:
    """Drop every kept result (tests; a long-lived process that wants its memory back)."""
    _kept.clear()

"""RPM's NDB ``Packages.db`` (SUSE since 15 SP3, rpm's own "new database" backend).

Format (rpm's ``lib/backend/ndb/rpmpkg.c``; summarised in go-rpmdb's ``pkg/ndb``): little-endian.
A 32-byte header (magic ``RpmP``, version 0, generation, ``SlotNPages``) followed by the slot
pages: 4 KiB each, 16-byte slots ``(magic 'Slot', pkgidx, blkoff, blkcnt)`` (the header takes the
first two slots). A used slot (``pkgidx`` ≠ 0) points at block ``blkoff`` (16-byte blocks): a
16-byte blob header ``(magic 'BlbS', pkgidx, checksum, length)`` and then the header blob itself.
"""

from __future__ import annotations

import struct

from .interface import MAX_PACKAGES

MAGIC, SLOT_MAGIC, BLOB_MAGIC = b"RpmP", b"Slot", b"BlbS"
PAGE, SLOT, BLOCK = 4096, 16, 16
MAX_SLOT_PAGES = 2048  # go-rpmdb's bound: 512k slots


class NdbError(ValueError):
    """Not an NDB package database we can read."""


def read_blobs(data: bytes, warnings: list[str], db: str) -> list[bytes]:
    if len(data) < 32 or data[:4] != MAGIC:
        raise NdbError("no NDB magic")
    version, _generation, slot_pages = struct.unpack_from("<III", data, 4)
    if version != 0 or not 0 < slot_pages <= MAX_SLOT_PAGES:
        raise NdbError(f"unsupported NDB version {version} or slot page count {slot_pages}")
    end = min(len(data), slot_pages * PAGE)
    blobs: list[bytes] = []
    bad = 0
    for position in range(32, end - SLOT + 1, SLOT):
        magic, index, offset, _count = struct.unpack_from("<4sIII", data, position)
        if magic != SLOT_MAGIC:
            bad += 1
            continue
        if index == 0:
            continue
        start = offset * BLOCK
        if start + 16 > len(data):
            bad += 1
            continue
        blob_magic, blob_index, _checksum, length = struct.unpack_from("<4sIII", data, start)
        if blob_magic != BLOB_MAGIC or blob_index != index or start + 16 + length > len(data):
            bad += 1
            continue
        blobs.append(data[start + 16:start + 16 + length])
        if len(blobs) >= MAX_PACKAGES:
            warnings.append(f"{db}: more than {MAX_PACKAGES:,} packages; the rest were ignored")
            break
    if bad:
        warnings.append(f"{db}: {bad} damaged slots were skipped")
    return blobs

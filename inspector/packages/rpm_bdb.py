"""RPM's BerkeleyDB ``Packages`` file (RHEL/CentOS ≤ 8, older SUSE): a BDB hash database.

Format (Berkeley DB's ``dbinc/db_page.h``): page 0 is the hash metadata page (magic 0x061561 at
byte 12, in the writer's byte order; page size at 20; last page number at 32). Every other page
starts with a 26-byte header (``next_pgno`` at 16, ``entries`` at 20, ``hf_offset`` at 22, type at
25). Hash pages (types 2 and 13) hold ``entries`` 16-bit item offsets after the header, keys and
values alternating; rpm's header blobs are too big for a page, so a value is an "off-page" item
(type 3: page number at +4, total length at +8) whose bytes run through a chain of overflow pages
(type 7), the last one using ``hf_offset`` bytes. Pages of any other type (an empty bucket page is
type 0) are skipped, as go-rpmdb does.

Everything is bounded by the file: a chain may visit each page once and stops at the claimed
length, so a loop or a lie ends in a warning, never a hang.
"""

from __future__ import annotations

import struct

from .interface import MAX_PACKAGES

HASH_MAGIC = 0x061561
PAGE_SIZES = frozenset(1 << n for n in range(9, 17))
HEADER = 26
HASH_UNSORTED, HASH, OVERFLOW = 2, 13, 7
H_KEYDATA, H_OFFPAGE = 1, 3
MAX_VALUE = 0x0FFFFFFF


class BdbError(ValueError):
    """Not a BerkeleyDB hash file we can read."""


def read_values(data: bytes, warnings: list[str], db: str) -> list[bytes]:
    """The values of every key/value pair on the hash pages, in page order."""
    if len(data) < 512:
        raise BdbError("too short for a BerkeleyDB metadata page")
    for order in ("<", ">"):
        if struct.unpack_from(order + "I", data, 12)[0] == HASH_MAGIC:
            break
    else:
        raise BdbError("no BerkeleyDB hash magic")
    page_size, = struct.unpack_from(order + "I", data, 20)
    last, = struct.unpack_from(order + "I", data, 32)
    if page_size not in PAGE_SIZES:
        raise BdbError(f"page size {page_size} is not a BerkeleyDB page size")
    pages = len(data) // page_size
    if last + 1 > pages:
        warnings.append(f"{db}: claims {last + 1} pages but holds {pages}; reading those")
    values: list[bytes] = []
    bad = 0
    for number in range(1, min(last + 1, pages)):
        page = data[number * page_size:(number + 1) * page_size]
        if page[25] not in (HASH, HASH_UNSORTED):
            continue
        entries, = struct.unpack_from(order + "H", page, 20)
        entries = min(entries, (page_size - HEADER) // 2)
        for index in range(1, entries, 2):  # keys at even indexes, values at odd ones
            offset, = struct.unpack_from(order + "H", page, HEADER + 2 * index)
            kind = page[offset] if offset < page_size else None
            if kind == H_OFFPAGE:
                if offset + 12 > page_size:
                    bad += 1
                    continue
                first, length = struct.unpack_from(order + "II", page, offset + 4)
                value = _overflow(data, page_size, pages, first, length, order)
                if value is None:
                    bad += 1
                    continue
                values.append(value)
            elif kind == H_KEYDATA:
                previous = page_size if index == 0 else struct.unpack_from(order + "H", page, HEADER + 2 * index - 2)[0]
                if offset < previous <= page_size:
                    values.append(page[offset + 1:previous])
            if len(values) >= MAX_PACKAGES:
                warnings.append(f"{db}: more than {MAX_PACKAGES:,} records; the rest were ignored")
                return values
    if bad:
        warnings.append(f"{db}: {bad} records with broken overflow chains were skipped")
    return values


def _overflow(data: bytes, page_size: int, pages: int, number: int, length: int, order: str) -> bytes | None:
    """Follow an overflow chain: each page at most once, never past ``length`` or the file."""
    if length > MAX_VALUE or length > len(data):
        return None
    out = bytearray()
    seen: set[int] = set()
    while number != 0:
        if number in seen or number >= pages:
            return None
        seen.add(number)
        page = data[number * page_size:(number + 1) * page_size]
        if page[25] != OVERFLOW:
            return None
        following, = struct.unpack_from(order + "I", page, 16)
        used, = struct.unpack_from(order + "H", page, 22)
        chunk = page[HEADER:HEADER + used] if following == 0 else page[HEADER:]
        out += chunk[:length - len(out)]
        if len(out) >= length:
            break
        number = following
    return bytes(out) if len(out) == length else None

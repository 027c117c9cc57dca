"""Tar headers decoded by us: ustar, GNU and PAX, with a bound on everything an image can claim.

Why not the standard library's ``tarfile``: its PAX parser takes minutes on a few kilobytes of
hostile lengths (CVE-2024-6232, present in the Python versions we allow), a GNU long name or sparse
map declaring gigabytes is a MemoryError, it builds a ``TarInfo`` and decodes every field of every
header (most of a scan's time on images of many small files), and its end-of-archive handling lives
in private classes that change between versions.

What a header may claim is bounded here the way the Docker engine's reader (Go's archive/tar) bounds
it, and refused as malformed where that reader fails ``docker load``:

* a PAX (``x``, ``g``) or GNU long-name/long-link (``L``, ``K``) payload is at most 1 MiB, and a PAX
  payload holds at most :data:`MAX_PAX_RECORDS` records, each ``"<decimal length> key=value\\n"``
  whose length is a sane decimal that neither runs past the payload nor stops short of a record;
* numeric fields must fit: size and mtime in a signed 64-bit integer (size not negative), uid, gid
  and device numbers in 32 unsigned bits (Go parses them as int64, but the kernel keeps 32 bits of
  an owner; a larger value would be truncated or fail: either way not what the header says);
* sparse maps (old GNU ``S`` headers, PAX 0.0 and 0.1) hold at most :data:`MAX_SPARSE_ENTRIES`
  entries. Sparse members are described (real size, stored bytes), never inflated.

Global PAX headers (``g``) change no member: Go's reader returns them as entries of their own, and
the engine ignores them (``tests/engine/test_tar_globals.py``). Their records are kept once, shared
by reference (``TarMember.globals``), never copied per member.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any
from zlib import adler32

from .errors import ImageFormatError

BLOCK = 512
MAX_EXTENSION = 1 << 20  #: a PAX or GNU long-name payload (Go's archive/tar: maxSpecialFileSize)
MAX_PAX_RECORDS = 65_536  #: records in one PAX payload
MAX_SPARSE_ENTRIES = 16_384  #: entries in one sparse map (a PAX 1.0 map of as many fits in 1 MiB)
MAX_SIZE = 1 << 63  #: sizes and times are signed 64-bit in Go's reader
MAX_ID = 1 << 32  #: uid, gid, device numbers: what the kernel stores

REGTYPE, AREGTYPE, LNKTYPE, SYMTYPE = b"0", b"\0", b"1", b"2"
CHRTYPE, BLKTYPE, DIRTYPE, FIFOTYPE, CONTTYPE = b"3", b"4", b"5", b"6", b"7"
GNU_LONGNAME, GNU_LONGLINK, GNU_SPARSE = b"L", b"K", b"S"
PAX_HEADER, PAX_GLOBAL = b"x", b"g"
REGULAR_TYPES = frozenset((REGTYPE, AREGTYPE, CONTTYPE, GNU_SPARSE))
#: Types whose header size is not followed by data (Go's isHeaderOnlyType; tarfile agrees)
HEADER_ONLY = frozenset((LNKTYPE, SYMTYPE, CHRTYPE, BLKTYPE, DIRTYPE, FIFOTYPE))
EXTENSIONS = frozenset((GNU_LONGNAME, GNU_LONGLINK, PAX_HEADER, PAX_GLOBAL))
#: PAX records that change nothing we read: ``make_member``'s fast path takes members with only these
_UNREAD_RECORDS = frozenset(("atime", "ctime"))
#: Types ``make_member``'s fast path takes (the others, and every extended member, go the general way)
_PLAIN_TYPES = frozenset((REGTYPE, DIRTYPE, SYMTYPE, LNKTYPE))

_USTAR_MAGIC = b"ustar\x0000"
_OCTAL = re.compile(rb"[0-7]*")
_OCTAL_OR_PAD = b"01234567 \0"
_PAX_TIME = re.compile(r"-?[0-9]{1,19}(\.[0-9]*)?")
_DECIMAL = re.compile(r"[0-9]{1,19}")


class TarMember:
    """One member, as much as the callers use: made per header, so small and cheap.

    ``size`` is the member's real size (for a sparse file, what it unpacks to); ``stored`` is how
    many bytes of data follow its header(s) at ``offset_data``. ``offset`` is where its first header
    (extension headers included) starts. ``records`` are its own PAX records, ``globals`` the records
    of the last global header before it (shared, never copied; see the module docstring).
    """

    __slots__ = (
        "_block",
        "devmajor",
        "devminor",
        "gid",
        "globals",
        "linkname",
        "mode",
        "mtime",
        "name",
        "offset",
        "offset_data",
        "records",
        "size",
        "sparse",
        "stored",
        "type",
        "uid",
    )

    name: str
    type: bytes
    size: int
    stored: int
    mode: int
    uid: int
    gid: int
    mtime: int | float
    linkname: str
    devmajor: int
    devminor: int
    offset: int
    offset_data: int
    records: dict[str, str] | None
    globals: dict[str, str] | None
    sparse: bool
    _block: bytes

    def isreg(self) -> bool:
        return self.type in REGULAR_TYPES

    isfile = isreg

    def isdir(self) -> bool:
        return self.type == DIRTYPE

    def issym(self) -> bool:
        return self.type == SYMTYPE

    def islnk(self) -> bool:
        return self.type == LNKTYPE

    def issparse(self) -> bool:
        return self.sparse

    def isglobal(self) -> bool:
        return self.type == PAX_GLOBAL

    @property
    def pax_headers(self) -> dict[str, str]:
        """Global and own PAX records merged, as ``tarfile`` shows them (built on demand: tests only)."""
        return {**(self.globals or {}), **(self.records or {})}

    @property
    def uname(self) -> str:
        value = (self.records or {}).get("uname")
        return _text(self._block[265:297]) if value is None else value

    @property
    def gname(self) -> str:
        value = (self.records or {}).get("gname")
        return _text(self._block[297:329]) if value is None else value

    def __repr__(self) -> str:
        return f"TarMember({self.name!r}, {self.type!r}, {self.size} bytes at {self.offset})"


class Pending:
    """What extension headers said about the next member."""

    __slots__ = ("long_link", "long_name", "records", "start")

    def __init__(self, start: int) -> None:
        self.start = start  # offset of the first extension header
        self.long_name: str | None = None
        self.long_link: str | None = None
        self.records: dict[str, str] | None = None

    def plain(self) -> bool:
        """True when all this says is PAX records that change no field we read (access and change times)."""
        return self.long_name is None and self.long_link is None and \
            (self.records is None or _UNREAD_RECORDS.issuperset(self.records))


ZERO_BLOCK = bytes(BLOCK)  #: the end-of-archive marker (two of them, in principle; one ends the walk)
#: Half a header: its byte sum (at most 256 * 255 = 65,280) is below 65,521, Adler-32's modulus, so
#: Adler-32's low word is exactly 1 + that sum.
_HALF = BLOCK // 2


def is_zero_block(block: bytes) -> bool:
    return block == ZERO_BLOCK


#: Checksum fields already read, by their raw bytes: what the two halves' Adler-32 low words must add
#: up to for the header to be right (see ``check_block``). A layer's checksums cluster in a few
#: hundred values; bounded like ``_OWNERS``.
_CHECKSUMS: dict[bytes, int] = {}


def _checksum_target(field: bytes) -> int:
    """For a header whose checksum field is ``field`` (plain octal): the stored sum S' is right when
    the header's byte sum S, with the field's bytes (sum F) counted as eight spaces, is S', i.e.
    S - F + 256 = S'. The halves' Adler-32 low words add up to S + 2, and the field's is F + 1:
    so the header is right when those low words add up to S' + (F + 1) - 255."""
    return _plain_checksum(field) + (adler32(field) & 0xFFFF) - 255


def _plain_checksum(field: bytes) -> int:
    """The usual spelling: octal digits padded with spaces or NULs (ValueError for any other)."""
    if field.translate(None, _OCTAL_OR_PAD):
        raise ValueError("junk")
    return int(field.replace(b"\0", b" "), 8)


def check_block(block: bytes, offset: int) -> None:
    """A header's checksum, as tar computes it: the sum of its bytes, signed or unsigned, with the
    checksum field counted as spaces.

    The sum is exact: Adler-32's low word is 1 + the byte sum below its modulus, which half a header
    never reaches, so two C calls over the halves give it (several times faster than summing bytes
    in Python, and a quarter faster than counting zeros to know one call would do). The usual case,
    an octal field already seen and an unsigned sum that matches, is that and one lookup.
    """
    field = block[148:156]
    target = _CHECKSUMS.get(field)
    if target is None:
        try:
            target = _remember(_CHECKSUMS, field, _checksum_target)
        except ValueError:  # not plain octal: the slow path reads it (or refuses it)
            target = -1
    if (adler32(block[:_HALF]) & 0xFFFF) + (adler32(block[_HALF:]) & 0xFFFF) == target:
        return
    _check_slowly(block, field, offset)


def _check_slowly(block: bytes, field: bytes, offset: int) -> None:
    """``check_block`` for a field in another spelling, a signed sum, or a bad checksum."""
    try:
        stored = _plain_checksum(field)
    except ValueError:
        stored = _octal(field, "checksum", offset)
    unsigned = sum(block) - sum(field) + 256
    if stored == unsigned:
        return
    high = sum(1 for byte in block[:148] + block[156:] if byte >= 0x80)
    if stored != unsigned - 256 * high:
        raise ImageFormatError(f"the tar header at byte {offset:,} has a bad checksum: it is corrupt or not a tar")


def _octal(field: bytes, what: str, offset: int) -> int:
    """An octal field, padded with spaces or NULs (as Go's parseOctal reads it)."""
    digits = field.strip(b" \0").split(b"\0", 1)[0].strip(b" ")
    if not digits:
        return 0
    if _OCTAL.fullmatch(digits) is None:
        raise ImageFormatError(f"the tar header at byte {offset:,} has an invalid {what} field {digits[:20]!r}: "
                               "it is corrupt")
    return int(digits, 8)


def _numeric(field: bytes, what: str, offset: int) -> int:
    """An octal field, or GNU base-256 (high bit set; bit 6 set means negative, refused by the callers)."""
    first = field[0]
    if first & 0x80:
        value = int.from_bytes(field, "big") & ~(0x80 << (8 * (len(field) - 1)))
        if first & 0x40:
            value -= 1 << (8 * len(field) - 1)
        return value
    return _octal(field, what, offset)


def _bounded(value: int, limit: int, what: str, name: str, offset: int) -> int:
    if not 0 <= value < limit:
        raise ImageFormatError(f"tar member {name[:80]!r} at byte {offset:,} has an invalid {what} {_shown(value)} "
                               f"(must be 0 to {limit - 1:,}): the archive is corrupt or hostile")
    return value


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else f"{text[:20]}… ({len(text)} digits)"


def _text(raw: bytes) -> str:
    return raw.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def check_extension_size(kind: bytes, size: int, offset: int) -> None:
    if size > MAX_EXTENSION:
        what = "PAX header" if kind in (PAX_HEADER, PAX_GLOBAL) else "GNU long name"
        raise ImageFormatError(f"the tar {what} at byte {offset:,} declares {size:,} bytes, more than "
                               f"{MAX_EXTENSION:,}: the archive is corrupt or hostile")


def header_size(block: bytes, offset: int) -> int:
    """The size field of a checked header (extension headers need it before being read)."""
    size = _numeric(block[124:136], "size", offset)
    if size < 0:
        raise ImageFormatError(f"the tar header at byte {offset:,} has a negative size {size}: it is corrupt")
    return size


def apply_extension(pending: Pending, kind: bytes, payload: bytes, offset: int) -> dict[str, str] | None:
    """Record what an ``L``, ``K`` or ``x`` header says about the next member; return a ``g``'s records."""
    if kind == GNU_LONGNAME:
        pending.long_name = _text(payload)
    elif kind == GNU_LONGLINK:
        pending.long_link = _text(payload)
    else:
        records = parse_pax(payload, offset)
        if kind == PAX_GLOBAL:
            return records
        pending.records = records  # as Go: a second local PAX header replaces the first
    return None


def parse_pax(payload: bytes, offset: int) -> dict[str, str]:
    """``"<length> key=value\\n"`` records; lengths checked before anything is sliced or decoded.

    PAX 0.0 sparse maps repeat ``GNU.sparse.offset``/``GNU.sparse.numbytes``: those are joined into
    one ``GNU.sparse.map`` value (as Go does), so a record never silently replaces another.
    """
    records: dict[str, str] = {}
    sparse: list[str] = []
    at, end, count = 0, len(payload), 0
    while at < end:
        if payload[at] == 0 and not payload[at:].strip(b"\0"):
            break  # NUL padding after the last record
        space = payload.find(b" ", at, min(at + 21, end))
        digits = payload[at:space] if space > at else b""
        if not digits.isdigit() or len(digits) > 19 or not digits.isascii():
            raise ImageFormatError(f"the tar PAX header at byte {offset:,} has an invalid record length "
                                   f"{payload[at:at + 20]!r}: the archive is corrupt or hostile")
        length = int(digits)
        if length < len(digits) + 3 or at + length > end or payload[at + length - 1] != 0x0A:
            raise ImageFormatError(f"the tar PAX header at byte {offset:,} has a record of length {_shown(length)} "
                                   f"that overruns its {end:,} bytes: the archive is corrupt or hostile")
        count += 1
        if count > MAX_PAX_RECORDS:
            raise ImageFormatError(f"the tar PAX header at byte {offset:,} has more than {MAX_PAX_RECORDS:,} "
                                   "records: the archive is corrupt or hostile")
        record = payload[space + 1:at + length - 1]
        at += length
        key, equals, value = record.partition(b"=")
        if not equals or not key:
            raise ImageFormatError(f"the tar PAX header at byte {offset:,} has a record without a key: it is corrupt")
        name = key.decode("utf-8", "surrogateescape")
        text = value.decode("utf-8", "surrogateescape")
        if name in ("GNU.sparse.offset", "GNU.sparse.numbytes"):
            if (len(sparse) % 2 == 0) != (name == "GNU.sparse.offset"):
                raise ImageFormatError(f"the tar PAX header at byte {offset:,} has a malformed sparse map: "
                                       "it is corrupt")
            sparse.append(text)
            continue
        records[name] = text
    if sparse:
        records["GNU.sparse.map"] = ",".join(sparse)
    return records


#: The mode-and-owner fields and the mtime fields already read, by their raw bytes. A layer repeats a
#: handful of each, so most members parse neither (a tenth of the fast path's time on a 100,000-member
#: layer). Bounded: emptied when full, so an image of all-different values costs a lookup per member
#: and no memory.
_OWNERS: dict[bytes, tuple[int, int, int]] = {}
_TIMES: dict[bytes, int] = {}
_REMEMBERED = 4096


def _plain_octal(field: bytes) -> int:
    return int(field.replace(b"\0", b" "), 8)


def _owner(field: bytes) -> tuple[int, int, int]:
    return _plain_octal(field[0:8]), _plain_octal(field[8:16]), _plain_octal(field[16:24])


def _remember(seen: dict[bytes, Any], field: bytes, parse: Callable[[bytes], Any]) -> Any:
    value = parse(field)  # ValueError: the caller's general path decides
    if len(seen) >= _REMEMBERED:
        seen.clear()
    seen[field] = value
    return value


def make_member(block: bytes, offset: int, pending: Pending | None, globals_: dict[str, str] | None,
                data_at: int) -> TarMember:
    """The member whose (checked) main header is ``block``, at ``offset``; its data starts at ``data_at``."""
    kind = block[156:157]
    if (pending is None or pending.plain()) and kind in _PLAIN_TYPES and block[345] == 0:
        # Nearly every member of a layer: no extension header (or PAX records only of times we do not
        # show, as docker save writes), no ustar prefix, every number in octal. Such numbers are 7 to
        # 11 digits, so they always fit their bounds (< 2**36).
        numbers = block[100:148]
        if not numbers.translate(None, _OCTAL_OR_PAD):
            try:
                owner = _OWNERS.get(numbers[:24])
                if owner is None:
                    owner = _remember(_OWNERS, numbers[:24], _owner)
                mtime = _TIMES.get(numbers[36:48])
                if mtime is None:
                    mtime = _remember(_TIMES, numbers[36:48], _plain_octal)
                size = int(numbers[24:36].replace(b"\0", b" "), 8)
            except ValueError:  # an empty field, or digits after a NUL: the general path decides
                pass
            else:
                member = TarMember()
                member._block = block
                end = block.find(0, 0, 100)
                name = block[:end if end >= 0 else 100].decode("utf-8", "surrogateescape")
                member.name = (name.rstrip("/") or name) if kind == DIRTYPE else name
                member.type = kind
                member.mode, member.uid, member.gid = owner
                member.mtime = mtime
                member.size = size
                member.stored = 0 if kind in HEADER_ONLY else size
                member.linkname = _text(block[157:257]) if block[157] else ""
                member.devmajor = member.devminor = 0
                member.sparse = False
                member.globals = globals_
                member.records = None if pending is None else pending.records
                member.offset = offset if pending is None else pending.start
                member.offset_data = data_at
                return member
    member = TarMember()
    member._block = block
    kind = block[156:157]
    name = block[0:100].split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
    if block[345] != 0 and block[257:265] == _USTAR_MAGIC:  # the prefix field exists only in ustar (Go agrees)
        name = _text(block[345:500]) + "/" + name
    header_name = name
    numbers = block[100:148]
    try:  # the usual spelling: octal digits padded with spaces or NULs (int() strips the spaces)
        if numbers.translate(None, _OCTAL_OR_PAD):
            raise ValueError("base-256 or junk")
        numbers = numbers.replace(b"\0", b" ")
        member.mode = int(numbers[0:8], 8)
        member.uid = int(numbers[8:16], 8)
        member.gid = int(numbers[16:24], 8)
        size = int(numbers[24:36], 8)
        member.mtime = int(numbers[36:48], 8)
    except ValueError:  # empty fields, base-256, digits after a NUL, or junk (refused there)
        member.mode = _numeric(block[100:108], "mode", offset)
        member.uid = _numeric(block[108:116], "uid", offset)
        member.gid = _numeric(block[116:124], "gid", offset)
        size = _numeric(block[124:136], "size", offset)
        member.mtime = _numeric(block[136:148], "mtime", offset)
    member.linkname = _text(block[157:257]) if block[157] else ""
    if kind in (CHRTYPE, BLKTYPE):
        member.devmajor = _numeric(block[329:337], "devmajor", offset)
        member.devminor = _numeric(block[337:345], "devminor", offset)
    else:
        member.devmajor = member.devminor = 0
    member.sparse = False
    member.globals = globals_
    records = None
    start = offset
    if pending is not None:
        start = pending.start
        records = pending.records
        if records:
            name, size = _apply_pax(member, records, name, size, offset)
        if pending.long_name is not None:  # Go: a GNU long name wins over a PAX path
            name = pending.long_name
        if pending.long_link is not None:
            member.linkname = pending.long_link
    member.records = records
    if kind == AREGTYPE and header_name.endswith("/"):  # judged on the header's own name, as tarfile does
        kind = DIRTYPE
    if kind == DIRTYPE:
        name = name.rstrip("/") or name
    member.name = name
    member.type = kind
    member.offset = start
    member.offset_data = data_at
    if not (0 <= size < MAX_SIZE and 0 <= member.uid < MAX_ID and 0 <= member.gid < MAX_ID):
        _bounded(size, MAX_SIZE, "size", name, offset)
        _bounded(member.uid, MAX_ID, "uid", name, offset)
        _bounded(member.gid, MAX_ID, "gid", name, offset)
    if kind in (CHRTYPE, BLKTYPE):
        _bounded(member.devmajor, MAX_ID, "device major", name, offset)
        _bounded(member.devminor, MAX_ID, "device minor", name, offset)
    if not -MAX_SIZE <= int(member.mtime) < MAX_SIZE:
        raise ImageFormatError(f"tar member {name[:80]!r} at byte {offset:,} has an invalid mtime "
                               f"{_shown(member.mtime)}: the archive is corrupt or hostile")
    member.size = size  # for header-only types what the header says (tarfile and Go keep it) ...
    member.stored = 0 if kind in HEADER_ONLY else size  # ... though no data follows
    if records and ("GNU.sparse.major" in records or "GNU.sparse.map" in records or "GNU.sparse.size" in records):
        _pax_sparse(member, records, offset)
    return member


def _apply_pax(member: TarMember, records: dict[str, str], name: str, size: int, offset: int) -> tuple[str, int]:
    """PAX records override header fields (Go's mergePAX): numbers must be plain decimals."""
    value = records.get("path")
    if value is not None:
        name = value.rstrip("/")  # as tarfile; the layer code normalises names anyway
    value = records.get("linkpath")
    if value is not None:
        member.linkname = value
    for key in ("size", "uid", "gid"):
        value = records.get(key)
        if value is not None:
            number = _pax_decimal(value, key, name, offset)
            if key == "size":
                size = number
            else:
                setattr(member, key, number)
    value = records.get("mtime")
    if value is not None:
        if _PAX_TIME.fullmatch(value) is None:
            raise ImageFormatError(f"tar member {name[:80]!r} at byte {offset:,} has an invalid PAX mtime "
                                   f"{value[:24]!r}: the archive is corrupt or hostile")
        seconds = int(value.split(".", 1)[0])
        member.mtime = seconds if "." not in value else float(value)  # tarfile gives a float; equal values
        if not -MAX_SIZE <= seconds < MAX_SIZE:
            raise ImageFormatError(f"tar member {name[:80]!r} at byte {offset:,} has an invalid PAX mtime "
                                   f"{_shown(value)}: the archive is corrupt or hostile")
    value = records.get("GNU.sparse.name")
    if value is not None:
        name = value
    return name, size


def _pax_decimal(value: str, key: str, name: str, offset: int) -> int:
    if _DECIMAL.fullmatch(value) is None:
        raise ImageFormatError(f"tar member {name[:80]!r} at byte {offset:,} has an invalid PAX {key} "
                               f"{_shown(value)}: the archive is corrupt or hostile")
    return int(value)


def _pax_sparse(member: TarMember, records: dict[str, str], offset: int) -> None:
    """PAX sparse files (GNU 0.0, 0.1 and 1.0): the real size; the map of 0.x is checked, not kept."""
    real = records.get("GNU.sparse.realsize", records.get("GNU.sparse.size"))
    if real is None:
        raise ImageFormatError(f"sparse tar member {member.name[:80]!r} at byte {offset:,} has no real size: "
                               "it is corrupt")
    member.size = _bounded(_pax_decimal(real, "sparse size", member.name, offset), MAX_SIZE, "sparse size",
                           member.name, offset)
    member.sparse = True
    sparse_map = records.get("GNU.sparse.map")
    if sparse_map is not None:
        numbers = sparse_map.split(",") if sparse_map else []
        if len(numbers) % 2 or len(numbers) > 2 * MAX_SPARSE_ENTRIES:
            raise ImageFormatError(f"sparse tar member {member.name[:80]!r} at byte {offset:,} has a malformed or "
                                   f"oversized map ({len(numbers):,} numbers): the archive is corrupt or hostile")
        pairs = [(_pax_decimal(numbers[i], "sparse offset", member.name, offset),
                  _pax_decimal(numbers[i + 1], "sparse length", member.name, offset))
                 for i in range(0, len(numbers), 2)]
        check_sparse_map(member, pairs, offset)


def gnu_sparse(member: TarMember, block: bytes, extensions: list[bytes], offset: int) -> None:
    """An old GNU sparse member (type ``S``): real size from the header, map checked and dropped."""
    pairs = _sparse_entries(block[386:482], 4, offset)
    for extra in extensions:
        pairs += _sparse_entries(extra[:504], 21, offset)
    member.sparse = True
    member.size = _bounded(_numeric(block[483:495], "real size", offset), MAX_SIZE, "sparse size",
                           member.name, offset)
    check_sparse_map(member, pairs, offset)


def _sparse_entries(area: bytes, count: int, offset: int) -> list[tuple[int, int]]:
    pairs = []
    for index in range(count):
        entry = area[index * 24:index * 24 + 24]
        if not entry.strip(b"\0"):
            break
        pairs.append((_numeric(entry[:12], "sparse offset", offset), _numeric(entry[12:], "sparse length", offset)))
    return pairs


def check_sparse_map(member: TarMember, pairs: list[tuple[int, int]], offset: int) -> None:
    """Fragments in order, not overlapping, inside the real size (Go's validateSparseEntries)."""
    end = 0
    for start, length in pairs:
        if start < end or length < 0 or start + length > member.size:
            raise ImageFormatError(f"sparse tar member {member.name[:80]!r} at byte {offset:,} has an invalid map: "
                                   "the archive is corrupt or hostile")
        end = start + length
    if len(pairs) > MAX_SPARSE_ENTRIES:
        raise ImageFormatError(f"sparse tar member {member.name[:80]!r} at byte {offset:,} has more than "
                               f"{MAX_SPARSE_ENTRIES:,} map entries: the archive is corrupt or hostile")


def sparse_map_1_0(member: TarMember, head: bytes, offset: int) -> list[tuple[int, int]]:
    """The map at the start of a PAX 1.0 sparse member's data: a count, then offset/length pairs,
    each a decimal on its own line (``head``: the first MiB of the data at most)."""
    lines = head.split(b"\n", 2 * MAX_SPARSE_ENTRIES + 2)
    count = lines[0] if lines else b""
    if not count.isdigit() or len(count) > 19 or int(count) > MAX_SPARSE_ENTRIES or len(lines) < 2 * int(count) + 2:
        raise ImageFormatError(f"sparse tar member {member.name[:80]!r} at byte {offset:,} has an invalid or "
                               f"oversized map (count {_shown(count.decode('ascii', 'replace')[:40])}): "
                               "the archive is corrupt or hostile")
    numbers = [_pax_decimal(line.decode("ascii", "replace"), "sparse map", member.name, offset)
               for line in lines[1:1 + 2 * int(count)]]
    return list(zip(numbers[::2], numbers[1::2], strict=True))  # 2 * count numbers: always pairs

"""RPM's header blob: what every rpmdb backend (sqlite, BerkeleyDB, NDB) stores per package.

Layout (rpm's ``lib/header.c``, ``headerImport``; the "RPM file format" in rpm's docs): two
big-endian int32s ``il`` (index entries) and ``dl`` (data bytes), then ``il`` 16-byte entries
``(tag, type, offset, count)``, then ``dl`` bytes of data that the entries point into. Every
count and offset comes from the image: each is checked against the blob before it is used, and
a header that does not add up is refused with ``HeaderError`` (the caller names the database).
"""

from __future__ import annotations

import posixpath
import struct
from typing import Any

from .interface import MAX_FILES_PER_PACKAGE, Package, PackageFile

MAX_INDEX = 0xFFFF  # rpm's hdrchkTags
MAX_DATA = 0x0FFFFFFF  # rpm's hdrchkData

NAME, VERSION, RELEASE, EPOCH, VENDOR, LICENSE, ARCH = 1000, 1001, 1002, 1003, 1011, 1014, 1022
FILESIZES, FILEMODES, FILEDIGESTS, FILEFLAGS, SOURCERPM = 1028, 1030, 1035, 1037, 1044
OLDFILENAMES, DIRINDEXES, BASENAMES, DIRNAMES = 1027, 1116, 1117, 1118
LONGFILESIZES, FILEDIGESTALGO = 5008, 5011
RPMFILE_CONFIG = 1 << 0
RPMFILE_GHOST = 1 << 6  # listed, never shipped: nothing to check
#: OpenPGP hash algorithm numbers (RFC 4880 9.4), as FILEDIGESTALGO uses them; absent means MD5.
DIGEST_ALGORITHMS = {1: "md5", 2: "sha1", 8: "sha256", 9: "sha384", 10: "sha512", 11: "sha224"}

_CHAR, _INT8, _INT16, _INT32, _INT64, _STRING, _BIN, _STRING_ARRAY, _I18NSTRING = 1, 2, 3, 4, 5, 6, 7, 8, 9
_INT_FORMATS = {_CHAR: "B", _INT8: "B", _INT16: "H", _INT32: "I", _INT64: "Q"}


class HeaderError(ValueError):
    """A header blob that does not add up."""


def parse_header(blob: bytes) -> dict[int, Any]:
    """Tag → value: a list of ints, a string, a list of strings, or bytes (BIN)."""
    if len(blob) < 8:
        raise HeaderError("header shorter than 8 bytes")
    il, dl = struct.unpack_from(">II", blob)
    if il == 0 or il > MAX_INDEX or dl > MAX_DATA:
        raise HeaderError(f"header claims {il} tags and {dl} data bytes")
    start = 8 + 16 * il
    if start + dl > len(blob):
        raise HeaderError(f"header claims {start + dl} bytes but has {len(blob)}")
    data = blob[start:start + dl]
    tags: dict[int, Any] = {}
    for index in range(il):
        tag, kind, offset, count = struct.unpack_from(">IIII", blob, 8 + 16 * index)
        if offset > dl or count > dl + 1:
            continue  # counts cannot exceed the data they describe (a tag with data elsewhere: skipped)
        try:
            value = _value(data, kind, offset, count)
        except (struct.error, IndexError):
            continue
        if value is not None:
            tags.setdefault(tag, value)
    return tags


def _value(data: bytes, kind: int, offset: int, count: int) -> Any:
    if kind in _INT_FORMATS:
        fmt = _INT_FORMATS[kind]
        width = struct.calcsize(fmt)
        if offset + width * count > len(data):
            return None
        return list(struct.unpack_from(f">{count}{fmt}", data, offset))
    if kind == _BIN:
        return data[offset:offset + count] if offset + count <= len(data) else None
    if kind in (_STRING, _STRING_ARRAY, _I18NSTRING):
        strings = []
        position = offset
        for _ in range(count if kind != _STRING else 1):
            end = data.find(b"\0", position)
            if end < 0:
                return None
            strings.append(data[position:end].decode("utf-8", "replace"))
            position = end + 1
        return strings[0] if kind == _STRING else strings
    return None


def package_from_header(blob: bytes, db: str) -> Package:
    """A ``Package`` with its files, modes, sizes and digests (algorithm from FILEDIGESTALGO)."""
    tags = parse_header(blob)
    name, version, release = _string(tags, NAME), _string(tags, VERSION), _string(tags, RELEASE)
    if not name or version is None:
        raise HeaderError("header without a name or version")
    epoch_values = tags.get(EPOCH)
    epoch = epoch_values[0] if isinstance(epoch_values, list) and epoch_values else None
    full = f"{version}-{release}" if release else version
    if epoch is not None:
        full = f"{epoch}:{full}"
    source_rpm = _string(tags, SOURCERPM)
    source_name, source_version = split_source_rpm(source_rpm) if source_rpm else (None, None)
    package = Package("rpm", name, full, _string(tags, ARCH), source_name, source_version,
                      _string(tags, LICENSE), db, vendor=_string(tags, VENDOR), epoch=epoch)
    package.files = _files(tags)
    return package


def split_source_rpm(source: str) -> tuple[str | None, str | None]:
    """``bash-5.2.15-1.fc38.src.rpm`` → (``bash``, ``5.2.15-1.fc38``)."""
    stem = source.removesuffix(".rpm")
    stem = stem.rsplit(".", 1)[0] if stem.endswith((".src", ".nosrc")) else stem
    parts = stem.rsplit("-", 2)
    if len(parts) != 3:
        return stem or None, None
    return parts[0], f"{parts[1]}-{parts[2]}"


def _string(tags: dict[int, Any], tag: int) -> str | None:
    value = tags.get(tag)
    if isinstance(value, list):
        value = value[0] if value and isinstance(value[0], str) else None
    return value if isinstance(value, str) else None


def _files(tags: dict[int, Any]) -> list[PackageFile]:
    basenames, dirnames, dirindexes = tags.get(BASENAMES), tags.get(DIRNAMES), tags.get(DIRINDEXES)
    if isinstance(basenames, list) and isinstance(dirnames, list) and isinstance(dirindexes, list):
        paths = [dirnames[i] + b if isinstance(i, int) and 0 <= i < len(dirnames) else None
                 for b, i in zip(basenames, dirindexes, strict=False)]  # a hostile header's counts may differ
    elif isinstance(tags.get(OLDFILENAMES), list):
        paths = list(tags[OLDFILENAMES])
    else:
        return []
    paths = paths[:MAX_FILES_PER_PACKAGE]
    algorithm_values = tags.get(FILEDIGESTALGO)
    algorithm = DIGEST_ALGORITHMS.get(algorithm_values[0]) if isinstance(algorithm_values, list) and \
        algorithm_values else "md5"
    digests, modes = _list(tags, FILEDIGESTS, str), _list(tags, FILEMODES, int)
    flags = _list(tags, FILEFLAGS, int)
    sizes = _list(tags, LONGFILESIZES, int) or _list(tags, FILESIZES, int)
    files = []
    for index, path in enumerate(paths):
        if not isinstance(path, str) or not path.startswith("/"):
            continue
        digest = _at(digests, index)
        flag = _at(flags, index) or 0
        if not digest or flag & RPMFILE_GHOST or algorithm is None or \
                not all(c in "0123456789abcdef" for c in digest.lower()):
            digest = None
        files.append(PackageFile(posixpath.normpath(path), digest.lower() if digest else None,
                                 algorithm if digest else None, conffile=bool(flag & RPMFILE_CONFIG),
                                 mode=_at(modes, index), size=_at(sizes, index)))
    return files


def _list(tags: dict[int, Any], tag: int, kind: type) -> list[Any]:
    value = tags.get(tag)
    return value if isinstance(value, list) and all(isinstance(v, kind) for v in value[:1]) else []


def _at(values: list[Any], index: int) -> Any:
    return values[index] if index < len(values) else None

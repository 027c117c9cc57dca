"""Hand-made tar headers for the tar parser's tests: every flavour, and hostile claims in each.

``tarfile`` cannot write most of these (sparse members, lying lengths, base-256 owners), so headers
are assembled byte by byte here: :func:`header` fills the fields and the checksum, the helpers
around it build PAX (``x``, ``g``), GNU long-name (``L``, ``K``) and sparse (``S``, PAX 0.0/0.1/1.0)
members. The ``HOSTILE`` table maps a class of attack to several small layer tars of that class.
"""

from __future__ import annotations

import io
import tarfile
from collections.abc import Callable
from pathlib import Path

BLOCK = 512
END = bytes(2 * BLOCK)
GIB = 1 << 30


def _pad(data: bytes) -> bytes:
    return data + bytes(-len(data) % BLOCK)


def _number(value: int, width: int) -> bytes:
    """Octal when it fits, else GNU base-256 (negative: two's complement with 0xff lead)."""
    if 0 <= value < 8 ** (width - 1):
        return f"{value:0{width - 1}o}".encode() + b"\0"
    if value < 0:
        return (value % (1 << (8 * width))).to_bytes(width, "big")
    return b"\x80" + value.to_bytes(width - 1, "big")


def header(name: bytes | str, *, size: int = 0, kind: bytes = b"0", mode: int = 0o644, uid: int = 0, gid: int = 0,
           mtime: int = 1_600_000_000, linkname: bytes = b"", magic: bytes = b"ustar\x0000",
           dev: tuple[int, int] = (0, 0), patch: dict[int, bytes] | None = None, checksum: int | None = None) -> bytes:
    """One 512-byte header; ``patch`` overwrites raw bytes at offsets before the checksum is computed."""
    name = name.encode() if isinstance(name, str) else name
    block = bytearray(BLOCK)
    block[0:min(len(name), 100)] = name[:100]
    block[100:108] = _number(mode, 8)
    block[108:116] = _number(uid, 8)
    block[116:124] = _number(gid, 8)
    block[124:136] = _number(size, 12)
    block[136:148] = _number(mtime, 12)
    block[156:157] = kind
    block[157:157 + len(linkname[:100])] = linkname[:100]
    block[257:265] = magic
    block[265:269] = b"root"
    block[297:301] = b"root"
    block[329:337] = _number(dev[0], 8)
    block[337:345] = _number(dev[1], 8)
    for offset, raw in (patch or {}).items():
        block[offset:offset + len(raw)] = raw
    block[148:156] = b" " * 8
    total = sum(block) if checksum is None else checksum
    block[148:156] = f"{total:06o}".encode() + b"\0 "
    return bytes(block)


def regular(name: str, data: bytes = b"", **fields) -> bytes:
    return header(name, size=len(data), **fields) + _pad(data)


def directory(name: str, **fields) -> bytes:
    return header(name, kind=b"5", mode=0o755, **fields)


def record(key: str | bytes, value: str | bytes) -> bytes:
    """One well-formed PAX record."""
    body = b" " + (key.encode() if isinstance(key, str) else key) + b"=" + \
        (value.encode() if isinstance(value, str) else value) + b"\n"
    length = len(body) + 1
    while len(str(length)) + len(body) != length:
        length = len(str(length)) + len(body)
    return str(length).encode() + body


def pax(payload: bytes, kind: bytes = b"x", declared: int | None = None, name: str = "././@PaxHeader") -> bytes:
    """A PAX header carrying ``payload`` (raw: may be malformed); ``declared`` lies about its size."""
    return header(name, size=len(payload) if declared is None else declared, kind=kind) + _pad(payload)


def records(pairs: dict[str, str] | list[tuple[str, str]]) -> bytes:
    items = pairs.items() if isinstance(pairs, dict) else pairs
    return b"".join(record(k, v) for k, v in items)


def gnu_long(text: bytes, kind: bytes = b"L", declared: int | None = None) -> bytes:
    return header("././@LongLink", size=len(text) if declared is None else declared, kind=kind,
                  magic=b"ustar  \0") + _pad(text)


def old_gnu_sparse(name: str, real: int, fragments: list[tuple[int, int]], extended: list[list[tuple[int, int]]] = (),
                   stored: bytes | None = None) -> bytes:
    """An old GNU sparse member (type ``S``): up to 4 map entries in the header, 21 per extension block."""
    total = sum(n for _, n in fragments) + sum(n for e in extended for _, n in e)
    data = stored if stored is not None else bytes(total)
    patch = {}
    for i, (offset, length) in enumerate(fragments[:4]):
        patch[386 + 24 * i] = _number(offset, 12) + _number(length, 12)
    patch[482] = b"\x01" if extended else b"\0"
    patch[483] = _number(real, 12)
    out = header(name, size=len(data), kind=b"S", magic=b"ustar  \0", patch=patch)
    for index, entries in enumerate(extended):
        block = bytearray(BLOCK)
        for i, (offset, length) in enumerate(entries[:21]):
            block[24 * i:24 * i + 24] = _number(offset, 12) + _number(length, 12)
        block[504] = 1 if index + 1 < len(extended) else 0
        out += bytes(block)
    return out + _pad(data)


def pax_sparse(name: str, real: int, version: str, fragments: list[tuple[int, int]], map_text: bytes | None = None,
               extra: dict[str, str] | None = None) -> bytes:
    """A PAX sparse member, GNU format 0.0, 0.1 or 1.0 (1.0 keeps its map at the start of the data)."""
    stored = bytes(sum(length for _, length in fragments))
    pairs: list[tuple[str, str]] = []
    if version == "0.0":
        pairs += [("GNU.sparse.size", str(real)), ("GNU.sparse.numblocks", str(len(fragments)))]
        for offset, length in fragments:
            pairs += [("GNU.sparse.offset", str(offset)), ("GNU.sparse.numbytes", str(length))]
    elif version == "0.1":
        pairs += [("GNU.sparse.size", str(real)), ("GNU.sparse.numblocks", str(len(fragments))),
                  ("GNU.sparse.map", ",".join(f"{o},{n}" for o, n in fragments))]
    else:
        pairs += [("GNU.sparse.major", "1"), ("GNU.sparse.minor", "0"), ("GNU.sparse.name", name),
                  ("GNU.sparse.realsize", str(real))]
        text = map_text if map_text is not None else (
            f"{len(fragments)}\n" + "".join(f"{o}\n{n}\n" for o, n in fragments)).encode()
        stored = _pad(text) + stored
    pairs += list((extra or {}).items())
    header_name = name if version != "1.0" else f"GNUSparseFile.0/{name}"
    return pax(records(pairs)) + header(header_name, size=len(stored)) + _pad(stored)


def layer(*members: bytes) -> bytes:
    return b"".join(members) + END


# --- hostile layers, by class ------------------------------------------------------------------------------

def _many_files(count: int) -> bytes:
    return b"".join(regular(f"f/{i}", b"x") for i in range(count))


def _global_xattrs(count: int, files: int, headers: int = 1) -> bytes:
    payload = records([(f"SCHILY.xattr.user.k{i}", "v" * 8) for i in range(count)]
                      + [("SCHILY.xattr.security.capability", "\x01\x00\x00\x02" + "\0" * 16)])
    return layer(directory("f/"), *[pax(payload, kind=b"g") for _ in range(headers)], _many_files(files))


HOSTILE: dict[str, dict[str, Callable[[], bytes]]] = {
    "pax-huge-length": {
        "nines": lambda: layer(pax(b"9" * 1000 + b" path=x\n"), regular("a", b"1")),
        "twenty-digits": lambda: layer(pax(b"99999999999999999999 path=x\n"), regular("a", b"1")),
        "ones-cve": lambda: layer(pax(b"1 " * 400_000), regular("a", b"1")),
        "negative": lambda: layer(pax(b"-5 a=b\n"), regular("a", b"1")),
        "zero": lambda: layer(regular("ok"), pax(b"0 a=b\n"), regular("a", b"1")),
    },
    "pax-length-overrun": {
        "past-payload": lambda: layer(pax(b"100 path=x\n"), regular("a", b"1")),
        "short-record": lambda: layer(pax(b"6 path=abcdef\n"), regular("a", b"1")),
        "no-newline": lambda: layer(pax(record("path", "x")[:-1] + b"y"), regular("a", b"1")),
        "declared-beyond-archive": lambda: layer(pax(records({"path": "x"}), declared=512 * 1024), regular("a")),
        "no-equals": lambda: layer(pax(b"9 pathx\n\n"), regular("a", b"1")),
    },
    "pax-many-records": {
        "100k-local": lambda: layer(pax(b"6 a=b\n" * 100_000), regular("a", b"1")),
        "100k-global": lambda: layer(pax(b"6 a=b\n" * 100_000, kind=b"g"), regular("a", b"1")),
        "over-1mib": lambda: layer(pax(records({"comment": "c" * (1 << 20)})), regular("a", b"1")),
    },
    "gnu-long-8gib": {
        "long-name": lambda: layer(gnu_long(b"x" * 100, declared=8 * GIB), regular("a", b"1")),
        "long-link": lambda: layer(gnu_long(b"x" * 100, kind=b"K", declared=8 * GIB), regular("a", b"1")),
        "long-name-2mib-real": lambda: layer(gnu_long(b"n" * (2 << 20)), regular("a", b"1")),
        "pax-8gib": lambda: layer(pax(records({"path": "x"}), declared=8 * GIB), regular("a", b"1")),
    },
    "sparse-2-62": {
        "old-gnu-fragment": lambda: layer(old_gnu_sparse("s", 1 << 62, [(1 << 62, 1 << 62)], stored=b"")),
        "old-gnu-extended-chain": lambda: layer(old_gnu_sparse("s", 1 << 62, [(0, 0)] * 4,
                                                               [[(i, 0)] * 21 for i in range(4000)])),
        "pax-01-map": lambda: layer(pax_sparse("s", 1 << 62, "0.1", [(0, 1)], extra={
            "GNU.sparse.map": "4611686018427387904,4611686018427387904"})),
        "pax-10-count": lambda: layer(pax_sparse("s", 1 << 62, "1.0", [], map_text=b"4611686018427387904\n0\n")),
        "pax-realsize-2-64": lambda: layer(pax_sparse("s", 1 << 64, "1.0", [(0, 512)])),
    },
    "uid-10-30": {
        "pax-uid": lambda: layer(pax(records({"uid": "1" + "0" * 30})), regular("a", b"1")),
        "pax-gid": lambda: layer(pax(records({"gid": "1" + "0" * 30})), regular("a", b"1")),
        "base256-uid": lambda: layer(regular("a", b"1", uid=1 << 40)),
        "negative-uid": lambda: layer(regular("a", b"1", uid=-1)),
        "pax-size-2-63": lambda: layer(pax(records({"size": str(1 << 63)})), regular("a", b"1")),
        "pax-mtime-10-30": lambda: layer(pax(records({"mtime": "1" + "0" * 30})), regular("a", b"1")),
        "global-uid": lambda: layer(pax(records({"uid": "1" + "0" * 30}), kind=b"g"), regular("a", b"1")),
    },
}


def global_xattr_layer(count: int = 10_000, files: int = 3000, headers: int = 1) -> bytes:
    """``count`` global xattrs (plus a global ``security.capability``) before ``files`` files."""
    return _global_xattrs(count, files, headers)


def image_with_layer(path: Path, tar: bytes, layout: str = "legacy") -> str:
    """An image of the corpus base layer plus ``tar``, with true diff IDs (``make_bad_inputs.raw_image``)."""
    from .make_bad_inputs import raw_image

    return raw_image(path, layout, tar)


def archive_with_sparse_member(path: Path, flavour: str) -> str:
    """A good docker-archive with a sparse member put first in the outer tar (64 GiB of holes)."""
    good = image_with_layer(path.with_name(path.name + ".good.tar"), layer(regular("hello", b"hi\n")))
    sparse = {
        "old-gnu": lambda: old_gnu_sparse("zeros", 64 * GIB, [(64 * GIB - 512, 512)]),
        "pax-0.1": lambda: pax_sparse("zeros", 64 * GIB, "0.1", [(64 * GIB - 512, 512)]),
        "pax-1.0": lambda: pax_sparse("zeros", 64 * GIB, "1.0", [(64 * GIB - 512, 512)]),
        "layer-name": lambda: old_gnu_sparse("x/layer.tar", 64 * GIB, [(64 * GIB - 512, 512)]),
    }[flavour]()
    path.write_bytes(sparse + Path(good).read_bytes())
    Path(good).unlink()
    return str(path)


def tarfile_listing(data: bytes) -> list[tuple[str, bytes, int]]:
    """What the stdlib sees: ``(name, type, size)`` of every member (for sparse reference checks)."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        return [(m.name, m.type, m.size) for m in tar]


def docker_archive(layers: list[bytes], tag: str) -> bytes:
    """A legacy ``docker save`` archive of raw layer tars (true diff IDs), tagged ``tag``."""
    import hashlib
    import json

    def member(name: str, data: bytes) -> bytes:
        return regular(name, data, mode=0o644)

    diff_ids = ["sha256:" + hashlib.sha256(tar).hexdigest() for tar in layers]
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {"Cmd": ["/never"]},
                         "rootfs": {"type": "layers", "diff_ids": diff_ids},
                         "history": [{"created_by": "hostile_tar"} for _ in layers]}, sort_keys=True).encode()
    config_name = hashlib.sha256(config).hexdigest() + ".json"
    out, names = [], []
    for index, tar in enumerate(layers):
        v1 = hashlib.sha256(f"{index} {diff_ids[index]}".encode()).hexdigest()
        names.append(f"{v1}/layer.tar")
        out += [directory(f"{v1}/"), member(f"{v1}/VERSION", b"1.0"), member(f"{v1}/layer.tar", tar)]
    manifest = json.dumps([{"Config": config_name, "RepoTags": [tag], "Layers": names}]).encode()
    out += [member(config_name, config), member("manifest.json", manifest)]
    return layer(*out)

"""Genuine/tampered image pairs, and hostile layer-cache entries, made by code.

Why this module exists
----------------------
A review gate (``diff --exit-code``) and the layer cache both meet images that *claim* to be
something they are not. The tampered image here is the cheapest lie there is: it reuses the
genuine image's config byte for byte (so the same image ID and the same claimed diff IDs), and
only the stored bytes of its top layer differ: they add a setuid ``/bin/sh``. Every descriptor,
size and digest in the manifests still names the genuine layer. Whoever trusts a claim instead of
hashing the bytes shows the genuine image's files for the tampered archive.

``same_size=True`` pads the tampered layer so that it is exactly as long as the genuine one:
the case no cheap check (a stat, a tar header, a descriptor) can tell apart; only a hash can.

The second half writes cache entries in the on-disk format of ``inspector.fs.cache`` (documented
there), sealed with a valid self-hash so that what they hold reaches the decoder: numbers like
``1e999``, JSON nested 100,000 deep, wrong types at any position, absurd counts, a zlib bomb.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import struct
import zlib
from pathlib import Path
from typing import Any

from .imagebuilder import (
    E,
    ImageSpec,
    LayerHook,
    layer_tar,
    write_docker_archive,
    write_oci_layout,
)

SETUID_SH = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"attacker's shell"

GENUINE = ImageSpec(
    layers=[[E("etc/", "dir"), E("etc/passwd", data=b"root:x:0:0::/root:/sbin/nologin\n")],
            [E("app/", "dir"), E("app/run", data=b"#!/app/interp\necho genuine\n", mode=0o755)]],
    config={"Entrypoint": ["/app/run"]}, tags=["app:1"])

#: What the tampered top layer holds: the genuine files plus a setuid shell.
TAMPERED_TOP = [E("app/", "dir"), E("app/run", data=b"#!/app/interp\necho genuine\n", mode=0o755),
                E("bin/", "dir"), E("bin/sh", data=SETUID_SH, mode=0o4755)]

#: Layouts a pair can be written in: (writer kind, layout or compression).
LAYOUTS = ("legacy", "docker25", "oci-none", "oci-gzip", "oci-archive")


def tampered_top(same_size: bool = False) -> bytes:
    """The tampered top layer's tar: a different size from the genuine one unless ``same_size``."""
    genuine = layer_tar(GENUINE.layers[1])
    if same_size:
        tar = layer_tar(TAMPERED_TOP)
        assert len(tar) == len(genuine), "python's tar records pad both to the same length"
        return tar
    bigger = TAMPERED_TOP[:-1] + [E("bin/sh", data=SETUID_SH + b"\0" * 40_000, mode=0o4755)]
    tar = layer_tar(bigger)
    assert len(tar) != len(genuine)
    return tar


def tamper_hook(same_size: bool = False) -> LayerHook:
    """A ``layer_bytes_hook`` that stores the tampered top layer, compressed as the genuine one was."""

    def hook(index: int, stored: bytes) -> bytes:
        if index != 1:
            return stored
        tar = tampered_top(same_size)
        if stored[:2] == b"\x1f\x8b":
            return gzip.compress(tar, mtime=0)
        return tar

    return hook


def write_pair(directory: Path, layout: str, same_size: bool = False) -> tuple[str, str]:
    """Write the genuine image and its tampered twin in ``layout``; return the two paths."""
    refs = []
    for name, hook in (("genuine", None), ("tampered", tamper_hook(same_size))):
        if layout in ("legacy", "docker25"):
            path = directory / f"{name}-{layout}.tar"
            write_docker_archive(path, GENUINE, layout, layer_bytes_hook=hook)
        elif layout == "oci-archive":
            path = directory / f"{name}-{layout}.tar"
            write_oci_layout(path, GENUINE, compression="gzip", as_tar=True, layer_bytes_hook=hook)
        else:
            path = directory / f"{name}-{layout}"
            write_oci_layout(path, GENUINE, compression=layout.removeprefix("oci-"), layer_bytes_hook=hook)
        refs.append(str(path))
    return refs[0], refs[1]


# --- hostile cache entries -------------------------------------------------------------------
MAGIC = b"inspect-image-cache"


def read_entry(path: Path) -> tuple[dict[str, Any], Any]:
    """A cache entry's metadata line and decoded body (the format ``inspector.fs.cache`` writes)."""
    raw = path.read_bytes()
    _, _, rest = raw.partition(b"\n")
    meta_line, _, body = rest.partition(b"\n")
    return json.loads(meta_line), json.loads(zlib.decompress(body))


def seal(path: Path, meta: dict[str, Any] | bytes, body: bytes, compressed: bool = False) -> None:
    """Write an entry whose self-hash is valid, whatever it holds (``body`` is JSON text unless
    ``compressed``); the entry's format version is read from the file being replaced."""
    version = path.read_bytes().split(b" ", 2)[1] if path.is_file() and not path.is_symlink() else b"3"
    meta_line = meta if isinstance(meta, bytes) else json.dumps(meta).encode()
    data = body if compressed else zlib.compress(body)
    if isinstance(meta, dict) and not compressed and "raw" in meta and meta["raw"] == "auto":
        meta_line = json.dumps({**meta, "raw": len(body)}).encode()
    rest = meta_line + b"\n" + data
    replace(path)
    path.write_bytes(b" ".join([MAGIC, version, hashlib.sha256(rest).hexdigest().encode()]) + b"\n" + rest)


def replace(path: Path) -> None:
    """Remove whatever is at ``path`` (a file, a link, a FIFO, an empty directory)."""
    if path.is_dir() and not path.is_symlink():
        path.rmdir()
    elif path.exists() or path.is_symlink():
        path.unlink()


def zlib_bomb(mebibytes: int) -> bytes:
    """A valid zlib stream of ``mebibytes`` MiB of zeros, about 1 kB per MiB, made in milliseconds:
    one full-flushed deflate segment repeated (a full flush makes each segment self-contained)."""
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    segment = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    length = mebibytes << 20
    adler = ((length % 65521) << 16) | 1  # adler-32 of zeros: a stays 1, b grows by 1 per byte
    return first + segment * (mebibytes - 1) + b"\x03\x00" + struct.pack(">I", adler)


def deep_json(depth: int) -> bytes:
    return b"[" * depth + b"]" * depth


def write_fifo(path: Path) -> None:
    replace(path)
    os.mkfifo(path)


def write_symlink(path: Path, target: str) -> None:
    replace(path)
    os.symlink(target, path)


def write_directory(path: Path) -> None:
    replace(path)
    path.mkdir()

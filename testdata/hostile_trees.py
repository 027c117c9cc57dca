"""Images whose trees cost time to walk, made by code: symlink bombs, deep trees, a huge libjvm.so.

Each is a few kilobytes to a few megabytes of tar headers (the libjvm.so image is the exception: its
one file is streamed to disk, never held in memory) that made inspect-image spend minutes:

* ``link_bomb_spec``: symlinks whose targets, followed once per directory of a long PATH, cost
  millions of path components (a ``../``×300k target; 40 links of 4,000-byte targets; a loop; a
  maze of directory links);
* ``deep_tree_spec``: 40,000 files spread over 1,000 nested directories, for ``export``;
* ``write_flooded_libjvm``: an OCI layout holding a ``libjvm.so`` of hundreds of MB of ``\\0N/A``,
  each a candidate vendor string, with a real vendor string inside;
* ``nul_target_layer``: a symlink whose PAX ``linkpath`` carries a NUL byte.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import tarfile
from pathlib import Path
from typing import IO

from testdata.imagebuilder import E, ImageSpec

#: Directories repeated in PATH: each one is resolved by the entrypoint search and the JRE report.
PATH_REPEATS = 2000


def _path_config(directories: list[str], program: str = "nothere") -> dict:
    return {"Env": ["PATH=" + ":".join(directories)], "Entrypoint": [program]}


def link_bomb_spec(kind: str) -> ImageSpec:
    """An image whose PATH makes every report follow costly symlinks ``PATH_REPEATS`` times.

    ``updots``: ``/d -> ../`` × 300,000 (a 900 kB target; Linux refuses targets past 4,095 bytes);
    ``chain``: ``/l0 -> /l1 … -> /bin``, 40 links (Linux's limit), each target 4,000 bytes of
    ``a/../`` before the next name; the last PATH entry finds ``sh`` through all of them;
    ``loop``: ``/loop0 -> loop1 -> loop0``, each target padded to 4,000 bytes;
    ``maze``: 500 nested directories, each with a link ``up`` to its parent's parent and ``down``
    back into the tree, so that PATH entries of distinct spellings all cross hundreds of links.
    """
    base = [E("a/", "dir"), E("bin/", "dir"), E("bin/sh", data=b"#!/bin/sh\n", mode=0o755)]
    if kind == "updots":
        layer = base + [E("d", "symlink", target="../" * 300_000)]
        dirs = ["/d"] * PATH_REPEATS
    elif kind == "chain":
        names = [f"l{i}" for i in range(1, 40)] + ["bin"]  # 40 links from /l0 to /bin: Linux's limit
        layer = base + [E(f"l{i}", "symlink", target="a/../" * 799 + name) for i, name in enumerate(names)]
        dirs = [f"/l0/x{i}" for i in range(PATH_REPEATS - 1)] + ["/l0"]
        return ImageSpec(layers=[layer], config=_path_config(dirs, "sh"))
    elif kind == "loop":
        pad = "a/../" * 799
        layer = base + [E("loop0", "symlink", target=pad + "loop1"), E("loop1", "symlink", target=pad + "loop0")]
        dirs = ["/loop0"] * (PATH_REPEATS // 2) + [f"/loop1/x{i}" for i in range(PATH_REPEATS // 2)]
    elif kind == "maze":
        depth = 500
        layer = list(base)
        for level in range(1, depth + 1):
            here = "m/" * level
            layer.append(E(here, "dir"))
            # up: two levels up and back down one, i.e. the parent; down: the root then all the way here
            layer.append(E(here + "up", "symlink", target="../../m"))
            layer.append(E(here + "down", "symlink", target="/" + "m/" * level))
        deepest = "/" + "m/" * depth
        dirs = [deepest + "down/up/" * 20 + f"x{i}" for i in range(PATH_REPEATS)]
    else:
        raise ValueError(kind)
    return ImageSpec(layers=[layer], config=_path_config(dirs))


#: ``deep_tree_spec``'s shape: FILES_PER_LEVEL files in each of DEPTH nested directories.
DEPTH = 1000
FILES_PER_LEVEL = 40


def deep_tree_spec(depth: int = DEPTH, files_per_level: int = FILES_PER_LEVEL,
                   levels_with_files: int | None = None) -> ImageSpec:
    """``d/d/…/d`` ``depth`` levels deep, ``files_per_level`` small files at each of the deepest
    ``levels_with_files`` levels (all of them by default)."""
    first = depth - (depth if levels_with_files is None else levels_with_files) + 1
    layer = []
    for level in range(1, depth + 1):
        here = "d/" * level
        layer.append(E(here, "dir"))
        if level >= first:
            layer.extend(E(f"{here}f{i}", data=b"x") for i in range(files_per_level))
    return ImageSpec(layers=[layer])


#: Longer than the 100 bytes of a tar header's link field, so that tarfile writes a PAX ``linkpath``
#: record, which carries the NUL (a header field would end at it).
NUL_TARGET = "/etc/passwd\x00/" + "../" * 40 + "shadow"


def nul_target_spec() -> ImageSpec:
    """A symlink whose target, carried by a PAX ``linkpath`` record, holds a NUL byte."""
    return ImageSpec(layers=[[E("etc/", "dir"), E("etc/passwd", data=b"root:x:0:0::/:\n"),
                              E("etc/evil", "symlink", target=NUL_TARGET),
                              E("after", data=b"after\n")]])


# --- a huge libjvm.so, streamed --------------------------------------------------------------------

JVM_HOME = "usr/lib/jvm/temurin-21-jre"
LIBJVM = f"{JVM_HOME}/lib/server/libjvm.so"
FLOOD_UNIT = b"\0N/A"  # every four bytes a NUL-delimited known vendor string


class _Flood(io.RawIOBase):
    """``size`` bytes of FLOOD_UNIT, with ``vendor`` as a C string at ``vendor_at``; made as read."""

    def __init__(self, size: int, vendor: bytes, vendor_at: int) -> None:
        self._size, self._pos = size, 0
        self._vendor, self._vendor_at = b"\0" + vendor + b"\0", vendor_at - vendor_at % len(FLOOD_UNIT)
        self._block = FLOOD_UNIT * ((1 << 20) // len(FLOOD_UNIT))

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        want = min(len(buffer), self._size - self._pos, len(self._block))
        if want <= 0:
            return 0
        offset = self._pos % len(FLOOD_UNIT)
        data = bytearray((self._block + FLOOD_UNIT)[offset:offset + want])
        start, end = self._vendor_at, self._vendor_at + len(self._vendor)
        lo, hi = max(start, self._pos), min(end, self._pos + want)
        if lo < hi:
            data[lo - self._pos:hi - self._pos] = self._vendor[lo - start:hi - start]
        buffer[:want] = data
        self._pos += want
        return want


class _HashingWriter(io.RawIOBase):
    def __init__(self, out: IO[bytes]) -> None:
        self._out, self.hash, self.size = out, hashlib.sha256(), 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[no-untyped-def,override]
        self._out.write(data)
        self.hash.update(data)
        self.size += len(data)
        return len(data)


def write_flooded_libjvm(directory: Path, size: int, vendor: bytes = b"Eclipse Adoptium",
                         vendor_at: int = 40 << 20) -> str:
    """An OCI layout (``oci:DIR``, uncompressed layer) with a ``size``-byte libjvm.so of ``\\0N/A``
    and ``vendor`` at ``vendor_at``, next to a release file without IMPLEMENTOR (as jlink writes it).
    The layer is streamed to disk while its digest is computed: memory stays small."""
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True)
    scratch = blobs / "layer.partial"
    with open(scratch, "wb") as raw:
        sink = _HashingWriter(raw)
        with tarfile.open(fileobj=sink, mode="w|", format=tarfile.PAX_FORMAT) as tar:  # type: ignore[arg-type]
            parts = JVM_HOME.split("/") + ["lib", "server"]
            for depth in range(1, len(parts) + 1):
                info = tarfile.TarInfo("/".join(parts[:depth]))
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            release = b'JAVA_VERSION="21.0.4"\n'
            info = tarfile.TarInfo(f"{JVM_HOME}/release")
            info.size, info.mode = len(release), 0o644
            tar.addfile(info, io.BytesIO(release))
            info = tarfile.TarInfo(LIBJVM)
            info.size, info.mode = size, 0o644
            tar.addfile(info, io.BufferedReader(_Flood(size, vendor, vendor_at), 1 << 20))
    layer_digest, layer_size = "sha256:" + sink.hash.hexdigest(), sink.size
    os.rename(scratch, blobs / layer_digest.split(":")[1])

    def blob(data: bytes) -> dict:
        name = hashlib.sha256(data).hexdigest()
        (blobs / name).write_bytes(data)
        return {"digest": "sha256:" + name, "size": len(data)}

    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": [layer_digest]}}).encode()
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **blob(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": layer_digest,
                    "size": layer_size}],
    }).encode()
    index = {"schemaVersion": 2, "manifests": [
        {"mediaType": "application/vnd.oci.image.manifest.v1+json", **blob(manifest)}]}
    (directory / "index.json").write_text(json.dumps(index))
    (directory / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
    return f"oci:{directory}"

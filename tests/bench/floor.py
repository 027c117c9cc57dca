"""Baselines: the cheapest pure-Python reads of the same bytes ours reads, run as their own process.

    python -m tests.bench.floor tarscan FILE        # docker-archive: every layer tar, tarfile "r|", do nothing
    python -m tests.bench.floor tarscan-seek FILE   # same, but tarfile "r:" seeks over file data
    python -m tests.bench.floor tarscan-forward FILE  # same bytes as a one-pass stream, tarfile "r:" over a
                                                    # wrapper that "seeks" forward by reading 1 MiB at a time
    python -m tests.bench.floor gzscan BLOB...      # gzip layer blobs: isal (else gzip) + tarfile "r|"
    python -m tests.bench.floor first-byte NAME     # `docker save NAME`: seconds to its first byte, and in all

With ``--count`` each prints ``layers=N members=M bytes=B`` on stdout (used once for the image stats).
Only the standard library (and isal when installed) is imported: no inspector code.
"""

from __future__ import annotations

import io
import sys
import tarfile
from typing import IO

try:
    from isal import igzip as gzip_module
except ImportError:  # pragma: no cover
    import gzip as gzip_module  # type: ignore[no-redef]


def _is_layer(member: tarfile.TarInfo, handle: IO[bytes]) -> bool:
    """A regular member whose first header has the ustar magic (a layer tar, whatever it is named)."""
    if not member.isfile() or member.size < 512:
        return False
    head = handle.peek(512)[:512]  # type: ignore[attr-defined]
    return head[257:262] == b"ustar"


def scan(fileobj: IO[bytes], mode: str) -> int:
    """How many members one tar has, read with tarfile ``mode`` and nothing done with them (the floor)."""
    count = 0
    with tarfile.open(fileobj=fileobj, mode=mode) as inner:
        for _member in inner:
            count += 1
    return count


def tarscan(path: str, mode: str) -> tuple[int, int, int]:
    """Outer archive read as a stream (``r|``) or with random access (``r:``), each layer scanned with ``mode``."""
    layers = members = size = 0
    outer_mode = "r|" if mode == "r|" else "r:"
    with open(path, "rb", buffering=1 << 20) as raw, tarfile.open(fileobj=raw, mode=outer_mode) as outer:
        for member in outer:
            handle = outer.extractfile(member) if member.isfile() else None
            if handle is None or not _is_layer(member, handle):
                continue
            layers += 1
            size += member.size
            members += scan(handle, mode)
    return layers, members, size


class ForwardOnly(io.RawIOBase):
    """A one-pass stream that tarfile's random-access mode can use: forward seeks read and discard.

    tarfile's stream mode (``r|``) skips file data 10 KiB per call through several Python layers;
    its ``r:`` mode seeks instead, and while iterating it only ever seeks forward.
    """

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self._pos = 0
        self._scratch = memoryview(bytearray(1 << 20))

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer) -> int:  # type: ignore[override]
        count = self._inner.readinto(buffer) or 0  # type: ignore[attr-defined]
        self._pos += count
        return count

    def read(self, size: int = -1) -> bytes:
        data = self._inner.read(size)
        self._pos += len(data)
        return data

    def seek(self, pos: int, whence: int = 0) -> int:
        target = pos + (self._pos if whence == 1 else 0)
        if whence == 2 or target < self._pos:
            raise io.UnsupportedOperation("forward seeks only")
        while self._pos < target:
            count = self._inner.readinto(self._scratch[: min(target - self._pos, len(self._scratch))])  # type: ignore[attr-defined]
            if not count:
                break
            self._pos += count
        return self._pos


def _scan_forward(fileobj: IO[bytes]) -> int:
    count = 0
    tar = tarfile.open(fileobj=ForwardOnly(fileobj), mode="r:")  # type: ignore[arg-type]
    while tar.next() is not None:
        tar.members.clear()  # r: mode remembers every member; a one-pass reader must not
        count += 1
    return count


def tarscan_forward(path: str) -> tuple[int, int, int]:
    layers = members = size = 0
    with open(path, "rb", buffering=0) as raw:
        stream = io.BufferedReader(_Unseekable(raw), buffer_size=1 << 20)
        outer = tarfile.open(fileobj=ForwardOnly(stream), mode="r:")  # type: ignore[arg-type]
        while (member := outer.next()) is not None:
            outer.members.clear()
            handle = outer.extractfile(member) if member.isfile() else None
            if handle is None or not _is_layer(member, handle):
                continue
            layers += 1
            size += member.size
            members += _scan_forward(handle)
    return layers, members, size


class _Unseekable(io.RawIOBase):
    """Hide a file's seek, so the forward-only scan reads exactly what a pipe would give it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[override]
        return self._raw.readinto(buffer)  # type: ignore[attr-defined]


def gzscan(paths: list[str]) -> tuple[int, int, int]:
    layers = members = size = 0
    for path in paths:
        with open(path, "rb", buffering=1 << 20) as raw, gzip_module.GzipFile(fileobj=raw, mode="rb") as plain:
            import io

            buffered = io.BufferedReader(plain, buffer_size=1 << 20)  # type: ignore[arg-type]
            layers += 1
            members += scan(buffered, "r|")
            size += raw.tell()
    return layers, members, size


def first_byte(name: str) -> tuple[float, float, int]:
    """How long ``docker save`` takes to send its first byte, and to finish (a pipe, drained at once).

    Docker 20.10 writes the whole image to a temporary directory before it sends anything, so a
    streaming reader cannot overlap its parsing with the engine's export, only with the transfer.
    """
    import subprocess
    import time

    started = time.perf_counter()
    proc = subprocess.Popen(["docker", "save", name], stdout=subprocess.PIPE)
    assert proc.stdout is not None
    size = len(proc.stdout.read(1))
    first = time.perf_counter() - started
    while chunk := proc.stdout.read(1 << 20):
        size += len(chunk)
    if proc.wait() != 0:
        raise SystemExit(f"docker save {name} failed")
    return first, time.perf_counter() - started, size


def main(argv: list[str]) -> int:
    count = "--count" in argv
    argv = [a for a in argv if a != "--count"]
    if len(argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    mode, args = argv[0], argv[1:]
    if mode == "tarscan":
        result = tarscan(args[0], "r|")
    elif mode == "tarscan-seek":
        result = tarscan(args[0], "r:")
    elif mode == "tarscan-forward":
        result = tarscan_forward(args[0])
    elif mode == "gzscan":
        result = gzscan(args)
    elif mode == "first-byte":
        first, total, size = first_byte(args[0])
        print(f"first_byte={first:.3f} total={total:.3f} bytes={size}")
        return 0
    else:
        print(f"unknown mode {mode!r}", file=sys.stderr)
        return 2
    if count:
        print("layers={} members={} bytes={}".format(*result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

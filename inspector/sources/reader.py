"""A layer stream that tarfile can "seek" in, hashing what passes when asked to.

tarfile's stream mode (``r|``) skips file data 10 KiB per call through several Python layers; its
random-access mode (``r:``) seeks instead. Over a one-pass stream (a decompressor, a pipe, the
engine) a forward seek here reads and discards in 1 MiB chunks, which is what makes ``r:`` usable
everywhere. Since every byte passes through anyway, hashing it for verification costs no extra
read.
"""

from __future__ import annotations

import hashlib
import io
from typing import IO, Any, Callable

CHUNK = 1 << 20


class CountingReader(io.RawIOBase):
    """Counts the stored bytes a decompressor consumes, to bound the inflation ratio."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        count = _readinto(self._inner, buffer)
        self.count += count
        return count


class ForwardReader(io.RawIOBase):
    """Read ``inner`` front to back; forward seeks read (and hash) the bytes they skip."""

    def __init__(self, inner: IO[bytes], hash_it: bool = False,
                 budget: "Callable[[int], None] | None" = None) -> None:
        self._inner = inner
        self._budget = budget  # called with the bytes read so far; raises to stop a decompression bomb
        self._pos = 0
        self._scratch = memoryview(bytearray(CHUNK))
        self._hasher = hashlib.sha256() if hash_it else None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def readinto(self, buffer: Any) -> int:
        count = _readinto(self._inner, buffer)
        if count and self._hasher is not None:
            self._hasher.update(memoryview(buffer)[:count])
        self._pos += count
        if self._budget is not None:
            self._budget(self._pos)
        return count

    def seek(self, pos: int, whence: int = 0) -> int:
        target = pos + (self._pos if whence == 1 else 0)
        if whence == 2 or target < self._pos:
            raise io.UnsupportedOperation("a layer stream can only move forward")
        while self._pos < target:
            count = self.readinto(self._scratch[: min(target - self._pos, CHUNK)])
            if not count:
                raise EOFError(f"the layer ends at byte {self._pos}, before byte {target}: it is truncated")
        return self._pos

    def drain(self) -> int:
        """Read to the end (padding after the tar's end marker included); return the total size."""
        while self.readinto(self._scratch):
            pass
        return self._pos

    def digest(self) -> str | None:
        return "sha256:" + self._hasher.hexdigest() if self._hasher is not None else None


def _readinto(inner: IO[bytes], buffer: Any) -> int:
    readinto = getattr(inner, "readinto", None)
    if readinto is not None:
        return readinto(buffer) or 0
    data = inner.read(len(buffer))
    memoryview(buffer)[: len(data)] = data
    return len(data)

"""Test streams that behave like pipes: not seekable, and short reads of any length."""

from __future__ import annotations

import io
import random


class Pipe(io.RawIOBase):
    """A raw pipe: not seekable, each read returns 1..``step`` bytes (whatever has "arrived")."""

    def __init__(self, data: bytes, step: int = 4096, seed: int = 0) -> None:
        self._data = memoryview(data)
        self._pos = 0
        self._step = step
        self._rng = random.Random(seed)

    def readable(self):
        return True

    def seekable(self):
        return False

    def seek(self, *args):
        raise io.UnsupportedOperation("a pipe cannot seek")

    def tell(self):
        raise io.UnsupportedOperation("a pipe cannot tell")

    def readinto(self, buffer):
        count = min(len(buffer), self._rng.randint(1, self._step), len(self._data) - self._pos)
        memoryview(buffer).cast("B")[:count] = self._data[self._pos:self._pos + count]
        self._pos += count
        return count

"""A layer stream that tarfile can "seek" in, hashing what passes when asked to.

tarfile's stream mode (``r|``) skips file data 10 KiB per call through several Python layers; its
random-access mode (``r:``) seeks instead. Over a one-pass stream (a decompressor, a pipe, the
engine) a forward seek here reads and discards in 1 MiB chunks, which is what makes ``r:`` usable
everywhere. Since every byte passes through anyway, hashing it for verification costs no extra
read; the hash runs on another thread (``hashing.BackgroundHash``).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import IO, Any, Protocol, runtime_checkable

from ..scratch import Writable, scratch
from .hashing import BUFFER, BackgroundHash

CHUNK = BUFFER


@runtime_checkable
class Lender(Protocol):
    """A stream that lends whole buffers instead of copying into the reader's (``take``), and takes
    each back once the reader is done with it (``give_back``, from any thread)."""

    def take(self) -> tuple[Writable, int] | None: ...

    def give_back(self, buffer: Writable) -> None: ...


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
    """Read ``inner`` front to back; forward seeks read (and hash) the bytes they skip.

    Reads go through chunks of up to 1 MiB held here: a seek over file data only refills chunks
    (the bytes are never copied), and each chunk is handed whole to the hash.
    """

    def __init__(self, inner: IO[bytes] | Lender, hash_it: bool = False,
                 budget: Callable[[int], None] | None = None,
                 algorithms: tuple[str, ...] = ("sha256",)) -> None:
        self._inner = inner
        self._budget = budget  # called with the bytes read so far; raises to stop a decompression bomb
        self._hash = BackgroundHash(algorithms) if hash_it else None
        self._lender = inner if isinstance(inner, Lender) else None
        self._own = scratch(CHUNK) if self._hash is None and self._lender is None else None
        self._lease: _Lease | None = None  # the taken buffer the chunk is in
        self._chunk = memoryview(b"")
        self._at = 0  # read position inside the chunk
        self._end = 0  # stream position of the chunk's end

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._end - len(self._chunk) + self._at

    def readinto(self, buffer: Any) -> int:
        """Fill ``buffer`` whole unless the stream ends: tarfile takes a short read for a truncated tar."""
        view = memoryview(buffer).cast("B")
        done = 0
        while done < len(view):
            if self._at == len(self._chunk) and not self._fill():
                break
            count = min(len(view) - done, len(self._chunk) - self._at)
            view[done:done + count] = self._chunk[self._at:self._at + count]
            self._at += count
            done += count
        return done

    def seek(self, pos: int, whence: int = 0) -> int:
        here = self.tell()
        target = pos + (here if whence == 1 else 0)
        if whence == 2 or target < here:
            raise io.UnsupportedOperation("a layer stream can only move forward")
        while target > self._end:
            if not self._fill():
                raise EOFError(f"the layer ends at byte {self._end}, before byte {target}: it is truncated")
        self._at = target - (self._end - len(self._chunk))
        return target

    def drain(self) -> int:
        """Read to the end (padding after the tar's end marker included); return the total size."""
        while self._fill():
            pass
        self._at = len(self._chunk)
        return self._end

    def digest(self) -> str | None:
        """``algorithm:hex`` of the first algorithm hashed, None if nothing is."""
        return next(iter(self.digests().values()), None)

    def digests(self) -> dict[str, str]:
        """``{algorithm: "algorithm:hex"}`` of what was read, empty if nothing is hashed."""
        if self._hash is None:
            return {}
        return {name: f"{name}:{value}" for name, value in self._hash.hexdigests().items()}

    def close(self) -> None:
        self._chunk.release()
        self._chunk = memoryview(b"")
        if self._lease is not None:
            self._lease.release()
            self._lease = None
        if self._hash is not None:
            self._hash.close()
        super().close()

    def _fill(self) -> bool:
        """Replace the chunk with the next bytes of ``inner``; False at its end."""
        self._chunk.release()
        if self._lender is not None:
            return self._fill_lent(self._lender)
        buffer = self._hash.buffer() if self._hash is not None else self._own
        assert buffer is not None
        count = _readinto(self._inner, buffer)  # type: ignore[arg-type]
        if self._hash is not None:
            self._hash.submit(buffer, count)
        self._chunk = memoryview(buffer)[:count]
        self._at = 0
        self._end += count
        if self._budget is not None:
            self._budget(self._end)
        return count > 0

    def _fill_lent(self, lender: Lender) -> bool:
        """``inner`` lends whole buffers (``registry_pipe.InflatingPipe``): read and hash each where
        it lies, and give it back once both the hash and this reader are done with it. On the fat
        JDK image this saves copying 700 MB on the parsing thread."""
        if self._lease is not None:
            self._lease.release()
            self._lease = None
        self._chunk = memoryview(b"")
        self._at = 0
        item = lender.take()
        if item is None:
            return False
        buffer, count = item
        lease = _Lease(buffer, lender.give_back, 2 if self._hash is not None else 1)
        if self._hash is not None:
            self._hash.submit(buffer, count, lease.release)
        self._lease = lease
        self._chunk = memoryview(buffer)[:count]
        self._end += count
        if self._budget is not None:
            self._budget(self._end)
        return True


class _Lease:
    """A buffer held by this reader and by the hash thread: it goes back when both let go of it."""

    def __init__(self, buffer: Writable, give_back: Callable[[Writable], None], holders: int) -> None:
        self._buffer = buffer
        self._give_back = give_back
        self._holders = holders
        self._lock = threading.Lock()

    def release(self, _buffer: object = None) -> None:
        """One holder lets go (the hash thread passes the buffer it hashed)."""
        with self._lock:
            self._holders -= 1
            last = self._holders == 0
        if last:
            self._give_back(self._buffer)


def _readinto(inner: IO[bytes], buffer: Any) -> int:
    readinto = getattr(inner, "readinto", None)
    if readinto is not None:
        return readinto(buffer) or 0
    data = inner.read(len(buffer))
    memoryview(buffer)[: len(data)] = data
    return len(data)

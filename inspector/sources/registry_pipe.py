"""A layer blob downloaded and inflated on a worker thread while the main thread parses it.

Why: a registry layer costs four kinds of work, the socket reads, inflating, hashing (the blob
digest and the diff ID) and parsing tar headers. Done in one thread, inflating and parsing add up:
on the fat JDK image (230 MB of gzip, 700 MB of tar) that made a cold summary take 2.3 times
``skopeo copy`` of the same image. ISA-L and zlib let go of the GIL while they inflate, as hashlib
does while it hashes, so here the worker reads the socket (``BlobStream`` hashes the blob digest
inline, on this same worker) and inflates, the diff ID is hashed on a third thread
(``ForwardReader``), and the main thread only parses.

Every bound stays where it was: the blob is cut at its descriptor's size, its digest is checked at
its end, the inflation ratio is checked as the bytes are produced (``stored.ratio_guard``), and the
worker runs at most ``DEPTH`` chunks of ``CHUNK`` bytes ahead of the parser (memory stays bounded
whatever the layer's size). Every byte is hashed once for each digest it must match.

The worker never closes the blob: the main thread joins it first, then owns the blob again (to
finish reading it and check its digest after a failed parse, so that a tampered blob is reported
as such, exit 3, rather than as whatever its damage made the parser say).
"""

from __future__ import annotations

import io
import queue
import threading
from typing import IO, Any, Protocol

from ..limits import Limits
from ..scratch import Writable, scratch
from .compression import open_uncompressed
from .interface import LayerScanner, T
from .reader import CountingReader, ForwardReader
from .stored import _guarded, ratio_guard
from .verify import LayerDigests

#: 2 MiB chunks: each costs the worker, the parser and the diff ID's hash thread a wait for the GIL,
#: and with 1 MiB ones those waits starved the worker (fat JDK image, cold, medians of 8 interleaved
#: against ``skopeo copy``: 1.35x with 1 MiB chunks, 1.24x with 2 MiB, 1.25x with 4 MiB).
CHUNK = 2 << 20
DEPTH = 2  # chunks the worker may run ahead of the parser (two layers at once: 16 MiB in all)
_POLL = 0.05  # seconds between looks at the stop flag while a queue is full or empty


class Blob(Protocol):
    """What the pipe needs of ``registry.BlobStream``: raw reads, then the digest check at the end."""

    def readinto(self, buffer: Any) -> int | None: ...

    def finish(self) -> None: ...


class _End:
    """The worker's last item: None for a clean end, else the exception it met."""

    def __init__(self, error: BaseException | None) -> None:
        self.error = error


class InflatingPipe:
    """The uncompressed tar of ``blob``, produced by a worker thread in whole buffers that are lent,
    front to back, to the reader (``ForwardReader`` hashes and parses each where it lies)."""

    def __init__(self, blob: Blob, limits: Limits) -> None:
        self._blob = blob
        self._limits = limits
        self._queue: queue.Queue[tuple[Writable, int] | _End] = queue.Queue(DEPTH)
        self._free: queue.SimpleQueue[Writable] = queue.SimpleQueue()
        self._spare = DEPTH + 2  # buffers ever allocated: the queue's, the one being filled, the one being read
        self._stop = threading.Event()
        self._ended: _End | None = None
        self._thread = threading.Thread(target=self._work, name="layer-inflate", daemon=True)
        self._thread.start()

    # --- the reader's side --------------------------------------------------------------------
    def take(self) -> tuple[Writable, int] | None:
        """The worker's next buffer and how much of it is filled, now the caller's (None at the end,
        raises what the worker met); the caller hands it back with ``give_back`` when done."""
        if self._ended is None:
            item = self._queue.get()
            if not isinstance(item, _End):
                return item
            self._ended = item
            self._thread.join()
        if self._ended.error is not None:
            raise self._ended.error
        return None

    def give_back(self, buffer: Writable) -> None:
        """A buffer ``take`` handed out is free to be filled again (from any thread)."""
        self._free.put(buffer)

    def stop(self) -> None:
        """Make the worker stop after its current chunk, and wait for it (the blob is ours again)."""
        self._stop.set()
        while self._thread.is_alive():
            self._drain_queue()
            self._thread.join(_POLL)
        self._drain_queue()

    def _drain_queue(self) -> None:
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, _End):
                self._ended = self._ended or item
            else:
                self._free.put(item[0])

    # --- the worker's side ------------------------------------------------------------------
    def _work(self) -> None:
        try:
            stored = CountingReader(self._blob)  # type: ignore[arg-type]
            stream = open_uncompressed(io.BufferedReader(stored, buffer_size=CHUNK))
            guard = ratio_guard(stored, self._limits)
            produced = 0
            while not self._stop.is_set():
                buffer = self._buffer()
                if buffer is None:
                    return
                count = _readinto(stream, buffer)
                if not count:
                    self._free.put(buffer)
                    break
                produced += count
                guard(produced)
                if not self._put((buffer, count)):
                    return
            if self._stop.is_set():
                return
            self._blob.finish()  # what the decompressor left (padding), then the digest check
            self._put(_End(None))
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread, which raises it
            self._put(_End(exc))

    def _buffer(self) -> Writable | None:
        if self._spare:
            self._spare -= 1
            return scratch(CHUNK)
        while not self._stop.is_set():
            try:
                return self._free.get(timeout=_POLL)
            except queue.Empty:
                continue
        return None

    def _put(self, item: tuple[Writable, int] | _End) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=_POLL)
                return True
            except queue.Full:
                continue
        return False


def scan_piped(scanner: LayerScanner[T], blob: Blob, where: str, limits: Limits,
               algorithms: tuple[str, ...]) -> tuple[T, LayerDigests]:
    """Run ``scanner`` over the inflated ``blob`` and hash its tar with ``algorithms`` (the diff ID).

    Errors are one line naming the layer, as ``stored.run_scanner`` reports them. On any error the
    worker is stopped before this returns: the caller may then read the blob itself.
    """
    return _guarded(lambda: _scan(scanner, blob, limits, algorithms), where)


def _scan(scanner: LayerScanner[T], blob: Blob, limits: Limits,
          algorithms: tuple[str, ...]) -> tuple[T, LayerDigests]:
    pipe = InflatingPipe(blob, limits)
    reader = ForwardReader(pipe, hash_it=True, algorithms=algorithms)
    try:
        result = scanner(reader)  # type: ignore[arg-type]
        reader.drain()
        return result, LayerDigests(diff_ids=reader.digests())
    finally:  # a failed scan must leave neither thread running
        pipe.stop()
        reader.close()


def _readinto(inner: IO[bytes], buffer: Writable) -> int:
    return inner.readinto(buffer) or 0  # type: ignore[attr-defined]



"""Digests of a stream computed on another core while the stream is being parsed.

hashlib lets go of the GIL while it hashes a large buffer, so a thread can hash a layer's bytes
while the main thread parses tar headers: on a 700 MB engine save that hides the 0.4-0.5 s the
hash would otherwise add. Buffers go round a small pool: the reader fills one, hands it over, and
gets it back once hashed, so nothing is copied for the hash and memory stays bounded.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable

from ..scratch import Writable, scratch

#: 4 MiB buffers: the hashing thread needs the GIL back after each one, which costs up to a switch
#: interval (5 ms) while the parser holds it. On the bench's fat JDK archive, against 1 MiB buffers
#: (medians of 5, interleaved): the summary 1.78 -> 1.66 s, the ``--files`` JSON listing 2.73 -> 2.25 s.
#: Larger pools measured no better: they only add memory.
BUFFER = 4 << 20
POOL = 4  # buffers per hasher: how far the reader may run ahead of the hash (16 MiB)


class BackgroundHash:
    """Hash the buffers it is handed, in order, on a worker thread.

    SHA-256 by default; ``algorithms`` adds others (SHA-512) when a digest to be checked, or one not
    yet known (a one-pass stream under ``--verify``), may use them.
    """

    def __init__(self, algorithms: tuple[str, ...] = ("sha256",), size: int = BUFFER) -> None:
        self._hashers = {name: hashlib.new(name) for name in algorithms}
        self._size = size
        self._free: queue.SimpleQueue[Writable] = queue.SimpleQueue()
        self._spare = POOL
        self._work: queue.SimpleQueue[tuple[Writable, int, Callable[[Writable], None] | None] | None] = \
            queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="layer-hash", daemon=True)
        self._thread.start()
        self._digests: dict[str, str] | None = None

    def buffer(self) -> Writable:
        """A buffer to fill; blocks while the hash is ``POOL`` buffers behind."""
        if self._spare:
            self._spare -= 1
            return scratch(self._size)
        return self._free.get()

    def submit(self, buffer: Writable, count: int, done: Callable[[Writable], None] | None = None) -> None:
        """Hash ``buffer[:count]``; the buffer must not be written again until ``buffer()`` returns it,
        or, for a buffer that is not this hasher's own, until ``done(buffer)`` is called."""
        self._work.put((buffer, count, done))

    def hexdigest(self) -> str:
        """The hex digest of the first algorithm."""
        return next(iter(self.hexdigests().values()))

    def hexdigests(self) -> dict[str, str]:
        """Every algorithm's hex digest, by name."""
        if self._digests is None:
            self._work.put(None)
            self._thread.join()
            self._digests = {name: hasher.hexdigest() for name, hasher in self._hashers.items()}
        return self._digests

    def close(self) -> None:
        """Stop the worker without waiting for a digest (the stream was abandoned)."""
        if self._digests is None and self._thread.is_alive():
            self._work.put(None)

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is None:
                return
            buffer, count, done = item
            with memoryview(buffer) as view:
                for hasher in self._hashers.values():
                    hasher.update(view[:count])
            if done is None:
                self._free.put(buffer)
            else:
                done(buffer)

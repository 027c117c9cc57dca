"""One thread for the process that enforces every time limit of the registry source.

A socket's timeout counts silence per read: a hostile registry sending a byte just before each
timeout would hold a download, and the run or the audit's worker, for ever. An answer's headers
and its bounded bodies get a deadline in all (``registry_http.Deadline``); a layer's body may
rightly take long on a slow link, so it gets curl's kind of limit instead: each read of a chunk
must end within ``max(rate_window, chunk / min_rate)`` seconds (``registry.BlobStream``). Each
read only notes when it began (no timer per chunk or request: starting one costs 165 µs, 3-4% of
a fast download); this thread looks every ``PERIOD`` and shuts the socket of a read past its time,
whose reader then fails."""

from __future__ import annotations

import os
import threading
import time
import weakref
from typing import Protocol

PERIOD = 0.25


class Watched(Protocol):
    def stalled(self, now: float) -> None:
        """Check the read in progress against ``now`` (``time.monotonic()``); stop it if it is late."""


class _Monitor(threading.Thread):
    def __init__(self) -> None:
        super().__init__(name="registry-stalls", daemon=True)
        self._streams: weakref.WeakSet[Watched] = weakref.WeakSet()  # a stream dropped unfinished leaves
        self._lock = threading.Lock()
        self._busy = threading.Event()

    def watch(self, stream: Watched) -> None:
        with self._lock:
            self._streams.add(stream)
            self._busy.set()

    def forget(self, stream: Watched) -> None:
        with self._lock:
            self._streams.discard(stream)

    def run(self) -> None:
        while True:
            self._busy.wait()
            time.sleep(PERIOD)
            with self._lock:
                streams = list(self._streams)
                if not streams:
                    self._busy.clear()  # under the lock: a stream watched now sets it again
            now = time.monotonic()
            for stream in streams:
                stream.stalled(now)
            del streams


_MONITOR: _Monitor | None = None
_START = threading.Lock()


def _after_fork() -> None:
    """A forked child (an audit worker, a scan helper) has none of its parent's threads, and may
    have copied a lock the monitor held: it starts a monitor of its own when it first needs one."""
    global _MONITOR, _START
    _MONITOR, _START = None, threading.Lock()


os.register_at_fork(after_in_child=_after_fork)


def watch(stream: Watched) -> None:
    """Look after ``stream`` until ``forget`` (or until it is garbage)."""
    global _MONITOR
    with _START:
        if _MONITOR is None:
            _MONITOR = _Monitor()
            _MONITOR.start()
    _MONITOR.watch(stream)


def forget(stream: Watched) -> None:
    if _MONITOR is not None:
        _MONITOR.forget(stream)

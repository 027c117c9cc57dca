"""The merging process's side: start the helper, hand it the top of the stack, take its layers.

The split is decided as the work goes, not planned from sizes (a layer's bytes say little about its
cost: a JDK layer of 500 MB scans faster than 100 MB of small files): the helper claims the next
layer down each time it finishes one, this process claims each layer up as it reaches it, and they
stop where they meet. A shared pair of integers under a lock is the whole protocol.

What the helper sends is received by a thread here as it arrives, into a mapping of its own, and
unpacked when its turn in the stack comes, on the merging thread (a second thread allocates from a
glibc heap of its own: trees unpacked there kept 17 MB more resident on a million entries). The
helper stops taking layers once what it sent holds more entries than the limit, so at most that
many entries beyond this process's own are ever held before the limit is checked in stack order.
"""

from __future__ import annotations

import mmap
import multiprocessing
import pickle
import threading
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING

from ..fs.helper import Scanned
from ..fs.transfer import unpack
from ..scratch import scratch
from .job import MAX_HEAD, Job, serve

if TYPE_CHECKING:
    from ..sources.interface import Image, LayerInfo


@dataclass
class Packed:
    """A layer as it arrived: ``Scanned`` with its tree still packed, in a mapping of its own."""

    tree: mmap.mmap
    diff_id: str | None  # as the helper's own open of the image read it
    verified: bool
    layers_checked: int
    layers_unchecked: int
    blobs_checked: int
    from_cache: bool


class ProcessHelper:
    """``fs.LayerHelper`` backed by one forked process running ``job.serve``."""

    def __init__(self, job: Job, layers: int) -> None:
        context = multiprocessing.get_context("fork")  # starts in milliseconds, with every module loaded
        self._claims = context.RawArray("q", [-1, layers])
        self._lock = context.Lock()
        receiving, sending = context.Pipe(duplex=False)
        self._process = context.Process(target=serve, args=(job, self._claims, self._lock, sending),
                                        name="inspect-image layer helper", daemon=True)
        self._process.start()
        sending.close()
        self._ready: dict[int, Packed | None] = {}
        self._ended = False
        self._changed = threading.Condition()
        self._thread = threading.Thread(target=self._receive, args=(receiving,), daemon=True,
                                        name="inspect-image helper results")
        self._thread.start()

    def take(self, info: LayerInfo) -> Scanned | None:
        index = info.index
        with self._lock:
            if index < self._claims[1]:
                self._claims[0] = index  # ours: the helper takes nothing at or below it now
                return None
        with self._changed:
            while index not in self._ready and not self._ended:
                self._changed.wait()
            got = self._ready.pop(index, None)
        if got is None:
            return None
        if got.diff_id is None or got.diff_id != info.diff_id or not (got.verified or got.from_cache):
            got.tree.close()  # the file changed under us, or bytes nobody checked: read it here
            return None
        with got.tree:  # unpacked on this thread: a second thread allocates from a heap of its own
            return Scanned(unpack(got.tree), got.verified, got.layers_checked, got.layers_unchecked,
                           got.blobs_checked, got.from_cache)

    def close(self) -> None:
        with self._lock:
            self._claims[0] = self._claims[1]  # nothing more to take
        self._process.join(timeout=0.5)
        if self._process.is_alive():
            self._process.kill()
            self._process.join()
        self._thread.join()
        for packed in self._ready.values():
            if packed is not None:
                packed.tree.close()
        self._ready.clear()

    def _receive(self, results: Connection) -> None:
        try:
            while True:
                index, head = pickle.loads(results.recv_bytes(MAX_HEAD))  # noqa: S301 - our helper's
                scanned = None
                if head is not None:
                    length, diff_id, verified, checked, unchecked, blobs, from_cache = head
                    packed = scratch(length)  # not the heap: 10 MB freed there is a hole for good
                    results.recv_bytes_into(packed)
                    scanned = Packed(packed, diff_id, verified, checked, unchecked, blobs, from_cache)
                with self._changed:
                    self._ready[index] = scanned
                    self._changed.notify_all()
        except (EOFError, OSError):
            pass  # the helper is done (or gone): every layer it did not send is read here
        finally:
            results.close()
            with self._changed:
                self._ended = True
                self._changed.notify_all()


def start_helper(job: Job, image: Image, jobs: int) -> ProcessHelper | None:
    """A helper for ``image``'s scan when it can be one, else None: ``jobs`` under 2, a single layer,
    an image that cannot be opened again by its own handles (standard input, a pipe, the engine; the
    registry's source downloads the next layer on a thread of its own already), or threads already
    running here (a forked child gets only this one: a lock another held stays locked there). Its
    start costs milliseconds, so no image is too small for one (a distroless image's summary takes
    as long either way)."""
    if jobs < 2 or not image.reopenable:  # first: a one-pass stream's ``meta`` would read it all now
        return None
    layers = image.meta.layers
    if len(layers) < 2 or image.known_diff_ids() is None:
        return None
    if threading.active_count() > 1:
        return None
    return ProcessHelper(job, len(layers))

"""The merging process's side: start the helpers, hand them the top of the stack, take their layers.

The split is decided as the work goes, not planned from sizes (a layer's bytes say little about its
cost: a JDK layer of 500 MB scans faster than 100 MB of small files): each helper claims the next
layer down each time it finishes one, this process claims each layer up as it reaches it, and they
stop where they meet. This process decides every claim, under one lock.

What a helper sends is received by a thread here as it arrives, into a mapping of its own, and
unpacked when its turn in the stack comes, on the merging thread (a second thread allocates from a
glibc heap of its own: trees unpacked there kept 17 MB more resident on a million entries). No
helper is given another layer once what they sent together holds more entries than the limit, so
at most that many entries (and the layers then being scanned) beyond this process's own are ever
held before the limit is checked in stack order.
"""

from __future__ import annotations

import mmap
import os
import pickle
import signal
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from ..fs.helper import Scanned
from ..fs.transfer import unpack
from ..scratch import scratch
from . import channel
from .channel import HelperEnd
from .job import Job, serve

if TYPE_CHECKING:
    from ..fs import LayerTree
    from ..fs.cache import CacheUse
    from ..fs.layer import ContentProbe
    from ..limits import Limits
    from ..sources.interface import Image, LayerInfo

#: Helpers at most, whatever --jobs says: each costs a process and a tree's worth of memory.
MAX_HELPERS = 15


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
    unpacked: LayerTree | None = None  # made while this process waited for a layer below it

    @property
    def checked(self) -> bool:
        """Its bytes were hashed against a diff ID the helper read (or came from a cache entry that
        vouched for them): worth unpacking. ``take`` also holds that ID to this process's own."""
        return self.diff_id is not None and (self.verified or self.from_cache)

    def close(self) -> None:
        self.tree.close()
        self.unpacked = None


@dataclass(eq=False)
class _Child:
    """One helper process, as this process sees it: its pid, this side of its two pipes."""

    pid: int
    results: int
    answers: int
    alive: bool = True
    thread: threading.Thread | None = field(default=None, repr=False)


class ProcessHelper:
    """``fs.LayerHelper`` backed by ``count`` forked processes, each running ``job.serve``.

    A plain ``os.fork`` and two pipes per helper: a fork starts in a millisecond with every module
    loaded, and ``multiprocessing`` alone would cost a run 15 ms of imports (a tenth of a small
    image's). A helper claims each layer by asking this process (``channel.CLAIM``), whose receiving
    thread answers under the lock ``take`` claims under: one side decides, so no layer is taken twice.
    """

    def __init__(self, job: Job, layers: int, count: int = 1) -> None:
        self._changed = threading.Condition()  # guards everything below
        self._layers = layers
        self._front, self._back = -1, layers  # the layer this process took last, the helpers' lowest
        self._owner: dict[int, _Child] = {}  # a claimed layer → the helper that claimed it
        self._ready: dict[int, Packed | None] = {}
        self._received = 0  # entries in the layers the helpers sent
        self._limit = job.limits.max_entries
        self._children: list[_Child] = []
        for _ in range(max(1, min(count, MAX_HELPERS))):
            self._children.append(self._fork(job))
        for child in self._children:  # threads only once every fork is done: a fork copies held locks
            child.thread = threading.Thread(target=self._receive, args=(child,), daemon=True,
                                            name="inspect-image helper results")
            child.thread.start()

    def _fork(self, job: Job) -> _Child:
        results, results_to = os.pipe()
        answers_from, answers = os.pipe()
        channel.widen(results)  # see channel.PIPE_BYTES
        inherited = [fd for child in self._children for fd in (child.results, child.answers)]
        pid = os.fork()
        if pid == 0:  # a helper: never returns
            code = 1
            try:
                for fd in (results, answers, *inherited):
                    os.close(fd)
                serve(job, HelperEnd(answers_from, results_to))
                code = 0
            except BaseException:  # noqa: BLE001, S110 - the merging process reads what was not sent
                pass
            finally:
                os._exit(code)  # no atexit handlers, no flush of the parent's buffers
        os.close(results_to)
        os.close(answers_from)
        return _Child(pid, results, answers)

    def claimed(self) -> int:
        """How many layers, from the top, the helpers have claimed so far."""
        with self._changed:
            return self._layers - self._back

    def take(self, info: LayerInfo) -> Scanned | None:
        index = info.index
        with self._changed:
            if index < self._back:
                self._front = index  # ours: no helper takes anything at or below it now
                return None
            owner = self._owner[index]
            while index not in self._ready and owner.alive:
                if not self._unpack_ahead(index):
                    self._changed.wait()
            got = self._ready.pop(index, None)
        if got is None:
            return None
        if not got.checked or got.diff_id != info.diff_id:
            got.close()  # the file changed under us, or bytes nobody checked: read it here
            return None
        tree = got.unpacked
        if tree is None:
            with got.tree:  # unpacked on this thread: a second thread allocates from a heap of its own
                tree = unpack(got.tree)
        return Scanned(tree, got.verified, got.layers_checked, got.layers_unchecked, got.blobs_checked,
                       got.from_cache)

    def _unpack_ahead(self, waiting: int) -> bool:
        """While layer ``waiting`` is still being scanned, unpack the next layer above it that has
        arrived, instead of sitting idle: once it comes, what is left is its own unpacking, not
        every helper layer's (on a million entries, 0.3 s of idle wait became work). Called with
        the lock held; unpacks without it. False: nothing to unpack now."""
        ahead = {index: got for index, got in self._ready.items()
                 if index > waiting and got is not None and got.unpacked is None and got.checked}
        if not ahead:
            return False
        got = ahead[min(ahead)]  # only this thread takes from _ready: it stays there meanwhile
        self._changed.release()
        try:
            with got.tree:
                got.unpacked = unpack(got.tree)
        finally:
            self._changed.acquire()
        return True

    def close(self) -> None:
        with self._changed:
            self._front = self._back  # nothing more to take
        deadline = time.monotonic() + 0.5
        for child in self._children:
            while os.waitpid(child.pid, os.WNOHANG) == (0, 0):
                if time.monotonic() > deadline:  # still scanning a layer nobody will take
                    os.kill(child.pid, signal.SIGKILL)
                    os.waitpid(child.pid, 0)
                    break
                time.sleep(0.002)
        for child in self._children:
            if child.thread is not None:
                child.thread.join()
            os.close(child.answers)
        self._children = []
        for packed in self._ready.values():
            if packed is not None:
                packed.close()
        self._ready.clear()

    def _claim(self, child: _Child) -> int | None:
        with self._changed:
            index = self._back - 1
            if index <= self._front or self._received > self._limit:
                return None
            self._back = index
            self._owner[index] = child
            return index

    def _receive(self, child: _Child) -> None:
        fd = child.results
        try:
            while True:
                kind, length = channel.receive_head(fd)
                if kind == channel.CLAIM:
                    channel.answer(child.answers, self._claim(child))
                    continue
                if kind != channel.RESULT or length > channel.MAX_HEAD:
                    break
                index, head = pickle.loads(channel.read_exactly(fd, length))  # noqa: S301 - our helper's
                scanned, entries = None, 0
                if head is not None:
                    size, entries, diff_id, verified, checked, unchecked, blobs, from_cache = head
                    kind, length = channel.receive_head(fd)
                    if kind != channel.DATA or length != size or size <= 0:
                        break
                    packed = scratch(size)  # not the heap: 10 MB freed there is a hole for good
                    channel.read_into(fd, memoryview(packed))
                    scanned = Packed(packed, diff_id, verified, checked, unchecked, blobs, from_cache)
                with self._changed:
                    self._ready[index] = scanned
                    self._received += entries
                    self._changed.notify_all()
        except Exception:  # noqa: BLE001, S110 - done, gone or garbled: every layer it did not send is read here
            pass
        finally:
            os.close(fd)
            with self._changed:
                child.alive = False
                self._changed.notify_all()


def start_helper(image: Image, probe: ContentProbe | None, cache: CacheUse | None, limits: Limits,
                 jobs: int) -> ProcessHelper | None:
    """Helpers for ``image``'s scan (``jobs`` - 1 of them, one less than its layers at most) when it
    can have them, else None: ``jobs`` under 2, an image that cannot be opened again by handles of
    its own (standard input, a pipe, the engine; the registry's source downloads the next layer on
    a thread of its own already), a single layer, or threads already running here (a forked child
    gets only the forking one: a lock another held stays locked there). A start costs milliseconds,
    so no image is too small for one (a distroless image's summary takes as long either way)."""
    if jobs < 2 or image.reopen is None:  # first: a one-pass stream's ``meta`` would read it all now
        return None
    layers = image.meta.layers
    if len(layers) < 2 or image.known_diff_ids() is None:
        return None
    if threading.active_count() > 1:
        return None
    return ProcessHelper(Job(image.reopen, probe, cache, limits), len(layers), min(jobs - 1, len(layers) - 1))

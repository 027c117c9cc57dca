"""A long listing written by two processes: this one writes the first part, a fork the rest.

``--files --format json`` of a million entries spent 4.7 s writing after the scan (4.7 µs an
entry: the walk, each entry made with its package, its JSON text), on one CPU while the other
idled. By then the merged tree is only read: a fork shares it, writes the second part of the
listing into an unnamed temporary file, and this process copies that after writing the first part.

The output is byte for byte the one-process output: the fork encodes as ``out`` does, and the split
is a count of entries, not a guess about paths, so a wrong ``total`` only unbalances the two
parts. Should the fork fail in any way (no space for the file, a rendering error, a signal), this
process writes the rest itself: the same bytes, or the same error, as with one process.
"""

from __future__ import annotations

import gc
import io
import os
import shutil
import signal
import tempfile
import threading
from collections.abc import Callable, Iterable
from itertools import islice
from typing import IO, BinaryIO, TextIO, TypeVar, cast

T = TypeVar("T")

#: Below this many entries a fork and the copy cost more than the second CPU saves.
MIN_ENTRIES = 50_000
#: The share of entries written here: the fork also walks past them (0.5 µs each against 4.7 µs
#: for an entry written), and this process copies the fork's part after its own.
HERE = 0.55

#: Writes entries to a stream; ``first``: no entry precedes them in the listing. True if it wrote any.
Write = Callable[[Iterable[T], TextIO, bool], bool]


def write_listing(listing: Callable[[int], Iterable[T]], total: int | Callable[[], int], write: Write[T],
                  out: TextIO, jobs: int) -> bool:
    """``write(listing(0), out, True)``, in two processes when ``jobs`` allows, ``out`` is a file
    this process can copy bytes into and ``total`` (about how many entries ``listing`` holds, or
    what counts them: asked only then) is large. ``listing(n)`` gives the entries from the ``n``-th
    on, passing over the ones before it cheaply."""
    binary = getattr(out, "buffer", None)
    if jobs < 2 or binary is None or not getattr(out, "encoding", None) \
            or threading.active_count() > 1:  # a fork copies the locks other threads hold
        return write(listing(0), out, True)
    count = total() if callable(total) else total  # a walk of the tree: not for one process
    if count < MIN_ENTRIES:
        return write(listing(0), out, True)
    here = max(1, int(count * HERE))
    with tempfile.TemporaryFile(prefix="inspect-image-listing-") as spill:
        child = os.fork()
        if child == 0:  # the fork: never returns
            _write_rest(listing, here, write, out, spill)
        pid: int | None = child
        try:
            wrote = write(islice(listing(0), here), out, True)
            _, status = os.waitpid(child, 0)
            pid = None
            if status != 0:  # write the rest here: the same bytes, or the same error
                return write(listing(here), out, not wrote) or wrote
            out.flush()
            spill.seek(0)
            shutil.copyfileobj(spill, binary, 1 << 20)
            return wrote or spill.tell() > 0
        finally:
            if pid is not None:  # this process failed first (a closed stdout, Ctrl-C): stop the fork
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)


def _write_rest(listing: Callable[[int], Iterable[T]], here: int, write: Write[T], out: TextIO,
                spill: IO[bytes]) -> None:
    code = 1
    try:
        gc.disable()  # a collection would touch every object of the shared tree: its pages copied for nothing
        sink = io.TextIOWrapper(cast(BinaryIO, spill), encoding=out.encoding, errors=out.errors)
        write(listing(here), sink, False)
        sink.flush()
        code = 0
    except BaseException:  # noqa: BLE001, S110 - the first process writes this part itself
        pass
    finally:
        os._exit(code)  # no atexit handlers, no flush of the parent's buffers (its part of stdout)

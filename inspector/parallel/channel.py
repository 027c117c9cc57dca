"""The two pipes between the merging process and its helper, and the frames on them.

Results pipe (helper → merging process): frames of a kind byte and a length, then that many bytes.
``CLAIM`` asks which layer to take next; the answer comes back on the answers pipe as 8 bytes (a
layer index, or -1: stop). ``RESULT`` is a layer's head (a small pickle: its index and counts, or
None when the helper could not do it), followed by a ``DATA`` frame with its packed tree when it
could. Both ends are ours (the helper is a fork of this process); the reader still bounds what it
takes of each kind.
"""

from __future__ import annotations

import fcntl
import os
import pickle
import struct
from typing import Any

_HEAD = struct.Struct("<cQ")
_INDEX = struct.Struct("<q")

CLAIM, RESULT, DATA = b"C", b"R", b"D"
#: Bytes of a ``RESULT`` head (the tree follows in a frame of its own).
MAX_HEAD = 4096
#: What a results pipe holds: a 64 KiB pipe made each tree of 7 MB 100 hand-overs of the receiving
#: thread, each waiting for the merging thread to let go of the interpreter (up to 5 ms), and the
#: helper stood still meanwhile: 0.15 s more per 100,000-entry layer than with 1 MiB. Linux's
#: default ceiling for an unprivileged process (``/proc/sys/fs/pipe-max-size``) is 1 MiB.
PIPE_BYTES = 1 << 20


class HelperEnd:
    """What the helper process holds: its way to claim layers and to send them back."""

    def __init__(self, answers: int, results: int) -> None:
        self.answers, self.results = answers, results

    def claim(self) -> int | None:
        """The next layer down, or None once the merging process has reached it."""
        send(self.results, CLAIM)
        (index,) = _INDEX.unpack(read_exactly(self.answers, _INDEX.size))
        return None if index < 0 else index

    def result(self, index: int, head: tuple[Any, ...] | None, packed: bytes = b"") -> None:
        send(self.results, RESULT, pickle.dumps((index, head)))
        if head is not None:
            send(self.results, DATA, packed)


def widen(fd: int) -> None:
    """Make the pipe at ``fd`` hold ``PIPE_BYTES``, or as much as the system lets it (Linux only)."""
    setter = getattr(fcntl, "F_SETPIPE_SZ", None)
    if setter is None:
        return
    for size in (PIPE_BYTES, PIPE_BYTES // 4):
        try:
            fcntl.fcntl(fd, setter, size)
            return
        except OSError:  # above the system's ceiling: try less, else keep the default
            continue


def answer(fd: int, index: int | None) -> None:
    """The merging process's answer to a ``CLAIM``."""
    _write_all(fd, _INDEX.pack(-1 if index is None else index))


def send(fd: int, kind: bytes, payload: bytes = b"") -> None:
    head = _HEAD.pack(kind, len(payload))
    if len(payload) < 65536:
        _write_all(fd, head + payload)
    else:  # no copy of a tree's megabytes just to put 9 bytes in front
        _write_all(fd, head)
        _write_all(fd, payload)


def receive_head(fd: int) -> tuple[bytes, int]:
    """The next frame's kind and length; ``EOFError`` once the other end closed its pipe."""
    kind, length = _HEAD.unpack(read_exactly(fd, _HEAD.size))
    return kind, length


def read_exactly(fd: int, size: int) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = os.read(fd, size - len(data))
        if not chunk:
            raise EOFError("the other end closed the pipe")
        data += chunk
    return bytes(data)


def read_into(fd: int, buffer: memoryview) -> None:
    """Fill ``buffer`` from the pipe: a packed tree, straight into a mapping of its own."""
    done = 0
    while done < len(buffer):
        count = os.readv(fd, [buffer[done:]])
        if count == 0:
            raise EOFError("the other end closed the pipe")
        done += count


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view):]

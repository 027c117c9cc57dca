"""Large, short-lived buffers mapped from the kernel on their own, never taken from the C heap.

glibc serves a request of 128 KiB or more with a mapping of its own only until the first such
mapping is freed: it then raises that threshold to the freed size (up to 32 MiB), and later large
buffers come from the heap, between the small blocks of the tree being built. Freed, they leave
holes the heap cannot give back. Each layer's 4 MiB hash buffers did that: 19 MB of the 184 MB
resident after the layers of a million-entry image were read. An anonymous ``mmap`` is always a
mapping of its own, returned whole to the kernel when it is dropped.
"""

from __future__ import annotations

import mmap

#: What a scratch buffer is: writable, sliceable, and takes ``readinto`` and ``memoryview``.
Writable = bytearray | mmap.mmap


def scratch(size: int) -> mmap.mmap:
    """A zeroed buffer of ``size`` bytes, outside the C heap.

    Private, as heap memory is: a process forked while it exists (the audit's pool) gets its own copy
    on write, not the same pages (an anonymous ``mmap`` is shared by default). Running out of memory
    is a ``MemoryError``, as for a ``bytearray``: the layer readers take an ``OSError`` for a broken
    stream and would report a sound layer as truncated."""
    try:
        if hasattr(mmap, "MAP_PRIVATE"):
            return mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        return mmap.mmap(-1, size)  # Windows: no flags, and its anonymous maps are not inherited
    except OSError as exc:
        raise MemoryError(f"cannot map a {size:,}-byte buffer: {exc}") from exc

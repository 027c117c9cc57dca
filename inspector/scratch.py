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
    """A zeroed buffer of ``size`` bytes, outside the C heap."""
    return mmap.mmap(-1, size)

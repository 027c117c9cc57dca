"""Walking a tar's members with random access, safely.

tarfile trusts each header's size: a negative size (possible through a PAX ``size`` record) sends
its next read back to the same header, forever. Every walk here insists that members move
forward, and forgets headers as it goes so memory stays flat however many members there are.
"""

from __future__ import annotations

import tarfile
from typing import Iterator

from .errors import ImageFormatError


def members(tar: tarfile.TarFile) -> Iterator[tarfile.TarInfo]:
    """The members of ``tar`` in order; a header that does not move forward is an error."""
    last = -1
    while True:
        member = tar.next()
        if member is None:
            return
        tar.members.clear()  # tarfile keeps every header it read; nobody here needs them
        if member.offset <= last or member.size < 0 or member.offset_data < member.offset:
            raise ImageFormatError(f"tar member {member.name[:80]!r} has an impossible size or position "
                                   f"({member.size} bytes at {member.offset})")
        last = member.offset
        yield member

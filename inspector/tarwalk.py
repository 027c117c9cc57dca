"""Walking a tar's members with random access, safely.

tarfile trusts each header's size: a negative size (possible through a PAX ``size`` record) sends
its next read back to the same header, forever. Every walk here insists that members move
forward, and forgets headers as it goes so memory stays flat however many members there are.
"""

from __future__ import annotations

import tarfile
from typing import Iterator

from .errors import ImageFormatError


class StrictTarInfo(tarfile.TarInfo):
    """tarfile ends an archive quietly at a damaged or cut header; here that is an error.

    Only a zero block (the end-of-archive marker) ends a tar. Pass as ``tarinfo=`` to ``tarfile.open``.
    """

    @classmethod
    def fromtarfile(cls, tarfile_: tarfile.TarFile) -> tarfile.TarInfo:  # type: ignore[override]
        try:
            return super().fromtarfile(tarfile_)
        except tarfile.EOFHeaderError:
            raise  # a zero block: the proper end
        except (tarfile.TruncatedHeaderError, tarfile.InvalidHeaderError, tarfile.EmptyHeaderError) as exc:
            if tarfile_.offset == 0:
                raise
            what = "ends" if isinstance(exc, tarfile.EmptyHeaderError) else "has a damaged or cut header"
            raise ImageFormatError(f"the tar {what} at byte {tarfile_.offset}, before its end marker: "
                                   "it is truncated or corrupt") from None


def open_tar(fileobj, mode: str = "r:") -> tarfile.TarFile:  # type: ignore[no-untyped-def]
    """``tarfile.open`` with strict headers (see ``StrictTarInfo``)."""
    return tarfile.open(fileobj=fileobj, mode=mode, tarinfo=StrictTarInfo, errorlevel=2)


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

"""Walking a tar's members with random access, safely.

tarfile trusts each header's size: a negative size (possible through a PAX ``size`` record) sends
its next read back to the same header, forever. Every walk here insists that members move
forward, and forgets headers as it goes so memory stays flat however many members there are.
"""

from __future__ import annotations

import io
import tarfile
from typing import IO, Any, Iterator

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


class _Cursor:
    """The few things ``TarInfo.fromtarfile`` asks of a TarFile, over a stream read front to back."""

    def __init__(self, stream: IO[bytes]) -> None:
        self.fileobj = self  # fromtarfile reads headers (and PAX/GNU long-name data) through this
        self.encoding = tarfile.ENCODING
        self.errors = "surrogateescape"
        self.pax_headers: dict[str, str] = {}
        self.offset = 0  # where the next header starts; the TarInfo methods advance it
        self._stream = stream
        self._pos = 0
        self._scratch = memoryview(bytearray(1 << 20))

    def tell(self) -> int:
        return self._pos

    def read(self, size: int) -> bytes:
        """``size`` bytes unless the stream ends: tarfile takes a short header for a cut archive,
        and a raw pipe or socket may hand over less than asked at any time."""
        data = self._stream.read(size)
        while data is not None and 0 < len(data) < size:
            more = self._stream.read(size - len(data))
            if not more:
                break
            data += more
        self._pos += len(data or b"")
        return data or b""

    def readinto(self, buffer: memoryview) -> int:
        count = self._stream.readinto(buffer) or 0  # type: ignore[attr-defined]
        self._pos += count
        return count

    def skip_to(self, target: int) -> None:
        while self._pos < target:
            if not self.readinto(self._scratch[: min(target - self._pos, len(self._scratch))]):
                raise ImageFormatError(f"the tar ends at byte {self._pos}, inside a member: it is truncated")


class MemberReader(io.RawIOBase):
    """One member's data, read straight from the archive stream (no copy), never past its end.

    Not seekable: whoever needs to skip reads forward, which is all a one-pass stream allows.
    """

    def __init__(self, cursor: _Cursor, start: int, size: int) -> None:
        self._cursor = cursor
        self._end = start + size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        left = self._end - self._cursor.tell()
        if left <= 0:
            return 0
        count = self._cursor.readinto(memoryview(buffer)[:left])
        if not count:
            raise ImageFormatError(f"the tar ends at byte {self._cursor.tell()}, inside a member: it is truncated")
        return count


def stream_members(stream: IO[bytes]) -> Iterator[tuple[tarfile.TarInfo, MemberReader | None]]:
    """Walk a tar that can be read only once: each member with a reader of its data (files only).

    What tarfile's stream mode (``r|``) does, minus its copies: it gathers data 10 KiB at a time and
    joins it, which costs more than everything else on a fast stream (a 700 MB engine save). A
    member's reader is valid until the next member is asked for; unread data is skipped then.
    """
    cursor = _Cursor(stream)
    while True:
        try:
            member = StrictTarInfo.fromtarfile(cursor)  # type: ignore[arg-type]
        except tarfile.EOFHeaderError:
            return  # the end marker (what follows it is padding)
        except tarfile.EmptyHeaderError:
            if cursor.offset == 0:
                raise tarfile.ReadError("empty file") from None
            raise ImageFormatError(f"the tar ends at byte {cursor.offset}, before its end marker: "
                                   "it is truncated or corrupt") from None
        if member.size < 0:  # possible through a PAX record; the cursor itself only moves forward
            raise ImageFormatError(f"tar member {member.name[:80]!r} has an impossible size or position "
                                   f"({member.size} bytes at {member.offset})")
        has_data = member.isreg() and not member.issparse()
        yield member, MemberReader(cursor, member.offset_data, member.size) if has_data else None
        cursor.skip_to(cursor.offset)  # past the data (and its padding) to the next header

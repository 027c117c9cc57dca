"""Export as a tar stream: nothing touches the local filesystem, so nothing can escape."""

from __future__ import annotations

import errno
import os
import tarfile
from typing import IO

from ..errors import InspectorError
from ..fs.entry import Entry

_TYPES = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "char": tarfile.CHRTYPE,
          "block": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE, "file": tarfile.REGTYPE}


def open_tar_dest(path: str) -> IO[bytes]:
    """Create the file ``path`` for a tar export: never an existing file, never through a symlink.

    ``O_EXCL`` with ``O_CREAT`` refuses any existing name, a dangling symlink included (which a plain
    ``open`` would follow to create its target), and ``O_NOFOLLOW`` says so even where ``O_EXCL``
    would not. Every failure is one line naming the path.
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno in (errno.EEXIST, errno.ELOOP) or os.path.lexists(path):
            reason = "is a symlink" if os.path.islink(path) else "already exists"
            raise InspectorError(f"{path} {reason}; export writes a new .tar file, never over or through "
                                 "an existing one") from exc
        raise InspectorError(f"cannot create {path}: {exc.strerror}") from exc
    return os.fdopen(fd, "wb")


class TarWriter:
    def __init__(self, out: IO[bytes]) -> None:
        self._tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)  # noqa: SIM115 - closed by finish()

    def _header(self, relative: str, entry: Entry) -> tarfile.TarInfo:
        info = tarfile.TarInfo(relative)
        info.type = _TYPES[entry.type]
        info.mode, info.uid, info.gid = entry.mode, entry.uid, entry.gid
        info.mtime = entry.mtime or 0
        if entry.target is not None:
            info.linkname = entry.target
        if entry.device:
            info.devmajor, info.devminor = entry.device
        if entry.xattrs:
            info.pax_headers = {f"SCHILY.xattr.{k}": v.decode("utf-8", "surrogateescape")
                                for k, v in entry.xattrs.items()}
        return info

    def directory(self, relative: str, entry: Entry) -> None:
        self._tar.addfile(self._header(relative, entry))

    symlink = special = directory

    def file(self, relative: str, entry: Entry, content: IO[bytes] | None) -> None:
        info = self._header(relative, entry)
        info.size = entry.size if content is not None else 0
        self._tar.addfile(info, _FullReads(content) if content is not None else None)

    def hardlink(self, relative: str, entry: Entry, first: str) -> None:
        info = self._header(relative, entry)
        info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
        self._tar.addfile(info)

    def finish(self) -> None:
        self._tar.close()


class _FullReads:
    """tarfile's copy takes any short read for the end of the data; a member reader may return
    less than asked at any time (a pipe, a chunk border), so keep reading until the count is met."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            return self._inner.read()
        parts, count = [], 0
        while count < size:
            part = self._inner.read(size - count)
            if not part:
                break
            parts.append(part)
            count += len(part)
        return b"".join(parts)

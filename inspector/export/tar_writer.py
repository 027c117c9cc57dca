"""Export as a tar stream: nothing touches the local filesystem, so nothing can escape."""

from __future__ import annotations

import tarfile
from typing import IO

from ..fs.entry import Entry

_TYPES = {"dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE, "char": tarfile.CHRTYPE,
          "block": tarfile.BLKTYPE, "fifo": tarfile.FIFOTYPE, "file": tarfile.REGTYPE}


class TarWriter:
    def __init__(self, out: IO[bytes]) -> None:
        self._tar = tarfile.open(fileobj=out, mode="w|", format=tarfile.PAX_FORMAT)

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
        self._tar.addfile(info, content)

    def hardlink(self, relative: str, entry: Entry, first: str) -> None:
        info = self._header(relative, entry)
        info.type, info.linkname, info.size = tarfile.LNKTYPE, first, 0
        self._tar.addfile(info)

    def finish(self) -> None:
        self._tar.close()

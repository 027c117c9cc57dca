"""Export into a directory without ever writing outside it, and without root.

Every path is opened component by component relative to DEST's file descriptor with
``O_NOFOLLOW``: a symlink the image planted (``etc -> /etc``, ``x -> ../../..``) is refused as a
parent, never followed, whoever created it. Names are already normalized (no ``..``, no leading
``/``). Symlinks are recreated verbatim, as tar does: absolute targets point wherever they point
when someone later follows them, but we never do. Device nodes are skipped unless asked for, owners
are not changed, and setuid/setgid bits are dropped unless asked for.
"""

from __future__ import annotations

import errno
import os
import shutil
from typing import IO

from ..errors import InspectorError
from ..fs.entry import Entry

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)


class DirWriter:
    def __init__(self, dest: str, devices: bool = False, special_bits: bool = False) -> None:
        if os.path.lexists(dest) and (not os.path.isdir(dest) or os.path.islink(dest) or os.listdir(dest)):
            raise InspectorError(f"{dest} exists and is not an empty directory; export needs a new or empty one")
        os.makedirs(dest, exist_ok=True)
        self._root = os.open(dest, _DIR_FLAGS)
        self._devices = devices
        self._bits = 0o7777 if special_bits else 0o1777
        self._dir_modes: list[tuple[str, int]] = []
        self.skipped_devices = 0

    # --- safe path handling -------------------------------------------------------------------
    def _parent(self, relative: str) -> tuple[int, str]:
        """An fd of ``relative``'s parent inside DEST (caller closes it unless it is the root)."""
        *dirs, name = relative.split("/")
        fd = self._root
        for part in dirs:
            try:
                child = os.open(part, _DIR_FLAGS, dir_fd=fd)
            except OSError as exc:
                if fd != self._root:
                    os.close(fd)
                if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                    raise InspectorError(f"refusing to write {relative}: {part} is not a real directory "
                                         "inside the destination") from exc
                raise
            if fd != self._root:
                os.close(fd)
            fd = child
        return fd, name

    def _at(self, relative: str, action) -> None:
        fd, name = self._parent(relative)
        try:
            action(fd, name)
        finally:
            if fd != self._root:
                os.close(fd)

    # --- the writer interface -----------------------------------------------------------------
    def directory(self, relative: str, entry: Entry) -> None:
        self._at(relative, lambda fd, name: os.mkdir(name, 0o700, dir_fd=fd))
        self._dir_modes.append((relative, entry.mode & self._bits))

    def symlink(self, relative: str, entry: Entry) -> None:
        self._at(relative, lambda fd, name: os.symlink(entry.target or "", name, dir_fd=fd))

    def special(self, relative: str, entry: Entry) -> None:
        if entry.type == "fifo":
            self._at(relative, lambda fd, name: os.mkfifo(name, entry.mode & 0o777, dir_fd=fd))
        elif self._devices and entry.device:
            kind = 0o020000 if entry.type == "char" else 0o060000
            self._at(relative, lambda fd, name: os.mknod(name, kind | (entry.mode & 0o777),
                                                          os.makedev(*entry.device), dir_fd=fd))
        else:
            self.skipped_devices += 1

    def file(self, relative: str, entry: Entry, content: IO[bytes] | None) -> None:
        def write(fd: int, name: str) -> None:
            handle = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=fd)
            with os.fdopen(handle, "wb") as out:
                if content is not None:
                    shutil.copyfileobj(content, out, 1 << 20)
                os.fchmod(out.fileno(), entry.mode & self._bits)

        self._at(relative, write)

    def hardlink(self, relative: str, entry: Entry, first: str) -> None:
        source_fd, source_name = self._parent(first)
        try:
            self._at(relative, lambda fd, name: os.link(source_name, name, src_dir_fd=source_fd, dst_dir_fd=fd,
                                                          follow_symlinks=False))
        finally:
            if source_fd != self._root:
                os.close(source_fd)

    def finish(self) -> None:
        for relative, mode in reversed(self._dir_modes):  # deepest first: parents stay writable meanwhile
            self._at(relative, lambda fd, name: os.chmod(name, mode, dir_fd=fd, follow_symlinks=False))
        os.close(self._root)

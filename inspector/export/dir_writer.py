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
import functools
import os
import shutil
from collections.abc import Callable
from typing import IO, Any

from ..errors import InspectorError
from ..fs.entry import Entry

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | getattr(os, "O_CLOEXEC", 0)
#: Directory descriptors kept open down the current path: well below the common soft limit of 1,024.
_MAX_OPEN = 256


def _chmod(mode: int, fd: int, name: str) -> None:
    os.chmod(name, mode, dir_fd=fd, follow_symlinks=False)


class DirWriter:
    def __init__(self, dest: str, devices: bool = False, special_bits: bool = False) -> None:
        if os.path.lexists(dest) and (not os.path.isdir(dest) or os.path.islink(dest) or os.listdir(dest)):
            raise InspectorError(f"{dest} exists and is not an empty directory; export needs a new or empty one")
        os.makedirs(dest, exist_ok=True)
        self._root = os.open(dest, _DIR_FLAGS)
        self._devices = devices
        self._bits = 0o7777 if special_bits else 0o1777
        self._dir_modes: list[tuple[str, int]] = []
        #: ``[name, fd or None]`` for each directory along the last path written (see ``_parent``);
        #: the descriptors from index ``_lo`` on are open, those above it were closed to save them.
        self._open_dirs: list[list[Any]] = []
        self._lo = 0
        self.skipped_devices = 0

    # --- safe path handling -------------------------------------------------------------------
    def _parent(self, relative: str) -> tuple[int, str]:
        """An fd of ``relative``'s parent inside DEST, owned by the writer (the caller never closes it).

        Directories are opened component by component with ``O_NOFOLLOW`` as before, but the
        descriptors along the last path stay open: the tree is written in sorted order, so the next
        path shares most of its parents and only the components past the shared prefix are opened.
        A file 1,000 directories deep thus costs one open, not 1,000 (40,000 such files: 50 s before).
        At most ``_MAX_OPEN`` stay open (the soft limit on descriptors is often 1,024), the deepest
        ones; when the next path leaves them all behind, its parents are opened again from DEST. A kept
        descriptor names a directory we created and checked; a local user who can move directories
        inside DEST while we write could move one elsewhere, but only to where they can write anyway.
        """
        *dirs, name = relative.split("/")
        stack = self._open_dirs
        shared = 0
        limit = min(len(dirs), len(stack))
        while shared < limit and stack[shared][0] == dirs[shared]:
            shared += 1
        while len(stack) > shared:
            fd = stack.pop()[1]
            if fd is not None:
                os.close(fd)
        if self._lo >= len(stack):  # every descriptor kept was below the shared prefix: start at DEST
            self._lo = 0
            del stack[:]
        fd = stack[-1][1] if stack else self._root
        for part in dirs[len(stack):]:
            fd = self._open_dir(fd, part, relative)
            stack.append([part, fd])
            if len(stack) - self._lo > _MAX_OPEN:  # the open ones are always the deepest: close the top one
                os.close(stack[self._lo][1])
                stack[self._lo][1] = None
                self._lo += 1
        return fd, name

    def _open_dir(self, parent: int, part: str, relative: str) -> int:
        try:
            return os.open(part, _DIR_FLAGS, dir_fd=parent)
        except OSError as exc:
            if exc.errno in (errno.ELOOP, errno.ENOTDIR):
                raise InspectorError(f"refusing to write {relative}: {part} is not a real directory "
                                     "inside the destination") from exc
            raise

    def _close_all(self) -> None:
        while self._open_dirs:
            fd = self._open_dirs.pop()[1]
            if fd is not None:
                os.close(fd)
        self._lo = 0

    def _at(self, relative: str, action: Callable[[int, str], object]) -> None:
        fd, name = self._parent(relative)
        action(fd, name)

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
            device = os.makedev(*entry.device)
            self._at(relative, lambda fd, name: os.mknod(name, kind | (entry.mode & 0o777), device, dir_fd=fd))
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
        held, source_name = self._parent(first)
        source_fd = os.dup(held)  # _parent(relative) may close ``held`` to open its own parents
        try:
            self._at(relative, lambda fd, name: os.link(source_name, name, src_dir_fd=source_fd, dst_dir_fd=fd,
                                                          follow_symlinks=False))
        finally:
            os.close(source_fd)

    def finish(self) -> None:
        for relative, mode in reversed(self._dir_modes):  # deepest first: parents stay writable meanwhile
            self._at(relative, functools.partial(_chmod, mode))
        self._close_all()
        os.close(self._root)

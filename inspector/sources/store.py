"""Named files of an image on disk, whether they sit in a folder or in a tar archive.

Docker archives, Docker 25 archives and OCI layouts are all "a few JSON files plus blobs, found by
relative path". A store hides whether those paths are read from a folder or, with random access,
from an (uncompressed) tar; the layout readers above it then work unchanged for all of them.
"""

from __future__ import annotations

import errno
import json
import os
import posixpath
import stat
from abc import ABC, abstractmethod
from typing import IO, Any

from ..errors import ImageFormatError
from ..tarheader import TarMember
from ..tarwalk import NotATarError, TarWalk, open_member

MAX_JSON_BYTES = 64 << 20  # a config or manifest larger than this is not a config or manifest


class Store(ABC):
    """Read access to the files of an image layout by relative path."""

    def __init__(self, location: str) -> None:
        self.location = location

    @abstractmethod
    def exists(self, name: str) -> bool:
        """Whether ``name`` is a file of the layout."""

    @abstractmethod
    def open(self, name: str) -> IO[bytes]:
        """Open ``name`` for streaming; raises ImageFormatError if it is missing."""

    def read_bytes(self, name: str, limit: int = MAX_JSON_BYTES) -> bytes:
        with self.open(name) as handle:
            data = handle.read(limit + 1)
        if len(data) > limit:
            raise ImageFormatError(f"{name} is larger than {limit} bytes", where=self.location)
        return data

    def read_json(self, name: str) -> Any:
        return parse_json(self.read_bytes(name), name, self.location)

    def close(self) -> None:  # noqa: B027 - optional: a folder store holds nothing open
        """Release the underlying file, if any."""


_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | _CLOEXEC
_FILE_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | _CLOEXEC


class DirStore(Store):
    """An OCI layout written to a folder (``skopeo copy … oci:DIR``): a closed world.

    Whoever wrote the folder may have planted a symlink (``blobs/sha256/<hex> -> /home/me/.ssh/…``,
    ``blobs -> /``) or a FIFO or device that would block or never end. So every name is opened
    component by component below DIR with ``O_NOFOLLOW`` (as ``export`` writes), and only real
    directories and regular files are accepted; anything else is refused with a line saying what it
    is. DIR itself is opened as the user named it. ``exists`` walks the same way, so it never says
    yes to what ``open`` then refuses, nor no to what is there but forbidden.
    """

    def exists(self, name: str) -> bool:
        fd = self._walk(name)
        if fd is None:
            return False
        os.close(fd)
        return True

    def open(self, name: str) -> IO[bytes]:
        fd = self._walk(name)
        if fd is None:
            raise ImageFormatError(f"cannot read {name}: no such file in the layout", where=self.location)
        return os.fdopen(fd, "rb")

    def _walk(self, name: str) -> int | None:
        """An fd of the regular file ``name`` below DIR; None if nothing is there; refuses the rest."""
        parts = _clean(name).split("/")
        try:
            fd = os.open(self.location, os.O_RDONLY | os.O_DIRECTORY | _CLOEXEC)
        except OSError as exc:
            raise ImageFormatError(f"cannot open the layout folder: {exc.strerror or exc}",
                                   where=self.location) from exc
        try:
            for depth, part in enumerate(parts):
                last = depth == len(parts) - 1
                here = "/".join(parts[:depth + 1])
                try:
                    info = os.stat(part, dir_fd=fd, follow_symlinks=False)
                except (FileNotFoundError, NotADirectoryError):
                    os.close(fd)
                    return None
                _check_kind(info.st_mode, here, last, self.location)
                try:
                    child = os.open(part, _FILE_FLAGS if last else _DIR_FLAGS, dir_fd=fd)
                except OSError as exc:  # replaced since the stat: a link now (ELOOP), or gone
                    reason = "it changed while being read" if exc.errno in (errno.ELOOP, errno.ENOTDIR) else \
                        exc.strerror or str(exc)
                    raise ImageFormatError(f"cannot read {here}: {reason}", where=self.location) from exc
                os.close(fd)
                fd = child
                opened = os.fstat(fd)
                if (opened.st_dev, opened.st_ino) != (info.st_dev, info.st_ino):
                    raise ImageFormatError(f"cannot read {here}: it changed while being read", where=self.location)
            os.set_blocking(fd, True)
            return fd
        except BaseException:
            os.close(fd)
            raise


def _check_kind(mode: int, here: str, last: bool, location: str) -> None:
    """Inside a layout only real directories (on the way) and regular files (at the end) are read."""
    if stat.S_ISLNK(mode):
        raise ImageFormatError(f"{here} is a symlink: an OCI layout is read only from the files inside it, "
                               "never through links", where=location)
    if last and not stat.S_ISREG(mode):
        raise ImageFormatError(f"{here} is not a regular file (it is {_kind(mode)})", where=location)
    if not last and not stat.S_ISDIR(mode):
        raise ImageFormatError(f"{here} is not a directory (it is {_kind(mode)})", where=location)


def _kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO"), (stat.S_ISCHR, "a character device"),
             (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISREG, "a regular file")]
    return next((what for test, what in kinds if test(mode)), "of an unknown type")


class MemberNames:
    """The names of an outer archive's members, each admitted once.

    One archive must mean one image: were a name stored twice (``<id>/layer.tar``, or ``./a`` and
    ``a``, which are one name once cleaned), verification could hash one copy while ``cat`` and
    ``export`` read the other. A link stored under ``blobs/`` is refused too: a blob is the bytes its
    digest names, not another member's (the links ``docker save`` writes between legacy
    ``<id>/layer.tar`` members stay allowed). Directories may repeat: they hold no bytes.
    """

    def __init__(self, max_entries: int | None = None) -> None:
        self._dirs: dict[str, bool] = {}  # cleaned name -> whether every member of that name is a directory
        self._max = max_entries
        self._count = 0

    def admit(self, member: Any) -> str:
        """The member's cleaned name; refuses a second member of that name, or a link in ``blobs/``.

        With ``max_entries``, the members count toward ``--max-entries`` (a one-pass read keeps
        something of each)."""
        self._count += 1
        if self._max is not None and self._count > self._max:
            raise ImageFormatError(f"the archive has more than {self._max:,} members "
                                   "(raise the limit with --max-entries)")
        name = _clean(member.name)
        is_dir = bool(member.isdir())
        seen = self._dirs.get(name)
        if seen is not None and not (seen and is_dir):
            raise ImageFormatError(f"the archive holds {_shown(name)} twice: refusing to guess which copy "
                                   "is the image")
        self._dirs[name] = is_dir
        if (member.issym() or member.islnk()) and name.startswith("blobs/"):
            raise ImageFormatError(f"{_shown(name)} is a link to {_shown(member.linkname)}: a blob must be "
                                   "a regular file")
        return name


def _shown(name: str) -> str:
    return repr(name) if len(name) <= 200 else f"{name[:200]!r}…"


class TarStore(Store):
    """A tar archive read with random access: members are indexed once, then opened in any order."""

    def __init__(self, location: str, fileobj: IO[bytes] | None = None) -> None:
        super().__init__(location)
        try:
            self._file = fileobj if fileobj is not None else open(location, "rb")
            self._members = {}
            names = MemberNames()  # each name once, no links in blobs/
            for member in TarWalk(self._file):
                if member.sparse:  # hashing it would inflate its holes (64 GiB of zeros from 5 kB)
                    raise ImageFormatError(f"sparse member {member.name[:80]!r} in the archive: refused")
                self._members[names.admit(member)] = member
        except NotATarError as exc:
            raise ImageFormatError(f"not a readable tar archive: {exc}", where=location) from exc
        except ImageFormatError as exc:
            raise ImageFormatError(str(exc), where=location) from exc
        except (EOFError, OSError) as exc:
            raise ImageFormatError(f"not a readable tar archive: {exc}", where=location) from exc

    def exists(self, name: str) -> bool:
        member = self._members.get(_clean(name))
        return member is not None and (member.isfile() or member.islnk() or member.issym())

    def open(self, name: str) -> IO[bytes]:
        member = self._member(name)
        if not member.isreg():
            raise ImageFormatError(f"{name} is not a file", where=self.location)
        return open_member(self._file, member)

    def _member(self, name: str) -> TarMember:
        """The member holding ``name``'s bytes: links between members (``docker save`` links the
        ``layer.tar`` of a layer shared by two images to the first copy) are followed here."""
        key = _clean(name)
        for _ in range(16):
            member = self._members.get(key)
            if member is None:
                raise ImageFormatError(f"{name} is missing from the archive", where=self.location)
            if member.islnk():
                key = _clean(member.linkname)
            elif member.issym():
                key = _clean(posixpath.join(posixpath.dirname(key), member.linkname))
            else:
                return member
        raise ImageFormatError(f"{name} is a loop of links between members", where=self.location)

    def close(self) -> None:
        self._file.close()


class MemoryStore(Store):
    """The small files a one-pass read kept (JSON documents), looked up after the stream ended."""

    def __init__(self, location: str, files: dict[str, bytes], aliases: dict[str, str]) -> None:
        super().__init__(location)
        self.files = files
        self.aliases = aliases

    def exists(self, name: str) -> bool:
        return self.canonical(name) in self.files

    def canonical(self, name: str) -> str:
        """Follow links between archive members to the member that holds the bytes."""
        name = _clean(name)
        for _ in range(16):
            if name not in self.aliases:
                break
            name = self.aliases[name]
        return name

    def open(self, name: str) -> IO[bytes]:
        import io

        key = self.canonical(name)
        if key not in self.files:
            raise ImageFormatError(f"{name} is missing from the archive", where=self.location)
        return io.BytesIO(self.files[key])


def parse_json(data: bytes, what: str, where: str) -> Any:
    """Parse a document of an image; anything malformed (or nested to blow the stack) is one error.

    Strict JSON, as the engine's Go decoder reads it: ``NaN``, ``Infinity`` and numbers beyond a
    double (``1e999``) are refused, never carried along to be written back as bare ``NaN``."""
    try:
        return json.loads(data, parse_constant=_not_json, parse_float=_finite_float)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ImageFormatError(f"{what} is not valid JSON: {reason}", where=where) from exc


def _not_json(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:40]} is out of range for a number")
    return value


def _clean(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")

"""Named files of an image on disk, whether they sit in a folder or in a tar archive.

Docker archives, Docker 25 archives and OCI layouts are all "a few JSON files plus blobs, found by
relative path". A store hides whether those paths are read from a folder or, with random access,
from an (uncompressed) tar; the layout readers above it then work unchanged for all of them.
"""

from __future__ import annotations

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

    def close(self) -> None:
        """Release the underlying file, if any."""


class DirStore(Store):
    """An OCI layout written to a folder (``skopeo copy … oci:DIR``)."""

    def exists(self, name: str) -> bool:
        return os.path.isfile(self._path(name))

    def open(self, name: str) -> IO[bytes]:
        """Only a regular file: a FIFO or device planted in a layout would block or never end."""
        try:
            fd = os.open(self._path(name), os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except OSError as exc:
            raise ImageFormatError(f"cannot read {name}: {exc.strerror or exc}", where=self.location) from exc
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise ImageFormatError(f"{name} is not a regular file", where=self.location)
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")

    def _path(self, name: str) -> str:
        clean = posixpath.normpath("/" + name).lstrip("/")
        return os.path.join(self.location, clean)


class TarStore(Store):
    """A tar archive read with random access: members are indexed once, then opened in any order."""

    def __init__(self, location: str, fileobj: IO[bytes] | None = None) -> None:
        super().__init__(location)
        try:
            self._file = fileobj if fileobj is not None else open(location, "rb")
            self._members = {}
            for member in TarWalk(self._file):
                if member.sparse:  # hashing it would inflate its holes (64 GiB of zeros from 5 kB)
                    raise ImageFormatError(f"sparse member {member.name[:80]!r} in the archive: refused")
                self._members[_clean(member.name)] = member
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

"""What every package-database reader returns, and the one shape they all take as input.

Readers are pure functions of the database files' bytes, keyed by absolute path as the merged view
spells them (``DbFiles``): they never touch the host's filesystem or the image, so a test can hand
them bytes and a hostile database can cost at most what its bytes bound. Anything a reader cannot
make sense of becomes a warning naming the database, never an exception.
"""

from __future__ import annotations

import posixpath
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

#: Absolute path (as the merged view spells it) → the file's bytes.
DbFiles = Mapping[str, bytes]

#: Bounds every reader applies to what an image claims (counts, lengths, nesting).
MAX_PACKAGES = 100_000
MAX_FILES_PER_PACKAGE = 1_000_000
MAX_FILES_TOTAL = 5_000_000
MAX_FIELD = 1 << 20  # one field of a stanza, one header tag's data


@dataclass
class PackageFile:
    """One path a package installed, with the digest its database recorded for it (if any)."""

    path: str
    digest: str | None = None  # lower-case hex
    algorithm: str | None = None  # "md5", "sha1", "sha256", ...
    conffile: bool = False
    mode: int | None = None
    size: int | None = None


@dataclass
class Package:
    """One installed package; ``version`` as its database spells it."""

    manager: str  # "dpkg", "apk", "rpm"
    name: str
    version: str
    arch: str | None = None
    source_name: str | None = None
    source_version: str | None = None
    license: str | None = None
    db: str = ""  # the database file it was read from
    files: list[PackageFile] = field(default_factory=list)
    vendor: str | None = None
    epoch: int | None = None  # rpm only
    purl: str | None = None

    @property
    def key(self) -> str:
        """``manager/name``: what an owned file's ``package`` field says."""
        return f"{self.manager}/{self.name}"

    def to_json(self) -> dict[str, Any]:
        return {"manager": self.manager, "name": self.name, "version": self.version, "arch": self.arch,
                "source_name": self.source_name, "source_version": self.source_version,
                "license": self.license, "purl": self.purl, "db": self.db, "files": len(self.files)}


@dataclass
class ReadResult:
    """What one reader found: packages, and sentences about what it had to skip."""

    packages: list[Package] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def extend(self, other: ReadResult) -> None:
        self.packages.extend(other.packages)
        self.warnings.extend(other.warnings)


class Reader(Protocol):
    """A package manager's database reader: ``read(files)`` over the captured DB files."""

    def __call__(self, files: DbFiles) -> ReadResult: ...


def text(data: bytes) -> str:
    """Database bytes as text: bad UTF-8 is replaced, never an error."""
    return data.decode("utf-8", "replace")


def clean_path(path: str) -> str:
    """An absolute, normalized path (``..`` stops at the root); normpath only when it would change it."""
    if not path.startswith("/"):
        path = "/" + path
    if "//" in path or "/." in path or (path.endswith("/") and path != "/"):
        path = posixpath.normpath(path)
        if path.startswith("//"):
            path = path[1:]
    return path

"""Which distribution an image is: ``/etc/os-release`` (``ID``, ``VERSION_ID``, ``PRETTY_NAME``).

Falls back to ``/usr/lib/os-release`` (what ``/etc/os-release`` usually links to), then to
``/etc/debian_version`` and ``/etc/alpine-release`` for images that ship neither.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from .interface import DbFiles, text

PATHS = ("/etc/os-release", "/usr/lib/os-release", "/etc/debian_version", "/etc/alpine-release")
MAX_BYTES = 64 << 10


@dataclass
class OsRelease:
    id: str | None
    version_id: str | None
    pretty_name: str | None
    source: str  # the file it was read from

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "version_id": self.version_id, "pretty_name": self.pretty_name,
                "source": self.source}

    @property
    def distro(self) -> str | None:
        """syft's purl ``distro`` qualifier: ``ID-VERSION_ID`` (``debian-12``, ``alpine-3.20.3``)."""
        if not self.id:
            return None
        return f"{self.id}-{self.version_id}" if self.version_id else self.id


def wanted(path: str) -> bool:
    return path in PATHS


def parse_os_release(data: bytes) -> dict[str, str]:
    """``KEY=value`` lines, values shell-quoted or not (``os-release(5)``); anything odd is skipped."""
    fields: dict[str, str] = {}
    for line in text(data[:MAX_BYTES]).splitlines():
        key, sep, value = line.strip().partition("=")
        if not sep or not key.isidentifier():
            continue
        try:
            words = shlex.split(value)
        except ValueError:
            words = [value.strip("\"'")]
        fields[key] = " ".join(words)[:256]
    return fields


def detect(files: DbFiles) -> OsRelease | None:
    for path in PATHS[:2]:
        if path in files:
            fields = parse_os_release(files[path])
            if fields.get("ID"):
                return OsRelease(fields["ID"].lower(), fields.get("VERSION_ID") or None,
                                 fields.get("PRETTY_NAME") or None, path)
    if "/etc/debian_version" in files:
        version = text(files["/etc/debian_version"][:256]).strip()
        major = version.split(".")[0]
        return OsRelease("debian", major if major.isdigit() else None, f"Debian GNU/Linux {version}",
                         "/etc/debian_version")
    if "/etc/alpine-release" in files:
        version = text(files["/etc/alpine-release"][:256]).strip()
        return OsRelease("alpine", version or None, f"Alpine Linux v{version}", "/etc/alpine-release")
    return None

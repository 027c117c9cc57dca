"""Every executable in the image, classified from its bytes without running anything."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass
from typing import Any

from ..fs.entry import Entry
from ..fs.links import follow
from ..fs.node import FILE, SYMLINK, Node
from . import capabilities
from .facts import FileFacts
from .interface import Inspection

BIN_DIRS = {"bin", "sbin"}


@dataclass(slots=True, eq=False)
class Executable:
    """An executable (or a command's symlink) of the merged view. Its ``entry`` is made when asked:
    a summary holds every executable (90,000 on a million-file image) and reads few of them whole,
    and an ``Entry`` with its own xattrs dict cost 190 bytes each more (17 MB there)."""

    path: str
    node: Node
    facts: FileFacts | None
    resolves_to: str | None = None  # for a symlink in a bin directory: the executable it names

    @property
    def entry(self) -> Entry:
        return Entry.of(self.path, self.node)

    @property
    def layer(self) -> int:
        """The index of the layer that last wrote this name."""
        return self.node.layer.index

    @property
    def kind(self) -> str:
        return self.facts.kind if self.facts else "other"

    @property
    def setuid(self) -> bool:
        return bool(self._mode & 0o4000)

    @property
    def setgid(self) -> bool:
        return bool(self._mode & 0o2000)

    @property
    def world_writable(self) -> bool:
        return bool(self._mode & 0o002)

    @property
    def capability(self) -> dict[str, Any] | None:
        raw = (self.node.xattrs or {}).get("security.capability")
        return capabilities.decode(raw) if raw is not None else None

    @property
    def _mode(self) -> int:
        return self.node.mode if self.resolves_to is None else 0

    def to_json(self) -> dict[str, Any]:
        data = self.entry.to_json()
        elf = self.facts.elf if self.facts else None
        data.update({
            "kind": self.kind,
            "elf": elf.to_json() if elf else None,
            "shebang": self.facts.shebang if self.facts else None,
            "setuid": self.setuid,
            "setgid": self.setgid,
            "world_writable": self.world_writable,
            "capabilities": self.capability,
            "resolves_to": self.resolves_to,
        })
        return data


def find_executables(inspection: Inspection) -> list[Executable]:
    """Regular files with an execute bit, plus the symlinks that make them commands: links in a
    ``bin``/``sbin`` directory or in a directory of the image's PATH (``/busybox`` in distroless
    ``:debug``) that reach an executable (busybox applets, ``/usr/bin/java``). Computed once per
    inspection (the summary, the package view and the policy all ask); each caller gets its own list."""
    return list(inspection.once("executables", lambda: _find_executables(inspection)))


def _find_executables(inspection: Inspection) -> list[Executable]:
    path_dirs = {d.rstrip("/") for d in inspection.env.get("PATH", "").split(":") if d}
    found = []
    markers = []
    for path, node in inspection.fs.select(_command_or_marker):
        kind = node.kind
        if kind == FILE:
            if node.mode & 0o111:
                facts = node.content if isinstance(node.content, FileFacts) else None
                found.append(Executable(path, node, facts))
            if path[path.rfind("/") + 1:] in JAVA_MARKERS:
                markers.append((path, node))
        elif _command_dir(posixpath.dirname(path), path_dirs):  # a symlink
            resolution = follow(inspection.fs, path)
            target = resolution.node
            if target is not None and target.kind == FILE and target.mode & 0o111:
                facts = target.content if isinstance(target.content, FileFacts) else None
                found.append(Executable(path, node, facts, resolves_to=resolution.path))
    inspection.once(_MARKERS_KEY, lambda: markers)  # the Java report's walk, done on the way
    return found


#: Names of the files the Java runtime report starts from (``jre``): a ``java`` and a JDK ``release``.
JAVA_MARKERS = frozenset({"java", "release"})
_MARKERS_KEY = "java_marker_files"


def java_marker_files(inspection: Inspection) -> list[tuple[str, Node]]:
    """The regular files named ``java`` or ``release``, with their paths, in ``walk`` order. The
    executables' walk collects them as it goes (a second walk of a million-file image for the Java
    homes cost 0.2 s of its summary); a view that needs no executables walks for them alone.
    The same list for every caller: not to be changed."""
    return inspection.once(_MARKERS_KEY, lambda: list(inspection.fs.select(_java_marker)))


def _java_marker(name: str, node: Node) -> bool:
    return node.kind == FILE and name in JAVA_MARKERS


def _command_or_marker(name: str, node: Node) -> bool:
    kind = node.kind
    return (kind == FILE and (bool(node.mode & 0o111) or name in JAVA_MARKERS)) or kind == SYMLINK


def _command_dir(directory: str, path_dirs: set[str]) -> bool:
    return posixpath.basename(directory) in BIN_DIRS or directory in path_dirs


def counts(executables: list[Executable]) -> dict[str, int]:
    """The summary's ``executables`` object: regular executables only, so links are not counted twice.
    One pass (six over the 91,576 executables of a million-file image took 0.17 s), asking for a
    capability only where the node has the attribute."""
    regular = setuid = setgid = capable = elf = scripts = 0
    for executable in executables:
        if executable.resolves_to is not None:
            continue
        regular += 1
        node = executable.node
        mode = node.mode
        setuid += bool(mode & 0o4000)
        setgid += bool(mode & 0o2000)
        xattrs = node.xattrs
        if xattrs and "security.capability" in xattrs:
            capable += executable.capability is not None
        kind = executable.kind
        elf += kind == "elf"
        scripts += kind == "script"
    return {"count": regular, "setuid": setuid, "setgid": setgid, "capabilities": capable,
            "elf": elf, "scripts": scripts, "symlinks": len(executables) - regular}

"""The public view of one merged-filesystem entry: the ``--files`` JSON schema, field for field."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Self

from .node import _NO_EXTRA, Node


#: slots: a listing makes one per entry of the image. Not frozen: a frozen dataclass sets each field
#: through ``object.__setattr__``, which made building an entry 8 times slower (1.8 µs against 0.23 µs,
#: 1.5 s of a million-entry ``--files``). An entry is a copy: changing it changes nothing in the image.
@dataclass(slots=True)
class Entry:
    """One name in the merged view. ``layer`` is the 0-based index of the layer that last wrote it."""

    path: str
    type: str  # file, dir, symlink, char, block, fifo
    mode: int  # permission bits with setuid/setgid/sticky
    uid: int
    gid: int
    size: int  # regular files (a hardlink has its content's size); 0 otherwise
    mtime: int | None
    target: str | None  # symlinks
    hardlink_to: str | None  # when the layer stored this name as a hardlink
    layer: int
    xattrs: dict[str, bytes]
    device: tuple[int, int] | None  # (major, minor) of char and block devices

    @classmethod
    def of(cls, path: str, node: Node) -> Self:
        # the node's shared parts read as the tuples they are (``fs.node``), not through seven
        # descriptors: a listing makes one entry per name of the image (0.4 us of each)
        layer, uid, gid = node._stamp
        target, hardlink_to, xattrs, rdev, _ = node._extra or _NO_EXTRA
        return cls(path, node.kind, node.mode, uid, gid, node.size, node.mtime, target, hardlink_to, layer.index,
                   dict(xattrs) if xattrs else {}, rdev)

    @property
    def mode_octal(self) -> str:
        return f"{self.mode:04o}"

    def to_json(self) -> dict[str, Any]:
        """The documented ``--files`` object. Names are a promise to scripts: add, never rename."""
        return {
            "path": self.path,
            "type": self.type,
            "mode": self.mode_octal,
            "uid": self.uid,
            "gid": self.gid,
            "size": self.size,
            "target": self.target,
            "hardlink_to": self.hardlink_to,
            "layer": self.layer,
            "mtime": self.mtime,
            "xattrs": {name: value.hex() for name, value in sorted(self.xattrs.items())},
            "device": list(self.device) if self.device else None,
        }


@dataclass(slots=True)
class OwnedEntry(Entry):
    """An entry of ``--files``/``--executables`` JSON with its owning package and build step
    (``reports.packages`` fills them in)."""

    package: str | None = None
    layer_created_by: str | None = None

    def to_json(self) -> dict[str, Any]:
        data = Entry.to_json(self)  # not super(): slots=True makes a new class, which zero-argument super() misses
        data.update({"package": self.package, "layer_created_by": self.layer_created_by})
        return data

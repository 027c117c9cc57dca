"""The merged ``/bin``, as ``ls -l /bin`` would show it in a container."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..fs.entry import Entry
from ..fs.links import follow
from ..fs.node import DIR, SYMLINK
from . import accounts
from .interface import Inspection


@dataclass
class BinListing:
    path: str = "/bin"
    exists: bool = False
    symlink_to: str | None = None  # the link's target as stored, when /bin is a symlink (merged /usr)
    resolved: str | None = None  # the directory actually listed
    entries: list[Entry] = field(default_factory=list)
    #: owner and group names of the listed entries, from the image's /etc/passwd and /etc/group
    #: (ids it does not name are absent: ``ls -l`` shows those as numbers)
    user_names: dict[int, str] = field(default_factory=dict)
    group_names: dict[int, str] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"path": self.path, "exists": self.exists, "symlink_to": self.symlink_to, "resolved": self.resolved,
                "entries": [e.to_json() for e in self.entries],
                "user_names": {str(uid): name for uid, name in sorted(self.user_names.items())},
                "group_names": {str(gid): name for gid, name in sorted(self.group_names.items())}}


def bin_listing(inspection: Inspection, path: str = "/bin") -> BinListing:
    listing = BinListing(path=path)
    found = inspection.fs.resolve(path, follow_last=False)
    if found is None:
        return listing
    node = found[1]
    if node.kind == SYMLINK:
        listing.symlink_to = node.target
    resolution = follow(inspection.fs, path)
    if resolution.node is None or resolution.node.kind != DIR or resolution.path is None:
        listing.exists = resolution.node is not None
        return listing
    listing.exists = True
    listing.resolved = resolution.path
    children = resolution.node.children or {}
    base = resolution.path.rstrip("/")
    listing.entries = [Entry.of(f"{base}/{name}", children[name]) for name in sorted(children)]
    names = accounts.names(inspection)
    listing.user_names = {e.uid: names.users[e.uid] for e in listing.entries if e.uid in names.users}
    listing.group_names = {e.gid: names.groups[e.gid] for e in listing.entries if e.gid in names.groups}
    return listing

"""Installed packages of an inspected image, who owns which file, and what no package owns.

The databases were captured during the one layer scan (``packages.capture``); here they are read
from the merged view and tied to its files. A package names files as it installed them: Debian 12
packages list ``/bin/ls``, which a merged-/usr image keeps at ``/usr/bin/ls``, so every package
path is resolved through the image's own directory links (not its last component: a packaged
symlink is that symlink) and a file is owned when either spelling names it.
"""

from __future__ import annotations

import posixpath
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..fs import build_filesystem
from ..fs.cache import CacheUse
from ..fs.entry import OwnedEntry
from ..fs.node import DIR, SYMLINK, Node
from ..fs.select import listing
from ..limits import DEFAULT, Limits
from ..packages import Package, PackageSet
from ..packages.capture import database_files
from ..packages.prehash import Prehash
from ..sources.interface import Image
from . import memo
from .executables import Executable, find_executables
from .facts import FileFacts, probe
from .history import layer_created_by
from .interface import Inspection


@dataclass
class PackageView:
    found: PackageSet
    owners: dict[str, str] = field(default_factory=dict)  # real path (and package spelling) → manager/name
    created_by: list[str | None] = field(default_factory=list)
    resolver: DirectoryResolver | None = None  # the merged view's directories, resolved once for every report

    def owner(self, path: str) -> str | None:
        return self.owners.get(path)

    def layer_created_by(self, layer: int) -> str | None:
        return self.created_by[layer] if 0 <= layer < len(self.created_by) else None


def _text_of(node: Node) -> str | None:
    return node.content.text if isinstance(node.content, FileFacts) else None


def analyze(inspection: Inspection) -> PackageView:
    """Read every package database of the merged view and map each owned path to its package."""
    cached = getattr(inspection, "_package_view", None)
    if isinstance(cached, PackageView):
        return cached
    files, warnings = database_files(inspection.fs, _text_of)
    found = memo.read_packages(files)  # an audit worker parses a shared base's database once
    found.warnings[:0] = warnings
    view = PackageView(found, created_by=layer_created_by(inspection.meta.config, len(inspection.meta.layers)))
    resolver = view.resolver = DirectoryResolver(inspection)
    owners = view.owners
    for package in found.packages:
        key = package.key
        for item in package.files:
            path = item.path
            owners.setdefault(path, key)
            if resolver.moves(path):  # a directory link on the way (/bin -> usr/bin): its real path too
                real = resolver.real_path(path)
                if real is not None:
                    owners.setdefault(real, key)
    object.__setattr__(inspection, "_package_view", view)
    return view


class DirectoryResolver:
    """Resolve package paths through the image's directory links, one lookup per directory.

    Every method splits a path at its last slash (as ``posixpath.split`` does) and looks the text
    before it up once: what that directory's real path is, with its slash, and its node. A path is
    then a slice, a dict lookup and a concatenation (``posixpath.join`` of the real directory and the
    name gives exactly that text). The fleet audit resolves 60,000 packaged paths per 20 images for
    integrity alone, and one ``split``, ``directory`` and ``join`` each cost more than the rest.
    """

    def __init__(self, inspection: Inspection) -> None:
        self.fs = inspection.fs
        self._dirs: dict[str, tuple[str, Node] | None] = {}
        self._places: dict[str, tuple[str, Node] | None] = {}  # text up to the last slash -> (real, node)

    def _place(self, path: str) -> tuple[str, Node] | None:
        """The real path (with its slash) and node of the directory ``path`` names its last part in."""
        return self._place_at(path[:path.rfind("/") + 1])

    def _place_at(self, prefix: str) -> tuple[str, Node] | None:
        """``_place`` of a path's text up to and with its last slash (the head ``posixpath.split`` gives is
        the same whatever follows that slash)."""
        places = self._places
        if prefix in places:
            return places[prefix]
        found = self.directory(posixpath.split(prefix)[0])
        place = places[prefix] = None if found is None else (posixpath.join(found[0], ""), found[1])
        return place

    def moves(self, path: str) -> bool:
        """Whether ``path``'s directory exists under another path (a link on the way), so that
        ``real_path`` may differ from ``path`` (owners of the fat JDK image's 9,700 packaged files were
        0.15 s of its summary, one ``real_path`` each)."""
        prefix = path[:path.rfind("/") + 1]
        place = self._place_at(prefix)
        return place is not None and place[0] != prefix

    def directory(self, path: str) -> tuple[str, Node] | None:
        """``fs.resolve(path)`` if it is a directory, else None. A directory whose parent was asked
        for before (a package lists its directories before their files) is one lookup in the
        parent's children, unless it is a link or its name is ``.`` or ``..``: then, and for
        everything else, the whole path is resolved (38 µs a directory on the fleet audit's images,
        600 directories each)."""
        dirs = self._dirs
        if path in dirs:
            return dirs[path]
        head, slash, name = path.rpartition("/")
        parent = dirs.get(head or "/") if slash and name not in ("", ".", "..") and path[0] == "/" else None
        if parent is not None and parent[1].children is not None:
            child = parent[1].children.get(name)
            if child is None or child.kind != SYMLINK:
                found = None if child is None or child.kind != DIR else \
                    (("/" if parent[0] == "/" else parent[0] + "/") + name, child)
                dirs[path] = found
                return found
        found = self.fs.resolve(path, follow_last=True)
        dirs[path] = found = found if found is not None and found[1].kind == DIR else None
        return found

    def lookup(self, path: str) -> tuple[str, Node] | None:
        """``fs.resolve(path)`` (links followed, the last one too), one directory lookup per directory."""
        name = path[path.rfind("/") + 1:]
        place = self._place(path)
        children = place[1].children if place is not None else None
        child = children.get(name) if children is not None and name else None
        if child is None:
            return None if place is not None or not name else self.fs.resolve(path, follow_last=True)
        if child.kind == SYMLINK:
            return self.fs.resolve(path, follow_last=True)
        return place[0] + name, child  # type: ignore[index]

    def entry(self, path: str) -> tuple[str, Node] | None:
        """Where ``path`` is in the image and its node, its last component not followed (integrity
        asks this of every recorded file of every image: one split, one lookup per directory)."""
        cut = path.rfind("/") + 1
        place = self._place_at(path[:cut])
        if place is None:
            return None
        children = place[1].children
        name = path[cut:]
        child = children.get(name) if children is not None and name else None
        return None if child is None else (place[0] + name, child)

    def real_path(self, path: str) -> str | None:
        """Where ``path`` is in the image, its last component not followed (None: not there)."""
        name = path[path.rfind("/") + 1:]
        place = self._place(path)
        if place is None or not name or place[1].children is None or name not in place[1].children:
            return None
        return place[0] + name


def unowned_executables(inspection: Inspection, view: PackageView,
                        executables: list[Executable] | None = None) -> list[dict[str, Any]]:
    """Regular executables that no package owns, with the layer and build step that wrote them."""
    found = []
    owners, created_by = view.owners, view.layer_created_by
    for executable in executables if executables is not None else find_executables(inspection):
        if executable.resolves_to is None and owners.get(executable.path) is None:
            layer = executable.layer
            found.append(_unowned(executable.path, layer, created_by(layer)))
    return found


class _Unowned:
    """Only its ``__dict__`` is kept (see ``_unowned``)."""


def _unowned(path: str, layer: int, created_by: str | None) -> dict[str, Any]:
    """``{"path": path, "layer": layer, "layer_created_by": created_by}``: a plain dict, made as the
    attributes of an object so that it shares one table of its three keys with every other (a
    "split" dict): 104 bytes instead of 184. A million-file image has 91,576 unowned executables;
    their dicts were 17 MB of its summary's peak, now 10 MB."""
    row = _Unowned()
    row.path, row.layer, row.layer_created_by = path, layer, created_by  # type: ignore[attr-defined]
    return row.__dict__


def package_json(package: Package) -> dict[str, Any]:
    return package.to_json()


def summary_fields(inspection: Inspection, executables: list[Executable]) -> dict[str, Any]:
    """What the summary gains: ``os``, ``packages`` (counts per manager), ``unowned_executables``."""
    view = analyze(inspection)
    return {"os": view.found.os.to_json() if view.found.os else None,
            "packages": view.found.counts(),
            "unowned_executables": unowned_executables(inspection, view, executables)}


def ownership_fields(inspection: Inspection, path: str, layer: int) -> dict[str, Any]:
    """What ``--files`` and ``--executables`` entries gain: ``package`` and ``layer_created_by``."""
    view = analyze(inspection)
    return {"package": view.owner(path), "layer_created_by": view.layer_created_by(layer)}


def owned_listing(inspection: Inspection, spec: str,
                  ) -> tuple[Callable[[int], Iterator[OwnedEntry]], Callable[[], int]]:
    """``select_entries(inspection.fs, spec)`` with each entry's ``package`` and ``layer_created_by``
    (``--files --format json``), each made once, straight from its node; from any entry on, and
    about how many there are (``fs.select.listing``: a long listing is written in two parts)."""
    return listing(inspection.fs, spec, _owned(inspection))


def _owned(inspection: Inspection) -> Callable[[str, Node], OwnedEntry]:
    view = analyze(inspection)
    owner, created_by = view.owner, view.layer_created_by

    def make(path: str, node: Node) -> OwnedEntry:
        entry = OwnedEntry.of(path, node)
        entry.package, entry.layer_created_by = owner(path), created_by(entry.layer)
        return entry

    return make


def with_ownership(inspection: Inspection, data: dict[str, Any]) -> dict[str, Any]:
    """One ``--executables`` JSON object, with ``package`` and ``layer_created_by``."""
    data.update(ownership_fields(inspection, data["path"], data["layer"]))
    return data


def inspect_image(image: Image, limits: Limits = DEFAULT, cache: CacheUse | None = None) -> Inspection:
    """``summary.inspect_image``, plus the digests ``--packages`` needs, taken as the layers stream
    past (``packages.prehash``): integrity then reads a layer again only for what the scan missed."""
    prehash = Prehash(probe)
    try:
        fs = build_filesystem(image, probe=prehash.probe, limits=limits, cache=cache, observe=prehash.observe)
    finally:
        prehash.close()  # the hashing thread, also when the scan failed
    verification = getattr(image, "verification", None)
    inspection = Inspection(meta=image.meta, fs=fs, size=fs.size,
                            verification=verification.to_json() if verification is not None else None)
    object.__setattr__(inspection, "_prehash", prehash)
    return inspection


def packages_report(image: Image, inspection: Inspection, cache_directory: Path | None) -> dict[str, Any]:
    """The ``--packages`` JSON object: ``{os, packages, integrity, unowned_executables, warnings}``."""
    from .integrity import DigestStore, check_integrity

    view = analyze(inspection)
    store = DigestStore(cache_directory) if cache_directory is not None else None
    integrity = check_integrity(image, inspection, view, store)
    return {"os": view.found.os.to_json() if view.found.os else None,
            "packages": [package_json(p) for p in view.found.packages],
            "integrity": integrity.to_json(),
            "unowned_executables": unowned_executables(inspection, view),
            "warnings": list(view.found.warnings)}


def package_delta(a: Inspection, b: Inspection) -> dict[str, list[dict[str, Any]]]:
    """``diff``'s packages: added, removed, and upgraded (the same manager, name and arch, another
    version: an A → B change whichever way it goes)."""
    def index(inspection: Inspection) -> dict[tuple[str, str, str | None], Package]:
        return {(p.manager, p.name, p.arch): p for p in analyze(inspection).found.packages}

    left, right = index(a), index(b)

    def brief(package: Package) -> dict[str, Any]:
        return {"manager": package.manager, "name": package.name, "version": package.version, "arch": package.arch}

    return {
        "added": [brief(right[k]) for k in sorted(right, key=str) if k not in left],
        "removed": [brief(left[k]) for k in sorted(left, key=str) if k not in right],
        "upgraded": [{"manager": k[0], "name": k[1], "arch": k[2], "a": left[k].version, "b": right[k].version}
                     for k in sorted(left, key=str) if k in right and left[k].version != right[k].version],
    }


def delta_summary(delta: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """The diff summary's ``packages``: names, and ``name A → B`` for upgrades."""
    return {"added": [f"{p['manager']}/{p['name']}" for p in delta["added"]],
            "removed": [f"{p['manager']}/{p['name']}" for p in delta["removed"]],
            "upgraded": [f"{p['manager']}/{p['name']} {p['a']} → {p['b']}" for p in delta["upgraded"]]}

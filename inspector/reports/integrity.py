"""``debsums`` and ``rpm -V`` for images: every file a package records a digest for, hashed and compared.

The first pass (the merged view) says which layer holds the surviving bytes of each recorded file;
only those layers are read again (``Image.read_layers``, as ``cat`` and ``export`` do), and in them
only the recorded files are hashed, with the algorithm their database uses. The digests found in a
layer are kept per layer (by diff ID, once the source checked the layer's bytes against it), so a
repeat reads no layer at all. A one-pass source (standard input) cannot be read twice: integrity is
then reported as unavailable, with the reason, unless the cache already knows every digest.

A conffile that differs is expected (it is configuration, edited on purpose): it goes to
``config_changed``, never to ``modified``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import InspectorError
from ..fs.cache import is_digest
from ..fs.node import FILE, SYMLINK, Node
from ..fs.paths import normalize, to_absolute
from ..lru import BoundedLru
from ..packages.prehash import Prehash
from ..sources.interface import Image, LayerInfo
from ..tarwalk import TarWalk
from .interface import Inspection
from .packages import DirectoryResolver, PackageView

ALGORITHMS = frozenset({"md5", "sha1", "sha224", "sha256", "sha384", "sha512"})
CHUNK = 1 << 20
MAX_STORE_BYTES = 64 << 20  # one layer's digest record on disk
#: Digest records parsed in this process, by their checked SHA-256: an audit worker reads the same
#: base's records for image after image. Bounded by the bytes of their JSON (oldest out).
MAX_PARSED_BYTES = 32 << 20
_PARSED: BoundedLru[bytes, dict[str, dict[str, str]]] = BoundedLru(MAX_PARSED_BYTES)


@dataclass(slots=True)  # one per packaged file of every image an audit reads: 17,000 on a JDK base
class Check:
    path: str  # as the package spells it
    resolved: str  # where it is in the image
    package: str
    expected: str
    algorithm: str
    conffile: bool
    layer: int
    member: str  # the layer member holding the bytes (a hardlink's source)
    actual: str | None = None  # known without reading (a symlink's recorded digest: its target's)
    node: Node | None = None  # the merged view's node (``packages.prehash`` knows digests by node)


@dataclass
class Integrity:
    available: bool = True
    note: str | None = None
    checked: int = 0
    ok: int = 0
    modified: list[dict[str, Any]] = field(default_factory=list)
    missing: list[dict[str, Any]] = field(default_factory=list)
    config_changed: list[dict[str, Any]] = field(default_factory=list)
    layers_read: list[int] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"available": self.available, "note": self.note, "checked": self.checked, "ok": self.ok,
                "modified": self.modified, "missing": self.missing, "config_changed": self.config_changed}


def plan(inspection: Inspection, view: PackageView) -> tuple[list[Check], list[dict[str, Any]], list[dict[str, Any]]]:
    """The files to hash, the recorded files that are gone, and those that are no longer regular files."""
    checks: list[Check] = []
    missing: list[dict[str, Any]] = []
    replaced: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    resolver = view.resolver or DirectoryResolver(inspection)
    for package in view.found.packages:
        key = package.key
        for item in package.files:
            if not item.digest or item.algorithm not in ALGORITHMS or (item.path, key) in seen:
                continue
            seen.add((item.path, key))
            here = resolver.entry(item.path)
            link, node = here if here is not None else (None, None)
            if link is not None and node is not None and node.kind == SYMLINK and node.target is not None:
                # apk records a symlink's digest as that of its target's text (rpm records none)
                actual = hashlib.new(item.algorithm or "", node.target.encode("utf-8", "surrogateescape")).hexdigest()
                if actual == item.digest:
                    checks.append(Check(item.path, link, key, item.digest, item.algorithm or "",
                                        item.conffile, node.layer.index, link, actual))
                    continue
            found = here if here is not None and here[1].kind != SYMLINK else resolver.lookup(item.path)
            if found is None:
                missing.append({"path": item.path, "package": key})
                continue
            real, node = found
            if node.kind != FILE:
                replaced.append({"path": item.path, "resolved_path": real, "package": key,
                                 "expected": item.digest, "actual": None, "type": node.kind,
                                 "layer": node.layer.index,
                                 "layer_created_by": view.layer_created_by(node.layer.index)})
                continue
            checks.append(Check(item.path, real, key, item.digest, item.algorithm or "", item.conffile,
                                node.layer.index, node.hardlink_to or real, node=node))
    return checks, missing, replaced


def check_integrity(image: Image, inspection: Inspection, view: PackageView, store: DigestStore | None) -> Integrity:
    """Compare every recorded digest with the bytes: from the scan's own digests (``packages.prehash``),
    else the digest store (per layer, keyed by where the file is in that layer), else a second read
    of the layers still needed. Digests computed now are kept for a repeat once their layer's bytes
    matched its diff ID."""
    checks, missing, replaced = plan(inspection, view)
    result = Integrity(missing=missing)
    layers = inspection.meta.layers

    def diff_id_of(index: int) -> str | None:
        return layers[index].diff_id if 0 <= index < len(layers) else None

    fresh = prehashed(inspection, checks)
    pending: dict[int, list[Check]] = defaultdict(list)
    for check in checks:
        if check.actual is None:
            pending[check.layer].append(check)
    for index, group in pending.items():
        diff_id = diff_id_of(index)
        known = store.get(diff_id) if store is not None and diff_id else None
        if known is not None:
            for check in group:
                check.actual = known.get(check.resolved, {}).get(check.algorithm)
    to_read = {index for index, group in pending.items() if any(check.actual is None for check in group)}
    if to_read:
        wanted: dict[int, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
        for index in to_read:
            for check in pending[index]:
                if check.actual is None:
                    wanted[index][check.member].add(check.algorithm)  # a hardlink's source,
                    wanted[index][check.resolved].add(check.algorithm)  # and the link's own name
        read: dict[int, dict[str, dict[str, str]]] = {}

        def consume(info: LayerInfo, stream: IO[bytes]) -> None:
            read[info.index] = hash_members(stream, wanted[info.index])

        try:
            image.read_layers(to_read, consume)
        except InspectorError as exc:
            if "read only once" not in str(exc) and "can be read only once" not in str(exc):
                raise
            result.available = False
            result.note = "integrity needs a second read of the layers, which this source cannot give " \
                          "(save the image to a file first)"
            return result
        result.layers_read = sorted(read)
        for index in read:
            for check in pending[index]:
                if check.actual is None:
                    check.actual = read[index].get(check.resolved, {}).get(check.algorithm)
                    if check.actual is not None:
                        fresh.append(check)
    if store is not None:
        _remember(store, fresh, diff_id_of, getattr(getattr(image, "verification", None), "verified", set()))
    for check in checks:
        actual = check.actual
        result.checked += 1
        if actual == check.expected:
            result.ok += 1
            continue
        if check.conffile:
            result.config_changed.append({"path": check.path, "package": check.package})
            continue
        result.modified.append({"path": check.path, "resolved_path": check.resolved, "package": check.package,
                                "expected": check.expected, "actual": actual, "algorithm": check.algorithm,
                                "layer": check.layer, "layer_created_by": view.layer_created_by(check.layer)})
    result.checked += len(replaced)
    result.modified.extend(replaced)
    result.modified.sort(key=lambda item: item["path"])
    return result


def prehashed(inspection: Inspection, checks: list[Check]) -> list[Check]:
    """Fill in each check's digest that the scan computed for its very node (``packages.prehash``)."""
    prehash: Prehash | None = getattr(inspection, "_prehash", None)
    done: list[Check] = []
    if prehash is None:
        return done
    for check in checks:
        if check.actual is None and check.node is not None:
            check.actual = prehash.digest(check.node, check.algorithm)
            if check.actual is not None:
                done.append(check)
    return done


def _remember(store: DigestStore, fresh: list[Check], diff_id_of: Callable[[int], str | None],
              verified: set[int]) -> None:
    """Keep the digests computed now, per layer, under each file's own path in that layer (a
    hardlink under its own name, never its source's, which a later member may have rewritten)."""
    by_layer: dict[int, dict[str, dict[str, str]]] = defaultdict(dict)
    for check in fresh:
        if check.layer in verified and check.actual is not None:
            by_layer[check.layer].setdefault(check.resolved, {})[check.algorithm] = check.actual
    for index, found in by_layer.items():
        diff_id = diff_id_of(index)
        if not diff_id:
            continue
        store.add(diff_id, found)


def hash_members(stream: IO[bytes], wanted: dict[str, set[str]]) -> dict[str, dict[str, str]]:
    """Hash the wanted regular members of one layer tar, each name as the layer leaves it: a name
    written twice is its last copy, and a hardlink gets the digests its source had when the link
    was made (``wanted`` names the link and its source). The whole tar is walked: a later member
    may write a name again."""
    found: dict[str, dict[str, str]] = {}
    tar = TarWalk(stream)
    for member in tar:
        try:
            path = to_absolute(normalize(member.name))
        except InspectorError:
            continue
        if path not in wanted:
            continue
        found.pop(path, None)
        if member.islnk():
            try:
                source = to_absolute(normalize(member.linkname))
            except InspectorError:
                continue
            if source in found:
                found[path] = found[source]
            continue
        if not member.isreg() or member.sparse:
            continue
        hashers = {name: hashlib.new(name) for name in wanted[path]}
        reader = tar.reader(member)
        while True:
            chunk = reader.read(CHUNK)
            if not chunk:
                break
            for hasher in hashers.values():
                hasher.update(chunk)
        found[path] = {name: hasher.hexdigest() for name, hasher in hashers.items()}
    return found


class DigestStore:
    """Per-layer digests of recorded files, beside the layer cache: ``<dir>/package-digests/``.

    Plain JSON with a SHA-256 of itself: a damaged or foreign file is deleted and ignored, never
    trusted; at most ``MAX_STORE_BYTES`` are read.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory / "package-digests"

    def _path(self, diff_id: str) -> Path | None:
        if not is_digest(diff_id):
            return None
        return self.directory / diff_id.replace(":", "-")

    def get(self, diff_id: str) -> dict[str, dict[str, str]] | None:
        """The record of ``diff_id``, checked; callers must not change it (it may be shared)."""
        path = self._path(diff_id)
        if path is None:
            return None
        try:
            with open(path, "rb") as handle:
                raw = handle.read(MAX_STORE_BYTES + 1)
        except OSError:
            return None
        checksum, _, body = raw.partition(b"\n")
        try:
            if len(raw) > MAX_STORE_BYTES or hashlib.sha256(body).hexdigest().encode() != checksum:
                raise ValueError("damaged")
            known = _PARSED.get(checksum)
            if known is not None:
                return known
            data = json.loads(body)
            if not isinstance(data, dict) or not all(
                    isinstance(values, dict)
                    and all(isinstance(k, str) and isinstance(v, str) for k, v in values.items())
                    for values in data.values()):
                raise ValueError("damaged")
        except ValueError:
            try:
                path.unlink()
            except OSError:
                pass
            return None
        _PARSED.put(checksum, data, len(body))
        return data

    def add(self, diff_id: str, digests: dict[str, dict[str, str]]) -> None:
        """Merge ``digests`` (path → algorithm → hex) into what the store holds for ``diff_id``."""
        merged = {path: dict(values) for path, values in (self.get(diff_id) or {}).items()}  # get's may be shared
        for path, values in digests.items():
            merged.setdefault(path, {}).update(values)
        self.put(diff_id, merged)

    def put(self, diff_id: str, digests: dict[str, dict[str, str]]) -> None:
        path = self._path(diff_id)
        if path is None:
            return
        body = json.dumps(digests, separators=(",", ":"), sort_keys=True).encode()
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as out:
                out.write(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
            os.replace(temporary, path)
        except OSError:
            pass  # a read-only cache directory only costs speed

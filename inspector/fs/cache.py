"""Per-layer scan results on disk, keyed by the layer's content digest (its diff ID).

A layer's tree depends only on its bytes, so once a layer was read (and its bytes were checked
against the diff ID, so a tampered archive cannot poison the cache for a genuine layer) its tree
is kept under ``$XDG_CACHE_HOME/inspect-image``. A repeat inspection, or another image on the same
base, then reads nothing. Every file carries a SHA-256 of its payload: a corrupt or truncated
entry is detected, deleted and rebuilt, never trusted. The format is plain JSON (zlib-compressed),
so a cache file can never execute anything.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from .layer import LayerTree
from .node import DIR, Node

FORMAT = 2  # bump whenever what a scan records changes: older entries are then ignored
MAGIC = b"inspect-image-cache"


def is_digest(text: str) -> bool:
    """``sha256:<64 hex>``: the only names a cache file is ever given."""
    algorithm, _, encoded = text.partition(":")
    return algorithm == "sha256" and len(encoded) == 64 and all(c in "0123456789abcdef" for c in encoded)


def default_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "inspect-image"


@dataclass(frozen=True)
class ContentCodec:
    """How a probe's per-file results go to JSON and back; ``name`` tells variants apart."""

    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


BARE = ContentCodec("bare", lambda _content: None, lambda _data: None)


class LayerCache:
    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory or default_directory()
        self.hits = 0
        self.misses = 0
        self.rejected = 0  # corrupt or unreadable entries found (and removed)

    # --- layers -------------------------------------------------------------------------------
    def get(self, diff_id: str, codec: ContentCodec, richer: tuple[str, ...] = ()) -> LayerTree | None:
        """The cached tree of a layer: its ``codec`` variant, or a ``richer`` one read without contents."""
        for name in (codec.name, *richer):
            path = self._layer_path(diff_id, name)
            data = self._read(path)
            if data is None:
                continue
            try:
                tree = decode_tree(data, codec if name == codec.name else BARE)
            except (ValueError, KeyError, TypeError, IndexError):
                self._reject(path)
                continue
            self.hits += 1
            return tree
        self.misses += 1
        return None

    def put(self, diff_id: str, codec: ContentCodec, tree: LayerTree) -> None:
        if not is_digest(diff_id):
            return
        self._write(self._layer_path(diff_id, codec.name), encode_tree(tree, codec))

    # --- configs (the engine source answers from them without a save) -------------------------
    def get_config(self, image_id: str) -> bytes | None:
        if not is_digest(image_id):
            return None
        data = self._read(self._path("configs", image_id))
        if data is not None and "sha256:" + hashlib.sha256(data).hexdigest() != image_id:
            self._reject(self._path("configs", image_id))
            return None
        return data

    def put_config(self, image_id: str, data: bytes) -> None:
        if is_digest(image_id) and "sha256:" + hashlib.sha256(data).hexdigest() == image_id:
            self._write(self._path("configs", image_id), data)

    # --- files --------------------------------------------------------------------------------
    def _layer_path(self, diff_id: str, variant: str) -> Path:
        return self._path("layers", diff_id, f"-{variant}-v{FORMAT}")

    def _path(self, kind: str, digest: str, suffix: str = "") -> Path:
        if not is_digest(digest):
            raise ValueError(f"not a digest: {digest!r}")
        algorithm, _, encoded = digest.partition(":")
        return self.directory / kind / f"{algorithm}-{encoded}{suffix}"

    def _read(self, path: Path) -> bytes | None:
        try:
            raw = path.read_bytes()
        except OSError:
            return None
        header, _, body = raw.partition(b"\n")
        parts = header.split(b" ")
        if len(parts) != 3 or parts[0] != MAGIC or parts[1] != str(FORMAT).encode() \
                or hashlib.sha256(body).hexdigest().encode() != parts[2]:
            self._reject(path)
            return None
        try:
            return zlib.decompress(body)
        except zlib.error:
            self._reject(path)
            return None

    def _write(self, path: Path, data: bytes) -> None:
        """Atomically: a reader sees the old entry, the new one, or none; never half of one."""
        body = zlib.compress(data, 1)
        header = b" ".join([MAGIC, str(FORMAT).encode(), hashlib.sha256(body).hexdigest().encode()])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            with os.fdopen(handle, "wb") as out:
                out.write(header + b"\n" + body)
            os.replace(temporary, path)
        except OSError:
            pass  # a read-only or full cache directory only costs speed

    def _reject(self, path: Path) -> None:
        self.rejected += 1
        try:
            path.unlink()
        except OSError:
            pass


@dataclass
class CacheUse:
    """A cache and the variant one scan reads and writes (``richer`` variants also serve it)."""

    store: LayerCache
    codec: ContentCodec
    richer: tuple[str, ...] = ()

    def lookup(self, diff_ids: list[str | None] | None) -> dict[int, LayerTree]:
        found = {}
        for index, diff_id in enumerate(diff_ids or []):
            if diff_id and is_digest(diff_id):
                tree = self.store.get(diff_id, self.codec, self.richer)
                if tree is not None:
                    found[index] = tree
        return found


def encode_tree(tree: LayerTree, codec: ContentCodec) -> bytes:
    """Depth-first records (parents before children), contents in a table shared by hardlinks."""
    records: list[list[Any]] = []
    contents: list[Any] = []
    content_index: dict[int, int] = {}
    stack: list[tuple[str, Node]] = [("", tree.root)]
    while stack:
        path, node = stack.pop()
        for name, child in (node.children or {}).items():
            child_path = f"{path}/{name}"
            index = -1
            if child.content is not None:
                key = id(child.content)
                if key not in content_index:
                    content_index[key] = len(contents)
                    contents.append(codec.encode(child.content))
                index = content_index[key]
            records.append([child_path, child.kind, child.mode, child.uid, child.gid, child.size, child.mtime,
                            child.target, child.hardlink_to,
                            {k: v.hex() for k, v in child.xattrs.items()} if child.xattrs else None,
                            list(child.rdev) if child.rdev else None, child.opaque, index])
            if child.children is not None:
                stack.append((child_path, child))
    return json.dumps({"entries": records, "contents": contents, "size": tree.size, "count": tree.entries,
                       "root_opaque": tree.root.opaque}, separators=(",", ":")).encode()


def decode_tree(data: bytes, codec: ContentCodec) -> LayerTree:
    document = json.loads(data)
    tree = LayerTree()
    tree.size, tree.entries = int(document["size"]), int(document["count"])
    tree.root.opaque = bool(document.get("root_opaque"))
    contents = [codec.decode(c) for c in document["contents"]]
    nodes: dict[str, Node] = {"": tree.root}
    for path, kind, mode, uid, gid, size, mtime, target, hardlink_to, xattrs, rdev, opaque, index in document["entries"]:
        parent_path, _, name = path.rpartition("/")
        parent = nodes[parent_path]
        if parent.kind != DIR or parent.children is None or not name:
            raise ValueError(f"cache entry {path!r} has no directory to live in")
        node = Node(kind, int(mode), int(uid), int(gid), int(size), mtime, tree.slot)
        node.target, node.hardlink_to, node.opaque = target, hardlink_to, bool(opaque)
        node.xattrs = {k: bytes.fromhex(v) for k, v in xattrs.items()} if xattrs else None
        node.rdev = (int(rdev[0]), int(rdev[1])) if rdev else None
        node.content = contents[index] if index >= 0 else None
        parent.children[name] = node
        if kind == DIR:
            nodes[path] = node
    return tree

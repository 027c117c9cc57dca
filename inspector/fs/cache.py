"""Per-layer scan results on disk, keyed by the layer's content digest (its diff ID).

A layer's tree depends only on its bytes, so once a layer was read (and its bytes were checked
against the diff ID, so a tampered archive cannot poison the cache for a genuine layer) its tree
is kept under ``$XDG_CACHE_HOME/inspect-image``. A repeat inspection, or another image on the same
base, then reads nothing.

What an entry is trusted for (README, "The cache"): the entry records the forms in which the
layer's bytes were seen to hash to its diff ID (the stored blob's size, and its descriptor digest
when there is one). An archive that merely *claims* that diff ID is answered from the entry only
if its blob is there and has one of those forms (``CacheUse.answer``); otherwise it is read and
checked like any other. A same-size forgery under a genuine digest passes such cheap checks:
only ``--verify`` (which never answers from the cache) proves the bytes.

What an entry is protected against: every file carries a SHA-256 of the rest of itself, so a
corrupt or truncated entry is detected, deleted and rebuilt. That is a checksum, not a signature:
whoever can write to the cache directory can make it answer anything, so a shared cache directory
must be writable only by trusted users. Still, no entry can make us hang, exhaust memory or fail:
it is opened without following links or blocking, must be a regular file of bounded size, is
inflated with a bound, and its JSON is checked value by value; whatever fails is deleted and the
layer read again.

The on-disk format (``FORMAT`` 3), three parts:

    inspect-image-cache 3 <sha256 hex of everything after this line>\\n
    <metadata: one line of JSON>\\n
    <zlib-compressed JSON body>

The metadata (``count`` tar members, ``nodes`` records, ``size`` bytes of the layer tar, ``raw``
bytes of the inflated body, ``forms`` as ``[[size, digest-or-null], ...]``) is read without
inflating the body, so the entry limit is checked before anything is decoded.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from sys import intern
from typing import TYPE_CHECKING, Any, TypeVar

from ..limits import DEFAULT, Limits
from ..lru import BoundedLru
from .layer import LayerTree, shared_ints
from .node import BLOCK, CHAR, DIR, FIFO, FILE, PENDING_LINK, SYMLINK, WHITEOUT, Node

if TYPE_CHECKING:
    from ..sources.interface import Image, LayerInfo

FORMAT = 3  # bump whenever what a scan records changes: older entries are then ignored
MAGIC = b"inspect-image-cache"
MAX_FILE = 512 << 20  # bytes of one entry on disk (a layer of a million entries takes about 30 MB)
MAX_META = 64 << 10  # the metadata line
MAX_RAW = 4 << 30  # bytes of an inflated body
ZLIB_MAX_RATIO = 1032  # deflate cannot do better: a body claiming more is not one we wrote
MAX_RECORD = 128 << 10  # JSON bytes one record may take, its contents included (a JDK release text: 64 KiB)
MAX_FORMS = 16  # stored forms remembered per layer (the same layer in several archives)
KINDS = frozenset({FILE, DIR, SYMLINK, CHAR, BLOCK, FIFO, WHITEOUT, PENDING_LINK})
#: Each kind's word as the nodes hold it: a record's is a new string each, 53 bytes a node (53 MB of a
#: million entries from the cache, against three shared words in a scanned tree).
_KIND_WORDS = {kind: kind for kind in KINDS}
_T = TypeVar("_T")
_OPEN_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)

Form = tuple[int, "str | None"]


def is_digest(text: str) -> bool:
    """A digest ``sources.verify.parse_digest`` accepts: the only names a cache file is ever given."""
    from ..sources import verify  # late: the sources package imports this module

    return verify.is_digest(text)


def default_directory() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "inspect-image"


@dataclass(frozen=True)
class ContentCodec:
    """How a probe's per-file results go to JSON and back; ``name`` tells variants apart.

    ``decode`` must raise (``ValueError``, ``TypeError``, ...) on anything it did not write: a
    hostile entry's contents reach it.
    """

    name: str
    encode: Callable[[Any], Any]
    decode: Callable[[Any], Any]


BARE = ContentCodec("bare", lambda _content: None, lambda _data: None)


class BadEntry(ValueError):
    """A cache entry that is not what we write: deleted and rebuilt, never trusted."""


@dataclass
class CachedLayer:
    """An entry whose metadata was read and checked; its body is inflated only on ``tree``."""

    path: Path
    count: int
    nodes: int
    size: int
    raw: int
    forms: list[Form]
    body: bytes = field(repr=False)
    seal: str = ""  # the SHA-256 its header carries, checked against the rest of the file when read


class DecodedTrees:
    """Trees decoded from entries, kept in memory for a process that merges many images on the same
    bases (an audit worker): the next image gets a copy instead of inflating and decoding the entry
    again. Keyed by the entry's seal, which ``LayerCache`` has just checked against the file's
    bytes, so an entry rewritten since (by another worker, or by anyone) is decoded afresh.
    Bounded by the nodes held (least recently used first out); safe to share between threads.
    """

    def __init__(self, max_nodes: int = 2_000_000) -> None:
        self._kept: BoundedLru[tuple[str, str], LayerTree] = BoundedLru(max_nodes)

    @property
    def nodes(self) -> int:
        return self._kept.weight

    def get(self, seal: str, codec: str) -> LayerTree | None:
        tree = self._kept.get((seal, codec))
        return None if tree is None else tree.copy()  # kept trees are never handed out, so never changed

    def put(self, seal: str, codec: str, tree: LayerTree, nodes: int) -> LayerTree:
        """Keep ``tree`` (as it is now: it must not have been merged yet); returns the tree to use."""
        return tree.copy() if self._kept.put((seal, codec), tree, nodes) else tree


class LayerCache:
    def __init__(self, directory: Path | None = None, decoded: DecodedTrees | None = None) -> None:
        self.directory = directory or default_directory()
        self.decoded = decoded  # trees kept in memory between images (an audit worker's), or None
        self.hits = 0
        self.misses = 0
        self.rejected = 0  # corrupt or unreadable entries found (and removed)

    # --- layers -------------------------------------------------------------------------------
    def entry(self, diff_id: str, variant: str) -> CachedLayer | None:
        """The checked metadata of a layer's entry (its body still compressed), or None."""
        if not is_digest(diff_id):
            return None
        path = self._layer_path(diff_id, variant)
        sealed = self._read(path)
        if sealed is None:
            return None
        meta, body, seal = sealed
        try:
            count, nodes, size, raw = (_int(meta.get(k), MAX_RAW if k == "raw" else None)
                                       for k in ("count", "nodes", "size", "raw"))
            forms = meta.get("forms")
            if not isinstance(forms, list) or len(forms) > MAX_FORMS:
                raise BadEntry("forms")
            if raw > ZLIB_MAX_RATIO * max(len(body), 1) + 1024 or raw > (1 << 20) + nodes * MAX_RECORD:
                raise BadEntry("a body cannot inflate that much")
            return CachedLayer(path, count, nodes, size, raw, [_form(f) for f in forms], body, seal)
        except (BadEntry, AttributeError):
            self._reject(path)
            return None

    def tree(self, entry: CachedLayer, codec: ContentCodec) -> LayerTree | None:
        """Inflate and decode ``entry`` (at most ``entry.raw`` bytes); None (entry removed) if bad.

        With ``decoded``, a tree decoded from the same sealed bytes before is copied instead."""
        if self.decoded is not None and entry.seal:
            kept = self.decoded.get(entry.seal, codec.name)
            if kept is not None:
                self.hits += 1
                return kept
        try:
            # the text is let go of once parsed (a temporary): not held beside the records and nodes
            tree = _decoded(_strict_json(_inflate(entry.body, entry.raw)), codec, entry.nodes)
            if tree.entries != entry.count or tree.size != entry.size:
                raise BadEntry("the metadata does not describe the body")
        except Exception:  # noqa: BLE001 - whatever a hostile entry provokes, the layer is read instead
            self._reject(entry.path)
            return None
        self.hits += 1
        if self.decoded is not None and entry.seal:
            return self.decoded.put(entry.seal, codec.name, tree, entry.nodes)
        return tree

    def discard(self, entry: CachedLayer) -> None:
        self._reject(entry.path)

    def put(self, diff_id: str, codec: ContentCodec, tree: LayerTree, forms: list[Form] | None = None) -> None:
        if not is_digest(diff_id):
            return
        body, nodes = encode_tree(tree, codec)
        kept = list(dict.fromkeys(forms or []))[-MAX_FORMS:]
        meta = {"count": tree.entries, "nodes": nodes, "size": tree.size, "raw": len(body),
                "forms": [list(f) for f in kept]}
        self._write(self._layer_path(diff_id, codec.name), meta, body)

    # --- configs (the engine source answers from them without a save) -------------------------
    def get_config(self, image_id: str) -> bytes | None:
        if not is_digest(image_id):
            return None
        path = self._path("configs", image_id)
        sealed = self._read(path)
        if sealed is None:
            return None
        meta, body, _ = sealed
        try:
            data = _inflate(body, _int(meta.get("raw"), MAX_RAW))
        except (BadEntry, zlib.error, AttributeError, MemoryError):
            data = None
        if data is None or "sha256:" + hashlib.sha256(data).hexdigest() != image_id:
            self._reject(path)
            return None
        return data

    def put_config(self, image_id: str, data: bytes) -> None:
        if is_digest(image_id) and "sha256:" + hashlib.sha256(data).hexdigest() == image_id:
            self._write(self._path("configs", image_id), {"raw": len(data)}, data)

    # --- documents (reports/report_cache.py keeps whole reports under keys it makes) ----------
    def get_document(self, path: Path, max_raw: int, check: Callable[[Any], _T]) -> _T | None:
        """``check(json)`` of the sealed document at ``path`` (inflated to at most ``max_raw``
        bytes, strict JSON); None, the file removed, if it is absent, unsound, or ``check`` raises
        ``BadEntry``/``ValueError``/``TypeError``: the same checks a layer entry gets."""
        sealed = self._read(path)
        if sealed is None:
            return None
        meta, body, _ = sealed
        try:
            raw = _int(meta.get("raw"), max_raw)
            if raw > ZLIB_MAX_RATIO * max(len(body), 1) + 1024:
                raise BadEntry("a body cannot inflate that much")
            return check(_strict_json(_inflate(body, raw)))
        except (BadEntry, ValueError, TypeError, RecursionError, MemoryError):
            self._reject(path)
            return None

    def put_document(self, path: Path, data: bytes) -> None:
        """Seal ``data`` (JSON a later ``get_document`` reads) at ``path``, atomically."""
        self._write(path, {"raw": len(data)}, data)

    # --- files --------------------------------------------------------------------------------
    def _layer_path(self, diff_id: str, variant: str) -> Path:
        return self._path("layers", diff_id, f"-{variant}-v{FORMAT}")

    def _path(self, kind: str, digest: str, suffix: str = "") -> Path:
        if not is_digest(digest):
            raise ValueError(f"not a digest: {digest!r}")
        algorithm, _, encoded = digest.partition(":")
        return self.directory / kind / f"{algorithm}-{encoded}{suffix}"

    def _read(self, path: Path) -> tuple[dict[str, Any], bytes, str] | None:
        """The metadata, compressed body and (checked) seal of a sealed file; None if absent or not sound.

        Never blocks (a FIFO planted there), never follows a link (to ``/dev/zero``), never reads
        more than ``MAX_FILE`` bytes.
        """
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            return None
        except OSError:  # a link (ELOOP), a socket, no permission: not an entry we can trust
            self._reject(path)
            return None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_FILE:
                raise BadEntry("not a regular file of a sane size")
            raw = _read_at_most(fd, MAX_FILE)
        except (BadEntry, OSError):
            self._reject(path)
            return None
        finally:
            os.close(fd)
        header, _, rest = raw.partition(b"\n")
        parts = header.split(b" ")
        meta_line, newline, body = rest.partition(b"\n")
        try:
            if len(parts) != 3 or parts[0] != MAGIC or parts[1] != str(FORMAT).encode() or not newline \
                    or len(meta_line) > MAX_META or hashlib.sha256(rest).hexdigest().encode() != parts[2]:
                raise BadEntry("not sealed by us")
            meta = _strict_json(meta_line)
            if not isinstance(meta, dict):
                raise BadEntry("metadata is not an object")
        except (BadEntry, ValueError, RecursionError):
            self._reject(path)
            return None
        return meta, body, parts[2].decode()

    def _write(self, path: Path, meta: dict[str, Any], data: bytes) -> None:
        """Atomically: a reader sees the old entry, the new one, or none; never half of one.

        Concurrent writers of one entry each write their own temporary file and rename it into
        place; the last rename wins, and every candidate is a whole, valid entry.
        """
        rest = json.dumps(meta, separators=(",", ":")).encode() + b"\n" + zlib.compress(data, 1)
        header = b" ".join([MAGIC, str(FORMAT).encode(), hashlib.sha256(rest).hexdigest().encode()])
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            import tempfile  # here: 5 ms of imports (shutil, random, bz2) that a run writing nothing skips

            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(header + b"\n" + rest)
                os.replace(temporary, path)
            except BaseException:
                os.unlink(temporary)
                raise
        except OSError:
            pass  # a read-only or full cache directory (or a directory squatting the name) only costs speed

    def _reject(self, path: Path) -> None:
        self.rejected += 1
        try:
            path.unlink()
        except IsADirectoryError:
            try:
                path.rmdir()  # an empty directory squatting the name; anything else stays (and misses)
            except OSError:
                pass
        except OSError:
            pass


@dataclass
class CacheUse:
    """A cache and the variant one scan reads and writes. ``richer`` variants also serve it: entries
    whose content holds at least what ``codec``'s does, decoded with their own codec (or not at all
    when ``codec`` is ``BARE``)."""

    store: LayerCache
    codec: ContentCodec
    richer: tuple[ContentCodec, ...] = ()
    # per (image, layer): the stored form seen before reading, the forms its entry already knew
    _forms: dict[tuple[int, int], Form | None] = field(default_factory=dict, repr=False)
    _known: dict[tuple[int, int], list[Form]] = field(default_factory=dict, repr=False)

    def answer(self, image: Image, info: LayerInfo, entries_before: int,
               limits: Limits = DEFAULT) -> LayerTree | None:
        """The cached tree of layer ``info``, if the cache may answer for it; else None: read it.

        It may when an entry exists for the diff ID and either the source vouches for its diff IDs
        (the engine hashed the layers itself) or the layer's blob is there, in a form the entry
        recorded (same stored size, same descriptor digest). A missing blob is an error here, as it
        would be when read. The entry's count is checked against the entry limit before its tree
        is decoded: over the limit, the layer is read and the scan reports the limit.
        """
        diff_id = info.diff_id
        if not diff_id or not is_digest(diff_id):
            return None
        key = (id(image), info.index)
        form = None if image.diff_ids_vouched else _form_of(image, info)
        self._forms[key] = form
        for codec in (self.codec, *self.richer):
            entry = self.store.entry(diff_id, codec.name)
            if entry is None:
                continue
            if codec is self.codec:
                self._known[key] = entry.forms
            if not image.diff_ids_vouched and (form is None or form not in entry.forms):
                continue
            if entries_before + entry.count > limits.max_entries:
                return None  # read it: the scan reports the limit if the layer really is that large
            if entry.nodes > (entry.count + 1) * (limits.max_depth + 1):
                self.store.discard(entry)  # more names than its members could have made
                continue
            tree = self.store.tree(entry, BARE if self.codec is BARE else codec)
            if tree is not None:
                return tree
        self.store.misses += 1
        return None

    def remember(self, image: Image, info: LayerInfo, tree: LayerTree) -> None:
        """Store a layer just read, if its bytes matched its diff ID in this run."""
        if not info.diff_id or info.index not in image.verification.verified:
            return
        key = (id(image), info.index)
        form = self._forms[key] if key in self._forms else _form_of(image, info)
        forms = [f for f in self._known.get(key, []) if f != form]
        self.store.put(info.diff_id, self.codec, tree, forms + ([form] if form is not None else []))


def _form_of(image: Image, info: LayerInfo) -> Form | None:
    form = image.stored_form(info)
    return (form.size, form.digest) if form is not None else None


# --- encoding -----------------------------------------------------------------------------------
def encode_tree(tree: LayerTree, codec: ContentCodec) -> tuple[bytes, int]:
    """Depth-first records (parents before children), contents in a table shared by hardlinks.

    Returns the JSON and the number of records.
    """
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
    document = {"entries": records, "contents": contents, "size": tree.size, "count": tree.entries,
                "root_opaque": tree.root.opaque}
    return json.dumps(document, separators=(",", ":")).encode(), len(records)


def decode_tree(data: bytes, codec: ContentCodec, nodes: int | None = None) -> LayerTree:
    """The tree ``encode_tree`` wrote; raises ``BadEntry`` (or the codec's error) on anything else."""
    return _decoded(_strict_json(data), codec, nodes)


def _decoded(document: Any, codec: ContentCodec, nodes: int | None) -> LayerTree:
    """``decode_tree`` of the parsed text. Each record is let go of once its node is made, so the
    memory of a layer's records is free for its nodes as they come rather than held beside them."""
    if not isinstance(document, dict):
        raise BadEntry("not an object")
    records, raw_contents = document.get("entries"), document.get("contents")
    if not isinstance(records, list) or not isinstance(raw_contents, list) \
            or (nodes is not None and len(records) != nodes):
        raise BadEntry("entries")
    tree = LayerTree()
    tree.size, tree.entries = _int(document.get("size")), _int(document.get("count"))
    tree.root.opaque = _bool(document.get("root_opaque"))
    contents = [codec.decode(c) for c in raw_contents]
    parents: dict[str, Node] = {"": tree.root}
    # Modes, times and names repeat: one object each, as a scan keeps them (bounded: a hostile entry
    # of a million distinct times shares none). Each its own, with each kind's word, a million
    # entries from the cache peaked at 316 MB, against 199 MB scanned.
    ints: dict[int, int] = {}
    for at in range(len(records)):
        record, records[at] = records[at], None
        if not isinstance(record, list) or len(record) != 13:
            raise BadEntry("a record")
        path, kind, mode, uid, gid, size, mtime, target, hardlink_to, xattrs, rdev, opaque, index = record
        kind = _KIND_WORDS.get(kind) if isinstance(kind, str) else None  # the node's own word: one object
        if not isinstance(path, str) or kind is None:
            raise BadEntry("a record's path or kind")
        parent_path, _, name = path.rpartition("/")
        parent = parents.get(parent_path)
        if parent is None or name in ("", ".", "..") or "\0" in name:
            raise BadEntry(f"cache entry {path!r} has no directory to live in")
        mode, mtime = _int(mode, 0o7777), None if mtime is None else _int(mtime, low=None)
        mode, mtime = shared_ints(ints, mode, mtime)
        node = Node(kind, mode, _int(uid), _int(gid), _int(size), mtime, tree.slot)
        node.target, node.hardlink_to = _str_or_none(target), _str_or_none(hardlink_to)
        node.opaque = _bool(opaque)
        if xattrs is not None:
            if not isinstance(xattrs, dict) or not all(isinstance(v, str) for v in xattrs.values()):
                raise BadEntry("xattrs")
            node.xattrs = {k: bytes.fromhex(v) for k, v in xattrs.items()}
        if rdev is not None:
            if not isinstance(rdev, list) or len(rdev) != 2:
                raise BadEntry("rdev")
            node.rdev = (_int(rdev[0]), _int(rdev[1]))
        if type(index) is not int or not -1 <= index < len(contents):
            raise BadEntry("a content index")
        node.content = contents[index] if index >= 0 else None
        assert parent.children is not None
        parent.children[intern(name)] = node
        if kind == DIR:
            parents[path] = node
    return tree


# --- checked JSON ---------------------------------------------------------------------------------
def _strict_json(data: bytes) -> Any:
    """JSON with only what we write: no floats (``1e999``), no NaN, nesting bounded by the parser."""
    try:
        return json.loads(data, parse_float=_refuse, parse_constant=_refuse)
    except RecursionError as exc:
        raise BadEntry("nested too deeply") from exc
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadEntry(str(exc)[:80]) from exc


def _refuse(text: str) -> Any:
    raise BadEntry(f"not a value we write: {text[:20]}")


def _int(value: Any, high: int | None = None, low: int | None = 0) -> int:
    if type(value) is not int or (low is not None and value < low) or (high is not None and value > high):
        raise BadEntry("an integer out of place")
    return value


def _bool(value: Any) -> bool:
    if type(value) is not bool:
        raise BadEntry("a boolean out of place")
    return value


def _str_or_none(value: Any) -> str | None:
    if value is not None and not isinstance(value, str):
        raise BadEntry("a string out of place")
    return value


def _form(value: Any) -> Form:
    if not isinstance(value, list) or len(value) != 2:
        raise BadEntry("a stored form")
    return _int(value[0]), _str_or_none(value[1])


def _inflate(body: bytes, expected: int) -> bytes:
    """Inflate ``body`` to exactly ``expected`` bytes, never more (a zlib bomb stops here)."""
    inflater = zlib.decompressobj()
    try:
        data = inflater.decompress(body, expected + 1)
    except zlib.error as exc:
        raise BadEntry(f"body: {exc}") from exc
    if len(data) != expected or not inflater.eof or inflater.unconsumed_tail:
        raise BadEntry("the body is not the length recorded")
    return data


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks = []
    total = 0
    while total <= limit:
        chunk = os.read(fd, min(1 << 20, limit + 1 - total))
        if not chunk:
            break
        chunks.append(chunk)
        total += len(chunk)
    if total > limit:
        raise BadEntry("larger than an entry may be")
    return b"".join(chunks)

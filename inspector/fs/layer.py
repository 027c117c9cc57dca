"""Read one layer tar into the tree that layer alone contributes.

This mirrors how the engine's overlay2 driver applies a layer: the tar is unpacked into an empty
directory of its own (whiteouts become markers, ``.wh..wh..opq`` marks its directory opaque, missing
parent directories are created as 0755 root-owned directories), and only then is that directory laid
over the layers below (see ``merge``). Keeping a layer's tree independent of the layers below is what
lets one-pass sources scan layers in arrival order and lets results be cached per layer.
"""

from __future__ import annotations

import lzma
import zlib
from collections.abc import Callable
from sys import intern
from typing import IO, Any

from ..errors import ImageFormatError
from ..limits import DEFAULT, Limits
from ..tarheader import (
    AREGTYPE,
    BLKTYPE,
    CHRTYPE,
    CONTTYPE,
    DIRTYPE,
    FIFOTYPE,
    GNU_SPARSE,
    LNKTYPE,
    PAX_GLOBAL,
    REGTYPE,
    SYMTYPE,
    TarMember,
)
from ..tarwalk import NotATarError, TarWalk
from .collector import collector_paused
from .node import (
    BLOCK,
    CHAR,
    DIR,
    FIFO,
    FILE,
    PENDING_LINK,
    SYMLINK,
    WHITEOUT,
    LayerSlot,
    Node,
    _stamp,
    copy_children,
)
from .paths import normalize, to_absolute

WHITEOUT_PREFIX = ".wh."
OPAQUE_MARKER = ".wh..wh..opq"
IMPLIED_DIR_MODE = 0o755

#: Given a regular file's path, node and tar header, return a reader for its bytes (or None to skip
#: them). The reader's result is stored in ``node.content`` and shared with hardlinks to the file.
ContentProbe = Callable[[str, Node, TarMember], "Callable[[IO[bytes]], Any] | None"]


def reentrant(probe: ContentProbe) -> ContentProbe:
    """Mark ``probe`` as one that keeps no state between calls, so two layers may be scanned with it
    at once (``sources.registry`` then downloads and inflates the next layer while this one is parsed)."""
    probe.reentrant = True  # type: ignore[attr-defined]
    return probe


def is_reentrant(probe: ContentProbe | None) -> bool:
    """True for no probe and for a probe marked with ``reentrant``; a stateful probe (``Prehash``,
    which collects digests per layer) is scanned one layer at a time."""
    return probe is None or getattr(probe, "reentrant", False) is True


#: What a probe says of the regular files it reads without an execute bit: only those whose name is
#: one of ``names`` or whose path starts with one of ``prefixes`` (see ``plain_interest``).
Interest = tuple[frozenset[str], tuple[str, ...]]


def plain_interest(probe: ContentProbe, names: frozenset[str], prefixes: tuple[str, ...]) -> ContentProbe:
    """Mark ``probe`` as one that returns None for every regular file without an execute bit whose
    name is not in ``names`` and whose path starts with none of ``prefixes``. The scan then asks it
    of those files only: on a million-file image, most files are data nobody reads, and three tests
    in line cost a fifth of the calls they spare (0.74 µs a file for the summary's probe)."""
    probe.plain_interest = (names, prefixes)  # type: ignore[attr-defined]
    return probe


def interest_of(probe: ContentProbe | None) -> Interest | None:
    """The probe's ``plain_interest``, or None: ask it of every regular file."""
    found = getattr(probe, "plain_interest", None)
    return found if isinstance(found, tuple) else None


_TYPES = {
    REGTYPE: FILE,
    AREGTYPE: FILE,
    CONTTYPE: FILE,
    GNU_SPARSE: FILE,
    DIRTYPE: DIR,
    SYMTYPE: SYMLINK,
    CHRTYPE: CHAR,
    BLKTYPE: BLOCK,
    FIFOTYPE: FIFO,
}
_XATTR_PREFIXES = ("SCHILY.xattr.", "LIBARCHIVE.xattr.")
_MAX_SHARED_INTS = 4096


def shared_ints(ints: dict[int, int], mode: int, mtime: int | None) -> tuple[int, int | None]:
    """A layer's one object for ``mode`` and for ``mtime`` (None, an implied directory's time, stays
    None): modes and times repeat, so a tree keeps one int object for each value, not one per node.
    Bounded: past ``_MAX_SHARED_INTS`` values nothing new is added (an image of a million distinct
    times shares none). The scan does the same inline (``_walk``); the cache and the helpers'
    transfer call this."""
    if len(ints) < _MAX_SHARED_INTS:
        return ints.setdefault(mode, mode), mtime if mtime is None else ints.setdefault(mtime, mtime)
    return ints.get(mode, mode), mtime if mtime is None else ints.get(mtime, mtime)


def owner_stamp(stamps: dict[tuple[int, int], tuple[LayerSlot, int, int]], slot: LayerSlot,
                owner: tuple[int, int]) -> tuple[LayerSlot, int, int]:
    """The layer's ``(slot, uid, gid)`` stamp for ``owner`` not yet in ``stamps``: made, and kept
    there while the table is under ``_MAX_SHARED_INTS`` (an image of a million owners shares none)."""
    stamp = _stamp(slot, *owner)
    if len(stamps) < _MAX_SHARED_INTS:
        stamps[owner] = stamp
    return stamp


class LayerTree:
    """What one layer adds, removes and hides, as a tree rooted at ``root``."""

    __slots__ = ("entries", "inodes", "ints", "last_dir", "root", "size", "slot", "stamps")

    def __init__(self) -> None:
        self.slot = LayerSlot()  # the stack position, known once the layer is merged
        self.root = Node(DIR, layer=self.slot)
        self.entries = 0  # tar members read, for limits and statistics
        self.size = 0  # bytes of the uncompressed tar
        self.inodes: dict[int, list[Node]] = {}  # id(node) → every name of that node's inode (hardlinks only)
        self.ints: dict[int, int] = {}  # while scanning: one object per distinct mode and mtime (see _walk)
        self.stamps: dict[tuple[int, int], tuple[LayerSlot, int, int]] = {}  # while scanning: (uid, gid) → stamp
        #: while scanning: the directory the last member went to, as (its path in the layer, its node,
        #: its absolute path with a trailing slash): the next member is nearly always beside it.
        self.last_dir: tuple[str, Node, str] = ("", self.root, "/")

    def copy(self) -> LayerTree:
        """An independent copy with a slot of its own (the merge moves a tree's nodes and sets its slot)."""
        twin = LayerTree()
        twin.entries, twin.size = self.entries, self.size
        twin.root.take_attributes(self.root)
        twin.root.layer, twin.root.opaque = twin.slot, self.root.opaque
        copy_children(self.root, twin.root, twin.slot)
        return twin

    def lookup(self, parts: tuple[str, ...]) -> Node | None:
        """Find a name written by this layer, without following symlinks."""
        node = self.root
        for part in parts:
            if node.children is None:
                return None
            child = node.children.get(part)
            if child is None:
                return None
            node = child
        return node


def scan_layer(stream: IO[bytes], probe: ContentProbe | None = None, limits: Limits = DEFAULT,
               entries_before: int = 0) -> LayerTree:
    """Read a whole uncompressed layer tar from ``stream``, front to back, once.

    ``stream`` is best seekable, at least forward (``sources.reader.ForwardReader`` makes any
    stream so): file data nobody reads is then skipped by seeking instead of reading it.

    A global PAX header counts one entry per record (each is kept until the next global header),
    so a few kilobytes cannot make the walk hold millions of them.
    """
    tree = LayerTree()
    try:
        with collector_paused():  # a layer's nodes make no reference cycles: gc would only walk them, again and again
            _walk(stream, tree, probe, limits, entries_before)
    except NotATarError as exc:
        raise ImageFormatError(f"layer tar is truncated or corrupt: {exc}") from exc
    except (EOFError, zlib.error, lzma.LZMAError, OSError, ValueError, OverflowError) as exc:
        raise ImageFormatError(f"layer tar is truncated or corrupt: {exc}") from exc
    except Exception as exc:  # zstandard.ZstdError and friends do not share a base class
        if type(exc).__module__.startswith("zstandard") or "zstd" in type(exc).__name__.lower():
            raise ImageFormatError(f"layer zstd stream is corrupt: {exc}") from exc
        raise
    return tree


def _walk(stream: IO[bytes], tree: LayerTree, probe: ContentProbe | None, limits: Limits,
          entries_before: int) -> None:
    """The walk itself: each member counted against the image's entry limit, then applied.

    A member is applied here, in the loop, with what every member needs read once before it
    (the tree's tables, the probe's interest): a call per member to apply it and another to make
    its node were a twentieth of a million-member scan. Hardlinks and what the fast way leaves
    (``_place``) take functions of their own."""
    tar = TarWalk(stream, globals=True)
    interest = interest_of(probe)
    plain_names, plain_prefixes = interest if interest is not None else (frozenset[str](), ())
    most = limits.max_entries - entries_before
    slot, ints, stamps, new = tree.slot, tree.ints, tree.stamps, _new_node
    for member in tar:
        kind_byte = member.type
        if kind_byte == PAX_GLOBAL:  # the engine ignores global headers (tests/engine/test_tar_globals.py)
            tree.entries += len(member.records or ()) or 1
            if tree.entries > most:
                raise too_many_entries(limits)
            continue
        tree.entries += 1
        if tree.entries > most:
            raise too_many_entries(limits)
        name = member.name
        slash = name.rfind("/")
        base = name[slash + 1:]
        key, parent, prefix = tree.last_dir
        if (name[:slash] if slash >= 0 else "") != key or base in _UNCLEAN_BASES or "\x00" in base or \
                base.startswith(WHITEOUT_PREFIX):
            # not the directory the previous member went to, or a name to clean, or a whiteout
            placed = _place(tree, member, limits)
            if placed is None:
                continue
            parent, base, prefix = placed
        # else: a name in the directory the previous member went to (nearly every member of a layer).
        # Nothing since can have replaced that directory: a member changes only its own directory's
        # entries, and every member that goes elsewhere takes ``_place`` and moves this memory.
        # Its depth passed the limit then, and this name is one deeper than that directory.
        base = intern(base)  # a million entries repeat a few thousand names: keep one copy of each
        path = prefix + base
        kind = _TYPES.get(kind_byte)
        if kind is None:  # a hardlink, or a type the engine refuses
            node = _linked_node(tree, member, path, slot)
            kind = node.kind
        else:
            mode = member.mode & 0o7777
            mtime = int(member.mtime)
            if len(ints) < _MAX_SHARED_INTS:  # ``shared_ints``, inline: a call per member is 0.05 us of each
                mode, mtime = ints.setdefault(mode, mode), ints.setdefault(mtime, mtime)
            else:
                mode, mtime = ints.get(mode, mode), ints.get(mtime, mtime)
            owner = (member.uid, member.gid)
            stamp = stamps.get(owner) or owner_stamp(stamps, slot, owner)
            node = new(Node)  # Node's own __init__, inline
            node.kind, node.mode, node._stamp, node.mtime = kind, mode, stamp, mtime
            node.size = member.size if kind == FILE else 0
            node.children = {} if kind == DIR else None
            node.content = node._extra = None
            if kind == SYMLINK:
                node.target = member.linkname
                node.mode = 0o777  # Linux symlinks have no permissions of their own, whatever the header says
            elif kind == CHAR or kind == BLOCK:
                node.rdev = (member.devmajor, member.devminor)
            if member.records:
                node.xattrs = _xattrs(member)
        children = parent.children
        assert children is not None
        existing = children.get(base)
        if existing is not None and existing.kind == DIR and kind == DIR:
            existing.take_attributes(node)
            continue
        children[base] = node
        if kind == FILE and probe is not None and kind_byte != LNKTYPE and not member.sparse:
            # a sparse file's holes are never inflated: its content is not read (see README, Limits)
            if interest is not None and not node.mode & 0o111 and base not in plain_names \
                    and not path.startswith(plain_prefixes):
                continue  # a file the probe said it never reads
            reader = probe(path, node, member)
            if reader is not None:
                node.content = reader(tar.content(member))
    tree.size = tar.offset
    tree.ints, tree.stamps = {}, {}
    tree.last_dir = ("", tree.root, "/")
    _check_complete(stream, tar.offset)


def too_many_entries(limits: Limits) -> ImageFormatError:
    return ImageFormatError(f"the image has more than {limits.max_entries:,} entries "
                            "(raise the limit with --max-entries)")


def _check_complete(stream: IO[bytes], offset: int) -> None:
    """A seekable stream shorter than its last member claims was truncated (seeks past EOF do not fail)."""
    end = getattr(stream, "size", None)
    if end is None:
        try:
            here = stream.tell()
            end = stream.seek(0, 2)
            stream.seek(here)
        except (OSError, ValueError):
            return  # forward-only: ForwardReader raises on a short seek itself
    if offset > end:
        raise ImageFormatError(f"layer tar is truncated: its members need {offset} bytes, it has {end}")


def _place(tree: LayerTree, member: TarMember, limits: Limits) -> tuple[Node, str, str] | None:
    """The long way to a member's directory: its name cleaned and checked, whiteouts and the root's
    own entry applied here (None: nothing more to do), else its directory (made if missing), its
    last name, and its directory's absolute path with a trailing slash, which ``tree.last_dir``
    remembers for the members beside it. Whatever this member changes, the memory is reset first:
    a whiteout or a root entry may remove or replace the remembered directory."""
    tree.last_dir = ("", tree.root, "/")
    name = member.name
    parts = normalize(name)
    if len(parts) > limits.max_depth:
        raise ImageFormatError(f"a member name is {len(parts):,} directories deep, more than "
                               f"{limits.max_depth:,} (raise the limit with --max-depth): {name[:80]}…")
    if not parts:  # the root's own entry: the engine skips "./" and "." but applies "/" to the
        if member.isdir() and name.strip("/") == "":  # layer's directory (checked with docker
            tree.root.mode = member.mode & 0o7777  # export): its setgid reaches implied dirs
        return None
    if parts[-1].startswith(WHITEOUT_PREFIX):
        _apply_whiteout(tree, parts, tree.slot)
        return None
    parent = _implied_parent(tree, parts[:-1], tree.slot)
    key = "/".join(parts[:-1])
    tree.last_dir = (key, parent, f"/{key}/" if key else "/")
    return parent, parts[-1], tree.last_dir[2]


#: Last components that ``normalize`` would clean or refuse: the fast way in ``_walk`` leaves them to it.
_UNCLEAN_BASES = frozenset(("", ".", ".."))


def _apply_whiteout(tree: LayerTree, parts: tuple[str, ...], index: LayerSlot) -> None:
    base = parts[-1]
    if base == OPAQUE_MARKER:
        _implied_parent(tree, parts[:-1], index).opaque = True
    elif base.startswith(WHITEOUT_PREFIX + WHITEOUT_PREFIX):
        return  # AUFS metadata such as .wh..wh.plnk: never part of the filesystem
    elif base == WHITEOUT_PREFIX:
        raise ImageFormatError(f"whiteout without a name: {to_absolute(parts)}")
    else:
        parent = _implied_parent(tree, parts[:-1], index)
        parent.children[base[len(WHITEOUT_PREFIX):]] = Node(WHITEOUT, layer=index)  # type: ignore[index]


def _implied_parent(tree: LayerTree, parts: tuple[str, ...], index: LayerSlot) -> Node:
    """Walk to a parent directory, creating the missing ones as the engine does (0755, root)."""
    node = tree.root
    for part in parts:
        children = node.children
        assert children is not None
        child = children.get(part)
        if child is None or child.kind != DIR:
            # mkdir(2) in a setgid directory makes a setgid directory, and so does the engine's
            # MkdirAll (checked with docker export)
            child = Node(DIR, IMPLIED_DIR_MODE | (node.mode & 0o2000), 0, 0, layer=index)
            children[part] = child
        node = child
    return node


def _linked_node(tree: LayerTree, member: TarMember, path: str, index: LayerSlot) -> Node:
    """The node of a member whose type has no kind of its own: a hardlink's, or an error."""
    if member.type == LNKTYPE:
        return _hardlink(tree, member, index)
    raise ImageFormatError(f"unsupported tar entry type {member.type!r} for {path}")


_new_node = Node.__new__


def _hardlink(tree: LayerTree, member: TarMember, index: LayerSlot) -> Node:
    """A second name for data written earlier in this layer.

    The engine links the name to the same inode, then applies the link header's owner, mode and
    mtime to it: every name of that inode changes, so all of them show the last header's values.
    """
    target_parts = normalize(member.linkname)
    source = tree.lookup(target_parts)
    if source is None or source.kind in (DIR, WHITEOUT, PENDING_LINK):
        node = Node(PENDING_LINK, member.mode & 0o7777, member.uid, member.gid, 0, _mtime(member), index)
        node.hardlink_to = to_absolute(target_parts)
        return node
    node = copy_link_source(source, index)
    node.hardlink_to = to_absolute(target_parts)
    names = tree.inodes.setdefault(id(source), [source])
    names.append(node)
    tree.inodes[id(node)] = names
    for name in names:
        name.uid, name.gid, name.mtime = member.uid, member.gid, _mtime(member)
        if name.kind != SYMLINK:
            name.mode = member.mode & 0o7777
    return node


def _mtime(member: TarMember) -> int:
    """PAX mtimes may have a fraction (the parser refuses what does not fit in 64 bits)."""
    return int(member.mtime)


def copy_link_source(source: Node, index: LayerSlot) -> Node:
    """A new name for the same inode: same kind, attributes, size and shared content."""
    node = Node(source.kind, source.mode, source.uid, source.gid, source.size, source.mtime, index)
    node.target, node.rdev, node.xattrs, node.content = source.target, source.rdev, source.xattrs, source.content
    return node


def _xattrs(member: TarMember) -> dict[str, bytes] | None:
    """Extended attributes from the member's own PAX records (global ones are ignored, as by the
    engine); binary values arrive surrogate-escaped."""
    if not member.records:
        return None
    found = None
    for key, value in member.records.items():
        for prefix in _XATTR_PREFIXES:
            if key.startswith(prefix):
                raw = value.encode("utf-8", "surrogateescape")
                if prefix.startswith("LIBARCHIVE"):
                    import base64

                    raw = base64.b64decode(raw + b"=" * (-len(raw) % 4))
                found = found or {}
                found[key[len(prefix):]] = raw
    return found

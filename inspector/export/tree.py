"""``inspect-image export IMAGE DEST``: the merged tree (or a subtree) written out.

First pass: the merged view, with each file's origin (layer, member). Then everything but file
contents is written, then only the layers that still hold surviving files are read again and their
members copied out as they stream past.
"""

from __future__ import annotations

import posixpath
from collections import defaultdict
from dataclasses import dataclass, field
from typing import IO

from ..errors import BadReferenceError
from ..fs import build_filesystem
from ..fs.entry import Entry
from ..fs.node import DIR, FILE
from ..fs.paths import normalize, to_absolute
from ..limits import DEFAULT, Limits
from ..sources.interface import Image, LayerInfo
from .interface import ExportWriter
from .origins import Origin, copy_members, origin_probe


@dataclass
class ExportStats:
    entries: int = 0
    files: int = 0
    bytes: int = 0
    warnings: list[str] = field(default_factory=list)  # entries left out, and why


def export_tree(image: Image, writer: ExportWriter, prefix: str = "/", limits: Limits = DEFAULT) -> ExportStats:
    fs = build_filesystem(image, probe=origin_probe, limits=limits)
    root = to_absolute(normalize(prefix))
    if root != "/" and fs.lookup(root, follow=False) is None:
        raise BadReferenceError(f"{root} does not exist in the image")
    stats = ExportStats()
    pending: dict[int, dict[int, list[tuple[str, Entry]]]] = defaultdict(lambda: defaultdict(list))
    for path, node in fs.walk(root):
        relative = _relative(path, root)
        if not relative:
            continue
        entry = Entry.of(path, node)
        stats.entries += 1
        if node.kind == DIR:
            writer.directory(relative, entry)
        elif node.kind == "symlink":
            if "\x00" in (node.target or ""):
                # A PAX linkpath may carry a NUL; no filesystem can hold it (symlink(2) takes a C
                # string) and the engine's tar reader refuses the layer, so there is nothing to recreate.
                stats.entries -= 1
                stats.warnings.append(f"{path}: not exported, its symlink target has a NUL byte")
                continue
            writer.symlink(relative, entry)
        elif node.kind == FILE:
            origin = node.content
            if isinstance(origin, Origin):
                pending[origin.layer][origin.offset].append((relative, entry))
            else:
                writer.file(relative, entry, None)
        else:
            writer.special(relative, entry)

    def consume(info: LayerInfo, stream: IO[bytes]) -> None:
        wanted = pending[info.index]

        def sink(offset: int, handle: IO[bytes]) -> None:
            (first, entry), *others = wanted[offset]
            writer.file(first, entry, handle)
            stats.files += 1
            stats.bytes += entry.size
            for relative, link in others:
                writer.hardlink(relative, link, first)

        copy_members(stream, set(wanted), sink)

    if pending:
        image.read_layers(set(pending), consume)
    writer.finish()
    return stats


def _relative(path: str, root: str) -> str:
    if root == "/":
        return path.lstrip("/")
    return posixpath.basename(root) if path == root else posixpath.join(posixpath.basename(root),
                                                                          path[len(root) + 1:])

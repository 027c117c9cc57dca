"""Keep package databases' bytes while the layers stream past, and find them again in the merged view.

A one-pass read cannot come back for a file, so the scan's content probe is wrapped: a regular
file whose path is one a package manager keeps its database at (``packages.wanted``) is read
whole, up to a bound, into a ``Captured`` object in ``node.content``; every other file goes to the
wrapped probe as before. The per-layer cache stores captured bytes beside the probe's facts
(``capture_codec``: a codec variant of its own, so entries written without captures never answer).
Reading happens later, from the merged view, so a database a later layer deleted is gone, as in
the container, and one reached through the image's own links (``/lib`` → ``usr/lib``) is found.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import IO, Any

from ..fs.cache import ContentCodec
from ..fs.layer import interest_of, is_reentrant, plain_interest, reentrant
from ..fs.node import DIR, FILE, Node
from . import ROOTS, apk, dpkg, os_release, rpm, rpm_manifest
from . import wanted as package_file

MAX_DB_BYTES = 256 << 20  # one rpmdb; larger databases are reported, not read
MAX_TEXT_BYTES = 64 << 20  # a dpkg status, an apk installed file, one info/*.list
CHUNK = 1 << 20
#: os-release files are kept by the facts probe already (``FileFacts.text``, bounded): not here.
OS_RELEASE = ("/etc/os-release", "/usr/lib/os-release")


class Captured:
    """A database file's bytes, or ``None`` with its size when it was larger than the bound."""

    __slots__ = ("data", "size")

    def __init__(self, data: bytes | None, size: int) -> None:
        self.data = data
        self.size = size


def _bound(path: str) -> int:
    return MAX_DB_BYTES if rpm.wanted(path) else MAX_TEXT_BYTES


def _capture(stream: IO[bytes], bound: int) -> Captured:
    parts: list[bytes] = []
    size = 0
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        size += len(chunk)
        if size <= bound:
            parts.append(chunk)
        elif parts:
            parts = []  # over the bound: keep counting, keep nothing
    return Captured(b"".join(parts) if size <= bound else None, size)


def capture_probe(base: Callable[..., Any] | None) -> Callable[..., Any]:
    """``base`` (a content probe, or None), plus capturing of non-executable package database files."""

    def probe(path: str, node: Node, member: Any = None) -> Any:
        if not node.mode & 0o111 and path not in OS_RELEASE and package_file(path):
            bound = _bound(path)
            return lambda stream: _capture(stream, bound)
        return base(path, node, member) if base is not None else None

    if is_reentrant(base):
        reentrant(probe)
    below = interest_of(base) if base is not None else (frozenset(), ())
    if below is not None:  # what the base reads, and every path a package database may be at
        plain_interest(probe, below[0], below[1] + ROOTS)
    return probe


def capture_codec(base: ContentCodec) -> ContentCodec:
    """``base``'s codec, plus captured files (base64); a new name, so older entries are not used."""

    def encode(content: Any) -> Any:
        if isinstance(content, Captured):
            return {"captured": None if content.data is None else base64.b64encode(content.data).decode(),
                    "size": content.size}
        return {"facts": base.encode(content)}

    def decode(data: Any) -> Any:
        if not isinstance(data, dict):
            raise TypeError("not a captured-content record")
        if "captured" in data:
            text, size = data["captured"], data["size"]
            if not isinstance(size, int) or not (text is None or isinstance(text, str)):
                raise TypeError("bad captured-content record")
            return Captured(None if text is None else base64.b64decode(text, validate=True), size)
        return base.decode(data["facts"])

    return ContentCodec(f"{base.name}+packages1", encode, decode)


def database_files(fs: Any, text_of: Callable[[Node], str | None]) -> tuple[dict[str, bytes], list[str]]:
    """The captured database files of the merged view ``fs``, keyed by the path readers expect,
    each looked up through the image's own links; plus warnings for files too large to keep.
    ``text_of(node)`` gives an os-release's text as the facts probe kept it."""
    files: dict[str, bytes] = {}
    warnings: list[str] = []

    def take(path: str, node: Node | None) -> None:
        if node is None or node.kind != FILE:
            return
        content = node.content
        if isinstance(content, Captured):
            if content.data is None:
                warnings.append(f"{path}: {content.size:,} bytes, larger than this tool reads; its packages "
                                "are not listed")
            else:
                files[path] = content.data
        elif path in OS_RELEASE:
            text = text_of(node)
            if text is not None:
                files[path] = text.encode()

    for path in (dpkg.STATUS, *apk.PATHS, rpm_manifest.PATH, *os_release.PATHS,
                 *(f"{d}/{n}" for d in rpm.DIRECTORIES for n in rpm.NAMES)):
        take(path, fs.lookup(path))
    for directory, keep in ((dpkg.STATUS_D, None), (dpkg.INFO, (".list", ".md5sums", ".conffiles"))):
        node = fs.lookup(directory)
        if node is None or node.kind != DIR or not node.children:
            continue
        for name, child in node.children.items():
            if keep is None or name.endswith(keep):
                take(f"{directory}/{name}", child)
    return files, warnings

"""What the user typed, split into a transport, a location and an optional image name or digest.

Spelled as skopeo and syft spell them: ``docker-archive:PATH[:REF]``, ``oci-archive:PATH[:REF]``,
``oci:DIR[:REF]``, ``oci:DIR@sha256:…``, ``docker:REF``; a bare argument that names an existing
path is detected by its content (``saved.tar:app:1`` picks ``app:1`` from ``saved.tar``); ``-`` is
standard input; anything else is an image name for the engine, unless it can only be a file name
(``/x.tar``, ``./x``, ``x.tar.gz``): a missing file then says so instead of the engine's
"invalid reference format".
"""

from __future__ import annotations

import os
from dataclasses import dataclass

TRANSPORTS = ("docker-archive", "oci-archive", "oci", "docker", "docker-daemon", "registry")
#: Names the engine would never take for an image: they can only mean a file.
PATH_PREFIXES = ("/", "./", "../", "~/")
ARCHIVE_SUFFIXES = (".tar", ".tar.gz", ".tgz", ".tar.zst", ".tar.xz", ".oci")


@dataclass(frozen=True)
class Reference:
    transport: str  # one of TRANSPORTS, "path" (detect by content), or "stdin"
    location: str  # a path, or an image name for the engine
    image: str | None = None  # a tag inside an archive or layout
    digest: str | None = None  # a manifest or index digest inside an archive or layout

    def __str__(self) -> str:
        if self.transport == "stdin":
            return "-"
        text = self.location if self.transport == "path" else f"{self.transport}:{self.location}"
        text = f"{text}:{self.image}" if self.image else text
        return f"{text}@{self.digest}" if self.digest else text


def parse(text: str) -> Reference:
    """Split ``text``; paths win over names so that an existing ``./busybox`` is read as a file."""
    if text == "-":
        return Reference("stdin", "-")
    if text.startswith("docker://"):  # skopeo's spelling of a registry image (see sources/registry_ref)
        return Reference("registry", text[len("docker://"):])
    transport, sep, rest = text.partition(":")
    if sep and transport in TRANSPORTS:
        if transport in ("docker", "docker-daemon"):
            return Reference("docker", rest)
        if transport == "registry":
            return Reference("registry", rest)
        rest, digest = split_digest(rest, required=False)
        path, image = split_path(rest)
        return Reference(transport, path, image, digest)
    body, digest = split_digest(text, required=True)
    path, image = split_path(body)
    if os.path.exists(path):
        return Reference("path", path, image, digest)
    if looks_like_a_file(text):
        return Reference("path", path, image, digest)
    return Reference("docker", text)


def split_digest(text: str, required: bool) -> tuple[str, str | None]:
    """``DIR@sha256:abc`` → (``DIR``, ``sha256:abc``) when ``DIR@sha256:abc`` is not itself a path.

    ``required``: only when what precedes the ``@`` exists (a bare argument may be an engine
    reference, ``name@sha256:…``, which is not ours to split).
    """
    head, at, tail = text.rpartition("@")
    if not at or ":" not in tail or "/" in tail or os.path.exists(text):
        return text, None
    if required and not os.path.exists(head):
        return text, None
    return head, tail


def looks_like_a_file(text: str) -> bool:
    """A leading ``/`` or ``./``, or an archive suffix on a name without a tag: not an engine name."""
    if text.startswith(PATH_PREFIXES):
        return True
    last = text.rsplit("/", 1)[-1]
    return ":" not in last and "@" not in last and last.lower().endswith(ARCHIVE_SUFFIXES)


def split_path(text: str) -> tuple[str, str | None]:
    """``a.tar:repo:tag`` → (``a.tar``, ``repo:tag``): the longest prefix that exists is the path."""
    if os.path.exists(text) or ":" not in text:
        return text, None
    cut = len(text)
    while True:
        cut = text.rfind(":", 0, cut)
        if cut <= 0:
            return text, None
        if os.path.exists(text[:cut]):
            return text[:cut], text[cut + 1:] or None

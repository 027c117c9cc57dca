"""What the user typed, split into a transport, a location and an optional image name.

Spelled as skopeo and syft spell them: ``docker-archive:PATH[:REF]``, ``oci-archive:PATH[:REF]``,
``oci:DIR[:REF]``, ``docker:REF``; a bare argument that names an existing path is detected by its
content (``saved.tar:app:1`` picks ``app:1`` from ``saved.tar``); ``-`` is standard input; anything
else is an image name for the engine.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

TRANSPORTS = ("docker-archive", "oci-archive", "oci", "docker", "docker-daemon", "registry")


@dataclass(frozen=True)
class Reference:
    transport: str  # one of TRANSPORTS, "path" (detect by content), or "stdin"
    location: str  # a path, or an image name for the engine
    image: str | None = None  # a tag inside an archive or layout

    def __str__(self) -> str:
        if self.transport == "stdin":
            return "-"
        text = self.location if self.transport == "path" else f"{self.transport}:{self.location}"
        return f"{text}:{self.image}" if self.image else text


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
        path, image = split_path(rest)
        return Reference(transport, path, image)
    path, image = split_path(text)
    if os.path.exists(path):
        return Reference("path", path, image)
    return Reference("docker", text)


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

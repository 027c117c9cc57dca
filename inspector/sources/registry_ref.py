"""Registry references (``HOST[:PORT]/NAME[:TAG|@DIGEST]``), checked and normalised as docker does.

Every part ends up in a URL path or in a token scope, so each is held to the distribution grammar
(lower-case path components, tags of at most 128 word characters, exact-hex sha256/sha512 digests):
nothing a user or an index types can smuggle a ``/..`` or a query into a request. Docker Hub names
normalise as the engine's do: ``debian`` is ``docker.io/library/debian:latest``, which is served by
``registry-1.docker.io`` and whose credentials live under ``https://index.docker.io/v1/``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import BadReferenceError, InspectorError

DOCKER_HUB = "docker.io"
DOCKER_HUB_API = "registry-1.docker.io"
DOCKER_HUB_AUTH_KEY = "https://index.docker.io/v1/"
HUB_ALIASES = {"docker.io", "index.docker.io", "registry-1.docker.io", "registry.hub.docker.com"}

_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*\Z")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}\Z")
_HOST = re.compile(r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*"
                   r"|\[[0-9A-Fa-f:.]+\])(?::[0-9]{1,5})?\Z")
MAX_NAME = 255


@dataclass(frozen=True)
class RegistryOptions:
    """How to reach registries: ``--ca-cert``, ``--insecure-registry``, progress when on a terminal.

    Kept here, away from ``http.client`` and ``ssl``, so the command line can build it without
    paying their import on every run that never talks to a registry.
    """

    ca_cert: str | None = None
    insecure: tuple[str, ...] = ()
    progress: bool = False
    timeout: float = 30.0  # seconds without a byte before a connection counts as dead
    #: seconds an answer's headers, or a whole bounded body (a manifest, a tag list, a token), may
    #: take: ``timeout`` counts per read, so a server sending a byte every 29 s would never end
    deadline: float = 120.0
    #: a layer's body: each read of a chunk must end within max(rate_window, chunk / min_rate) seconds
    #: (curl's ``--speed-limit`` and ``--speed-time``: 1 MiB may take 64 s)
    min_rate: int = 16 << 10
    rate_window: float = 60.0


@dataclass(frozen=True)
class RegistryRef:
    """One image in one registry: ``host`` as typed (``docker.io`` for Docker Hub), ``repository``."""

    host: str  # "docker.io", "ghcr.io", "127.0.0.1:5000"
    repository: str  # "library/debian"
    tag: str | None = None
    digest: str | None = None  # wins over the tag when both are given, as in docker

    @property
    def api_host(self) -> str:
        """Where the distribution API answers (Docker Hub's API host is not its name)."""
        return DOCKER_HUB_API if self.host in HUB_ALIASES else self.host

    @property
    def reference(self) -> str:
        """What the manifest URL names: the digest if any, else the tag."""
        return self.digest or self.tag or "latest"

    @property
    def name(self) -> str:
        """``docker.io/library/debian``."""
        return f"{self.host}/{self.repository}"

    def __str__(self) -> str:
        text = self.name
        if self.tag:
            text += f":{self.tag}"
        if self.digest:
            text += f"@{self.digest}"
        return text


def parse_registry_ref(text: str) -> RegistryRef:
    """``[HOST[:PORT]/]NAME[:TAG][@DIGEST]`` → a checked ``RegistryRef``; raises BadReferenceError."""
    if not text or len(text) > 1024 or any(c.isspace() or ord(c) < 0x21 for c in text):
        raise BadReferenceError(f"{text[:80]!r} is not an image reference (HOST/NAME[:TAG|@DIGEST])")
    remainder, _, digest = text.partition("@")
    tag = None
    last_slash = remainder.rfind("/")
    colon = remainder.rfind(":")
    if colon > last_slash:
        remainder, tag = remainder[:colon], remainder[colon + 1:]
    first, sep, rest = remainder.partition("/")
    if sep and ("." in first or ":" in first or first == "localhost" or first.startswith("[")):
        host, path = first, rest
    else:
        host, path = DOCKER_HUB, remainder
    if host.lower() in HUB_ALIASES:
        host = DOCKER_HUB
        if "/" not in path:
            path = f"library/{path}"
    if not _HOST.match(host):
        raise BadReferenceError(f"{host!r} is not a registry host name")
    components = path.split("/")
    if not path or len(path) > MAX_NAME or not all(_COMPONENT.match(c) for c in components):
        raise BadReferenceError(f"{path[:80]!r} is not a repository name (lower-case letters, digits and "
                                "separators . _ - between them, components joined by /)")
    if tag is not None and not _TAG.match(tag):
        raise BadReferenceError(f"{tag[:80]!r} is not a tag (up to 128 letters, digits, _ . -)")
    if digest:
        check_digest(digest, "the reference's digest")
    return RegistryRef(host, path, tag, digest or None)


def check_digest(digest: object, what: str, error: type[InspectorError] = BadReferenceError) -> str:
    """A digest we can hash and compare (``verify.parse_digest``: sha256/sha512, exact lower-case hex).

    Typed by the user, a bad one is a bad reference (exit 2); found in a document, the caller passes
    ``VerificationError`` (exit 3), as the other sources do.
    """
    from .verify import is_digest, shown_digest

    if isinstance(digest, str) and is_digest(digest):
        return digest
    shown = shown_digest(digest)
    raise error(f"{what} {shown} is not a sha256 or sha512 digest")

"""``open_image``: turn anything the user may type into an ``Image`` (an archive, a layout, stdin, the engine,
a registry)."""

from __future__ import annotations

import functools
import os
import stat
import sys
from typing import TYPE_CHECKING

from ..errors import BadReferenceError, EngineError
from ..fs.cache import LayerCache
from ..limits import DEFAULT, Limits
from .compression import peekable, sniff
from .engine import EngineOptions, EngineUnreachableError, open_engine_image
from .interface import Image
from .layout import Selector, resolve
from .platforms import Platform
from .reference import Reference, parse
from .store import DirStore, Store, TarStore
from .stored import StoredImage
from .stream import StreamedImage
from .verify import Verification, is_digest, shown_digest

if TYPE_CHECKING:
    from .registry_ref import RegistryOptions

def open_image(reference: str | Reference, *, platform: str | None = None, tag: str | None = None,
               engine: EngineOptions | None = None, verify: bool = False, limits: Limits = DEFAULT,
               cache: LayerCache | None = None, digest: str | None = None,
               registry: RegistryOptions | None = None, source: str | None = None) -> Image:
    """Open an image from any source: an archive, an OCI layout, standard input or the engine.

    ``tag`` and ``digest`` pick an image inside an archive or layout (``digest``: a manifest, or an
    index of which ``platform`` then picks one). ``verify`` checks every blob and layer against its
    digest even where that costs an extra read; without it, only what passes through anyway is
    checked (see ``sources.verify``).
    """
    verification = Verification(full=verify)
    ref = reference if isinstance(reference, Reference) else parse(reference)
    if tag and ref.image and tag != ref.image:
        raise BadReferenceError(f"two different images asked for: {ref.image!r} and --tag {tag!r}")
    if digest and ref.digest and digest != ref.digest:
        raise BadReferenceError(f"two different digests asked for: {ref.digest!r} and --digest {digest!r}")
    selector = Selector(tag=tag or ref.image, platform=Platform.parse(platform) if platform else None,
                        platform_explicit=platform is not None, digest=digest or ref.digest)
    if selector.digest is not None and not is_digest(selector.digest):
        raise BadReferenceError(f"{shown_digest(selector.digest)} is not a digest: sha256:<64 hex> or "
                                "sha512:<128 hex>, lowercase")
    if ref.transport == "docker" and tag:
        raise BadReferenceError(f"--tag picks an image inside an archive; {ref.location!r} is an engine "
                                "reference: name the image itself (NAME:TAG)")
    if ref.transport == "docker" and digest:
        raise BadReferenceError(f"--digest picks a manifest inside an archive or layout; {ref.location!r} is an "
                                "engine reference: name the image itself (NAME@sha256:…)")
    if ref.transport == "registry" or (ref.transport == "docker" and source == "registry"):
        from .registry import open_registry_reference  # http.client and ssl: only for registry images

        return open_registry_reference(ref, str(reference), selector, registry, source, verification, limits, cache)
    if ref.transport == "docker":
        if isinstance(reference, str) and reference.startswith(("docker:", "docker-daemon:")):
            return open_engine_image(ref.location, selector, engine, verification, limits, cache)
        try:  # a bare name: an image for the engine, or maybe a mistyped path
            return open_engine_image(ref.location, selector, engine, verification, limits, cache)
        except EngineUnreachableError as exc:  # no engine at all: the name's registry answers (--source engine: not)
            if source != "engine":
                from .registry import open_after_engine

                return open_after_engine(ref.location, exc, selector, registry, verification, limits, cache)
            raise EngineError(f"no file or directory {ref.location!r}, and from the Docker engine: {exc}") from exc
        except EngineError as exc:
            raise EngineError(f"no file or directory {ref.location!r}, and from the Docker engine: {exc}") from exc
    if ref.transport == "stdin":
        return StreamedImage(sys.stdin.buffer, "<stdin>", selector, "-", "docker-archive",
                             verification=verification, limits=limits)
    image = _open_path(ref, selector, verification, limits)
    if isinstance(image, StoredImage):  # a regular file or a directory: another open reads the same
        image.reopen = functools.partial(open_image, ref, platform=platform, tag=tag, verify=verify, limits=limits,
                                         digest=digest)
    return image


def _open_path(ref: Reference, selector: Selector, verification: Verification, limits: Limits) -> Image:
    path = ref.location
    try:
        info = os.stat(path)
    except OSError as exc:
        raise BadReferenceError(f"cannot open: {exc.strerror}", where=path) from exc
    if stat.S_ISDIR(info.st_mode):
        if ref.transport in ("docker-archive", "oci-archive"):
            raise BadReferenceError(f"{ref.transport}: expects a file, this is a directory", where=path)
        return _stored(DirStore(path), selector, ref, "oci", verification, limits)
    if ref.transport == "oci":
        raise BadReferenceError("oci: expects a directory (use oci-archive: for a tar)", where=path)
    try:
        handle = open(path, "rb")
    except OSError as exc:
        raise BadReferenceError(f"cannot open: {exc.strerror}", where=path) from exc
    source = ref.transport if ref.transport != "path" else "archive"
    if not stat.S_ISREG(info.st_mode):  # a FIFO or character device: one pass only
        return StreamedImage(handle, path, selector, str(ref), source, verification=verification, limits=limits)
    buffered = peekable(handle)
    if sniff(buffered.peek(8)[:8]) != "none":  # `docker save | gzip`: only a forward pass is possible
        return StreamedImage(buffered, path, selector, str(ref), source, verification=verification, limits=limits,
                             reopen=lambda: open(path, "rb"))
    return _stored(TarStore(path, fileobj=buffered), selector, ref, source, verification, limits)


def _stored(store: Store, selector: Selector, ref: Reference, source: str, verification: Verification,
            limits: Limits) -> Image:
    try:
        resolved = resolve(store, selector, str(ref), source, verification)
    except BaseException:
        store.close()
        raise
    if source == "archive":
        resolved.meta.source = "oci-archive" if store.exists("oci-layout") and not store.exists("manifest.json") \
            else "docker-archive"
    return StoredImage(store, resolved, verification, limits)

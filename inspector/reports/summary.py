"""The one-object answer to "what is in this image?" (``inspect-image IMAGE``)."""

from __future__ import annotations

import json
from typing import Any

from ..fs import ContentProbe, HelperStart, build_filesystem
from ..fs.cache import CacheUse
from ..limits import DEFAULT, Limits
from ..sources.interface import Image
from . import accounts
from .bin import bin_listing
from .entrypoint import config_fields, resolve_entrypoint
from .executables import counts, find_executables
from .facts import probe
from .interface import Inspection, meta_fields
from .jre import find_runtimes
from .packages import summary_fields as package_fields
from .shells import shell_verdict


def inspect_image(image: Image, limits: Limits = DEFAULT, cache: CacheUse | None = None,
                  content_probe: ContentProbe = probe, helpers: HelperStart | None = None) -> Inspection:
    """Read the image once, keeping the content facts every report needs (or what ``content_probe``
    keeps, for a view that needs less); ``helpers`` (``parallel``) may scan some layers meanwhile."""
    fs = build_filesystem(image, probe=content_probe, limits=limits, cache=cache, helpers=helpers)
    verification = getattr(image, "verification", None)
    return Inspection(meta=image.meta, fs=fs, size=fs.size,
                      verification=verification.to_json() if verification is not None else None)


def image_fields(inspection: Inspection) -> dict[str, Any]:
    meta = inspection.meta
    config = meta.config
    return {
        **meta_fields(meta),
        "os": _text(config.get("os")),
        "architecture": _text(config.get("architecture")),
        "variant": _text(config.get("variant")),
        "created": _text(config.get("created")),
        "size": inspection.size,
        "layers": len(meta.layers),
        "entries": inspection.fs.count(),
    }


def _text(value: Any) -> str | None:
    """Config fields that must be strings, as strings (a hostile config may hold anything)."""
    return value if value is None or isinstance(value, str) else json.dumps(value)


def user_name(inspection: Inspection) -> str | None:
    """The ``/etc/passwd`` name of the uid the container runs as (``65532`` → ``nonroot``; no User:
    uid 0), when ``User`` is numeric and the image names it; None otherwise (a named User is its
    own name)."""
    user = config_fields(inspection)["user"] or "0"
    uid = user.partition(":")[0]
    if not uid.isascii() or not uid.isdigit() or len(uid) > 10:
        return None
    return accounts.names(inspection).users.get(int(uid))


def run_uid(inspection: Inspection) -> int | None:
    """The UID the container runs as, resolved as the engine does (``accounts.engine_user``); None
    when the engine refuses the User. ``app`` or ``+0`` may well be UID 0."""
    runs = accounts.engine_user(inspection, config_fields(inspection)["user"])
    return runs.uid if runs.error is None else None


def summary(inspection: Inspection) -> dict[str, Any]:
    """Everything, in the documented JSON shape (README, "JSON schema")."""
    executables = find_executables(inspection)
    verdict = shell_verdict(executables)
    return {
        "image": image_fields(inspection),
        "config": config_fields(inspection),
        "entrypoint": resolve_entrypoint(inspection).to_json(),
        "shell_less": verdict.shell_less,
        "shells": verdict.shells,
        "package_managers": verdict.package_managers,
        "package_manager_applets": verdict.busybox_applets,
        "user_name": user_name(inspection),
        "uid": run_uid(inspection),
        "jre": [r.to_json() for r in find_runtimes(inspection)],
        "bin": bin_listing(inspection).to_json(),
        "executables": counts(executables),
        **package_fields(inspection, executables),
        "verification": inspection.verification,
        "warnings": list(inspection.fs.warnings),
    }

"""The whole ``--packages`` report, and the summary, kept per image so that a repeat decodes no layer tree.

A warm repeat already reads no layer (the per-layer cache answers), but it still decodes every
layer's tree, rebuilds the merged view and re-reads the package databases from it: most of its
time. The report depends only on the layers' bytes (in order), on the config's build steps it
quotes (``layer_created_by``) and on our own code, so it is kept under a key made of exactly that:

- the ordered diff IDs, each of which the layer cache would answer for under its own checks
  (``CacheUse.answer``: the entry is there and the layer's blob is present in a form the entry
  recorded; the engine vouches for its diff IDs) or whose bytes were hashed against it in this run;
- the ``created_by`` of each layer, as this run read it from the config; for the summary, which
  quotes the config (entrypoint, user, environment, labels), the whole config as this run parsed it;
- the tool's version, the layer cache's format and codec, this module's format, and a fingerprint
  of the package's source files (size and mtime of each), so a changed reader never answers.

A diff ID that is merely claimed never answers: if any layer's blob is missing, of another size or
another digest than its entry recorded, the image is read as without this cache (and checked
against its diff IDs), and only then is the report stored. Never under ``--verify`` or
``--no-cache`` (no ``LayerCache`` then), never for ``--fail-on``/``--policy`` (they need the
merged view), never a report whose integrity was unavailable. The summary is kept without what
belongs to this run rather than to the layers and config: the image's reference, tags and digests
and what this run verified are filled in from the image as opened now.

Entries are sealed and read exactly as the layer cache's (``LayerCache.get_document``/``put_document``: a
SHA-256 of itself, opened without following links or blocking, bounded size, bounded inflation,
strict JSON); the report is then checked value by value against the shape we write. Whatever
fails is deleted and the report computed again, never shown.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import __version__
from ..fs import cache as layer_cache
from ..fs.cache import BadEntry, LayerCache, is_digest
from ..limits import Limits
from ..sources.interface import Image, LayerInfo

FORMAT = 1  # bump whenever what the report holds changes
MAX_RAW = 256 << 20  # inflated bytes of one report
KIND = "packages-report"
SUMMARY = "summary"  # the other kind: the summary (``reports.summary.summary``)
_PACKAGE = Path(__file__).resolve().parent.parent


@dataclass
class Lookup:
    """What the report cache said for one image: the report (a hit), or how to store one."""

    key: str | None  # None: not every layer could be vouched for before the scan
    answered: list[bool] = field(default_factory=list)  # per layer: the layer cache would answer for it
    report: dict[str, Any] | None = None
    warnings: list[str] = field(default_factory=list)  # the merged view's own warnings (stderr)


def lookup(image: Image, limits: Limits, store: LayerCache, codec: str, kind: str = KIND) -> Lookup:
    """The cached report of ``image`` if every layer is vouched for as ``CacheUse.answer`` would.

    Only for sources that know their config and layers before reading any layer (archives,
    layouts, registries): a one-pass stream, or the engine's ``docker save``, would be consumed
    by merely asking for its layers here."""
    if not _metadata_first(image):
        return Lookup(None)
    answered = _answered(image, limits, store, codec)
    key = _key(image, store, codec, kind)
    found = Lookup(key, answered)
    if key is None or not answered or not all(answered):
        return found
    stored = store.get_document(_path(store, key, kind), MAX_RAW, _KINDS[kind].checked)
    if stored is None:
        return found
    report, found.warnings = stored
    found.report = _KINDS[kind].served(report, image)
    return found


def keep(image: Image, found: Lookup, store: LayerCache, report: dict[str, Any], warnings: list[str],
         kind: str = KIND) -> None:
    """Store ``report`` if every layer was vouched for before the scan or hashed in this run."""
    verified: set[int] = getattr(getattr(image, "verification", None), "verified", set())
    layers = image.meta.layers
    if found.key is None or len(found.answered) != len(layers) or getattr(image.verification, "full", False):
        return
    if not all(answered or info.index in verified for answered, info in zip(found.answered, layers, strict=True)):
        return
    kept = _KINDS[kind].kept(report)
    if kept is None:
        return
    body = json.dumps({"report": kept, "warnings": list(warnings)}, separators=(",", ":")).encode()
    if len(body) <= MAX_RAW:
        store.put_document(_path(store, found.key, kind), body)


def _metadata_first(image: Image) -> bool:
    from ..sources.stored import StoredImage

    registry = sys.modules.get("inspector.sources.registry")  # loaded when the image came from one
    return isinstance(image, StoredImage) or (registry is not None and isinstance(image, registry.RegistryImage))


def _answered(image: Image, limits: Limits, store: LayerCache, codec: str) -> list[bool]:
    """Per layer, whether ``CacheUse.answer`` would take its tree from the cache (its checks, in
    its order, without decoding the tree). Anything unusual (a missing blob, too many layers) is
    a False here: the normal scan then meets it and reports it as it always does."""
    layers = image.meta.layers
    if len(layers) > limits.max_layers or getattr(image.verification, "full", False):
        return [False] * len(layers)
    answered: list[bool] = []
    entries = 0
    for info in layers:
        count = _answerable(image, info, store, codec, entries, limits)
        answered.append(count is not None)
        if count is None:
            return answered + [False] * (len(layers) - len(answered))
        entries += count
    return answered


def _answerable(image: Image, info: LayerInfo, store: LayerCache, codec: str, entries_before: int,
                limits: Limits) -> int | None:
    diff_id = info.diff_id
    if not diff_id or not is_digest(diff_id):
        return None
    try:
        stored = None if image.diff_ids_vouched else image.stored_form(info)
    except Exception:  # noqa: BLE001 - a missing or unreadable blob: the scan reports it
        return None
    form = (stored.size, stored.digest) if stored is not None else None
    entry = store.entry(diff_id, codec)
    if entry is None or (not image.diff_ids_vouched and (form is None or form not in entry.forms)):
        return None
    if entries_before + entry.count > limits.max_entries or entry.nodes > (entry.count + 1) * (limits.max_depth + 1):
        return None
    return entry.count


def _key(image: Image, store: LayerCache, codec: str, kind: str) -> str | None:
    from .history import layer_created_by

    layers = image.meta.layers
    if not layers or any(not info.diff_id for info in layers):
        return None
    config = image.meta.config if isinstance(image.meta.config, dict) else {}
    quoted = config if _KINDS[kind].whole_config else layer_created_by(config, len(layers))
    material = [kind, FORMAT, __version__, layer_cache.FORMAT, codec, _code_fingerprint(),
                [info.diff_id for info in layers], quoted]
    try:
        text = json.dumps(material, separators=(",", ":"), sort_keys=True, allow_nan=False)
    except (ValueError, RecursionError):  # NaN, or nesting deeper than the encoder goes: computed every time
        return None
    return hashlib.sha256(text.encode("utf-8", "surrogateescape")).hexdigest()


def _path(store: LayerCache, key: str, kind: str = KIND) -> Path:
    return store.directory / "reports" / f"sha256-{key}-{kind}-v{FORMAT}"


# --- the summary: what is kept, and what this run fills in ---------------------------------------
_IMAGE_KEPT = ("os", "architecture", "variant", "created", "size", "layers", "entries")


def _summary_kept(report: dict[str, Any]) -> dict[str, Any]:
    """A summary without what belongs to this run rather than to the layers and the config."""
    return {**report, "image": {k: v for k, v in report["image"].items() if k in _IMAGE_KEPT}, "verification": None}


def _summary_served(report: dict[str, Any], image: Image) -> dict[str, Any]:
    """A kept summary with this run's image fields (reference, tags, digests) and verification."""
    from .interface import meta_fields

    kept_image = report["image"]
    return {**report, "image": {**meta_fields(image.meta), **{k: kept_image[k] for k in _IMAGE_KEPT}},
            "verification": image.verification.to_json() if getattr(image, "verification", None) else None}


def _packages_kept(report: dict[str, Any]) -> dict[str, Any] | None:
    """The report, unless its integrity was unavailable (a one-pass source: a later run may check)."""
    integrity = report.get("integrity")
    return report if isinstance(integrity, dict) and integrity.get("available") is True else None


def _code_fingerprint() -> str:
    """Size and mtime of every source file of the package: an edited reader never answers."""
    found: list[str] = []
    stack = [str(_PACKAGE)]
    while stack:
        with os.scandir(stack.pop()) as listing:
            for item in listing:
                if item.is_dir(follow_symlinks=False) and item.name != "__pycache__":
                    stack.append(item.path)
                elif item.name.endswith(".py"):
                    info = item.stat()
                    found.append(f"{item.path}:{info.st_size}:{info.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(found)).encode()).hexdigest()


# --- the shape we write ---------------------------------------------------------------------------
_SCALAR = (str, int, bool, type(None))
_Types = type | tuple[type, ...]
_TOP: dict[str, _Types] = {"os": (dict, type(None)), "packages": list, "integrity": dict,
                           "unowned_executables": list, "warnings": list}
_INTEGRITY: dict[str, _Types] = {"available": bool, "note": (str, type(None)), "checked": int, "ok": int,
                                 "modified": list, "missing": list, "config_changed": list}


def _envelope(document: Any, fields: dict[str, _Types]) -> tuple[dict[str, Any], list[str]]:
    """``{"report": ..., "warnings": [...]}`` as ``keep`` writes it, the report holding exactly
    ``fields`` with their types and its own ``warnings`` texts; else raises."""
    if not isinstance(document, dict) or set(document) != {"report", "warnings"}:
        raise BadEntry("not a stored report")
    report, warnings = document["report"], document["warnings"]
    if not isinstance(report, dict) or set(report) != set(fields) \
            or not all(isinstance(report[k], t) for k, t in fields.items()):
        raise BadEntry("a report's fields")
    for texts in (warnings, report["warnings"]):
        if not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise BadEntry("warnings")
    return report, warnings


def _checked(document: Any) -> tuple[dict[str, Any], list[str]]:
    """The ``--packages`` report and warnings if ``document`` has exactly the shape ``keep`` writes."""
    report, warnings = _envelope(document, _TOP)
    integrity = report["integrity"]
    if set(integrity) != set(_INTEGRITY) or not all(isinstance(integrity[k], t) for k, t in _INTEGRITY.items()):
        raise BadEntry("integrity's fields")
    for items in (report["packages"], report["unowned_executables"], integrity["modified"],
                  integrity["missing"], integrity["config_changed"]):
        if not all(isinstance(item, dict) and all(isinstance(v, _SCALAR) for v in item.values()) for item in items):
            raise BadEntry("a listed item")
    if report["os"] is not None and not all(isinstance(v, _SCALAR) for v in report["os"].values()):
        raise BadEntry("os")
    return report, warnings


#: The summary's fields and their JSON types, as ``reports.summary.summary`` writes them.
_SUMMARY: dict[str, _Types] = {
    "image": dict, "config": dict, "entrypoint": dict, "shell_less": bool, "shells": list, "package_managers": list,
    "package_manager_applets": list, "user_name": (str, type(None)), "uid": (int, type(None)), "jre": list,
    "bin": dict, "executables": dict, "os": (dict, type(None)), "packages": dict, "unowned_executables": list,
    "verification": type(None), "warnings": list,
}


def _checked_summary(document: Any) -> tuple[dict[str, Any], list[str]]:
    """The summary and warnings if ``document`` has the shape ``keep`` writes; else raises."""
    report, warnings = _envelope(document, _SUMMARY)
    if set(report["image"]) != set(_IMAGE_KEPT) or not isinstance(report["image"]["size"], int) \
            or not isinstance(report["image"]["entries"], int):
        raise BadEntry("a summary's image fields")
    return report, warnings


@dataclass(frozen=True)
class _Kind:
    """What differs between the kept reports: which part of the config the key holds, what is stored,
    how a stored document is checked, and what a hit shows."""

    whole_config: bool  # the key holds the whole config, not only the build steps
    kept: Callable[[dict[str, Any]], dict[str, Any] | None]  # None: not stored
    checked: Callable[[Any], tuple[dict[str, Any], list[str]]]
    served: Callable[[dict[str, Any], Image], dict[str, Any]]


_KINDS = {
    KIND: _Kind(False, _packages_kept, _checked, lambda report, _image: report),
    SUMMARY: _Kind(True, _summary_kept, _checked_summary, _summary_served),
}

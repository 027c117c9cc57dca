"""``inspect-image sbom``: CycloneDX 1.6 and SPDX 2.3 JSON from what the reports already know.

``build`` reads the image once (as the summary does; the SPDX variant also takes SHA-1 of the
executables as they stream past, since SPDX requires SHA-1 of every file), runs the package and
integrity reports (``--packages``), gathers one ``SbomInput`` and hands it to a writer. Written
with the standard library's ``json``: the documents are a few dozen kinds of fields.
"""

from __future__ import annotations

from collections import defaultdict
from typing import IO, Any

from ..errors import InspectorError
from ..fs import HelperStart, build_filesystem
from ..fs.cache import CacheUse, LayerCache
from ..limits import DEFAULT, Limits
from ..output.json_format import write_document
from ..reports import facts
from ..reports.executables import find_executables
from ..reports.integrity import DigestStore, check_integrity, hash_members
from ..reports.interface import Inspection
from ..reports.jre import find_runtimes
from ..reports.packages import analyze, unowned_executables
from ..sources.interface import Image, LayerInfo
from . import cyclonedx, spdx
from .interface import (
    FileItem,
    ImageIdentity,
    SbomInput,
    clean_text,
    now_and_serial,
    repository_of,
)

__all__ = ["FORMATS", "build", "gather", "write", "write_file"]

FORMATS = {"cyclonedx-json": cyclonedx.render, "spdx-json": spdx.render}


def build(image: Image, fmt: str, with_files: bool, limits: Limits = DEFAULT,
          store: LayerCache | None = None, helpers: HelperStart | None = None) -> tuple[dict[str, Any], list[str]]:
    """The document in ``fmt`` and the warnings to print (the merge's, the databases', ours)."""
    found = gather(image, with_files, sha1=fmt == "spdx-json", limits=limits, store=store, helpers=helpers)
    return clean_text(FORMATS[fmt](found)), found.warnings


def gather(image: Image, with_files: bool, sha1: bool = False, limits: Limits = DEFAULT,
           store: LayerCache | None = None, helpers: HelperStart | None = None) -> SbomInput:
    """What the document says. The scan takes no packaged file's digest (integrity reads the layers
    it needs again, as after a cache hit), so ``helpers`` (``parallel``) may scan some layers."""
    image.verification.hash_layers = True  # integrity may read layers again: hash them as they pass now
    probe, codec = (facts.probe_sha1, facts.CODEC_SHA1) if sha1 else (facts.probe, facts.CODEC)
    fs = build_filesystem(image, probe=probe, limits=limits, cache=CacheUse(store, codec) if store else None,
                          helpers=helpers)
    inspection = Inspection(meta=image.meta, fs=fs, size=fs.size)
    view = analyze(inspection)
    integrity = check_integrity(image, inspection, view, DigestStore(store.directory) if store else None)
    executables = find_executables(inspection)
    unowned = {item["path"] for item in unowned_executables(inspection, view, executables)}
    meta = image.meta
    layers = meta.layers

    def diff_id(layer: int | None) -> str | None:
        return layers[layer].diff_id if layer is not None and 0 <= layer < len(layers) else None

    files: dict[str, FileItem] = {}
    for executable in executables:
        path, written_by = executable.path, executable.layer
        if executable.resolves_to is not None or not (with_files or path in unowned):
            continue
        known = executable.facts
        files[path] = FileItem(
            path, written_by, diff_id(written_by), view.layer_created_by(written_by),
            view.owner(path), sha256=_hex(known.sha256 if known else None),
            sha1=_hex(known.sha1 if known else None), executable=True, unowned=path in unowned)
    for modified in integrity.modified:
        path = modified["resolved_path"]
        item = files.get(path)
        if item is None:
            layer = modified.get("layer")
            item = files[path] = FileItem(path, layer, diff_id(layer),
                                          view.layer_created_by(layer) if layer is not None else None,
                                          modified["package"])
        item.modified = True
        item.expected = modified.get("expected")
        item.algorithm = modified.get("algorithm")
        item.file_type = modified.get("type")
        actual = modified.get("actual")
        if actual and item.algorithm:
            item.other_digests[item.algorithm] = actual
            if item.algorithm == "sha256":
                item.sha256 = item.sha256 or actual
            elif item.algorithm == "sha1":
                item.sha1 = item.sha1 or actual
    warnings = list(fs.warnings) + list(view.found.warnings)
    if sha1:
        warnings += _hash_missing(image, inspection, files)
    if not integrity.available and integrity.note:
        warnings.append(f"modified packaged files are not listed: {integrity.note}")
    config = meta.config
    architecture = config.get("architecture")
    tag = next((t for t in meta.repo_tags if isinstance(t, str) and t), None)
    identity = ImageIdentity(meta.reference, meta.id, meta.manifest_digest,
                             architecture if isinstance(architecture, str) and architecture else None,
                             repository_of(tag) if tag else None)
    timestamp, serial = now_and_serial(meta.manifest_digest or meta.id)
    return SbomInput(identity, view.found.os, list(view.found.packages), find_runtimes(inspection),
                     [files[path] for path in sorted(files)], timestamp, serial, warnings,
                     integrity.note if not integrity.available else None)


def _hex(digest: str | None) -> str | None:
    return digest.partition(":")[2] if digest and ":" in digest else digest


def _hash_missing(image: Image, inspection: Inspection, files: dict[str, FileItem]) -> list[str]:
    """SHA-1 and SHA-256 of the listed files the scan did not hash (modified files that are not
    executables: rare), read from the layers that hold them; what cannot be hashed is named."""
    wanted: dict[int, dict[str, set[str]]] = defaultdict(dict)
    members: dict[tuple[int, str], list[FileItem]] = defaultdict(list)
    for item in files.values():
        if (item.sha1 and item.sha256) or item.file_type is not None or item.layer is None:
            continue
        node = inspection.fs.lookup(item.path, follow=False)
        if node is None:
            continue
        member = node.hardlink_to or item.path
        wanted[item.layer][member] = {"sha1", "sha256"}
        members[(item.layer, member)].append(item)
    if not wanted:
        return []

    def consume(info: LayerInfo, stream: IO[bytes]) -> None:
        for member, digests in hash_members(stream, wanted[info.index]).items():
            for item in members.get((info.index, member), []):
                item.sha1, item.sha256 = digests.get("sha1"), digests.get("sha256")

    try:
        image.read_layers(set(wanted), consume)
    except InspectorError as exc:
        return [f"modified files could not be hashed for SPDX: {exc}"]
    return []


def write(document: dict[str, Any], out: IO[str]) -> None:
    """Strict JSON, two-space indented, keys in the writers' order, as every JSON view is written
    (``output.json_format.write_document``: DEL, C1 and bidi characters as ``\\u`` escapes)."""
    write_document(document, out)


def write_file(document: dict[str, Any], path: str) -> None:
    """``-o FILE``: the whole document, or an error naming the file (nothing half-written is left)."""
    import os
    import tempfile

    directory = os.path.dirname(os.path.abspath(path))
    try:
        handle, temporary = tempfile.mkstemp(dir=directory, prefix=".sbom-")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                write(document, out)
            os.replace(temporary, path)
        except BaseException:
            os.unlink(temporary)
            raise
    except OSError as exc:
        raise InspectorError(f"cannot write {path}: {exc.strerror or exc}") from None

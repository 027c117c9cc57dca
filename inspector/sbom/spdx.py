"""SPDX 2.3 JSON (ISO/IEC 5962; https://spdx.github.io/spdx-spec/v2.3/), as ``pyspdxtools -i`` checks it.

The document DESCRIBES the image, a ``CONTAINER`` package; the image CONTAINS the distribution
(``OPERATING-SYSTEM``), every package (``LIBRARY``, purl as a ``PACKAGE-MANAGER`` external
reference), every Java runtime (``APPLICATION``, ``pkg:generic/<vendor>/<distribution>``) and the
files no package owns; a package CONTAINS the files it owns. SPDX requires a SHA-1 of every file:
files carry SHA-1 and SHA-256 (and the database's digest of a modified file). A package that
contains files says ``filesAnalyzed: true``. What CycloneDX says in properties (layer, build step,
unowned, modified) is the file's ``comment`` here.
"""

from __future__ import annotations

import re
from typing import Any

from ..packages import Package
from .interface import (
    TOOL_NAME,
    TOOL_VERSION,
    FileItem,
    SbomInput,
    oci_purl,
    runtime_name,
    runtime_purl,
)
from .licenses import spdx_expression

SPDX_VERSION = "SPDX-2.3"
NAMESPACE = "https://spdx.org/spdxdocs/inspect-image"
CHECKSUMS = {"md5": "MD5", "sha1": "SHA1", "sha224": "SHA224", "sha256": "SHA256", "sha384": "SHA384",
             "sha512": "SHA512"}
NOASSERTION = "NOASSERTION"
_ID_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")


def _spdx_id(kind: str, index: int, name: str = "") -> str:
    """``SPDXRef-<kind>-<n>[-<name>]``: only letters, digits, ``.`` and ``-`` (the spec's rule)."""
    tail = _ID_UNSAFE.sub("-", name)[:64].strip("-")
    return f"SPDXRef-{kind}-{index}" + (f"-{tail}" if tail else "")


def _purl_ref(purl: str) -> dict[str, str]:
    return {"referenceCategory": "PACKAGE-MANAGER", "referenceType": "purl", "referenceLocator": purl}


def _package(spdx_id: str, package: Package) -> dict[str, Any]:
    entry: dict[str, Any] = {"SPDXID": spdx_id, "name": package.name, "versionInfo": package.version,
                             "downloadLocation": NOASSERTION, "filesAnalyzed": False,
                             "primaryPackagePurpose": "LIBRARY",
                             "licenseDeclared": spdx_expression(package.license) or NOASSERTION,
                             "licenseConcluded": NOASSERTION, "copyrightText": NOASSERTION}
    if package.vendor:
        entry["supplier"] = f"Organization: {package.vendor}"
    if package.source_name:
        entry["sourceInfo"] = f"built from the {package.manager} source package {package.source_name}" + \
            (f" {package.source_version}" if package.source_version else "")
    if package.license and entry["licenseDeclared"] == NOASSERTION:
        entry["comment"] = f"license as the database records it: {package.license}"
    entry["attributionTexts"] = [f"read from {package.db}"] if package.db else []
    if not entry["attributionTexts"]:
        del entry["attributionTexts"]
    if package.purl:
        entry["externalRefs"] = [_purl_ref(package.purl)]
    return entry


def _comment(item: FileItem) -> str:
    parts = []
    if item.layer is not None:
        parts.append(f"layer {item.layer}" + (f" ({item.layer_diff_id})" if item.layer_diff_id else ""))
    if item.created_by:
        parts.append(f"created by: {item.created_by}")
    if item.package:
        parts.append(f"package: {item.package}")
    if item.unowned:
        parts.append("inspect-image:unowned (no package owns this executable)")
    if item.modified:
        parts.append(f"inspect-image:modified (the package database recorded {item.algorithm} {item.expected})")
    return "; ".join(parts)


def _file(spdx_id: str, item: FileItem) -> dict[str, Any] | None:
    digests = dict(item.other_digests)
    if item.sha1:
        digests["sha1"] = item.sha1
    if item.sha256:
        digests["sha256"] = item.sha256
    if "sha1" not in digests:
        return None
    return {"SPDXID": spdx_id, "fileName": "./" + item.path.lstrip("/"),  # the spec: relative, "./" first
            "checksums": [{"algorithm": CHECKSUMS[a], "checksumValue": d} for a, d in sorted(digests.items())
                          if a in CHECKSUMS],
            "fileTypes": ["BINARY" if item.executable else "OTHER"],
            "licenseConcluded": NOASSERTION, "copyrightText": NOASSERTION, "comment": _comment(item)}


def render(found: SbomInput) -> dict[str, Any]:
    image = found.image
    relationships: list[dict[str, str]] = []

    def relate(a: str, kind: str, b: str) -> None:
        relationships.append({"spdxElementId": a, "relationshipType": kind, "relatedSpdxElement": b})

    image_id = "SPDXRef-Image"
    container: dict[str, Any] = {"SPDXID": image_id, "name": image.reference, "versionInfo": image.config_digest,
                                 "downloadLocation": NOASSERTION, "filesAnalyzed": False,
                                 "primaryPackagePurpose": "CONTAINER",
                                 "licenseConcluded": NOASSERTION, "licenseDeclared": NOASSERTION,
                                 "copyrightText": NOASSERTION}
    purl = oci_purl(image)
    if purl:
        container["externalRefs"] = [_purl_ref(purl)]
    if image.manifest_digest:
        container["comment"] = f"manifest digest {image.manifest_digest}"
    packages = [container]
    relate("SPDXRef-DOCUMENT", "DESCRIBES", image_id)
    if found.os is not None:
        system: dict[str, Any] = {"SPDXID": "SPDXRef-OperatingSystem", "name": found.os.id or "unknown",
                                  "versionInfo": found.os.version_id or NOASSERTION,
                                  "downloadLocation": NOASSERTION, "filesAnalyzed": False,
                                  "primaryPackagePurpose": "OPERATING-SYSTEM"}
        if found.os.pretty_name:
            system["description"] = found.os.pretty_name
        packages.append(system)
        relate(image_id, "CONTAINS", system["SPDXID"])
    ids: dict[str, dict[str, Any]] = {}
    for index, package in enumerate(found.packages, start=1):
        entry = _package(_spdx_id("Package", index, package.name), package)
        packages.append(entry)
        ids.setdefault(package.key, entry)
        relate(image_id, "CONTAINS", entry["SPDXID"])
    homes = []
    for index, runtime in enumerate(found.runtimes, start=1):
        entry = {"SPDXID": _spdx_id("JavaRuntime", index, runtime_name(runtime)), "name": runtime_name(runtime),
                 "versionInfo": runtime.version or NOASSERTION, "downloadLocation": NOASSERTION,
                 "filesAnalyzed": False, "primaryPackagePurpose": "APPLICATION",
                 "comment": f"Java runtime ({runtime.type}) at {runtime.home}; " + "; ".join(runtime.evidence)}
        if runtime.vendor:
            entry["supplier"] = f"Organization: {runtime.vendor}"
        runtime_ref = runtime_purl(runtime)
        if runtime_ref:
            entry["externalRefs"] = [_purl_ref(runtime_ref)]
        packages.append(entry)
        homes.append((runtime.home.rstrip("/") + "/", entry))
        relate(image_id, "CONTAINS", entry["SPDXID"])
    files: list[dict[str, Any]] = []
    skipped: list[str] = []
    for index, item in enumerate(found.files, start=1):
        listed = _file(_spdx_id("File", index), item)
        if listed is None:
            skipped.append(item.path)
            continue
        files.append(listed)
        owner = ids.get(item.package) if item.package else None
        if owner is None:
            owner = next((e for prefix, e in homes if item.path.startswith(prefix)), container)
        owner["filesAnalyzed"] = True
        relate(owner["SPDXID"], "CONTAINS", listed["SPDXID"])
    if skipped:
        found.warnings.append(f"{len(skipped)} modified files have no SHA-1 and are not listed in the SPDX "
                              f"document (first: {skipped[0]})")
    document: dict[str, Any] = {
        "spdxVersion": SPDX_VERSION,
        "dataLicense": "CC0-1.0",
        "SPDXID": "SPDXRef-DOCUMENT",
        "name": image.reference,
        "documentNamespace": f"{NAMESPACE}-{found.serial}",
        "creationInfo": {"created": found.timestamp, "creators": [f"Tool: {TOOL_NAME}-{TOOL_VERSION}"]},
        "documentDescribes": [image_id],
        "packages": packages,
    }
    if files:
        document["files"] = files
    document["relationships"] = relationships
    return document

"""Manifests that are not container images: signatures, attestations, Helm charts, SBOMs.

Registries and layouts hold more than images. A layout copied from a signed repository holds the
image plus cosign's signature (tagged ``sha256-<hex>.sig``) and attestation (``.att``); ``cosign
save`` marks them with a ``kind`` annotation instead; Helm and ORAS push charts and SBOMs as OCI
manifests whose config or ``artifactType`` says what they are. Read as images they would be
summarised as empty images, which is a wrong answer: so they are recognised here, skipped (and
named) beside an image, and refused when they are all there is.
"""

from __future__ import annotations

import re
from typing import Any

IMAGE_CONFIG_TYPES = {
    "application/vnd.oci.image.config.v1+json",
    "application/vnd.docker.container.image.v1+json",
}
_COSIGN_TAG = re.compile(r"(?:sha256|sha512)-[0-9a-f]+\.(sig|att|sbom)")
_COSIGN_KINDS = {"dev.sigstore.cosign/sigs": "a cosign signature", "dev.sigstore.cosign/atts": "an attestation",
                 "dev.sigstore.cosign/sboms": "an SBOM"}
_BY_COSIGN_SUFFIX = {"sig": "a cosign signature", "att": "an attestation", "sbom": "an SBOM"}
_KNOWN_TYPES = {
    "application/vnd.dev.cosign.simplesigning.v1+json": "a cosign signature",
    "application/vnd.dev.cosign.artifact.sig.v1+json": "a cosign signature",
    "application/vnd.dsse.envelope.v1+json": "an attestation",
    "application/vnd.in-toto+json": "an attestation",
    "application/vnd.cncf.helm.config.v1+json": "a Helm chart",
    "application/vnd.cncf.helm.chart.content.v1.tar+gzip": "a Helm chart",
    "application/spdx+json": "an SBOM",
    "application/vnd.cyclonedx+json": "an SBOM",
    "application/vnd.wasm.config.v0+json": "a WebAssembly module",
}


def shown(value: str, limit: int = 120) -> str:
    """A string from the image, quoted with its control characters escaped, and cut short."""
    return repr(value[:limit] + ("…" if len(value) > limit else ""))


def non_image_kind(descriptor: dict[str, Any], document: dict[str, Any] | None, tags: list[str]) -> str | None:
    """What the manifest is when it is not a container image ("a cosign signature"), else None."""
    annotations = descriptor.get("annotations")
    kind = annotations.get("kind") if isinstance(annotations, dict) else None
    if isinstance(kind, str) and kind in _COSIGN_KINDS:
        return _COSIGN_KINDS[kind]
    for tag in tags:
        match = _COSIGN_TAG.fullmatch(tag.rsplit(":", 1)[-1])
        if match:
            return _BY_COSIGN_SUFFIX[match.group(1)]
    doc = document or {}
    artifact_type = doc.get("artifactType") or descriptor.get("artifactType")
    config, layers = doc.get("config"), doc.get("layers")
    config_type = config.get("mediaType") if isinstance(config, dict) else None
    layer_types = [layer.get("mediaType") for layer in layers if isinstance(layer, dict)] \
        if isinstance(layers, list) else []
    for media_type in (artifact_type, config_type, *layer_types):
        if isinstance(media_type, str) and media_type in _KNOWN_TYPES:
            return f"{_KNOWN_TYPES[media_type]} ({shown(media_type)})"
    if isinstance(artifact_type, str) and artifact_type and artifact_type not in IMAGE_CONFIG_TYPES:
        return f"an artifact of type {shown(artifact_type)}"
    if isinstance(config_type, str) and config_type not in IMAGE_CONFIG_TYPES:
        return f"an artifact (config media type {shown(config_type)})"
    return None  # an unusual layer media type alone does not make an artifact: the layer reader judges

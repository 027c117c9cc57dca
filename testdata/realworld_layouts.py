"""Image layouts as other tools really write them, for tests of which image inspect-image picks.

Why this module exists
----------------------
``imagebuilder`` writes the layouts of ``docker save`` and ``skopeo copy``. Real archives come from
more producers than that, and each spells "which image is this" differently:

* builders and ``skopeo copy --all`` variants list the platform manifests of ONE image directly in
  ``index.json`` (descriptors with a ``platform`` and no ``ref.name``), or through an untagged
  nested index (:func:`multi_platform`);
* ``cosign`` stores signatures and attestations next to the image, tagged ``sha256-<hex>.sig`` /
  ``.att`` or annotated ``kind: dev.sigstore.cosign/...`` (:func:`cosign_layout`);
* Helm and ORAS push artifacts that are not images at all (:func:`helm_chart`, :func:`oras_sbom`);
* ``docker save IMAGE_ID`` on Docker 25+ writes ``"manifests": null`` (:func:`docker25_untagged`);
* Docker < 1.10 wrote no ``manifest.json`` at all (:func:`pre_110_save`);
* hostile indexes share children to explode a naive walk (:func:`shared_children`).

Every function writes into a directory it is given and returns the path of what it wrote. The
bytes are deterministic; nothing here needs a network or an engine.
"""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path
from typing import Any

from testdata.imagebuilder import (
    ANN_REF_NAME,
    MT_OCI_INDEX,
    MT_OCI_MANIFEST,
    OCI_LAYOUT_FILE,
    Blob,
    E,
    ImageSpec,
    _build_image,
    _DirSink,
    _tar_sink,
    _write_blob,
    _write_image_blobs,
    write_docker_archive,
)

MT_DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
MT_HELM_CONFIG = "application/vnd.cncf.helm.config.v1+json"
MT_HELM_CHART = "application/vnd.cncf.helm.chart.content.v1.tar+gzip"
MT_COSIGN_SIG = "application/vnd.dev.cosign.simplesigning.v1+json"
MT_DSSE = "application/vnd.dsse.envelope.v1+json"
MT_EMPTY = "application/vnd.oci.empty.v1+json"
MT_SPDX = "application/spdx+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
ANN_CONTAINERD_NAME = "io.containerd.image.name"

#: Two builds of one image: what each platform's root holds tells them apart.
AMD64 = ImageSpec([[E("arch", data=b"x86-64 build")], [E("only-amd64", data=b"a")]])
ARM64 = ImageSpec([[E("arch", data=b"aarch64 build, longer")], [E("only-arm64", data=b"b")]],
                  architecture="arm64", variant="v8")
#: A third image, for layouts that hold more than one.
OTHER = ImageSpec([[E("other", data=b"another image")]])


def _json(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _write(path: Path, blobs: list[Blob], manifests: list[dict[str, Any]] | None, as_tar: bool,
           images: list[Any] = (), extra: dict[str, bytes] | None = None) -> str:  # type: ignore[assignment]
    """An OCI layout: ``images``' blobs, extra ``blobs``, ``index.json`` listing ``manifests``."""
    index = _json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": manifests})

    def fill(sink: Any) -> None:
        for img in images:
            _write_image_blobs(sink, img, None)
        for blob in blobs:
            _write_blob(sink, blob)
        sink.file("index.json", index)
        sink.file("oci-layout", OCI_LAYOUT_FILE)
        for name, data in (extra or {}).items():
            sink.file(name, data)

    if as_tar:
        with _tar_sink(path, 0) as sink:
            fill(sink)
    else:
        fill(_DirSink(path))
    return str(path)


def built(spec: ImageSpec, compression: str = "gzip") -> Any:
    """``spec`` with every blob built: ``.manifest``, ``.config``, ``.layers`` (imagebuilder's)."""
    return _build_image(spec, compression)


# --- one image, several platforms -----------------------------------------------------------------

def multi_platform(path: Path, how: str = "flat", as_tar: bool = False, compression: str = "gzip",
                   specs: tuple[ImageSpec, ...] = (AMD64, ARM64)) -> str:
    """One image for several platforms, written the ways producers write it.

    ``flat``: index.json lists each platform manifest directly (``platform``, no ``ref.name``).
    ``nested``: index.json lists one untagged index that lists them.
    ``nested-docker``: the same through a Docker-style manifest list, two levels deep.
    """
    images = [built(s, compression) for s in specs]
    platform_descs = [img.manifest.descriptor(platform=img.spec.platform()) for img in images]
    if how == "flat":
        return _write(path, [], platform_descs, as_tar, images)
    inner = Blob(MT_OCI_INDEX, _json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": platform_descs}))
    if how == "nested":
        return _write(path, [inner], [inner.descriptor()], as_tar, images)
    if how == "nested-docker":
        outer = Blob(MT_DOCKER_LIST, _json({"schemaVersion": 2, "mediaType": MT_DOCKER_LIST,
                                            "manifests": [inner.descriptor()]}))
        return _write(path, [inner, outer], [outer.descriptor()], as_tar, images)
    raise ValueError(how)


def tagged_platforms(path: Path, tag: str = "1.0", specs: tuple[ImageSpec, ...] = (AMD64, ARM64)) -> str:
    """Each platform manifest listed in index.json with its ``platform`` and the same ``ref.name``."""
    images = [built(s) for s in specs]
    manifests = [img.manifest.descriptor(platform=img.spec.platform(), annotations={ANN_REF_NAME: tag})
                 for img in images]
    return _write(path, [], manifests, False, images)


def docker25_multi_platform(path: Path, present: tuple[ImageSpec, ...] = (AMD64, ARM64),
                            tag: str = "multi:1") -> str:
    """``docker save`` of a multi-platform image on Docker 25+ with the containerd store.

    index.json names the image index (tagged), which lists both platforms; only the blobs of the
    ``present`` platforms are in the archive (the engine saves what it pulled).
    """
    images = [built(s, "gzip") for s in (AMD64, ARM64)]
    inner = Blob(MT_OCI_INDEX, _json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [
        img.manifest.descriptor(platform=img.spec.platform()) for img in images]}))
    version = tag.rpartition(":")[2]
    top = inner.descriptor(annotations={ANN_CONTAINERD_NAME: f"docker.io/library/{tag}", ANN_REF_NAME: version})
    kept = [img for img in images if img.spec in present]
    entries = [{"Config": img.config.path, "RepoTags": [tag], "Layers": [layer.blob.path for layer in img.layers]}
               for img in kept[:1]]
    return _write(path, [inner], [top], True, kept, {"manifest.json": _json(entries) + b"\n"})


# --- signatures, attestations, artifacts -------------------------------------------------------

def _artifact(config_type: str, config: bytes, layer_type: str, layer: bytes,
              artifact_type: str | None = None, subject: Blob | None = None) -> tuple[Blob, list[Blob]]:
    config_blob = Blob(config_type, config)
    layer_blob = Blob(layer_type, layer)
    manifest: dict[str, Any] = {"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST}
    if artifact_type:
        manifest["artifactType"] = artifact_type
    manifest["config"] = config_blob.descriptor()
    manifest["layers"] = [layer_blob.descriptor()]
    if subject is not None:
        manifest["subject"] = subject.descriptor()
    return Blob(MT_OCI_MANIFEST, _json(manifest)), [config_blob, layer_blob]


def _signature(subject: Blob) -> tuple[Blob, list[Blob]]:
    payload = _json({"critical": {"image": {"docker-manifest-digest": subject.digest},
                                  "type": "cosign container image signature"}})
    config = _json({"architecture": "", "os": "", "config": {},
                    "rootfs": {"type": "layers", "diff_ids": [Blob("", payload).digest]}})
    return _artifact(MT_OCI_CONFIG, config, MT_COSIGN_SIG, payload)


def _attestation(subject: Blob) -> tuple[Blob, list[Blob]]:
    payload = _json({"payloadType": "application/vnd.in-toto+json", "payload": "e30=", "signatures": []})
    config = _json({"architecture": "", "os": "", "config": {},
                    "rootfs": {"type": "layers", "diff_ids": [Blob("", payload).digest]}})
    return _artifact(MT_OCI_CONFIG, config, MT_DSSE, payload)


def cosign_layout(path: Path, style: str = "tags", as_tar: bool = False) -> str:
    """An image plus its cosign signature and attestation.

    ``tags``: as ``skopeo copy``/``crane`` copy a signed repository: the image tagged ``1.0``, the
    signature tagged ``sha256-<hex>.sig``, the attestation ``sha256-<hex>.att``.
    ``kinds``: as ``cosign save`` writes it: no ref.name, a ``kind`` annotation on each.
    """
    img = built(AMD64)
    sig, sig_blobs = _signature(img.manifest)
    att, att_blobs = _attestation(img.manifest)
    hexed = img.manifest.digest.replace(":", "-")
    if style == "tags":
        manifests = [img.manifest.descriptor(annotations={ANN_REF_NAME: "1.0"}),
                     sig.descriptor(annotations={ANN_REF_NAME: f"{hexed}.sig"}),
                     att.descriptor(annotations={ANN_REF_NAME: f"{hexed}.att"})]
    elif style == "kinds":
        manifests = [img.manifest.descriptor(annotations={"kind": "dev.sigstore.cosign/image"}),
                     sig.descriptor(annotations={"kind": "dev.sigstore.cosign/sigs"}),
                     att.descriptor(annotations={"kind": "dev.sigstore.cosign/atts"})]
    else:
        raise ValueError(style)
    return _write(path, [sig, att, *sig_blobs, *att_blobs], manifests, as_tar, [img])


def helm_chart(path: Path, as_tar: bool = False) -> str:
    """``helm push`` to an OCI layout: a chart, not an image."""
    manifest, blobs = _artifact(MT_HELM_CONFIG, _json({"name": "demo", "version": "0.1.0", "apiVersion": "v2"}),
                                MT_HELM_CHART, b"\x1f\x8b" + bytes(30))
    return _write(path, [manifest, *blobs], [manifest.descriptor(annotations={ANN_REF_NAME: "0.1.0"})], as_tar)


def oras_sbom(path: Path, as_tar: bool = False) -> str:
    """``oras push --artifact-type application/spdx+json``: an SBOM with the empty config."""
    manifest, blobs = _artifact(MT_EMPTY, b"{}", MT_SPDX, _json({"spdxVersion": "SPDX-2.3"}), artifact_type=MT_SPDX)
    return _write(path, [manifest, *blobs], [manifest.descriptor(annotations={ANN_REF_NAME: "sbom"})], as_tar)


# --- docker save oddities -------------------------------------------------------------------------

def rewrite_members(src: str, dst: str, replace: dict[str, bytes | None]) -> str:
    """Copy a tar, replacing members' bytes (``None`` drops the member)."""
    with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as tout:
        for member in tin.getmembers():
            if member.name in replace:
                data = replace[member.name]
                if data is None:
                    continue
                member.size = len(data)
                tout.addfile(member, io.BytesIO(data))
            else:
                tout.addfile(member, tin.extractfile(member) if member.isfile() else None)
    return dst


def docker25_untagged(path: Path, spec: ImageSpec = AMD64) -> str:
    """``docker save IMAGE_ID`` on Docker 25+: ``"manifests": null`` beside a valid manifest.json."""
    tmp = str(path) + ".orig"
    write_docker_archive(tmp, spec, "docker25")
    index = _json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": None})
    rewrite_members(tmp, str(path), {"index.json": index})
    Path(tmp).unlink()
    return str(path)


def pre_110_save(path: Path, spec: ImageSpec = AMD64) -> str:
    """A ``docker save`` of Docker < 1.10: ``repositories`` and ``<id>/json``, no manifest.json."""
    tmp = str(path) + ".orig"
    write_docker_archive(tmp, spec if spec.tags else ImageSpec(spec.layers, tags=["old/app:1"]), "legacy")
    with tarfile.open(tmp) as tar:
        configs = [m.name for m in tar.getmembers() if m.name.endswith(".json") and "/" not in m.name]
    rewrite_members(tmp, str(path), {"manifest.json": None, **{c: None for c in configs}})
    Path(tmp).unlink()
    return str(path)


def manifest_json_null(path: Path) -> str:
    """A docker save whose manifest.json is the JSON value ``null``."""
    tmp = str(path) + ".orig"
    write_docker_archive(tmp, ImageSpec(AMD64.layers, tags=["app:1"]), "legacy")
    rewrite_members(tmp, str(path), {"manifest.json": b"null"})
    Path(tmp).unlink()
    return str(path)


def index_json_directory(path: Path) -> str:
    """An OCI layout folder whose ``index.json`` is a directory."""
    img = built(AMD64)
    sink = _DirSink(path)
    _write_image_blobs(sink, img, None)
    sink.file("oci-layout", OCI_LAYOUT_FILE)
    sink.dir("index.json")
    return str(path)


def duplicate_ref_names(path: Path, as_tar: bool = False) -> str:
    """Two different images both tagged ``1.0.0`` (ref.name holds only the tag)."""
    images = [built(AMD64), built(OTHER)]
    manifests = [img.manifest.descriptor(annotations={ANN_REF_NAME: "1.0.0"}) for img in images]
    return _write(path, [], manifests, as_tar, images)


def named(path: Path, ref_name: str, as_tar: bool = False, spec: ImageSpec = AMD64) -> str:
    """One image whose ``ref.name`` is ``ref_name`` (some tools store a repository, not a tag)."""
    img = built(spec)
    return _write(path, [], [img.manifest.descriptor(annotations={ANN_REF_NAME: ref_name})], as_tar, [img])


def shared_children(path: Path, levels: int = 8, fanout: int = 32) -> str:
    """``levels`` indexes, each listing the next ``fanout`` times; the last lists one manifest.

    A walk that does not remember what it visited makes ``fanout ** (levels - 2)`` visits.
    """
    img = built(AMD64)
    child = img.manifest.descriptor(platform=img.spec.platform())
    blobs = []
    for _ in range(levels - 1):
        index = Blob(MT_OCI_INDEX, _json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                                          "manifests": [child] * fanout}))
        blobs.append(index)
        child = index.descriptor()
    return _write(path, blobs, [child], False, [img])


def wide_index(path: Path, count: int = 20_000) -> str:
    """An index listing ``count`` distinct (absent) manifests: more descriptors than any image has."""
    img = built(AMD64)
    fake = [{"mediaType": MT_OCI_MANIFEST, "digest": "sha256:" + f"{i:064x}", "size": 1,
             "platform": {"os": "linux", "architecture": f"arch{i}"}} for i in range(count)]
    index = Blob(MT_OCI_INDEX, _json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                                      "manifests": [img.manifest.descriptor(platform=img.spec.platform()), *fake]}))
    return _write(path, [index], [index.descriptor()], False, [img])

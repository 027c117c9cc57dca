"""Find one image in a store: follow index.json or manifest.json to a config and ordered layers.

Two layouts exist on disk. OCI (``index.json`` → manifest, possibly through nested indexes for
several platforms → config and layer blobs) is what skopeo writes and what Docker 25 and later
add to ``docker save``; the legacy ``manifest.json`` array is what older engines and Podman write.
An archive that has both is read through ``index.json``, which also knows the manifest digest.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..errors import BadReferenceError, ImageFormatError
from .interface import ImageMeta, LayerInfo
from .platforms import Platform
from .store import Store, parse_json
from .verify import Verification

INDEX_TYPES = {
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
}
MANIFEST_TYPES = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
}
MAX_INDEX_DEPTH = 8
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"


@dataclass
class Selector:
    """Which image of a store the user wants."""

    tag: str | None = None
    platform: Platform | None = None  # None: the machine's, when there is a choice
    platform_explicit: bool = False


@dataclass
class Resolved:
    """An image found in a store: its metadata and the store names of its layer blobs, in order."""

    meta: ImageMeta
    layer_names: list[str]


def resolve(store: Store, selector: Selector, reference: str, source: str,
            verification: Verification | None = None) -> Resolved:
    """Locate the selected image in ``store``, or explain why there is not exactly one.

    Every JSON document read on the way is checked against the digest that names it.
    """
    verification = verification if verification is not None else Verification()
    if store.exists("index.json"):
        return _resolve_oci(store, selector, reference, source, verification)
    if store.exists("manifest.json"):
        return _resolve_docker(store, selector, reference, source, verification)
    raise ImageFormatError("not a container image: it has neither index.json nor manifest.json",
                           where=store.location)


# --- legacy docker save ----------------------------------------------------------------------
def _resolve_docker(store: Store, selector: Selector, reference: str, source: str,
                    verification: Verification) -> Resolved:
    manifest = store.read_json("manifest.json")
    if not isinstance(manifest, list) or not all(isinstance(m, dict) for m in manifest):
        raise ImageFormatError("manifest.json is not a list of images", where=store.location)
    images = manifest
    if selector.tag:
        images = [m for m in manifest if any(tag_matches(t, selector.tag) for t in _str_list(m.get("RepoTags")))]
        if not images:
            raise BadReferenceError(f"no image tagged {selector.tag!r}; {_tag_list(manifest)}", where=store.location)
    elif len(manifest) > 1:
        raise BadReferenceError(f"the archive holds {len(manifest)} images, name one: {_tag_list(manifest)}",
                                where=store.location)
    if not images:
        raise ImageFormatError("manifest.json lists no image", where=store.location)
    entry = images[0]
    config_name = entry.get("Config")
    layers = entry.get("Layers")
    if not isinstance(config_name, str) or not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
        raise ImageFormatError("manifest.json entry lacks Config or Layers", where=store.location)
    config_bytes = store.read_bytes(config_name)
    named = config_name.rsplit("/", 1)[-1].removesuffix(".json")
    if len(named) == 64 and all(c in "0123456789abcdef" for c in named):  # <hex>.json, blobs/sha256/<hex>
        verification.check_document(config_bytes, "sha256:" + named, f"config {config_name}", store.location)
    config = _parse_config(config_bytes, store, config_name)
    diff_ids = _diff_ids(config, len(layers), store)
    infos = [LayerInfo(i, None, diff_ids[i], None, None) for i in range(len(layers))]
    meta = ImageMeta(reference=reference, id="sha256:" + hashlib.sha256(config_bytes).hexdigest(), config=config,
                     layers=infos, repo_tags=_str_list(entry.get("RepoTags")), source=source, raw_config=config_bytes)
    return Resolved(meta, list(layers))


def _tag_list(manifest: list[dict[str, Any]]) -> str:
    tags = [t for m in manifest for t in _str_list(m.get("RepoTags"))]
    return "tags: " + ", ".join(tags) if tags else "no image is tagged"


# --- OCI layout (also Docker 25+ docker save) -------------------------------------------------
def _resolve_oci(store: Store, selector: Selector, reference: str, source: str,
                 verification: Verification) -> Resolved:
    index = store.read_json("index.json")
    descriptors = _manifests_of(index, store, "index.json")
    tagged = [(d, _tags_of(d)) for d in descriptors]
    if selector.tag:
        tagged = [(d, tags) for d, tags in tagged if any(tag_matches(t, selector.tag) for t in tags)]
        if not tagged:
            raise BadReferenceError(f"no image tagged {selector.tag!r}; {_oci_tag_list(descriptors)}",
                                    where=store.location)
    digests = {d["digest"] for d, _ in tagged}
    if len(digests) > 1:
        raise BadReferenceError(f"the layout holds {len(digests)} images, name one: "
                                f"{_oci_tag_list([d for d, _ in tagged])}", where=store.location)
    if not tagged:
        raise ImageFormatError("index.json lists no manifest", where=store.location)
    top, tags = tagged[0]
    leaves = list(_leaf_manifests(store, top, depth=0, seen=set(), verification=verification))
    manifest_desc, manifest = _pick_platform(store, leaves, selector)
    return _resolved_from_manifest(store, manifest_desc, manifest, tags, reference, source, verification)


def _manifests_of(index: Any, store: Store, name: str) -> list[dict[str, Any]]:
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        raise ImageFormatError(f"{name} is not an image index", where=store.location)
    found = [d for d in index["manifests"] if isinstance(d, dict) and isinstance(d.get("digest"), str)]
    return found


def _tags_of(descriptor: dict[str, Any]) -> list[str]:
    notes = descriptor.get("annotations") or {}
    if not isinstance(notes, dict):
        return []
    names = []
    for key in (CONTAINERD_NAME, REF_NAME):
        value = notes.get(key)
        if isinstance(value, str) and value and value not in names:
            names.append(value)
    return names


def _oci_tag_list(descriptors: list[dict[str, Any]]) -> str:
    tags = [t for d in descriptors for t in _tags_of(d)[:1]]
    return "tags: " + ", ".join(tags) if tags else "no image is tagged"


def _leaf_manifests(store: Store, descriptor: dict[str, Any], depth: int, seen: set[str],
                    verification: Verification):
    """Yield ``(descriptor, manifest)`` for every image manifest reachable from ``descriptor``."""
    digest = descriptor["digest"]
    if depth > MAX_INDEX_DEPTH or digest in seen:
        raise ImageFormatError(f"image index nesting is cyclic or deeper than {MAX_INDEX_DEPTH} at {digest}",
                               where=store.location)
    document = _read_blob_json(store, digest, verification)
    if not isinstance(document, dict):
        raise ImageFormatError(f"blob {digest} is not a JSON object", where=store.location)
    media_type = document.get("mediaType") or descriptor.get("mediaType")
    media_type = media_type if isinstance(media_type, str) else None
    if media_type in INDEX_TYPES or (media_type is None and "manifests" in document):
        for child in _manifests_of(document, store, digest):
            yield from _leaf_manifests(store, child, depth + 1, seen | {digest}, verification)
    else:
        yield descriptor, document


def _pick_platform(store: Store, leaves: list[tuple[dict[str, Any], dict[str, Any]]], selector: Selector):
    leaves = [(d, m) for d, m in leaves if Platform.from_descriptor(d) is None
              or Platform.from_descriptor(d).os != "unknown"]  # type: ignore[union-attr]
    if not leaves:
        raise ImageFormatError("the index names no image manifest", where=store.location)
    if len(leaves) == 1 and not selector.platform_explicit:
        return leaves[0]
    wanted = selector.platform or Platform.host()
    matching = [(d, m) for d, m in leaves if (Platform.from_descriptor(d) or wanted).matches(wanted)]
    if matching:
        return matching[0]  # the image spec says the first match wins
    available = ", ".join(str(Platform.from_descriptor(d) or "unspecified") for d, _ in leaves)
    raise BadReferenceError(f"no image for platform {wanted}; available: {available}", where=store.location)


def _resolved_from_manifest(store: Store, descriptor: dict[str, Any], manifest: dict[str, Any],
                            tags: list[str], reference: str, source: str, verification: Verification) -> Resolved:
    config_desc = manifest.get("config")
    layer_descs = manifest.get("layers")
    if not isinstance(config_desc, dict) or not isinstance(layer_descs, list):
        raise ImageFormatError(f"manifest {descriptor['digest']} lacks config or layers", where=store.location)
    config_digest = config_desc.get("digest")
    if not isinstance(config_digest, str):
        raise ImageFormatError(f"manifest {descriptor['digest']} has no config digest", where=store.location)
    config_bytes = store.read_bytes(blob_name(config_digest, store))
    verification.check_document(config_bytes, config_digest, f"config {config_digest}", store.location)
    config = _parse_config(config_bytes, store, config_digest)
    diff_ids = _diff_ids(config, len(layer_descs), store)
    infos, names = [], []
    for i, layer in enumerate(layer_descs):
        if not isinstance(layer, dict) or not isinstance(layer.get("digest"), str):
            raise ImageFormatError(f"layer {i} of manifest {descriptor['digest']} has no digest", where=store.location)
        size = layer.get("size")
        infos.append(LayerInfo(i, layer["digest"], diff_ids[i], layer.get("mediaType"),
                               size if isinstance(size, int) else None))
        names.append(blob_name(layer["digest"], store))
    repo_tags = [t for t in tags if ":" in t or "@" in t] or tags
    meta = ImageMeta(reference=reference, id=config_digest, config=config, layers=infos, repo_tags=repo_tags,
                     manifest_digest=descriptor["digest"], source=source, raw_config=config_bytes)
    return Resolved(meta, names)


def _read_blob_json(store: Store, digest: str, verification: Verification) -> Any:
    data = store.read_bytes(blob_name(digest, store))
    verification.check_document(data, digest, f"blob {digest}", store.location)
    return parse_json(data, f"blob {digest}", store.location)


def blob_name(digest: str, store: Store) -> str:
    """``sha256:abc`` → ``blobs/sha256/abc``, refusing digests that could name another path."""
    algorithm, _, encoded = digest.partition(":")
    if not algorithm.isalnum() or not encoded or not all(c.isalnum() or c in "=_-" for c in encoded):
        raise ImageFormatError(f"malformed digest {digest!r}", where=store.location)
    return f"blobs/{algorithm}/{encoded}"


# --- shared ----------------------------------------------------------------------------------
def _parse_config(data: bytes, store: Store, name: str) -> dict[str, Any]:
    config = parse_json(data, f"config {name}", store.location)
    if not isinstance(config, dict):
        raise ImageFormatError(f"config {name} is not a JSON object", where=store.location)
    return config


def _diff_ids(config: dict[str, Any], layer_count: int, store: Store) -> list[str | None]:
    rootfs = config.get("rootfs")
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    if not isinstance(ids, list):
        return [None] * layer_count
    if len(ids) != layer_count:
        raise ImageFormatError(f"the manifest lists {layer_count} layers but the config's rootfs has "
                               f"{len(ids)} diff_ids", where=store.location)
    return [i if isinstance(i, str) else None for i in ids]


def _str_list(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def tag_matches(candidate: str, wanted: str) -> bool:
    """Whether a stored name answers to what the user typed (``busybox`` ~ ``docker.io/library/busybox:latest``)."""
    if candidate == wanted:
        return True
    last = wanted.rsplit("/", 1)[-1]
    if "/" not in candidate and ":" not in candidate and ":" in last:
        return last.rsplit(":", 1)[1] == candidate  # an OCI ref.name holds only the tag: "1" ~ "app:1"
    return normalize_ref(candidate) == normalize_ref(wanted)


def normalize_ref(ref: str) -> str:
    """Spell a reference as the engine does: registry, library/ namespace and :latest filled in."""
    name, digest = ref, ""
    if "@" in ref:
        name, _, digest = ref.partition("@")
        digest = "@" + digest
    last = name.rsplit("/", 1)[-1]
    if ":" not in last and not digest:
        name += ":latest"
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        name = "docker.io/" + name
        if "/" not in name[len("docker.io/"):]:
            name = "docker.io/library/" + name[len("docker.io/"):]
    return name + digest

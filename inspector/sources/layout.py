"""Find one image in a store: follow index.json or manifest.json to a config and ordered layers.

Two layouts exist on disk. OCI (``index.json`` → manifest, possibly through nested indexes for
several platforms → config and layer blobs) is what skopeo writes and what Docker 25 and later
add to ``docker save``; the legacy ``manifest.json`` array is what older engines and Podman write.
An archive that has both is read through ``index.json``, which also knows the manifest digest,
unless its ``manifests`` is null (``docker save IMAGE_ID`` on Docker 25+): then ``manifest.json``.

What counts as "one image" follows what the engine and the registries mean by it: the platform
manifests of one image, listed directly (untagged, each with its ``platform``) or through nested
untagged indexes, are one multi-platform image of which ``--platform`` picks one; signatures,
attestations and other artifacts beside an image are skipped and named (see ``artifacts``).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ..errors import BadReferenceError, ImageFormatError
from .artifacts import non_image_kind, shown
from .indexgraph import INDEX_TYPES, MAX_INDEX_DEPTH, Descriptor, IndexGraph, Leaf
from .interface import ImageMeta, LayerInfo
from .platforms import Platform
from .store import Store, parse_json
from .verify import Verification, parse_digest

__all__ = ["INDEX_TYPES", "MANIFEST_TYPES", "MAX_INDEX_DEPTH", "Resolved", "Selector", "blob_name", "normalize_ref",
           "resolve", "tag_matches"]

MANIFEST_TYPES = {
    "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.v2+json",
}
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
MAX_LISTED = 8  # tags or digests named in one error line


@dataclass
class Selector:
    """Which image of a store the user wants."""

    tag: str | None = None
    platform: Platform | None = None  # None: the machine's, when there is a choice
    platform_explicit: bool = False
    digest: str | None = None  # a manifest or index digest (oci:DIR@sha256:…, --digest)


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
    if store.exists("repositories"):
        raise ImageFormatError("a docker save from Docker before 1.10 (only 'repositories' and <id>/json, no "
                               "manifest.json), a format not read here: docker load it and docker save it again",
                               where=store.location)
    raise ImageFormatError("not a container image: it has neither index.json nor manifest.json",
                           where=store.location)


# --- legacy docker save ----------------------------------------------------------------------
def _resolve_docker(store: Store, selector: Selector, reference: str, source: str,
                    verification: Verification) -> Resolved:
    manifest = store.read_json("manifest.json")
    if manifest is None:
        raise ImageFormatError("manifest.json is null, not a list of images", where=store.location)
    if not isinstance(manifest, list) or not all(isinstance(m, dict) for m in manifest):
        raise ImageFormatError("manifest.json is not a list of images", where=store.location)
    images = manifest
    if selector.digest:
        images = [m for m in manifest if _legacy_id(m.get("Config")) == selector.digest]
        if not images:
            raise BadReferenceError(f"no image with ID {shown(selector.digest)} (a docker save archive knows its "
                                    "images by config digest only)", where=store.location)
    elif selector.tag:
        images = [m for m in manifest if any(tag_matches(t, selector.tag) for t in _str_list(m.get("RepoTags")))]
        if not images:
            raise BadReferenceError(f"no image tagged {selector.tag!r}; {_tag_list(manifest)}", where=store.location)
    configs = list(dict.fromkeys(str(m.get("Config")) for m in images))
    if len(configs) > 1:
        what = f"{len(configs)} images are tagged {selector.tag}" if selector.tag else \
            f"the archive holds {len(configs)} images, name one: {_tag_list(images)}"
        raise BadReferenceError(what, where=store.location)
    if not images:
        raise ImageFormatError("manifest.json lists no image", where=store.location)
    entry = images[0]
    config_name = entry.get("Config")
    layers = entry.get("Layers")
    if not isinstance(config_name, str) or not isinstance(layers, list) or not all(isinstance(x, str) for x in layers):
        raise ImageFormatError("manifest.json entry lacks Config or Layers", where=store.location)
    config_bytes = store.read_bytes(config_name)
    named = _legacy_id(config_name)
    if named is not None:  # <hex>.json, blobs/sha256/<hex>
        verification.check_document(config_bytes, named, f"config {config_name}", store.location)
    config = _parse_config(config_bytes, store, config_name)
    _check_platform(config, None, selector, store)
    diff_ids = _diff_ids(config, len(layers), store)
    infos = [LayerInfo(i, None, diff_ids[i], None, None) for i in range(len(layers))]
    meta = ImageMeta(reference=reference, id="sha256:" + hashlib.sha256(config_bytes).hexdigest(), config=config,
                     layers=infos, repo_tags=_str_list(entry.get("RepoTags")), source=source, raw_config=config_bytes)
    return Resolved(meta, list(layers))


def _legacy_id(config_name: Any) -> str | None:
    if not isinstance(config_name, str):
        return None
    named = config_name.rsplit("/", 1)[-1].removesuffix(".json")
    if len(named) == 64 and all(c in "0123456789abcdef" for c in named):
        return "sha256:" + named
    return None


def _tag_list(manifest: list[dict[str, Any]]) -> str:
    return _describe_tags([_str_list(m.get("RepoTags")) for m in manifest],
                          [str(m.get("Config")) for m in manifest])


def _describe_tags(tag_lists: list[list[str]], keys: list[str]) -> str:
    """``tags: a:1, b:2`` — and ``2 images are tagged 1.0.0`` where one tag names several images."""
    owners: dict[str, list[str]] = {}
    for tags, key in zip(tag_lists, keys, strict=True):
        for tag in tags:
            if key not in owners.setdefault(tag, []):
                owners[tag].append(key)
    if not owners:
        return "no image is tagged"
    shared = [f"{len(keys_)} images are tagged {tag}" for tag, keys_ in owners.items() if len(keys_) > 1]
    single = [tag for tag, keys_ in owners.items() if len(keys_) == 1]
    parts = shared + ([("tags: " if not shared else "other tags: ") + ", ".join(single[:MAX_LISTED])] if single else [])
    return "; ".join(parts)


# --- OCI layout (also Docker 25+ docker save) -------------------------------------------------
@dataclass
class _Candidate:
    """A top-level choice: a descriptor of index.json (or one found by digest) and its image leaves."""

    descriptor: Descriptor
    tags: list[str]
    leaves: list[Leaf]


def _resolve_oci(store: Store, selector: Selector, reference: str, source: str,
                 verification: Verification) -> Resolved:
    index = store.read_json("index.json")
    if isinstance(index, dict) and index.get("manifests") is None and store.exists("manifest.json"):
        return _resolve_docker(store, selector, reference, source, verification)  # docker save IMAGE_ID, Docker 25+
    graph = IndexGraph(store.location, lambda digest: _read_blob_json(store, digest, verification),
                       lambda digest: store.exists(blob_name(digest, store)))
    if isinstance(index, dict) and index.get("manifests") is None:
        raise ImageFormatError("index.json lists no manifest (\"manifests\" is null)", where=store.location)
    top = graph.descriptors(index, "index.json")
    notes: list[str] = []
    if selector.digest:
        found = graph.find(top, selector.digest)
        if found is None and store.exists("manifest.json"):  # Docker 25+: the image ID works as well
            return _resolve_docker(store, selector, reference, source, verification)
        if found is None:
            raise BadReferenceError(f"no manifest or index with digest {shown(selector.digest)} in the layout",
                                    where=store.location)
        chosen, root = found
        tags = _tags_of(root) if chosen is root else []
        candidates = [_Candidate(chosen, tags, graph.leaves(chosen))]
    else:
        listed = [(d, _tags_of(d)) for d in top]
        if selector.tag:
            listed = [(d, tags) for d, tags in listed if any(tag_matches(t, selector.tag) for t in tags)]
            if not listed:
                raise BadReferenceError(f"no image tagged {selector.tag!r}; {_oci_tag_list(top)}",
                                        where=store.location)
        first: dict[str, tuple[Descriptor, list[str]]] = {}
        for descriptor, tags in listed:  # Docker 25 lists an image once per tag: the first one speaks
            first.setdefault(descriptor["digest"], (descriptor, tags))
        candidates = [_Candidate(d, tags, graph.leaves(d)) for d, tags in first.values()]
    candidates = _images_only(candidates, notes, store)
    if len(candidates) > 1:
        candidates = [_merged_platforms(candidates, selector, store)]
    chosen_candidate = candidates[0]
    manifest_desc, manifest = _pick_platform(store, chosen_candidate.leaves, selector)
    resolved = _resolved_from_manifest(store, manifest_desc, manifest, chosen_candidate.tags, reference, source,
                                       verification, selector)
    resolved.meta.notes = notes
    return resolved


def _images_only(candidates: list[_Candidate], notes: list[str], store: Store) -> list[_Candidate]:
    """Drop signatures, attestations and artifacts (named in ``notes``); refuse when nothing is left."""
    kept: list[_Candidate] = []
    skipped: list[tuple[str, str]] = []  # (name, what it is)
    for candidate in candidates:
        images = []
        for descriptor, document in candidate.leaves:
            platform = Platform.from_descriptor(descriptor)
            if platform is not None and platform.os == "unknown":
                continue  # BuildKit's attestation manifests inside an image index: part of the image
            tags = candidate.tags if descriptor["digest"] == candidate.descriptor["digest"] else []
            kind = non_image_kind(descriptor, document, tags)
            if kind is None:
                images.append((descriptor, document))
            else:
                skipped.append((_name_of(descriptor, tags), kind))
        if images:
            kept.append(_Candidate(candidate.descriptor, candidate.tags, images))
    listing = ", ".join(f"{name} ({kind})" for name, kind in skipped[:MAX_LISTED]) \
        + (f" and {len(skipped) - MAX_LISTED} more" if len(skipped) > MAX_LISTED else "")
    if not kept:
        if len(skipped) == 1:
            raise BadReferenceError(f"{skipped[0][0]} is {skipped[0][1]}, not a container image", where=store.location)
        if skipped:
            raise BadReferenceError(f"the layout holds no container image, only: {listing}", where=store.location)
        raise ImageFormatError("index.json lists no manifest", where=store.location)
    if skipped:
        plural = len(skipped) > 1
        notes.append(f"skipped {len(skipped)} manifest{'s' if plural else ''} that {'are' if plural else 'is'} "
                     f"not the image: {listing}")
    return kept


def _merged_platforms(candidates: list[_Candidate], selector: Selector, store: Store) -> _Candidate:
    """Several top-level choices are one image when they share their tags (or none is tagged) and each
    names a different platform (builders list an image's platform manifests right in index.json);
    otherwise the user must choose."""
    leaves = [leaf for c in candidates for leaf in c.leaves]
    platforms = [Platform.from_descriptor(d) for d, _ in leaves]
    same_tags = all(c.tags == candidates[0].tags for c in candidates)
    if same_tags and None not in platforms and len(set(platforms)) == len(platforms):
        return _Candidate(candidates[0].descriptor, candidates[0].tags, leaves)
    digests = ", ".join(c.descriptor["digest"] for c in candidates[:MAX_LISTED])
    tags = _describe_tags([c.tags[:1] for c in candidates], [c.descriptor["digest"] for c in candidates])
    if selector.tag:
        what = f"{len(candidates)} images are tagged {selector.tag}"
    else:
        what = f"the layout holds {len(candidates)} images, name one: {tags}"
    raise BadReferenceError(f"{what} (pick one with --digest: {digests})", where=store.location)


def _name_of(descriptor: Descriptor, tags: list[str]) -> str:
    return shown(tags[0]) if tags else descriptor["digest"][:19] + "…"


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
    return _describe_tags([_tags_of(d)[:1] for d in descriptors], [d["digest"] for d in descriptors])


def _pick_platform(store: Store, leaves: list[Leaf], selector: Selector) -> tuple[Descriptor, dict[str, Any]]:
    if not leaves:
        raise ImageFormatError("the index names no image manifest", where=store.location)
    if len(leaves) == 1:
        return _present(store, leaves[0])
    wanted = selector.platform or Platform.host()
    matching = [leaf for leaf in leaves if (Platform.from_descriptor(leaf[0]) or wanted).matches(wanted)]
    stored = [leaf for leaf in matching if leaf[1] is not None]
    if stored:
        return _present(store, stored[0])  # the image spec says the first match wins
    available = ", ".join(str(Platform.from_descriptor(d) or "unspecified") for d, m in leaves if m is not None)
    if matching:
        raise BadReferenceError(f"platform {wanted} is listed in the index but its manifest is not in the archive; "
                                f"available: {available or 'none'}", where=store.location)
    listed = ", ".join(str(Platform.from_descriptor(d) or "unspecified") for d, m in leaves if m is None)
    more = f" (listed but not in the archive: {listed})" if listed else ""
    raise BadReferenceError(f"no image for platform {wanted}; available: {available or 'none'}{more}",
                            where=store.location)


def _present(store: Store, leaf: Leaf) -> tuple[Descriptor, dict[str, Any]]:
    descriptor, document = leaf
    if document is None:  # reading it names the missing blob the way every missing blob is named
        store.read_bytes(blob_name(descriptor["digest"], store))
        raise ImageFormatError(f"manifest {shown(descriptor['digest'])} is missing", where=store.location)
    return descriptor, document


def _resolved_from_manifest(store: Store, descriptor: dict[str, Any], manifest: dict[str, Any],
                            tags: list[str], reference: str, source: str, verification: Verification,
                            selector: Selector) -> Resolved:
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
    _check_platform(config, descriptor, selector, store)
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


def _check_platform(config: dict[str, Any], descriptor: Descriptor | None, selector: Selector, store: Store) -> None:
    """An explicit ``--platform`` must match the image found, even when there was no choice to make:
    the config says what the image is built for (the descriptor's ``platform`` when it lacks that)."""
    if not selector.platform_explicit or selector.platform is None:
        return
    actual = Platform.from_fields(config) or (Platform.from_descriptor(descriptor) if descriptor else None)
    if actual is not None and not actual.matches(selector.platform):
        raise BadReferenceError(f"the image is for {actual}, not for the platform asked for ({selector.platform})",
                                where=store.location)


def _read_blob_json(store: Store, digest: str, verification: Verification) -> Any:
    data = store.read_bytes(blob_name(digest, store))
    verification.check_document(data, digest, f"blob {digest}", store.location)
    return parse_json(data, f"blob {digest}", store.location)


def blob_name(digest: str, store: Store) -> str:
    """``sha256:abc…`` → ``blobs/sha256/abc…``; a digest we cannot check is refused (exit 3) before
    any path is built from it (``verify.parse_digest``), so it can never name another file."""
    algorithm, encoded = parse_digest(digest, store.location)
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
    """Whether a stored name answers to what the user typed (``busybox`` ~ ``docker.io/library/busybox:latest``).

    An OCI ``ref.name`` often holds only the tag (``1`` ~ ``app:1``), but some tools store a name
    without a tag (``app`` ~ ``app:latest``): a bare stored word is tried both ways.
    """
    if candidate == wanted:
        return True
    last = wanted.rsplit("/", 1)[-1]
    if "/" not in candidate and ":" not in candidate and "@" not in candidate and ":" in last \
            and last.rsplit(":", 1)[1] == candidate:
        return True
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

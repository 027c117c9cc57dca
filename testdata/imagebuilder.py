"""Build container images, byte for byte, in every on-disk layout inspect-image reads.

Why this module exists
----------------------
inspect-image reads images offline, so its tests need image files whose every
byte is known and reviewable.  Checked-in binary fixtures cannot be reviewed and
real producers (docker, skopeo) are not available everywhere the tests run.  So a
test describes an image as plain data -- an :class:`ImageSpec` made of layers of
:class:`E` tar entries -- and this module lays it out exactly the way the real
producers do:

* ``write_docker_archive(layout="legacy")``    -- ``docker save`` of Docker <= 24
* ``write_docker_archive(layout="docker25")``  -- ``docker save`` of Docker >= 25
* ``write_docker_archive(layout="docker25-gzip")`` -- containerd image store export
* ``write_oci_layout(...)``                    -- ``skopeo copy ... oci:DIR``
* ``write_oci_layout(..., as_tar=True)``       -- ``oci-archive:FILE``

Everything is deterministic (same spec -> same bytes) so tests can compare
digests.  Only the standard library is needed; ``zstandard`` is imported lazily,
only when zstd compression is asked for.

Corrupt-input tests pass ``layer_bytes_hook`` to a writer: it sees every layer
blob after all digests and sizes were computed from the correct bytes, and may
return different (truncated, garbled) bytes to store instead.

Run ``python -m testdata.imagebuilder --selftest DIR`` to write every layout to
DIR, check it, and (when installed) have skopeo and umoci read it.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import IO, Any, Protocol, Union

__all__ = [
    "E", "ImageSpec", "Blob", "whiteout", "opaque", "layer_tar", "config_json",
    "digest", "write_docker_archive", "write_oci_layout", "LayerHook",
]

#: ``hook(layer_index_in_stack, stored_bytes) -> bytes_to_write_instead``
LayerHook = Callable[[int, bytes], bytes]
PathOrFile = Union[str, "os.PathLike[str]", IO[bytes]]

MT_OCI_INDEX = "application/vnd.oci.image.index.v1+json"
MT_OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = {
    "none": "application/vnd.oci.image.layer.v1.tar",
    "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
    "zstd": "application/vnd.oci.image.layer.v1.tar+zstd",
}
ANN_REF_NAME = "org.opencontainers.image.ref.name"
ANN_CONTAINERD_NAME = "io.containerd.image.name"
OCI_LAYOUT_FILE = b'{"imageLayoutVersion":"1.0.0"}'
CREATED = "2020-09-13T12:26:40Z"  # == the default E.mtime, keeps configs stable
CREATED_EPOCH = 1_600_000_000
BLOB_DIR = "blobs/sha256"


# --------------------------------------------------------------------------
# layer tars
# --------------------------------------------------------------------------

@dataclass
class E:
    """One tar entry of a layer, in tar order.

    ``path`` is written verbatim (``./a``, ``/a``, ``a/`` are all kept as given:
    real layers contain each form and the reader must normalise them).  ``fmt``
    picks the header flavour so tests can force GNU longname headers or PAX path
    records for long names.  ``xattrs`` become PAX ``SCHILY.xattr.*`` records,
    which is how Docker/containerd store file capabilities and the like.
    """

    path: str
    type: str = "file"
    data: bytes = b""
    mode: int | None = None
    uid: int = 0
    gid: int = 0
    target: str = ""
    mtime: int = CREATED_EPOCH
    xattrs: dict[str, bytes] = field(default_factory=dict)
    devmajor: int = 0
    devminor: int = 0
    fmt: str = "pax"


_TAR_TYPES = {
    "file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
    "hardlink": tarfile.LNKTYPE, "char": tarfile.CHRTYPE, "block": tarfile.BLKTYPE,
    "fifo": tarfile.FIFOTYPE,
}
_DEFAULT_MODES = {
    "file": 0o644, "dir": 0o755, "symlink": 0o777, "hardlink": 0o644,
    "char": 0o666, "block": 0o660, "fifo": 0o644,
}
_TAR_FORMATS = {"pax": tarfile.PAX_FORMAT, "gnu": tarfile.GNU_FORMAT, "ustar": tarfile.USTAR_FORMAT}


def whiteout(path: str) -> E:
    """Entry that deletes ``path`` from lower layers (``dir/.wh.name``)."""
    head, _, base = path.rstrip("/").rpartition("/")
    return E(f"{head}/.wh.{base}" if head else f".wh.{base}")


def opaque(dirpath: str) -> E:
    """Entry that hides everything lower layers put in ``dirpath``."""
    return E(dirpath.rstrip("/") + "/.wh..wh..opq")


class _VerbatimTarInfo(tarfile.TarInfo):
    """TarInfo that keeps the member name as given.

    Stock tarfile appends ``/`` to every directory name; tests need directories
    without the slash too, because some producers write them that way.
    """

    def get_info(self) -> dict[str, Any]:
        info = super().get_info()
        info["name"] = self.name
        return info


def _tarinfo(e: E) -> tarfile.TarInfo:
    if e.type not in _TAR_TYPES:
        raise ValueError(f"{e.path}: unknown entry type {e.type!r}")
    if e.fmt not in _TAR_FORMATS:
        raise ValueError(f"{e.path}: unknown tar format {e.fmt!r}")
    if e.data and e.type != "file":
        raise ValueError(f"{e.path}: only files carry data")
    if e.xattrs and e.fmt != "pax":
        raise ValueError(f"{e.path}: xattrs need fmt='pax'")
    ti = _VerbatimTarInfo(e.path)
    ti.type = _TAR_TYPES[e.type]
    ti.mode = _DEFAULT_MODES[e.type] if e.mode is None else e.mode
    ti.uid, ti.gid, ti.mtime = e.uid, e.gid, e.mtime
    ti.size = len(e.data)
    ti.linkname = e.target
    ti.devmajor, ti.devminor = e.devmajor, e.devminor
    # tarfile writes str values; surrogateescape round-trips arbitrary bytes
    # (it then marks the header hdrcharset=BINARY, as GNU tar does).
    ti.pax_headers = {
        f"SCHILY.xattr.{name}": value.decode("utf-8", "surrogateescape")
        for name, value in e.xattrs.items()
    }
    return ti


def _open_tar_writer(fileobj: IO[bytes]) -> tarfile.TarFile:
    return tarfile.open(fileobj=fileobj, mode="w", format=tarfile.PAX_FORMAT,
                        encoding="utf-8", errors="surrogateescape")


def layer_tar(entries: Iterable[E]) -> bytes:
    """Uncompressed layer tar of ``entries``, in order; deterministic."""
    buf = io.BytesIO()
    with _open_tar_writer(buf) as tf:
        for e in entries:
            tf.format = _TAR_FORMATS[e.fmt]  # tarfile reads it per addfile()
            tf.addfile(_tarinfo(e), io.BytesIO(e.data))
    return buf.getvalue()


# --------------------------------------------------------------------------
# blobs, configs, manifests
# --------------------------------------------------------------------------

def digest(data: bytes) -> str:
    """``sha256:<hex>`` of ``data``."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _json(obj: Any) -> bytes:
    """Compact JSON as Go's encoding/json writes it (what all producers use)."""
    return json.dumps(obj, separators=(",", ":")).encode()


def _json_line(obj: Any) -> bytes:
    """JSON as Go's json.Encoder writes it: Docker's manifest.json, repositories."""
    return _json(obj) + b"\n"


@dataclass(frozen=True)
class Blob:
    """Content-addressed bytes plus the media type they are referenced with."""

    media_type: str
    data: bytes

    @cached_property
    def digest(self) -> str:
        return digest(self.data)

    @property
    def hex(self) -> str:
        return self.digest.split(":", 1)[1]

    @property
    def path(self) -> str:
        return f"{BLOB_DIR}/{self.hex}"

    def descriptor(self, **extra: Any) -> dict[str, Any]:
        return {"mediaType": self.media_type, "digest": self.digest,
                "size": len(self.data), **extra}


@dataclass
class ImageSpec:
    """One image: layers (bottom first), the config's ``config`` object, tags."""

    layers: list[list[E]]
    config: dict | None = None
    tags: list[str] = field(default_factory=list)
    os: str = "linux"
    architecture: str = "amd64"
    variant: str | None = None
    history: list[dict] | None = None

    def platform(self) -> dict[str, str]:
        p = {"architecture": self.architecture, "os": self.os}
        if self.variant:
            p["variant"] = self.variant
        return p


def _default_history(n_layers: int) -> list[dict]:
    return [{"created": CREATED, "created_by": f"/bin/sh -c #(nop) ADD layer{i} /"}
            for i in range(n_layers)]


def _config_dict(spec: ImageSpec, diff_ids: list[str]) -> dict[str, Any]:
    cfg: dict[str, Any] = spec.platform()
    cfg.update({
        "config": spec.config or {},
        "created": CREATED,
        "history": _default_history(len(diff_ids)) if spec.history is None else spec.history,
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
    })
    return cfg


def config_json(spec: ImageSpec) -> bytes:
    """Full image config (Docker and OCI share this format) for ``spec``."""
    return _json(_config_dict(spec, [digest(layer_tar(es)) for es in spec.layers]))


def _compress(data: bytes, compression: str) -> bytes:
    if compression == "none":
        return data
    if compression == "gzip":
        return gzip.compress(data, mtime=0)  # mtime=0: deterministic header
    if compression == "zstd":
        import zstandard  # lazy: only zstd tests need the package
        return zstandard.ZstdCompressor(level=3).compress(data)
    raise ValueError(f"unknown compression {compression!r}")


@dataclass(frozen=True)
class _Layer:
    tar: bytes   # uncompressed: its digest is the diff id
    blob: Blob   # as stored, maybe compressed

    @cached_property
    def diff_id(self) -> str:
        return digest(self.tar)


@dataclass(frozen=True)
class _Image:
    """An ImageSpec with all its bytes built and digested."""

    spec: ImageSpec
    layers: list[_Layer]
    config: Blob
    manifest: Blob


def _build_layer(entries: list[E], compression: str) -> _Layer:
    tar = layer_tar(entries)
    return _Layer(tar, Blob(MT_LAYER[compression], _compress(tar, compression)))


def _build_image(spec: ImageSpec, compression: str) -> _Image:
    """The single place where every writer gets its layer bytes and digests."""
    layers = [_build_layer(es, compression) for es in spec.layers]
    config = Blob(MT_OCI_CONFIG, _json(_config_dict(spec, [layer.diff_id for layer in layers])))
    manifest = Blob(MT_OCI_MANIFEST, _json({
        "schemaVersion": 2,
        "mediaType": MT_OCI_MANIFEST,
        "config": config.descriptor(),
        "layers": [layer.blob.descriptor() for layer in layers],
    }))
    return _Image(spec, layers, config, manifest)


def _build_all(specs: list[ImageSpec] | ImageSpec, compression: str) -> list[_Image]:
    return [_build_image(s, compression) for s in ([specs] if isinstance(specs, ImageSpec) else specs)]


def _stored(data: bytes, index: int, hook: LayerHook | None) -> bytes:
    """Layer bytes to write: the hook's replacement for tests of corrupt input."""
    return data if hook is None else hook(index, data)


# --------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------

def _split_ref(ref: str) -> tuple[str, str]:
    """``example.com/app:1`` -> (``example.com/app``, ``1``); no tag -> latest."""
    name, sep, tag = ref.rpartition(":")
    if not sep or "/" in tag:
        return ref, "latest"
    return name, tag


def _full_name(ref: str) -> str:
    """Docker's normalised name: ``busybox:1`` -> ``docker.io/library/busybox:1``."""
    repo, tag = _split_ref(ref)
    first, slash, _ = repo.partition("/")
    if not slash:
        repo = f"docker.io/library/{repo}"
    elif not ("." in first or ":" in first or first == "localhost"):
        repo = f"docker.io/{repo}"
    return f"{repo}:{tag}"


def _ref_descriptors(base: dict, tags: list[str],
                     annotate: Callable[[str], dict[str, str]]) -> list[dict]:
    """One index descriptor per tag; a bare descriptor for an untagged image."""
    if not tags:
        return [base]
    return [{**base, "annotations": annotate(t)} for t in tags]


def _oci_annotations(ref: str) -> dict[str, str]:
    return {ANN_REF_NAME: _split_ref(ref)[1]}


def _docker25_annotations(ref: str) -> dict[str, str]:
    return {ANN_CONTAINERD_NAME: _full_name(ref), ANN_REF_NAME: _split_ref(ref)[1]}


def _index_json(manifests: list[dict]) -> bytes:
    return _json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": manifests})


def _add_repositories(repos: dict[str, dict[str, str]], tags: list[str], top_id: str) -> None:
    for ref in tags:
        repo, tag = _split_ref(ref)
        repos.setdefault(repo, {})[tag] = top_id


def _manifest_entry(img: _Image, config_path: str, layer_paths: list[str]) -> dict:
    # Docker marshals an untagged image's nil slice as null.
    return {"Config": config_path, "RepoTags": list(img.spec.tags) or None, "Layers": layer_paths}


# --------------------------------------------------------------------------
# output sinks: a directory tree or a tar archive, written in call order
# --------------------------------------------------------------------------

class _Sink(Protocol):
    def dir(self, name: str) -> None: ...
    def file(self, name: str, data: bytes) -> None: ...
    def symlink(self, name: str, target: str) -> None: ...
    def has(self, name: str) -> bool: ...


class _TarSink:
    """Members of an outer archive (docker save, oci-archive); each name once."""

    def __init__(self, fileobj: IO[bytes], mtime: int) -> None:
        self._tar = _open_tar_writer(fileobj)
        self._mtime = mtime
        self._names: set[str] = set()

    def has(self, name: str) -> bool:
        return name in self._names

    def _add(self, entry: E) -> None:
        if entry.path not in self._names:
            self._names.add(entry.path)
            self._tar.addfile(_tarinfo(entry), io.BytesIO(entry.data))

    def dir(self, name: str) -> None:
        self._add(E(name.rstrip("/") + "/", "dir", mtime=self._mtime))

    def file(self, name: str, data: bytes) -> None:
        self._add(E(name, data=data, mtime=self._mtime))

    def symlink(self, name: str, target: str) -> None:
        self._add(E(name, "symlink", target=target, mtime=self._mtime))

    def close(self) -> None:
        self._tar.close()


class _DirSink:
    """Files under a directory (an OCI image layout as ``oci:DIR``)."""

    def __init__(self, root: Path) -> None:
        self._root = root
        root.mkdir(parents=True, exist_ok=True)

    def has(self, name: str) -> bool:
        return (self._root / name).exists()

    def dir(self, name: str) -> None:
        (self._root / name).mkdir(parents=True, exist_ok=True)

    def file(self, name: str, data: bytes) -> None:
        target = self._root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)

    def symlink(self, name: str, target: str) -> None:
        os.symlink(target, self._root / name)


@contextmanager
def _tar_sink(path: PathOrFile, mtime: int) -> Iterator[_TarSink]:
    """A _TarSink over an open binary file or a new file at ``path``."""
    with ExitStack() as stack:
        fileobj = path if hasattr(path, "write") else stack.enter_context(open(path, "wb"))  # type: ignore[arg-type]
        sink = _TarSink(fileobj, mtime)  # type: ignore[arg-type]
        yield sink
        sink.close()


# --------------------------------------------------------------------------
# shared OCI blob store writing (docker25 and OCI layouts)
# --------------------------------------------------------------------------

def _write_blob(sink: _Sink, blob: Blob, data: bytes | None = None) -> None:
    sink.dir("blobs/")
    sink.dir(BLOB_DIR + "/")
    if not sink.has(blob.path):
        sink.file(blob.path, blob.data if data is None else data)


def _write_image_blobs(sink: _Sink, img: _Image, hook: LayerHook | None) -> None:
    """Layer blobs, then the config, then the manifest: Docker's save order."""
    for i, layer in enumerate(img.layers):
        if not sink.has(layer.blob.path):
            _write_blob(sink, layer.blob, _stored(layer.blob.data, i, hook))
    _write_blob(sink, img.config)
    _write_blob(sink, img.manifest)


# --------------------------------------------------------------------------
# docker save, legacy (Docker <= 24)
# --------------------------------------------------------------------------

def _v1_ids(img: _Image) -> list[str]:
    """Synthetic v1 layer ids, one per layer, derived from the chain.

    Like Docker's, the top layer's id also depends on the config, so the same
    layer stack under two configs gets different top directories.
    """
    ids: list[str] = []
    chain = ""
    for i, layer in enumerate(img.layers):
        chain = layer.diff_id if not chain else digest(f"{chain} {layer.diff_id}".encode())
        top = i == len(img.layers) - 1
        seed = {"parent": ids[-1] if ids else "", "chain": chain,
                "config": img.config.digest if top else ""}
        ids.append(hashlib.sha256(_json(seed)).hexdigest())
    return ids


def _v1_json(img: _Image, i: int, ids: list[str]) -> bytes:
    """The per-layer legacy ``json``: the image config for the top layer."""
    parent = {"parent": ids[i - 1]} if i else {}
    if i == len(ids) - 1:
        cfg = _config_dict(img.spec, [])
        for key in ("history", "rootfs"):
            cfg.pop(key)
        return _json({"id": ids[i], **parent, **cfg})
    return _json({"id": ids[i], **parent, "created": CREATED,
                  "container_config": {"Cmd": None}, "os": img.spec.os})


def _write_legacy_layers(sink: _Sink, img: _Image, hook: LayerHook | None,
                         first_path: dict[str, str] | None) -> list[str]:
    """Write ``<v1id>/{VERSION,json,layer.tar}``; return the layer.tar paths.

    With ``first_path`` (diff id -> first layer.tar), a layer already saved under
    another v1 id becomes a symlink ``../<v1id>/layer.tar``, as Docker's save does.
    """
    ids = _v1_ids(img)
    paths = []
    for i, (layer, v1id) in enumerate(zip(img.layers, ids, strict=True)):
        path = f"{v1id}/layer.tar"
        paths.append(path)
        if sink.has(path):
            continue
        sink.dir(f"{v1id}/")
        sink.file(f"{v1id}/VERSION", b"1.0")
        sink.file(f"{v1id}/json", _v1_json(img, i, ids))
        if first_path is not None and layer.diff_id in first_path:
            sink.symlink(path, f"../{first_path[layer.diff_id]}")
            continue
        if first_path is not None:
            first_path[layer.diff_id] = path
        sink.file(path, _stored(layer.tar, i, hook))
    return paths


def _write_legacy(sink: _Sink, images: list[_Image], hook: LayerHook | None,
                  symlinks: bool) -> None:
    first_path: dict[str, str] | None = {} if symlinks else None
    layer_paths = [_write_legacy_layers(sink, img, hook, first_path) for img in images]
    for img in images:
        sink.file(f"{img.config.hex}.json", img.config.data)
    sink.file("manifest.json", _json_line([
        _manifest_entry(img, f"{img.config.hex}.json", paths)
        for img, paths in zip(images, layer_paths, strict=True)
    ]))
    repos: dict[str, dict[str, str]] = {}
    for img, paths in zip(images, layer_paths, strict=True):
        if paths:
            _add_repositories(repos, img.spec.tags, paths[-1].split("/")[0])
    if repos:
        sink.file("repositories", _json_line(repos))


# --------------------------------------------------------------------------
# docker save, OCI flavoured (Docker >= 25, containerd store)
# --------------------------------------------------------------------------

def _write_docker25(sink: _Sink, images: list[_Image], hook: LayerHook | None,
                    with_repositories: bool) -> None:
    index: list[dict] = []
    entries: list[dict] = []
    repos: dict[str, dict[str, str]] = {}
    for img in images:
        _write_image_blobs(sink, img, hook)
        index += _ref_descriptors(img.manifest.descriptor(), img.spec.tags, _docker25_annotations)
        entries.append(_manifest_entry(img, img.config.path, [layer.blob.path for layer in img.layers]))
        if img.layers:
            _add_repositories(repos, img.spec.tags, img.layers[-1].blob.hex)
    sink.file("index.json", _index_json(index))
    sink.file("manifest.json", _json_line(entries))
    sink.file("oci-layout", OCI_LAYOUT_FILE)
    if repos and with_repositories:
        sink.file("repositories", _json_line(repos))


_DOCKER_LAYOUTS = {
    # layout: (layer compression, member mtime)
    "legacy": ("none", CREATED_EPOCH),
    "docker25": ("none", 0),
    "docker25-gzip": ("gzip", 0),
}


def write_docker_archive(path: PathOrFile, specs: list[ImageSpec] | ImageSpec,
                         layout: str = "legacy", *,
                         layer_bytes_hook: LayerHook | None = None,
                         legacy_symlinks: bool = True) -> None:
    """Write a ``docker save`` tarball of ``specs`` to ``path`` (file or path).

    ``legacy``: Docker <= 24 (``<v1id>/layer.tar`` dirs, ``manifest.json`` and
    ``repositories`` last).  ``docker25``: Docker >= 25 (an OCI blob store plus
    ``manifest.json``).  ``docker25-gzip``: the containerd image store's export
    (gzip layer blobs, no ``repositories`` file).  Shared layers are stored once.

    ``legacy_symlinks``: in ``legacy``, a layer reused under a different v1 id
    (e.g. image A's top layer is image B's middle one) is a symlinked
    ``layer.tar``, exactly as Docker writes it.  skopeo <= 1.x mis-sizes such
    layers on copy (containers/image PR #2963); False stores a second copy.
    """
    if layout not in _DOCKER_LAYOUTS:
        raise ValueError(f"unknown docker archive layout {layout!r}")
    compression, mtime = _DOCKER_LAYOUTS[layout]
    images = _build_all(specs, compression)
    with _tar_sink(path, mtime) as sink:
        if layout == "legacy":
            _write_legacy(sink, images, layer_bytes_hook, legacy_symlinks)
        else:
            _write_docker25(sink, images, layer_bytes_hook,
                            with_repositories=layout == "docker25")


# --------------------------------------------------------------------------
# OCI image layout (skopeo oci: / oci-archive:)
# --------------------------------------------------------------------------

def _platform_index(images: list[_Image]) -> Blob:
    """Nested image index listing each image's manifest with its platform."""
    return Blob(MT_OCI_INDEX, _json({
        "schemaVersion": 2,
        "mediaType": MT_OCI_INDEX,
        "manifests": [img.manifest.descriptor(platform=img.spec.platform()) for img in images],
    }))


def _write_oci(sink: _Sink, images: list[_Image], hook: LayerHook | None,
               index_platforms: bool) -> None:
    for img in images:
        _write_image_blobs(sink, img, hook)
    if index_platforms:
        nested = _platform_index(images)
        _write_blob(sink, nested)
        manifests = _ref_descriptors(nested.descriptor(), images[0].spec.tags[:1], _oci_annotations)
    else:
        manifests = [d for img in images
                     for d in _ref_descriptors(img.manifest.descriptor(), img.spec.tags,
                                               _oci_annotations)]
    sink.file("index.json", _index_json(manifests))
    sink.file("oci-layout", OCI_LAYOUT_FILE)


def write_oci_layout(path: PathOrFile, specs: list[ImageSpec] | ImageSpec,
                     compression: str = "gzip", as_tar: bool = False,
                     index_platforms: bool = False, *,
                     layer_bytes_hook: LayerHook | None = None) -> None:
    """Write an OCI image layout: a directory at ``path``, or a tar if ``as_tar``.

    One index.json descriptor per tag (``org.opencontainers.image.ref.name`` =
    the tag part), or with ``index_platforms`` a single descriptor of a nested
    multi-platform index holding every spec.
    """
    images = _build_all(specs, compression)
    if index_platforms and not images:
        raise ValueError("index_platforms needs at least one image")
    if as_tar:
        with _tar_sink(path, 0) as sink:
            _write_oci(sink, images, layer_bytes_hook, index_platforms)
    else:
        _write_oci(_DirSink(Path(path)), images, layer_bytes_hook, index_platforms)  # type: ignore[arg-type]


# --------------------------------------------------------------------------
# self-check
# --------------------------------------------------------------------------

def _selftest_specs() -> list[ImageSpec]:
    base = [E("etc/", "dir"), E("etc/a", data=b"a\n"), E("etc/b", data=b"b\n"),
            E("d/", "dir"), E("d/x", data=b"x\n"), E("d/y", data=b"y\n"),
            E("bin/", "dir"), E("bin/sh", "symlink", target="busybox"),
            E("etc/caps", data=b"c", xattrs={"user.bin": b"\x01\x00\xff"})]
    top = [whiteout("etc/a"), opaque("d"), E("d/z", data=b"z\n")]
    cfg = {"Cmd": ["/bin/sh"], "Env": ["PATH=/bin"], "WorkingDir": "/"}
    return [
        ImageSpec([base, top], cfg, ["imagebuilder-selftest/a:1"]),
        ImageSpec([base, top, [E("extra", data=b"e")]], cfg,
                  ["imagebuilder-selftest/b:1", "imagebuilder-selftest/b:2"],
                  architecture="arm64", variant="v8"),
    ]


def _tar_names(path: Path) -> list[str]:
    with tarfile.open(path) as tf:
        return tf.getnames()


def _check_oci_dir(root: Path) -> None:
    for blob in (root / BLOB_DIR).iterdir():
        assert digest(blob.read_bytes()) == "sha256:" + blob.name, blob


def _selftest_write(out: Path) -> dict[str, Path]:
    specs = _selftest_specs()
    written: dict[str, Path] = {}
    for layout in _DOCKER_LAYOUTS:
        written[layout] = out / f"{layout}.tar"
        write_docker_archive(written[layout], specs, layout)
    for comp in MT_LAYER:
        written[f"oci-{comp}"] = out / f"oci-{comp}"
        write_oci_layout(written[f"oci-{comp}"], specs[0], comp)
    written["oci-archive"] = out / "oci-archive.tar"
    write_oci_layout(written["oci-archive"], specs, as_tar=True)
    written["oci-multi"] = out / "oci-multi"
    write_oci_layout(written["oci-multi"], specs, index_platforms=True)
    return written


def _selftest_checks(w: dict[str, Path]) -> None:
    e = E("x", data=b"1", xattrs={"user.bin": b"\xff\x00"})
    assert layer_tar([e]) == layer_tar([e]), "layer_tar not deterministic"
    with tarfile.open(fileobj=io.BytesIO(layer_tar([e, E("d", "dir")]))) as tf:
        got = tf.getmembers()
        assert got[0].pax_headers["SCHILY.xattr.user.bin"].encode("utf-8", "surrogateescape") == b"\xff\x00"
        assert got[1].name == "d"
    names = _tar_names(w["legacy"])
    assert names[-2:] == ["manifest.json", "repositories"], names
    assert max(i for i, n in enumerate(names) if n.endswith("layer.tar")) < names.index("manifest.json")
    assert _tar_names(w["docker25"])[-4:] == ["index.json", "manifest.json", "oci-layout", "repositories"]
    for key in ("oci-none", "oci-gzip", "oci-zstd", "oci-multi"):
        _check_oci_dir(w[key])
    again = w["legacy"].with_suffix(".again")
    write_docker_archive(again, _selftest_specs(), "legacy")
    assert again.read_bytes() == w["legacy"].read_bytes(), "archive not deterministic"
    again.unlink()


def _selftest_tools(w: dict[str, Path], scratch: Path) -> list[list[str]]:
    """Commands that must accept what we wrote, run when the tools exist.

    ``skopeo copy`` re-hashes every blob (``inspect`` only reads metadata);
    ``umoci unpack`` applies the whiteouts.  Legacy image b is only inspected:
    its symlinked layer.tar trips a skopeo size bug (see write_docker_archive).
    """
    a, b = "imagebuilder-selftest/a:1", "imagebuilder-selftest/b:2"
    sources = [f"docker-archive:{w[k]}:{ref}" for k in _DOCKER_LAYOUTS for ref in (a, b)]
    sources += [f"oci:{w[f'oci-{c}']}" for c in MT_LAYER]
    sources += [f"oci-archive:{w['oci-archive']}:2", f"oci:{w['oci-multi']}:1"]
    cmds = [["skopeo", "inspect", src] for src in sources]
    cmds += [["skopeo", "copy", "-q", src, f"dir:{scratch / str(i)}"]
             for i, src in enumerate(sources) if "legacy" not in src or a in src]
    cmds += [["umoci", "ls", "--layout", str(w[k])] for k in ("oci-gzip", "oci-multi")]
    cmds += [["umoci", "unpack", "--rootless", "--image", f"{w['oci-gzip']}:1", str(scratch / "bundle")]]
    return cmds


def _selftest(out: Path) -> int:
    import shutil
    import subprocess
    import tempfile
    out.mkdir(parents=True, exist_ok=True)
    written = _selftest_write(out)
    _selftest_checks(written)
    print("ok: wrote and checked", ", ".join(sorted(written)))
    failed = 0
    for cmd in _selftest_tools(written, Path(tempfile.mkdtemp(dir=out))):
        if shutil.which(cmd[0]) is None:
            print("skip (not installed):", " ".join(cmd))
            continue
        res = subprocess.run(cmd, capture_output=True, text=True)
        print("ok:" if res.returncode == 0 else "FAIL:", " ".join(cmd))
        if res.returncode:
            failed += 1
            print(res.stderr.strip())
    return 1 if failed else 0


def _main(argv: list[str] | None = None) -> int:
    import argparse
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--selftest", metavar="DIR", type=Path, required=True,
                        help="write every layout into DIR and check it")
    return _selftest(parser.parse_args(argv).selftest)


if __name__ == "__main__":
    raise SystemExit(_main())

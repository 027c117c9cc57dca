"""Write a corpus of broken and hostile images, each with the outcome inspect-image must give.

Forensic users point inspect-image at images they do not trust. For every input below the tool
must either give the correct result (exit 0, and what the output must then contain is stated
here) or fail cleanly: exit 2 (3 for a digest mismatch) with exactly one line on stderr that names
the problem and where it was found. Never a traceback, never "internal error", never a hang, never
unbounded memory.

    python -m testdata.make_bad_inputs DIR            # write every case under DIR, plus DIR/cases.json
    python -m testdata.make_bad_inputs DIR --light    # leave out the bombs and the million-entry layers

``write_corpus(directory)`` returns ``{name: Case}``; ``tests/test_bad_inputs.py`` runs each case
through every view it names (``VIEWS``) and checks the outcome. A view may accept more than one
outcome only where the contract itself leaves a choice (a correct result, or exit 2 naming the
problem); the first outcome listed is the preferred one.

Big inputs are written streaming and never held in memory: the gzip bomb is one deflate stream
(a block of zeros compressed after a full flush is byte-for-byte the same every time, so it is
compressed once and repeated; the CRC is computed over the real zeros), the zstd bombs are frames
of RLE blocks (4 bytes per 128 KiB), the million-entry layers are ustar headers patched from a
template and compressed on the fly.

Engine behaviour these expectations were checked against (Docker 20.10 with overlay2):

* ``.wh..wh..opq`` at the top of a layer sets the opaque xattr on the layer's root directory, which
  overlayfs ignores for the root of a mount: nothing of the lower layers is hidden.
* whiteouts for names that never existed change nothing, but their missing parent directories are
  created (0755, root): ``nodir/.wh.ghost`` leaves an empty ``/nodir``.
* ``.wh.`` (a whiteout without a name) makes ``docker load`` fail.
* duplicate paths in one layer make ``docker load`` fail ("duplicates of file paths not
  supported", tar-split); containerd applies them in order, the last one winning, which is what
  the corpus expects.
* ``Entrypoint``, ``Cmd`` and ``Shell`` given as a JSON string are accepted and mean a one-element
  list (Docker's ``StrSlice``); ``Env`` as a string, ``Labels``/``ExposedPorts``/``Volumes`` as
  lists, ``User`` as a number and ``WorkingDir`` as a list make ``docker load`` fail.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import struct
import sys
import tarfile
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from testdata.imagebuilder import (
    MT_LAYER,
    MT_OCI_CONFIG,
    MT_OCI_INDEX,
    MT_OCI_MANIFEST,
    OCI_LAYOUT_FILE,
    E,
    ImageSpec,
    digest,
    layer_tar,
    opaque,
    whiteout,
    write_docker_archive,
    write_oci_layout,
)

# ------------------------------------------------------------------------------------------------
# what a case expects
# ------------------------------------------------------------------------------------------------

#: The views every case may be run through: name → arguments after IMAGE.
VIEWS: dict[str, tuple[str, ...]] = {
    "files": ("--files", "--format", "json"),
    "summary": ("--format", "json"),
    "executables": ("--executables", "--format", "json"),
    "config": ("--config", "--format", "json"),
}
ALL_VIEWS = tuple(VIEWS)
#: Output of a JSON view is checked with ``(key path, op, value)``; a key path is a list of dict keys,
#: list indexes, or ``{"path": P}`` (the element of a list whose "path" is P). Ops: eq, contains
#: (substring of a string, or of any string in a list), nonempty, empty, ge (a number at least).
Check = tuple[list[Any], str, Any]


@dataclass(frozen=True)
class Outcome:
    """One acceptable result of one view.

    ``code`` 2 or 3: stdout is empty and stderr is one line holding one of ``problem`` (any case,
    looked for outside the case's own folder name), one of ``where`` and every string of ``also``. ``code`` 0:
    stdout is valid JSON (and valid UTF-8); stderr holds only ``inspect-image: warning:`` lines, one of them
    holding one of ``warning`` when that is given; for ``--files``, every path of ``files`` is listed with the
    given field values and no path of ``absent`` is; every ``checks`` item holds.
    """

    code: int
    problem: tuple[str, ...] = ()
    where: tuple[str, ...] = ()
    also: tuple[str, ...] = ()
    files: dict[str, dict[str, Any]] = field(default_factory=dict)
    absent: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()
    warning: tuple[str, ...] = ()


@dataclass
class Case:
    """One input and what each view must make of it."""

    name: str
    description: str
    ref: str  # the IMAGE argument: a path, or "-" (then ``stdin`` is the file fed to standard input)
    expect: dict[str, tuple[Outcome, ...]]  # view → acceptable outcomes, preferred first
    args: tuple[str, ...] = ()  # extra options (--max-entries ...)
    stdin: str | None = None
    timeout: float = 30.0  # wall-clock seconds per run (heavy cases: 60)
    heavy: bool = False  # a bomb or a million entries: written only when asked for
    workdir: str = ""  # the folder holding this case's files (its name must not count as naming the problem)

    def command(self, view: str) -> list[str]:
        """The arguments after ``python -m inspector``."""
        return [self.ref, *VIEWS[view], *self.args]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["expect"] = {view: [asdict(o) for o in outcomes] for view, outcomes in self.expect.items()}
        data["commands"] = {view: ["inspect-image", *self.command(view)] for view in self.expect}
        return data


TRUNCATED = ("truncated", "unexpected end", "ended", "incomplete", "end of", "short")
CORRUPT = ("corrupt", "invalid", "crc", "checksum", "bad", "not a", "unknown", "damaged", "truncated")
MISMATCH = ("does not match", "mismatch", "digest")
MISSING = ("missing", "not found", "no such", "absent", "cannot read", "does not exist")
BOMB = ("inflate", "bomb", "ratio", "max-ratio")
ESCAPE = ("escape", "outside", "breakout", "..", "climb")


def error(code: int, problem: Iterable[str], where: Iterable[str], also: Iterable[str] = ()) -> Outcome:
    return Outcome(code, problem=tuple(problem), where=tuple(where), also=tuple(also))


def ok(files: dict[str, dict[str, Any]] | None = None, absent: Iterable[str] = (),
       checks: Iterable[Check] = (), warning: Iterable[str] = ()) -> Outcome:
    return Outcome(0, files=dict(files or {}), absent=tuple(absent), checks=tuple(checks), warning=tuple(warning))


def everywhere(*outcomes: Outcome, views: Iterable[str] = ALL_VIEWS) -> dict[str, tuple[Outcome, ...]]:
    """The same acceptable outcomes for every view."""
    return {view: tuple(outcomes) for view in views}


def listing(files: dict[str, dict[str, Any]] | None = None, absent: Iterable[str] = (),
            summary: Iterable[Check] = (), config: Iterable[Check] = (), executables: Iterable[Check] = (),
            warning: Iterable[str] = ()) -> dict[str, tuple[Outcome, ...]]:
    """Success in every view: the listing holds ``files``; the other views pass their checks."""
    return {
        "files": (ok(files, absent, warning=warning),),
        "summary": (ok(checks=summary, warning=warning),),
        "executables": (ok(checks=executables, warning=warning),),
        "config": (ok(checks=config, warning=warning),),
    }


# ------------------------------------------------------------------------------------------------
# building blocks
# ------------------------------------------------------------------------------------------------

def _tiny_elf() -> bytes:
    """A 64-byte static x86-64 ELF header: an executable the entrypoint checks accept."""
    ident = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    return struct.pack("<16sHHIQQQIHHHHHH", ident, 2, 0x3E, 1, 0x400000, 0, 0, 0, 64, 56, 0, 64, 0, 0)


ELF = _tiny_elf()
#: Incompressible bytes, so a cut in a compressed layer lands in real data.
NOISE = b"".join(hashlib.sha256(b"noise %d" % i).digest() for i in range(1024))
BASE = [E("bin/", "dir"), E("bin/app", data=ELF, mode=0o755), E("etc/", "dir"),
        E("etc/os-release", data=b"ID=corpus\n"), E("data/", "dir"), E("data/noise", data=NOISE)]
CONFIG = {"Entrypoint": ["/bin/app"], "Env": ["PATH=/usr/bin:/bin"]}
BASE_FILES = {"/bin/app": {"type": "file", "mode": "0755", "size": len(ELF)}, "/etc/os-release": {"type": "file"}}
#: The summary and --config of an image whose entrypoint /bin/app can start.
STARTS = ([["entrypoint", "path"], "eq", "/bin/app"], [["entrypoint", "problems"], "empty", None])


def spec(*layers: list[E], config: dict | None = None, tags: Iterable[str] = ("corpus/app:1",)) -> ImageSpec:
    return ImageSpec([BASE, *layers], CONFIG if config is None else config, list(tags))


def write(path: Path, layout: str, image: ImageSpec, **kwargs: Any) -> str:
    """``legacy``/``docker25``/``docker25-gzip`` archives, ``oci-<c>`` folders, ``oci-archive-<c>`` tars."""
    if layout in ("legacy", "docker25", "docker25-gzip"):
        write_docker_archive(path, image, layout, **kwargs)
    elif layout.startswith("oci-archive-"):
        write_oci_layout(path, image, compression=layout.rsplit("-", 1)[1], as_tar=True, **kwargs)
    elif layout.startswith("oci-"):
        write_oci_layout(path, image, compression=layout.split("-", 1)[1], **kwargs)
    else:
        raise ValueError(f"unknown layout {layout!r}")
    return str(path)


def only_layer(index: int, change: Callable[[bytes], bytes]) -> Callable[[int, bytes], bytes]:
    """A ``layer_bytes_hook`` that changes the stored bytes of one layer."""
    return lambda i, data: change(data) if i == index else data


def tar_bytes(members: Iterable[tuple[tarfile.TarInfo, bytes]], fmt: int = tarfile.PAX_FORMAT) -> bytes:
    """A tar of hand-made headers (for what ``E`` cannot express: odd PAX records, raw types)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt, encoding="utf-8", errors="surrogateescape") as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data else None)
    return buf.getvalue()


def info(name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE, mode: int = 0o644,
         pax: dict[str, str] | None = None, linkname: str = "") -> tuple[tarfile.TarInfo, bytes]:
    member = tarfile.TarInfo(name)
    member.type, member.mode, member.size, member.mtime = kind, mode, len(data), 1_600_000_000
    member.linkname = linkname
    member.pax_headers = dict(pax or {})
    return member, data


def rewrite_tar(src: str, dst: str, replace: dict[str, bytes | None] | None = None,
                add: Iterable[tuple[tarfile.TarInfo, bytes]] = (), add_before: str | None = None) -> str:
    """Copy an archive, replacing members (``None`` drops one) and adding members (before ``add_before``)."""
    replace = replace or {}
    pending = list(add)
    with tarfile.open(src) as tin, tarfile.open(dst, "w", format=tarfile.PAX_FORMAT) as tout:
        for member in tin.getmembers():
            if member.name == add_before:
                for extra, data in pending:
                    tout.addfile(extra, io.BytesIO(data) if data else None)
                pending = []
            if member.name in replace:
                data = replace[member.name]
                if data is None:
                    continue
                member = tarfile.TarInfo(member.name)
                member.size, member.mtime = len(data), 1_600_000_000
                tout.addfile(member, io.BytesIO(data))
            else:
                tout.addfile(member, tin.extractfile(member) if member.isfile() else None)
        for extra, data in pending:
            tout.addfile(extra, io.BytesIO(data) if data else None)
    return dst


def raw_image(path: Path, layout: str, *tars: bytes, config: dict[str, Any] | None = None) -> str:
    """An image of the corpus base layer plus hand-made layer tars, with their true diff IDs.

    For what ``E`` cannot express (odd PAX records, raw entry types, names that climb out): the
    layer bytes are exactly ``tars``, and the config names their real digests, so only what the
    case is about is wrong. ``layout``: ``legacy`` (a docker save tar), ``oci-none`` or ``oci-gzip``.
    """
    layers = [layer_tar(BASE), *tars]
    image_config = config_of(spec(config=config)) if config is not None else config_of(spec())
    if layout.startswith("oci-"):
        path.mkdir(parents=True, exist_ok=True)
        blobs = []
        for i, tar in enumerate(layers):
            blob = path.with_name(f"{path.name}.layer{i}")
            compressed = layout == "oci-gzip"
            blob.write_bytes(gzip.compress(tar, mtime=0) if compressed else tar)
            blobs.append((blob, MT_LAYER["gzip" if compressed else "none"], digest(tar)))
        return oci_from_blob_files(path, blobs, image_config)
    if layout != "legacy":
        raise ValueError(f"raw_image writes legacy, oci-none or oci-gzip, not {layout}")
    diff_ids = [digest(tar) for tar in layers]
    config_bytes = _json({**image_config, "rootfs": {"type": "layers", "diff_ids": diff_ids}})
    config_name = digest(config_bytes).split(":")[1] + ".json"
    members: list[tuple[tarfile.TarInfo, bytes]] = []
    names = []
    for i, tar in enumerate(layers):
        v1 = hashlib.sha256(f"{i} {diff_ids[i]}".encode()).hexdigest()
        names.append(f"{v1}/layer.tar")
        members += [info(f"{v1}/", kind=tarfile.DIRTYPE, mode=0o755), info(f"{v1}/VERSION", b"1.0"),
                    info(f"{v1}/json", _json({"id": v1})), info(f"{v1}/layer.tar", tar)]
    members += [info(config_name, config_bytes),
                info("manifest.json", _json([{"Config": config_name, "RepoTags": ["corpus/app:1"], "Layers": names}]))]
    path.write_bytes(tar_bytes(members))
    return str(path)


class OciDir:
    """An OCI layout folder as written by ``write_oci_layout``, for surgery on its documents."""

    def __init__(self, root: str) -> None:
        self.root = Path(root)

    def blob(self, digest_: str) -> Path:
        return self.root / "blobs" / digest_.replace(":", "/", 1)

    @property
    def index(self) -> dict[str, Any]:
        return json.loads((self.root / "index.json").read_bytes())

    def manifest_digest(self) -> str:
        return self.index["manifests"][0]["digest"]

    def manifest(self) -> dict[str, Any]:
        return json.loads(self.blob(self.manifest_digest()).read_bytes())

    def layer_digest(self, i: int) -> str:
        return self.manifest()["layers"][i]["digest"]

    def config_digest(self) -> str:
        return self.manifest()["config"]["digest"]

    def add_blob(self, data: bytes) -> str:
        d = digest(data)
        self.blob(d).parent.mkdir(parents=True, exist_ok=True)
        self.blob(d).write_bytes(data)
        return d

    def set_config(self, data: bytes) -> str:
        """Store ``data`` as the config, rewriting the manifest and index.json to name it."""
        manifest = self.manifest()
        manifest["config"] = {"mediaType": MT_OCI_CONFIG, "digest": self.add_blob(data), "size": len(data)}
        return self.set_manifest(_json(manifest))

    def set_manifest(self, data: bytes) -> str:
        d = self.add_blob(data)
        index = self.index
        index["manifests"][0].update(digest=d, size=len(data))
        (self.root / "index.json").write_bytes(_json(index))
        return d


def _json(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


def nested_json(depth: int) -> bytes:
    """Valid JSON nested ``depth`` arrays deep: a recursion bomb for recursive parsers."""
    return b"[" * depth + b"]" * depth


def config_of(image: ImageSpec, **top: Any) -> dict[str, Any]:
    """The config the builder writes for ``image``, with top-level keys replaced."""
    data = {"architecture": image.architecture, "os": image.os, "config": image.config or {},
            "created": "2020-09-13T12:26:40Z",
            "rootfs": {"type": "layers", "diff_ids": [digest(layer_tar(layer)) for layer in image.layers]}}
    data.update(top)
    return data


# --- streaming writers for the big inputs -------------------------------------------------------

ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
ZSTD_BLOCK = 128 << 10


def zstd_frame(prefix: bytes, zeros: int, suffix: bytes) -> Iterator[bytes]:
    """One zstd frame: ``prefix`` in raw blocks, ``zeros`` zero bytes in RLE blocks, then ``suffix``.

    RFC 8878: no content size, no checksum, a 128 KiB window (descriptor 0x38); a block header is
    3 bytes little-endian: last-block bit, type (0 raw, 1 RLE), size. An RLE block of 128 KiB is 4
    bytes, so 1 GiB of zeros costs 32 KiB.
    """
    yield ZSTD_MAGIC + b"\x00\x38"

    def header(size: int, kind: int, last: bool) -> bytes:
        return ((size << 3) | (kind << 1) | int(last)).to_bytes(3, "little")

    for at in range(0, len(prefix), ZSTD_BLOCK):
        yield header(len(prefix[at:at + ZSTD_BLOCK]), 0, False) + prefix[at:at + ZSTD_BLOCK]
    rle = header(ZSTD_BLOCK, 1, False) + b"\x00"
    full, rest = divmod(zeros, ZSTD_BLOCK)
    batch = rle * 4096
    for _ in range(full // 4096):
        yield batch
    yield rle * (full % 4096)
    if rest:
        yield header(rest, 1, False) + b"\x00"
    yield header(len(suffix), 0, True) + suffix  # suffix <= 128 KiB: one last raw block


def gzip_stream(prefix: bytes, zeros: int, suffix: bytes) -> Iterator[bytes]:
    """One gzip member holding ``prefix``, ``zeros`` zero bytes and ``suffix``, as gzip -9 would.

    After a full flush the compressor starts afresh, so compressing the same block of zeros gives
    the same bytes every time: compress one block, repeat it. The CRC covers the real data.
    """
    block = 8 << 20
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"  # gzip header: deflate, no name, mtime 0, -9
    yield deflate.compress(prefix) + deflate.flush(zlib.Z_FULL_FLUSH)
    crc = zlib.crc32(prefix)
    zero_block = bytes(block)
    full, rest = divmod(zeros, block)
    if full:
        piece = deflate.compress(zero_block) + deflate.flush(zlib.Z_FULL_FLUSH)
        if full > 1:
            again = deflate.compress(zero_block) + deflate.flush(zlib.Z_FULL_FLUSH)
            assert piece == again, "a full flush should make repeated blocks identical"
        for _ in range(full):
            yield piece
            crc = zlib.crc32(zero_block, crc)
    tail = bytes(rest) + suffix
    yield deflate.compress(tail) + deflate.flush(zlib.Z_FINISH)
    crc = zlib.crc32(tail, crc)
    yield struct.pack("<II", crc, (len(prefix) + zeros + len(suffix)) & 0xFFFFFFFF)


def zero_file_tar(name: str, size: int) -> tuple[bytes, bytes]:
    """The bytes around a tar holding one file of ``size`` zero bytes: (header, padding + end blocks)."""
    member = tarfile.TarInfo(name)
    member.size, member.mtime, member.mode = size, 1_600_000_000, 0o644
    header = member.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    return header, bytes(-size % 512) + bytes(1024)


def sha256_of_zero_file_tar(header: bytes, size: int, trailer: bytes) -> str:
    hasher = hashlib.sha256(header)
    block = bytes(8 << 20)
    full, rest = divmod(size, len(block))
    for _ in range(full):
        hasher.update(block)
    hasher.update(bytes(rest) + trailer)
    return "sha256:" + hasher.hexdigest()


class Sink:
    """A file written piece by piece, hashed (and sized) as it goes."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.handle = open(path, "wb")
        self.hasher = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> None:
        self.handle.write(data)
        self.hasher.update(data)
        self.size += len(data)

    def close(self) -> str:
        self.handle.close()
        return "sha256:" + self.hasher.hexdigest()


def oci_from_blob_files(root: Path, layers: list[tuple[Path, str, str | None]], config: dict[str, Any]) -> str:
    """An OCI layout around layer blobs already written to files: ``(file, media type, diff_id)``.

    The files are moved into the blob store under their digests; the config gets the diff IDs.
    """
    (root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
    descriptors, diff_ids = [], []
    for path, media_type, diff_id in layers:
        hasher = hashlib.sha256()
        with open(path, "rb") as handle:
            for chunk in iter(lambda: handle.read(8 << 20), b""):
                hasher.update(chunk)
        d = "sha256:" + hasher.hexdigest()
        size = path.stat().st_size
        path.replace(root / "blobs" / "sha256" / d.split(":")[1])
        descriptors.append({"mediaType": media_type, "digest": d, "size": size})
        diff_ids.append(diff_id)
    config = {**config, "rootfs": {"type": "layers", "diff_ids": diff_ids}}
    layout = OciDir(str(root))
    config_bytes = _json(config)
    manifest = _json({"schemaVersion": 2, "mediaType": MT_OCI_MANIFEST,
                      "config": {"mediaType": MT_OCI_CONFIG, "digest": layout.add_blob(config_bytes),
                                 "size": len(config_bytes)}, "layers": descriptors})
    m = layout.add_blob(manifest)
    (root / "index.json").write_bytes(_json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [
        {"mediaType": MT_OCI_MANIFEST, "digest": m, "size": len(manifest),
         "annotations": {"org.opencontainers.image.ref.name": "1"}}]}))
    (root / "oci-layout").write_bytes(OCI_LAYOUT_FILE)
    return str(root)


def base_blob(root: Path) -> tuple[Path, str, str]:
    """The corpus base layer as a gzip blob file: ``(file, media type, diff_id)``."""
    tar = layer_tar(BASE)
    path = root.with_name(root.name + ".base.gz")
    path.write_bytes(gzip.compress(tar, mtime=0))
    return path, MT_LAYER["gzip"], digest(tar)


# --- many entries ---------------------------------------------------------------------------------

def _ustar_template(kind: bytes) -> tuple[bytearray, int]:
    member = tarfile.TarInfo("x")
    member.type, member.mode, member.mtime = kind, 0o755 if kind == tarfile.DIRTYPE else 0o644, 1_600_000_000
    header = bytearray(member.tobuf(tarfile.USTAR_FORMAT, "utf-8", "strict"))
    header[0:100] = bytes(100)
    header[148:156] = b" " * 8
    return header, sum(header)


def many_entries(dirs: int, per_dir: int) -> Iterator[bytes]:
    """An uncompressed layer tar of ``dirs`` directories of ``per_dir`` empty files, in 4 MiB pieces.

    Headers are patched from a template (name, checksum) instead of built by tarfile: 1.2 million
    of them take a few seconds this way.
    """
    out = bytearray()
    for kind_dirs in range(dirs):
        for name, template in _many_names(kind_dirs, per_dir):
            header, base_sum = template
            raw = name.encode()
            record = bytearray(header)
            record[0:len(raw)] = raw
            record[148:156] = b"%06o\x00 " % (base_sum + sum(raw))
            out += record
        if len(out) >= 4 << 20:
            yield bytes(out)
            out.clear()
    out += bytes(1024)
    yield bytes(out)


_DIR_TEMPLATE = _ustar_template(tarfile.DIRTYPE)
_FILE_TEMPLATE = _ustar_template(tarfile.REGTYPE)


def _many_names(d: int, per_dir: int) -> Iterator[tuple[str, tuple[bytearray, int]]]:
    yield f"m{d:05d}/", _DIR_TEMPLATE
    for f in range(per_dir):
        yield f"m{d:05d}/f{f:05d}", _FILE_TEMPLATE


def many_entries_image(root: Path, dirs: int, per_dir: int) -> str:
    """An OCI layout (zstd layers) whose second layer holds ``dirs * (per_dir + 1)`` entries."""
    import zstandard

    blob = root.with_name(root.name + ".layer.zst")
    sink = Sink(blob)
    tar_hash = hashlib.sha256()
    writer = zstandard.ZstdCompressor(level=1).compressobj()
    for piece in many_entries(dirs, per_dir):
        tar_hash.update(piece)
        sink.write(writer.compress(piece))
    sink.write(writer.flush())
    sink.close()
    layers = [base_blob(root), (blob, MT_LAYER["zstd"], "sha256:" + tar_hash.hexdigest())]
    return oci_from_blob_files(root, layers, config_of(spec()))


# ------------------------------------------------------------------------------------------------
# the cases
# ------------------------------------------------------------------------------------------------

Builder = Callable[[Path], Case]
_BUILDERS: dict[str, tuple[Builder, bool]] = {}


def case(name: str, heavy: bool = False) -> Callable[[Builder], Builder]:
    def register(builder: Builder) -> Builder:
        if name in _BUILDERS:
            raise ValueError(f"two cases named {name}")
        _BUILDERS[name] = (builder, heavy)
        return builder

    return register


def case_names(heavy: bool | None = None) -> list[str]:
    """Every case name, in corpus order (``heavy``: only the heavy ones, or only the light ones)."""
    return [name for name, (_b, h) in _BUILDERS.items() if heavy is None or h == heavy]


def write_corpus(directory: str | os.PathLike[str], names: Iterable[str] | None = None,
                 heavy: bool = True) -> dict[str, Case]:
    """Write the cases (all, or ``names``; without ``heavy``, no bombs or million-entry layers)."""
    root = Path(directory)
    root.mkdir(parents=True, exist_ok=True)
    wanted = list(names) if names is not None else [n for n in case_names() if heavy or not _BUILDERS[n][1]]
    cases: dict[str, Case] = {}
    for name in wanted:
        builder, is_heavy = _BUILDERS[name]
        work = root / name
        work.mkdir(parents=True, exist_ok=True)
        built = builder(work)
        built.name, built.heavy, built.workdir = name, is_heavy, str(work)
        if is_heavy and built.timeout == Case.timeout:
            built.timeout = 60.0
        cases[name] = built
    return cases


def _where(path: str, stdin: bool = False) -> tuple[str, ...]:
    return ("stdin",) if stdin else (path,)


def _damaged_layer(path: str, problem: Iterable[str] = TRUNCATED, stdin: bool = False,
                   or_mismatch: bool = True) -> dict[str, tuple[Outcome, ...]]:
    """Layer 1 is damaged: exit 2 naming it, or (``or_mismatch``) exit 3 where its diff ID caught it first."""
    where, also = _where(path, stdin), [_layer_id(path, 1)]
    outcomes = [error(2, problem, where, also=also)]
    if or_mismatch:
        outcomes.append(error(3, MISMATCH, where, also=also))
    return everywhere(*outcomes)


def _layer_id(layout_path: str, index: int) -> str:
    """How an error may point at layer ``index``: its blob's hex digest, or its v1 directory."""
    path = Path(layout_path)
    if path.is_dir():
        return OciDir(layout_path).layer_digest(index).split(":")[1]
    with tarfile.open(layout_path) as tar:
        names = tar.getnames()
        if "index.json" in names:
            index_doc = json.loads(tar.extractfile("index.json").read())
            manifest = json.loads(tar.extractfile("blobs/sha256/" + index_doc["manifests"][0]["digest"][7:]).read())
            return manifest["layers"][index]["digest"].split(":")[1]
        manifest = json.loads(tar.extractfile("manifest.json").read())
        return manifest[0]["Layers"][index].split("/")[0]


def _cut_in_member(path: str, predicate: Callable[[tarfile.TarInfo], bool] | None = None, where: str = "data") -> int:
    """An offset inside the first member matching ``predicate`` (default: the largest member), in its
    header or in its data."""
    with tarfile.open(path) as tar:
        members = tar.getmembers()
        member = next(m for m in members if predicate(m)) if predicate else max(members, key=lambda m: m.size)
        return member.offset + 100 if where == "header" else member.offset_data + member.size // 2


def _truncate_file(path: str, at: int) -> None:
    with open(path, "r+b") as handle:
        handle.truncate(at)


# --- the outer archive is damaged ------------------------------------------------------------------

@case("outer-truncated-in-manifest-header")
def _(work: Path) -> Case:
    path = write(work / "image.tar", "legacy", spec())
    _truncate_file(path, _cut_in_member(path, lambda m: m.name == "manifest.json", "header"))
    return Case("", "a docker save archive cut in the middle of manifest.json's tar header", path,
                everywhere(error(2, TRUNCATED, _where(path))))


@case("outer-truncated-in-manifest-header-stdin")
def _(work: Path) -> Case:
    path = write(work / "image.tar", "legacy", spec())
    _truncate_file(path, _cut_in_member(path, lambda m: m.name == "manifest.json", "header"))
    return Case("", "the same on standard input", "-", everywhere(error(2, TRUNCATED, _where(path, True))), stdin=path)


@case("outer-truncated-docker25-stdin")
def _(work: Path) -> Case:
    path = write(work / "image.tar", "docker25", spec([E("big", data=NOISE * 4)]))
    _truncate_file(path, _cut_in_member(path))
    return Case("", "a Docker 25 archive cut inside a layer blob, read from standard input", "-",
                everywhere(error(2, TRUNCATED, _where(path, True))), stdin=path)


@case("outer-truncated-oci-archive-zstd")
def _(work: Path) -> Case:
    path = write(work / "image.tar", "oci-archive-zstd", spec([E("big", data=NOISE * 4)]))
    _truncate_file(path, _cut_in_member(path))
    return Case("", "an oci-archive with zstd layers cut inside a layer blob", path,
                everywhere(error(2, TRUNCATED, _where(path))))


@case("outer-gzip-truncated-stdin")
def _(work: Path) -> Case:
    plain = write(work / "image.tar", "docker25", spec([E("big", data=NOISE * 4)]))
    data = gzip.compress(Path(plain).read_bytes(), mtime=0)
    path = work / "image.tar.gz"
    path.write_bytes(data[: len(data) * 2 // 3])
    return Case("", "`docker save | gzip` cut at two thirds, on standard input", "-",
                everywhere(error(2, TRUNCATED, _where(str(path), True))), stdin=str(path))


@case("outer-zstd-truncated")
def _(work: Path) -> Case:
    import zstandard

    plain = write(work / "image.tar", "legacy", spec([E("big", data=NOISE * 4)]))
    data = zstandard.ZstdCompressor(level=3).compress(Path(plain).read_bytes())
    path = work / "image.tar.zst"
    path.write_bytes(data[: len(data) * 2 // 3])
    return Case("", "`docker save | zstd` cut at two thirds", str(path),
                everywhere(error(2, TRUNCATED + ("corrupt",), _where(str(path)))))


def _negative_size_member() -> list[tuple[tarfile.TarInfo, bytes]]:
    """A member whose PAX size is negative, pointing tarfile back at its own headers (a loop)."""
    return [info("loop", pax={"size": "-1536"})]


@case("outer-negative-member-size")
def _(work: Path) -> Case:
    good = write(work / "good.tar", "legacy", spec())
    path = rewrite_tar(good, str(work / "image.tar"), add=_negative_size_member(), add_before="manifest.json")
    return Case("", "a docker save archive with a member whose PAX size is -1536: tarfile would seek back to "
                "its own header forever", path, everywhere(error(2, CORRUPT + ("negative", "size"), _where(path))))


@case("outer-negative-member-size-stdin")
def _(work: Path) -> Case:
    good = write(work / "good.tar", "legacy", spec())
    path = rewrite_tar(good, str(work / "image.tar"), add=_negative_size_member(), add_before="manifest.json")
    return Case("", "the same, on standard input", "-",
                everywhere(error(2, CORRUPT + ("negative", "size"), _where(path, True))), stdin=path)


def _self_linked_layer(work: Path) -> str:
    good = write(work / "good.tar", "legacy", spec([E("x", data=b"x")]))
    layer = json.loads(tarfile.open(good).extractfile("manifest.json").read())[0]["Layers"][1]
    link = tarfile.TarInfo(layer)
    link.type, link.linkname = tarfile.SYMTYPE, "../" + layer
    return rewrite_tar(good, str(work / "image.tar"), replace={layer: None}, add=[(link, b"")],
                       add_before=layer.split("/")[0] + "/json")


@case("outer-layer-symlink-to-itself")
def _(work: Path) -> Case:
    path = _self_linked_layer(work)
    return Case("", "a docker save archive whose layer.tar is a symlink to itself", path,
                everywhere(error(2, MISSING + ("loop", "link", "cycl"), _where(path))))


@case("outer-layer-symlink-to-itself-stdin")
def _(work: Path) -> Case:
    path = _self_linked_layer(work)
    return Case("", "the same, on standard input", "-",
                everywhere(error(2, MISSING + ("loop", "link", "cycl"), _where(path, True))), stdin=path)


@case("oci-layer-blob-is-a-fifo")
def _(work: Path) -> Case:
    path = write(work / "layout", "oci-gzip", spec([E("x", data=b"x")]))
    blob = OciDir(path).blob(OciDir(path).layer_digest(1))
    blob.unlink()
    os.mkfifo(blob)
    return Case("", "an OCI layout whose layer blob is a FIFO: opening it would block forever", path,
                everywhere(error(2, ("fifo", "not a regular file", "not a file", "special", "cannot read"),
                                 _where(path), also=[blob.name])))


@case("layer-count-bomb")
def _(work: Path) -> Case:
    """One tiny layer listed 100,000 times: the engine stops at 125 layers; we must not take forever."""
    count = 100_000
    good = write(work / "good.tar", "legacy", spec())
    with tarfile.open(good) as tar:
        manifest = json.loads(tar.extractfile("manifest.json").read())
        config_name = manifest[0]["Config"]
        config = json.loads(tar.extractfile(config_name).read())
    layer = manifest[0]["Layers"][0]
    config["rootfs"]["diff_ids"] = [config["rootfs"]["diff_ids"][0]] * count
    config_bytes = _json(config)
    new_config = digest(config_bytes).split(":")[1] + ".json"
    manifest[0].update(Config=new_config, Layers=[layer] * count)
    path = rewrite_tar(good, str(work / "image.tar"), replace={config_name: None, "manifest.json": _json(manifest)},
                       add=[info(new_config, config_bytes)], add_before="manifest.json")
    return Case("", f"manifest.json lists one small layer {count:,} times", path,
                everywhere(ok(files=BASE_FILES), error(2, ("layers", "too many", "limit"), _where(path)),
                           views=("files",)))


# --- layer blobs are damaged -------------------------------------------------------------------------

@case("layer-truncated-in-header")
def _(work: Path) -> Case:
    layer = [E("first", data=b"1"), E("second", data=b"2"), E("third", data=b"3")]
    cut = layer_tar(layer).find(b"second") + 100  # short ASCII names: plain ustar headers, name first
    path = write(work / "layout", "oci-none", spec(layer), layer_bytes_hook=only_layer(1, lambda d: d[:cut]))
    return Case("", "an uncompressed layer cut in the middle of its second member's header (tarfile "
                "treats a partial header after the first one as the end of the archive)", path,
                _damaged_layer(path))


@case("layer-truncated-in-header-no-cache")
def _(work: Path) -> Case:
    layer = [E("first", data=b"1"), E("second", data=b"2"), E("third", data=b"3")]
    cut = layer_tar(layer).find(b"second") + 100
    path = write(work / "layout", "oci-none", spec(layer), layer_bytes_hook=only_layer(1, lambda d: d[:cut]))
    return Case("", "the same with --no-cache: the layer is then read by seeking, not hashed, so the truncation "
                "itself must be noticed (a listing of the first member alone would be a wrong result)", path,
                _damaged_layer(path), args=("--no-cache",))


@case("layer-truncated-in-header-stdin")
def _(work: Path) -> Case:
    layer = [E("first", data=b"1"), E("second", data=b"2"), E("third", data=b"3")]
    tar = layer_tar(layer)
    cut = tar.find(b"second") + 100
    path = write(work / "image.tar", "legacy", spec(layer), layer_bytes_hook=only_layer(1, lambda d: d[:cut]))
    return Case("", "the same in a docker save archive on standard input (the diff ID is checked there)", "-",
                _damaged_layer(path, stdin=True), stdin=path)


@case("layer-truncated-at-member-boundary-verify")
def _(work: Path) -> Case:
    layer = [E("first", data=b"1" * 512), E("second", data=b"2" * 512)]
    cut = 2 * 512  # the header and data of "first": plain ustar, short ASCII names
    path = write(work / "layout", "oci-none", spec(layer),
                 layer_bytes_hook=only_layer(1, lambda d: d[:cut]))
    return Case("", "an uncompressed layer that ends cleanly after a member (no end-of-archive blocks, a "
                 "member missing), read with --verify", path,
                 _damaged_layer(path), args=("--verify",))


@case("layer-gzip-without-trailer")
def _(work: Path) -> Case:
    path = write(work / "layout", "oci-gzip", spec([E("x", data=NOISE)]),
                 layer_bytes_hook=only_layer(1, lambda d: d[:-8]))
    return Case("", "a gzip layer missing its 8-byte trailer (CRC and size); the tar inside is complete", path,
                _damaged_layer(path, TRUNCATED + CORRUPT, or_mismatch=False))


@case("layer-gzip-bad-crc-stdin")
def _(work: Path) -> Case:
    path = write(work / "image.tar", "docker25-gzip", spec([E("x", data=NOISE)]),
                 layer_bytes_hook=only_layer(1, lambda d: d[:-8] + bytes(4) + d[-4:]))
    return Case("", "a gzip layer whose trailer CRC is wrong (the data is intact), on standard input", "-",
                _damaged_layer(path, CORRUPT, stdin=True, or_mismatch=False), stdin=path)


@case("layer-gzip-trailing-garbage")
def _(work: Path) -> Case:
    path = write(work / "layout", "oci-gzip", spec([E("x", data=NOISE)]),
                 layer_bytes_hook=only_layer(1, lambda d: d + b"this is not a gzip member"))
    return Case("", "a gzip layer followed by bytes that are not another gzip member", path,
                _damaged_layer(path, CORRUPT + TRUNCATED, or_mismatch=False))


@case("layer-gzip-bad-method")
def _(work: Path) -> Case:
    path = write(work / "layout", "oci-gzip", spec([E("x", data=NOISE)]),
                 layer_bytes_hook=only_layer(1, lambda d: d[:2] + b"\x07" + d[3:]))
    return Case("", "a gzip layer whose header names compression method 7", path,
                _damaged_layer(path, CORRUPT, or_mismatch=False))


def _zstd_with_bad_checksum(data: bytes) -> bytes:
    import zstandard

    tar = zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data), read_across_frames=True).read()
    framed = zstandard.ZstdCompressor(level=3, write_checksum=True).compress(tar)
    return framed[:-4] + bytes(4)


@case("layer-zstd-bad-checksum")
def _(work: Path) -> Case:
    path = write(work / "layout", "oci-zstd", spec([E("x", data=NOISE)]),
                 layer_bytes_hook=only_layer(1, _zstd_with_bad_checksum))
    return Case("", "a zstd layer whose frame checksum is wrong (the data is intact)", path,
                _damaged_layer(path, CORRUPT + ("zstd",), or_mismatch=False))


@case("layer-zstd-cut-in-last-block")
def _(work: Path) -> Case:
    path = write(work / "layout", "oci-zstd", spec([E("x", data=NOISE)]),
                 layer_bytes_hook=only_layer(1, lambda d: d[:-6]))
    return Case("", "a zstd layer missing the end of its last block (the decoder may stop quietly; the diff "
                "ID then catches it)", path,
                _damaged_layer(path, TRUNCATED + CORRUPT + ("zstd",)))


def _recompress(kind: str, damage: bool) -> Callable[[bytes], bytes]:
    """Turn a gzip layer blob into an xz or bzip2 one (the magic bytes decide), maybe damaged."""
    import bz2
    import lzma

    def change(data: bytes) -> bytes:
        tar = gzip.decompress(data)
        out = lzma.compress(tar) if kind == "xz" else bz2.compress(tar)
        if damage:
            middle = len(out) // 2
            out = out[:middle] + bytes(b ^ 0x5A for b in out[middle:middle + 64]) + out[middle + 64:]
        return out

    return change


for _kind in ("xz", "bzip2"):
    def _register(kind: str) -> None:
        @case(f"layer-{kind}-ok")
        def _(work: Path) -> Case:
            path = write(work / "layout", "oci-gzip", spec([E("x", data=NOISE)]),
                         layer_bytes_hook=only_layer(1, _recompress(kind, False)))
            return Case("", f"a valid {kind} layer (the README promises {kind}): the control for the next case",
                        path, listing({**BASE_FILES, "/x": {"size": len(NOISE)}}, summary=STARTS, config=STARTS))

        @case(f"layer-{kind}-corrupt")
        def _(work: Path) -> Case:
            path = write(work / "layout", "oci-gzip", spec([E("x", data=NOISE)]),
                         layer_bytes_hook=only_layer(1, _recompress(kind, True)))
            return Case("", f"a {kind} layer with 64 garbled bytes in the middle", path,
                        _damaged_layer(path, CORRUPT + TRUNCATED + (kind,), or_mismatch=False))

    _register(_kind)


@case("layer-empty-blob")
def _(work: Path) -> Case:
    path = write(work / "layout", "oci-gzip", spec([E("x", data=b"x")]), layer_bytes_hook=only_layer(1, lambda d: b""))
    return Case("", "a layer blob emptied after its digests were computed", path,
                _damaged_layer(path, TRUNCATED + CORRUPT + ("empty",)))


@case("layer-not-a-tar")
def _(work: Path) -> Case:
    path = raw_image(work / "layout", "oci-none", b"just some text, not a tar\n" * 100)
    return Case("", "an uncompressed layer that is plain text", path,
                _damaged_layer(path, CORRUPT + TRUNCATED + ("tar",), or_mismatch=False))


def _negative_size_layer() -> bytes:
    return tar_bytes([info("first", b"1"), *_negative_size_member(), info("after", b"2")])


for _layout in ("oci-none", "legacy"):
    def _register_negative(layout: str) -> None:
        @case(f"layer-negative-member-size-{layout}")
        def _(work: Path) -> Case:
            path = raw_image(work / ("layout" if layout.startswith("oci") else "image.tar"), layout,
                             _negative_size_layer())
            return Case("", "an uncompressed, seekable layer whose second member has PAX size -1536: tarfile "
                        "seeks back to that member's own header, forever", path,
                        _damaged_layer(path, CORRUPT + ("negative", "size"), or_mismatch=False))

    _register_negative(_layout)


@case("layer-negative-member-size-no-cache")
def _(work: Path) -> Case:
    path = raw_image(work / "layout", "oci-none", _negative_size_layer())
    return Case("", "the same with --no-cache: tarfile then really seeks in the layer file", path,
                _damaged_layer(path, CORRUPT + ("negative", "size"), or_mismatch=False),
                args=("--no-cache",))


@case("layer-huge-member-size")
def _(work: Path) -> Case:
    tar = tar_bytes([info("bin/", kind=tarfile.DIRTYPE, mode=0o755),
                     info("bin/huge", ELF, mode=0o755, pax={"size": str(1 << 60)})])
    path = raw_image(work / "layout", "oci-none", tar)
    return Case("", "an executable member claiming 2**60 bytes in a 1 KiB layer", path,
                _damaged_layer(path, TRUNCATED + CORRUPT, or_mismatch=False))


@case("layer-pax-mtime-infinite")
def _(work: Path) -> Case:
    tar = tar_bytes([info("forever", b"f", pax={"mtime": "inf"}), info("nan", b"n", pax={"mtime": "nan"})])
    path = raw_image(work / "layout", "oci-none", tar)
    return Case("", "members whose PAX mtime is 'inf' and 'nan' (Go's tar reader refuses both)", path,
                everywhere(ok(files={"/forever": {"type": "file"}, "/nan": {"type": "file"}}),
                           error(2, ("mtime", "time", "invalid", "corrupt"), _where(path),
                                 also=[_layer_id(path, 1)]),
                           views=("files",))
                | everywhere(ok(), error(2, ("mtime", "time", "invalid", "corrupt"), _where(path),
                                         also=[_layer_id(path, 1)]), views=("summary", "executables", "config")))


@case("layer-unknown-entry-type")
def _(work: Path) -> Case:
    tar = tar_bytes([info("odd", b"", kind=b"Z")], fmt=tarfile.USTAR_FORMAT)
    path = raw_image(work / "layout", "oci-none", tar)
    return Case("", "a member of tar type 'Z' (the engine refuses unknown types)", path,
                everywhere(error(2, ("unsupported", "unknown", "type"), _where(path), also=["odd"])))


# --- bombs ----------------------------------------------------------------------------------------------

GIB = 1 << 30
BOMB_SIZE = 4 * GIB


_DIFF_ID_CACHE: dict[str, str] = {}


def _bomb_diff_id() -> str:
    if "gzip" not in _DIFF_ID_CACHE:
        header, trailer = zero_file_tar("zeros", BOMB_SIZE)
        _DIFF_ID_CACHE["gzip"] = sha256_of_zero_file_tar(header, BOMB_SIZE, trailer)
    return _DIFF_ID_CACHE["gzip"]


@case("bomb-gzip-layer", heavy=True)
def _(work: Path) -> Case:
    header, trailer = zero_file_tar("zeros", BOMB_SIZE)
    blob = work.with_name(work.name + ".blob")
    sink = Sink(blob)
    for piece in gzip_stream(header, BOMB_SIZE, trailer):
        sink.write(piece)
    sink.close()
    path = oci_from_blob_files(work / "layout", [base_blob(work / "layout"), (blob, MT_LAYER["gzip"], _bomb_diff_id())],
                               config_of(spec()))
    return Case("", f"an OCI gzip layer of {sink.size:,} bytes that inflates to 4 GiB of zeros", path,
                _damaged_layer(path, BOMB, or_mismatch=False))


@case("bomb-gzip-layer-stdin", heavy=True)
def _(work: Path) -> Case:
    """The same bomb inside a Docker 25 style archive (a tar of the OCI layout) on standard input."""
    header, trailer = zero_file_tar("zeros", BOMB_SIZE)
    layout = work / "layout"
    blob = work.with_name(work.name + ".blob")
    sink = Sink(blob)
    for piece in gzip_stream(header, BOMB_SIZE, trailer):
        sink.write(piece)
    sink.close()
    oci_from_blob_files(layout, [base_blob(layout), (blob, MT_LAYER["gzip"], _bomb_diff_id())], config_of(spec()))
    path = work / "image.tar"
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as tar:
        for name in ("oci-layout", "blobs", "blobs/sha256", *sorted(
                f"blobs/sha256/{p.name}" for p in (layout / "blobs" / "sha256").iterdir()), "index.json"):
            tar.add(layout / name, arcname=name, recursive=False)
    return Case("", "the gzip bomb in an archive on standard input", "-",
                everywhere(error(2, BOMB, _where(str(path), True), also=[_layer_id(str(layout), 1)]),
                           views=("files", "summary")), stdin=str(path))


ZSTD_BOMB_SIZE = 64 * GIB


@case("bomb-zstd-layer", heavy=True)
def _(work: Path) -> Case:
    header, trailer = zero_file_tar("zeros", ZSTD_BOMB_SIZE)
    blob = work.with_name(work.name + ".blob")
    sink = Sink(blob)
    for piece in zstd_frame(header, ZSTD_BOMB_SIZE, trailer):
        sink.write(piece)
    sink.close()
    # Hashing 64 GiB for the true diff ID would take a minute; this one is honest about being made up.
    fake = digest(b"not computed: 64 GiB of zeros")
    path = oci_from_blob_files(work / "layout", [base_blob(work / "layout"), (blob, MT_LAYER["zstd"], fake)],
                               config_of(spec()))
    return Case("", f"an OCI zstd layer of {sink.size:,} bytes (RLE blocks) that inflates to 64 GiB", path,
                _damaged_layer(path, BOMB, or_mismatch=False))


def _outer_bomb(work: Path, size: int, compression: str) -> tuple[Path, str]:
    """``docker save | gzip`` (or zstd) of an image whose layer.tar holds one ``size``-byte file of zeros."""
    header, trailer = zero_file_tar("zeros", size)
    diff_id = _bomb_diff_id() if size == BOMB_SIZE else digest(b"not computed")
    image = spec(config=CONFIG)
    config = _json(config_of(image) | {"rootfs": {"type": "layers", "diff_ids": [
        digest(layer_tar(BASE)), diff_id]}})
    config_name = digest(config).split(":")[1] + ".json"
    base_tar = layer_tar(BASE)
    manifest = _json([{"Config": config_name, "RepoTags": ["corpus/bomb:1"], "Layers": ["base/layer.tar",
                                                                                         "bomb/layer.tar"]}])
    layer_size = len(header) + size + len(trailer)

    def member(name: str, size_: int, kind: bytes = tarfile.REGTYPE) -> bytes:
        m = tarfile.TarInfo(name)
        m.size, m.type, m.mtime, m.mode = size_, kind, 1_600_000_000, 0o755 if kind == tarfile.DIRTYPE else 0o644
        return m.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")

    def padded(data: bytes) -> bytes:
        return data + bytes(-len(data) % 512)

    prefix = (member("base/", 0, tarfile.DIRTYPE) + member("base/layer.tar", len(base_tar)) + padded(base_tar)
              + member("bomb/", 0, tarfile.DIRTYPE) + member("bomb/layer.tar", layer_size) + header)
    suffix = (trailer + bytes(-layer_size % 512) + member(config_name, len(config)) + padded(config)
              + member("manifest.json", len(manifest)) + padded(manifest) + bytes(1024))
    path = work / f"image.tar.{'gz' if compression == 'gzip' else 'zst'}"
    sink = Sink(path)
    for piece in (gzip_stream if compression == "gzip" else zstd_frame)(prefix, size, suffix):
        sink.write(piece)
    sink.close()
    return path, diff_id


@case("bomb-gzip-outer", heavy=True)
def _(work: Path) -> Case:
    path, _ = _outer_bomb(work, BOMB_SIZE, "gzip")
    return Case("", f"`docker save | gzip` of {path.stat().st_size:,} bytes: an uncompressed layer holding a "
                "4 GiB file of zeros (legitimate, but a 1000:1 stream): list it in bounded time and memory, or "
                "refuse it as a bomb", str(path),
                everywhere(ok(files={"/zeros": {"type": "file", "size": BOMB_SIZE}}),
                           error(2, BOMB, _where(str(path))), views=("files",)))


@case("bomb-zstd-outer", heavy=True)
def _(work: Path) -> Case:
    size = 256 * GIB
    path, _ = _outer_bomb(work, size, "zstd")
    return Case("", f"`docker save | zstd` of {path.stat().st_size:,} bytes that inflates to 256 GiB (one "
                "uncompressed layer of zeros): reading it all would take many minutes", str(path),
                everywhere(error(2, BOMB, _where(str(path))), views=("files",)))


# --- millions of entries ------------------------------------------------------------------------------------

@case("entries-1.2-million-over-limit", heavy=True)
def _(work: Path) -> Case:
    path = many_entries_image(work / "layout", 1200, 999)  # 1,200,000 entries
    return Case("", "a layer of 1.2 million empty files, read with --max-entries 1000000 (the line should name "
                "the limit that was set)", path,
                everywhere(error(2, ("entries", "--max-entries"), _where(path), also=["1,000,000"]),
                           views=("files",)), args=("--max-entries", "1000000"))


@case("entries-200k-default-limit", heavy=True)
def _(work: Path) -> Case:
    path = many_entries_image(work / "layout", 200, 999)  # 200,000 entries
    return Case("", "a layer of 200,000 empty files under the default limit: listed in full", path,
                {"files": (ok(files={"/m00000/f00000": {"type": "file", "size": 0},
                                     "/m00199/f00998": {"type": "file", "layer": 1}}),),
                 "summary": (ok(checks=[[["image", "entries"], "ge", 200_000], *STARTS]),)})


# --- the image's own documents are broken ---------------------------------------------------------------

def _legacy_with(work: Path, manifest: bytes | None = None, config: bytes | None = None,
                 image: ImageSpec | None = None) -> str:
    good = write(work / "good.tar", "legacy", image or spec())
    replace: dict[str, bytes | None] = {}
    if manifest is not None:
        replace["manifest.json"] = manifest
    if config is not None:
        with tarfile.open(good) as tar:
            entry = json.loads(tar.extractfile("manifest.json").read())
        replace[entry[0]["Config"]] = config
    return rewrite_tar(good, str(work / "image.tar"), replace)


for _name, _doc, _desc in [
    ("manifest-json-object", b'{"Config": "x.json", "Layers": []}', "manifest.json is an object, not a list"),
    ("manifest-json-empty-list", b"[]", "manifest.json lists no image"),
    ("manifest-json-null", b"null", "manifest.json is null"),
    ("manifest-json-layers-numbers", b'[{"Config": "x.json", "Layers": [1, 2]}]', "Layers holds numbers"),
    ("manifest-json-config-number", b'[{"Config": 7, "Layers": []}]', "Config is a number"),
    ("manifest-json-deep-nesting", nested_json(100_000), "manifest.json is 100,000 nested arrays"),
    ("manifest-json-invalid-utf8", b'[{"Config": "\xff\xfe.json", "Layers": []}]', "manifest.json is not UTF-8"),
]:
    def _register_manifest(name: str, doc: bytes, desc: str) -> None:
        @case(name)
        def _(work: Path) -> Case:
            path = _legacy_with(work, manifest=doc)
            return Case("", f"a docker save archive whose {desc}", path,
                        everywhere(error(2, ("manifest", "json", "image"), _where(path), also=["manifest.json"])))

    _register_manifest(_name, _doc, _desc)


@case("manifest-json-config-missing")
def _(work: Path) -> Case:
    good = write(work / "good.tar", "legacy", spec())
    entry = json.loads(tarfile.open(good).extractfile("manifest.json").read())
    missing = "f" * 64 + ".json"
    entry[0]["Config"] = missing
    path = rewrite_tar(good, str(work / "image.tar"), {"manifest.json": _json(entry)})
    return Case("", "manifest.json names a config file the archive lacks", path,
                everywhere(error(2, MISSING, _where(path), also=[missing])))


@case("manifest-json-config-missing-stdin")
def _(work: Path) -> Case:
    good = write(work / "good.tar", "legacy", spec())
    entry = json.loads(tarfile.open(good).extractfile("manifest.json").read())
    missing = "f" * 64 + ".json"
    entry[0]["Config"] = missing
    path = rewrite_tar(good, str(work / "image.tar"), {"manifest.json": _json(entry)})
    return Case("", "the same on standard input", "-",
                everywhere(error(2, MISSING, _where(path, True), also=[missing])), stdin=path)


def _oci(work: Path, image: ImageSpec | None = None, compression: str = "gzip") -> OciDir:
    return OciDir(write(work / "layout", f"oci-{compression}", image or spec()))


for _name, _doc, _desc in [
    ("index-json-list", b"[]", "index.json is a list"),
    ("index-json-manifests-string", b'{"schemaVersion": 2, "manifests": "sha256:abc"}', "manifests is a string"),
    ("index-json-digest-number", b'{"schemaVersion": 2, "manifests": [{"digest": 5, "size": 2}]}',
     "the only descriptor's digest is a number"),
    ("index-json-deep-nesting", nested_json(100_000), "index.json is 100,000 nested arrays"),
]:
    def _register_index(name: str, doc: bytes, desc: str) -> None:
        @case(name)
        def _(work: Path) -> Case:
            layout = _oci(work)
            (layout.root / "index.json").write_bytes(doc)
            path = str(layout.root)
            return Case("", f"an OCI layout whose {desc}", path,
                        everywhere(error(2, ("index", "json", "manifest", "image"), _where(path),
                                         also=["index.json"])))

    _register_index(_name, _doc, _desc)


@case("index-json-digest-climbs-out")
def _(work: Path) -> Case:
    layout = _oci(work)
    index = layout.index
    index["manifests"][0]["digest"] = "sha256:../../../../etc/passwd"
    (layout.root / "index.json").write_bytes(_json(index))
    path = str(layout.root)
    return Case("", "an index descriptor whose digest is a path that climbs out of the layout (a digest we "
                "cannot check: exit 3, issue 11.3)", path,
                everywhere(error(3, ("digest", "malformed", "invalid"), _where(path))))


@case("index-json-names-missing-manifest")
def _(work: Path) -> Case:
    layout = _oci(work)
    missing = "sha256:" + "e" * 64
    index = layout.index
    index["manifests"][0]["digest"] = missing
    (layout.root / "index.json").write_bytes(_json(index))
    path = str(layout.root)
    return Case("", "index.json names a manifest blob the layout lacks", path,
                everywhere(error(2, MISSING, _where(path), also=["e" * 64])))


@case("index-nesting-too-deep")
def _(work: Path) -> Case:
    layout = _oci(work)
    top = layout.index["manifests"][0]
    for _level in range(12):  # each a genuine index, digests and all
        data = _json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX, "manifests": [top]})
        top = {"mediaType": MT_OCI_INDEX, "digest": layout.add_blob(data), "size": len(data)}
    (layout.root / "index.json").write_bytes(_json({"schemaVersion": 2, "manifests": [top]}))
    path = str(layout.root)
    return Case("", "twelve image indexes nested in each other (all digests genuine)", path,
                everywhere(ok(files=BASE_FILES),
                           error(2, ("deep", "nest", "depth"), _where(path)), views=("files",))
                | everywhere(ok(checks=STARTS), error(2, ("deep", "nest", "depth"), _where(path)),
                             views=("summary", "config")))


@case("index-cycle")
def _(work: Path) -> Case:
    """index.json → index blob X → X. A sha256 blob cannot name itself, so X's bytes cannot match."""
    layout = _oci(work)
    fake = "sha256:" + hashlib.sha256(b"the index that names itself").hexdigest()
    body = _json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                  "manifests": [{"mediaType": MT_OCI_INDEX, "digest": fake, "size": 200}]})
    layout.blob(fake).write_bytes(body)
    (layout.root / "index.json").write_bytes(_json({"schemaVersion": 2, "manifests": [
        {"mediaType": MT_OCI_INDEX, "digest": fake, "size": len(body)}]}))
    path = str(layout.root)
    return Case("", "index.json → an index blob that lists itself (stored under a sha256 it cannot have)", path,
                everywhere(error(3, MISMATCH, _where(path), also=[fake.split(":")[1]]),
                           error(2, ("cycl", "loop", "itself"), _where(path), also=[fake.split(":")[1]])))


@case("index-cycle-sha512")
def _(work: Path) -> Case:
    """A real cycle: a sha512-named index blob listing itself (sha512 is a valid OCI algorithm)."""
    layout = _oci(work)
    name = "sha512:" + hashlib.sha512(b"an index that names itself").hexdigest()
    body = _json({"schemaVersion": 2, "mediaType": MT_OCI_INDEX,
                  "manifests": [{"mediaType": MT_OCI_INDEX, "digest": name, "size": 300}]})
    layout.blob(name).parent.mkdir(parents=True, exist_ok=True)
    layout.blob(name).write_bytes(body)
    (layout.root / "index.json").write_bytes(_json({"schemaVersion": 2, "manifests": [
        {"mediaType": MT_OCI_INDEX, "digest": name, "size": len(body)}]}))
    path = str(layout.root)
    return Case("", "index.json → a sha512-named index blob that lists itself", path,
                everywhere(error(2, ("cycl", "loop", "itself", "nest"), _where(path)),
                           error(3, MISMATCH + ("verif",), _where(path))))


@case("manifest-blob-mismatch")
def _(work: Path) -> Case:
    layout = _oci(work)
    d = layout.manifest_digest()
    manifest = layout.manifest()
    manifest["annotations"] = {"tampered": "yes"}
    layout.blob(d).write_bytes(_json(manifest))
    path = str(layout.root)
    return Case("", "an OCI manifest blob whose content was changed after it was named", path,
                everywhere(error(3, MISMATCH, _where(path), also=[d.split(":")[1]])))


@case("config-blob-mismatch")
def _(work: Path) -> Case:
    layout = _oci(work)
    d = layout.config_digest()
    config = json.loads(layout.blob(d).read_bytes())
    config["config"]["Entrypoint"] = ["/bin/evil"]
    layout.blob(d).write_bytes(_json(config))
    path = str(layout.root)
    return Case("", "an OCI config blob changed after it was named (Entrypoint swapped)", path,
                everywhere(error(3, MISMATCH, _where(path), also=[d.split(":")[1]])))


@case("config-mismatch-legacy-stdin")
def _(work: Path) -> Case:
    good = write(work / "good.tar", "legacy", spec())
    entry = json.loads(tarfile.open(good).extractfile("manifest.json").read())
    config = json.loads(tarfile.open(good).extractfile(entry[0]["Config"]).read())
    config["config"]["Env"] = ["PATH=/evil"]
    path = rewrite_tar(good, str(work / "image.tar"), {entry[0]["Config"]: _json(config)})
    return Case("", "a docker save archive whose <digest>.json config was edited, on standard input", "-",
                everywhere(error(3, MISMATCH, _where(path, True), also=[entry[0]["Config"][:12]])), stdin=path)


@case("layer-gzip-swapped")
def _(work: Path) -> Case:
    other = gzip.compress(layer_tar([E("evil", data=b"swapped in")]), mtime=0)
    path = write(work / "layout", "oci-gzip", spec([E("x", data=b"x")]),
                 layer_bytes_hook=only_layer(1, lambda d: other))
    return Case("", "a gzip layer replaced by another valid gzip layer: its diff ID no longer matches", path,
                everywhere(error(3, MISMATCH + ("diff_id",), _where(path), also=[_layer_id(path, 1)])))


@case("layer-uncompressed-swapped-verify")
def _(work: Path) -> Case:
    original = layer_tar([E("x", data=b"original!")])
    other = original.replace(b"original!", b"swapped!!")
    path = write(work / "layout", "oci-none", spec([E("x", data=b"original!")]),
                 layer_bytes_hook=only_layer(1, lambda d: other))
    return Case("", "an uncompressed OCI layer with 9 bytes changed, read with --verify", path,
                everywhere(error(3, MISMATCH + ("diff_id",), _where(path), also=[_layer_id(path, 1)])),
                args=("--verify",))


@case("layer-uncompressed-swapped-stdin")
def _(work: Path) -> Case:
    original = layer_tar([E("x", data=b"original!")])
    other = original.replace(b"original!", b"swapped!!")
    path = write(work / "image.tar", "legacy", spec([E("x", data=b"original!")]),
                 layer_bytes_hook=only_layer(1, lambda d: other))
    return Case("", "a docker save layer with 9 bytes changed, on standard input (checked on the way)", "-",
                everywhere(error(3, MISMATCH + ("diff_id",), _where(path, True), also=[_layer_id(path, 1)])),
                stdin=path)


@case("config-blob-missing")
def _(work: Path) -> Case:
    layout = _oci(work)
    d = layout.config_digest()
    layout.blob(d).unlink()
    path = str(layout.root)
    return Case("", "an OCI manifest names a config blob the layout lacks", path,
                everywhere(error(2, MISSING, _where(path), also=[d.split(":")[1]])))


def _with_config(work: Path, config: bytes, image: ImageSpec | None = None) -> str:
    layout = _oci(work, image)
    layout.set_config(config)
    return str(layout.root)


for _name, _doc, _desc in [
    ("config-not-json", b'{"architecture": "amd64", "os": ', "the config is cut-off JSON"),
    ("config-is-a-list", b'[{"architecture": "amd64"}]', "the config is a JSON list"),
    ("config-deep-nesting", b'{"config": ' + nested_json(100_000) + b"}", "the config nests 100,000 arrays"),
]:
    def _register_config(name: str, doc: bytes, desc: str) -> None:
        @case(name)
        def _(work: Path) -> Case:
            path = _with_config(work, doc)
            return Case("", f"an OCI layout where {desc}", path,
                        everywhere(error(2, ("config", "json"), _where(path), also=["config"])))

    _register_config(_name, _doc, _desc)


@case("config-rootfs-string")
def _(work: Path) -> Case:
    image = spec([E("x", data=b"x")])
    path = _with_config(work, _json(config_of(image, rootfs="layers")), image)
    return Case("", "the config's rootfs is a string: no diff IDs, so the layers cannot be checked (the engine "
                "refuses it; a reader may still list the layers it can read)", path,
                {**everywhere(ok(files=BASE_FILES), error(2, ("rootfs", "diff_id", "config"), _where(path)),
                              views=("files",)),
                 **everywhere(ok(checks=[*STARTS, [["verification", "layers_checked"], "eq", 0]]),
                              error(2, ("rootfs", "diff_id", "config"), _where(path)), views=("summary",)),
                 **everywhere(ok(checks=STARTS), error(2, ("rootfs", "diff_id", "config"), _where(path)),
                              views=("config",))})


@case("config-rootfs-string-verify")
def _(work: Path) -> Case:
    image = spec([E("x", data=b"x")])
    path = _with_config(work, _json(config_of(image, rootfs="layers")), image)
    return Case("", "the same with --verify, which refuses layers the config has no diff ID for", path,
                everywhere(error(3, ("diff_id", "cannot be verified", "verif"), _where(path)),
                           error(2, ("rootfs", "diff_id"), _where(path))), args=("--verify",))


@case("config-diff-ids-numbers")
def _(work: Path) -> Case:
    image = spec([E("x", data=b"x")])
    path = _with_config(work, _json(config_of(image, rootfs={"type": "layers", "diff_ids": [1, 2]})), image)
    return Case("", "the config's diff_ids are numbers", path,
                {**everywhere(ok(files=BASE_FILES), error(2, ("diff_id", "rootfs", "config"), _where(path)),
                              views=("files",)),
                 **everywhere(ok(checks=[*STARTS, [["verification", "layers_checked"], "eq", 0]]),
                              error(2, ("diff_id", "rootfs", "config"), _where(path)), views=("summary",))})


@case("config-entrypoint-string")
def _(work: Path) -> Case:
    """Docker's StrSlice: a string means a one-element list (verified: `docker load` + inspect)."""
    image = spec(config={"Entrypoint": "/bin/app", "Cmd": "--serve", "Env": ["PATH=/bin"]})
    path = write(work / "layout", "oci-gzip", image)
    checks = [[["config", "entrypoint"], "eq", ["/bin/app"]], [["config", "cmd"], "eq", ["--serve"]],
              [["entrypoint", "argv"], "eq", ["/bin/app", "--serve"]], *STARTS]
    return Case("", "Entrypoint and Cmd are JSON strings, which the engine reads as one-element lists", path,
                listing(BASE_FILES, summary=checks, config=checks))


def _refused_field(work: Path, field_name: str, value: Any) -> Case:
    image = spec(config={**CONFIG, field_name: value})
    path = write(work / "layout", "oci-gzip", image)
    named = (field_name,)
    surfaced = (ok(warning=named), ok(checks=[[["entrypoint", "problems"], "contains", field_name]]),
                error(2, (field_name.lower(),), _where(path), also=named))
    return Case("", f"config.{field_name} is {json.dumps(value)}: `docker load` refuses this config; the summary "
                "and --config must not present it as a valid image (a warning or a problem naming the field, or "
                "exit 2)", path,
                {"files": (ok(files=BASE_FILES), error(2, (field_name.lower(),), _where(path), also=named)),
                 "executables": (ok(), error(2, (field_name.lower(),), _where(path), also=named)),
                 "summary": surfaced, "config": surfaced})


for _field, _value in [("Env", "PATH=/evil:/bin"), ("Labels", ["maintainer=x"]), ("ExposedPorts", ["80/tcp"]),
                       ("Volumes", ["/data"]), ("User", 0), ("WorkingDir", ["/"])]:
    def _register_field(field_name: str, value: Any) -> None:
        @case(f"config-{field_name.lower()}-wrong-type")
        def _(work: Path) -> Case:
            return _refused_field(work, field_name, value)

    _register_field(_field, _value)


@case("config-container-config-string")
def _(work: Path) -> Case:
    image = spec([E("x", data=b"x")])
    path = _with_config(work, _json(config_of(image, config="Entrypoint=/bin/app")), image)
    named = ("config",)
    surfaced = (ok(warning=named), ok(checks=[[["entrypoint", "problems"], "contains", "config"]]),
                error(2, named, _where(path), also=named))
    return Case("", "the config's container config (\"config\") is a string: `docker load` refuses it", path,
                {"files": (ok(files=BASE_FILES), error(2, named, _where(path))),
                 "executables": (ok(), error(2, named, _where(path))), "summary": surfaced, "config": surfaced})


# --- hostile member names -------------------------------------------------------------------------------

@case("names-absolute-and-dotted")
def _(work: Path) -> Case:
    layer = [E("/etc/abs", data=b"a"), E("//double", data=b"d"), E("./dot/./x", data=b"x"),
             E("a/../inside", data=b"i"), E("trailing/", "dir")]
    path = write(work / "image.tar", "legacy", spec(layer))
    return Case("", "absolute names, doubled slashes, ./ and a/../ that stays inside: all one canonical path", path,
                listing({**BASE_FILES, "/etc/abs": {"size": 1}, "/double": {"size": 1}, "/dot/x": {"size": 1},
                         "/inside": {"size": 1}, "/trailing": {"type": "dir"}}, absent=("/a",),
                        summary=STARTS, config=STARTS))


def _escaping(work: Path, members: list[tuple[tarfile.TarInfo, bytes]], shown: str, desc: str,
              layout: str = "oci-none") -> Case:
    path = raw_image(work / ("layout" if layout.startswith("oci") else "image.tar"), layout, tar_bytes(members))
    return Case("", desc, path, everywhere(error(2, ESCAPE, _where(path), also=[shown, _layer_id(path, 1)])))


@case("names-escape-symlink-member")
def _(work: Path) -> Case:
    return _escaping(work, [info("../evil-link", kind=tarfile.SYMTYPE, linkname="/etc/passwd")], "../evil-link",
                     "a symlink member named ../evil-link")


@case("names-escape-pax-path")
def _(work: Path) -> Case:
    return _escaping(work, [info("innocent", b"x", pax={"path": "../../pax-escape"})], "../../pax-escape",
                     "a member whose ustar name is harmless but whose PAX path climbs out")


@case("names-escape-gnu-longname")
def _(work: Path) -> Case:
    name = "a/" * 60 + "../" * 62 + "gnu-escape"
    tar = tar_bytes([info(name, b"x")], fmt=tarfile.GNU_FORMAT)
    path = raw_image(work / "layout", "oci-none", tar)
    return Case("", "a GNU long name that climbs out after 60 levels", path,
                everywhere(error(2, ESCAPE, _where(path), also=["gnu-escape", _layer_id(path, 1)])))


@case("names-escape-whiteout")
def _(work: Path) -> Case:
    return _escaping(work, [info("../.wh.etc")], "../.wh.etc", "a whiteout named ../.wh.etc", layout="legacy")


@case("names-nul-in-pax-path")
def _(work: Path) -> Case:
    tar = tar_bytes([info("plain", b"x", pax={"path": "bin/evil\x00.txt"})])
    path = raw_image(work / "layout", "oci-none", tar)
    return Case("", "a PAX path holding a NUL byte (Go's tar reader refuses it)", path,
                _damaged_layer(path, ("nul", "\\x00", "null"), or_mismatch=False))


@case("names-nul-in-pax-linkpath")
def _(work: Path) -> Case:
    tar = tar_bytes([info("link", kind=tarfile.SYMTYPE, pax={"linkpath": "target\x00hidden"})])
    path = raw_image(work / "layout", "oci-none", tar)
    return Case("", "a symlink whose PAX linkpath holds a NUL byte: show it faithfully, or refuse it", path,
                {"files": (ok(files={"/link": {"type": "symlink", "target": "target\x00hidden"}}),
                           error(2, ("nul", "\\x00", "null"), _where(path), also=[_layer_id(path, 1)])),
                 **everywhere(ok(), error(2, ("nul", "\\x00", "null"), _where(path), also=[_layer_id(path, 1)]),
                              views=("summary", "executables", "config"))})


@case("names-invalid-utf8")
def _(work: Path) -> Case:
    layer = [E("bin/caf\udce9", data=ELF, mode=0o755, fmt="gnu"),  # a raw 0xE9 byte in the header's name field
             E("etc/\udcff\udcfe.conf", data=b"x"),  # a PAX path with hdrcharset=BINARY
             E("etc/ok-link", "symlink", target="caf\udce9-\udcff")]
    path = write(work / "image.tar", "legacy", spec(layer, config={"Entrypoint": ["/bin/caf\udce9"]}))
    files = {"/bin/caf\udce9": {"type": "file", "mode": "0755"}, "/etc/\udcff\udcfe.conf": {"type": "file"},
             "/etc/ok-link": {"target": "caf\udce9-\udcff"}}
    return Case("", "names that are not valid UTF-8 (raw bytes in a GNU header and in a binary PAX path): listed, "
                "and the JSON output stays valid", path,
                listing({**BASE_FILES, **files}, executables=[[[{"path": "/bin/caf\udce9"}, "kind"], "eq", "elf"]],
                        config=[[["entrypoint", "path"], "eq", "/bin/caf\udce9"]]))


DEEP = 10_000


def _deep_layers() -> list[list[E]]:
    deep = "/".join(["d"] * DEEP)
    return [[E(deep + "/leaf", data=ELF, mode=0o755)], [E(deep + "/sibling", data=b"s"), E(deep[:-2] + "/.wh.nothing")]]


@case("names-10000-levels-default")
def _(work: Path) -> Case:
    path = write(work / "layout", "oci-gzip", spec(*_deep_layers()))
    return Case("", f"a file {DEEP:,} directories deep, under the default --max-depth", path,
                everywhere(error(2, ("deep", "depth"), _where(path), also=["--max-depth", _layer_id(path, 1)])))


@case("names-10000-levels-allowed")
def _(work: Path) -> Case:
    path = write(work / "layout", "oci-gzip", spec(*_deep_layers()))
    deep = "/" + "/".join(["d"] * DEEP)
    return Case("", "the same with --max-depth 20000: listed in bounded time and memory", path,
                listing({**BASE_FILES, deep + "/leaf": {"type": "file", "layer": 1},
                         deep + "/sibling": {"type": "file", "layer": 2}},
                        executables=[[[{"path": deep + "/leaf"}, "kind"], "eq", "elf"]],
                        summary=STARTS, config=STARTS), args=("--max-depth", "20000"))


# --- links ---------------------------------------------------------------------------------------------

@case("symlink-loop")
def _(work: Path) -> Case:
    layer = [E("bin/app", "symlink", target="loop1"), E("bin/loop1", "symlink", target="loop2"),
             E("bin/loop2", "symlink", target="/bin/loop1"), E("self", "symlink", target="self"),
             E("dirloop", "symlink", target="dirloop/x")]
    image = spec(layer, config={"Entrypoint": ["/bin/app"], "Cmd": ["/dirloop/x/y"]})
    path = write(work / "image.tar", "legacy", image)
    problem = [[["entrypoint", "problems"], "nonempty", None], [["entrypoint", "exists"], "eq", False]]
    return Case("", "/bin/app → loop1 → loop2 → /bin/loop1, a self link, a directory link into itself; the "
                "entrypoint is /bin/app", path,
                listing({"/bin/app": {"type": "symlink", "target": "loop1"}, "/self": {"target": "self"}},
                        summary=problem, config=[*problem, [["entrypoint", "problems"], "contains", "loop"]]))


@case("symlink-chain-1000")
def _(work: Path) -> Case:
    layer = [E(f"bin/l{i}", "symlink", target=f"l{i + 1}") for i in range(1000)]
    layer += [E("bin/l1000", "symlink", target="/bin/app")]
    layer += [E("opt/", "dir")] + [E(f"opt/d{i}", "symlink", target=f"d{i + 1}") for i in range(1000)]
    layer += [E("opt/d1000", "symlink", target="/bin")]
    image = spec(layer, config={"Entrypoint": ["/bin/l0"], "Cmd": ["/opt/d0/app"]})
    path = write(work / "image.tar", "legacy", image)
    problem = [[["entrypoint", "problems"], "nonempty", None]]
    return Case("", "/bin/l0 → l1 → … → l1000 → /bin/app (1,001 links; Linux gives up after 40) and a chain "
                "of 1,001 directory links; the entrypoint starts the chain", path,
                listing({"/bin/l0": {"type": "symlink"}, "/bin/l1000": {"target": "/bin/app"}},
                        summary=problem, config=problem,
                        executables=[[[{"path": "/bin/l999"}, "resolves_to"], "eq", "/bin/app"]]))


@case("hardlink-to-missing-file")
def _(work: Path) -> Case:
    layer = [E("bin/hl", "hardlink", target="bin/nowhere")]
    path = write(work / "image.tar", "legacy", spec(layer))
    return Case("", "a hardlink to a name that is in no layer (kept as an empty file, with a warning)", path,
                listing({**BASE_FILES, "/bin/hl": {"type": "file", "size": 0}}, warning=("/bin/hl",),
                        summary=[[["warnings"], "contains", "/bin/hl"], *STARTS], config=STARTS))


@case("hardlink-source-removed-later")
def _(work: Path) -> Case:
    layers = [[E("f", data=b"hello"), E("hl", "hardlink", target="f")], [whiteout("f")]]
    path = write(work / "layout", "oci-gzip", spec(*layers))
    return Case("", "/hl is a hardlink to /f in one layer; a later layer removes /f: /hl keeps the data", path,
                listing({**BASE_FILES, "/hl": {"type": "file", "size": 5, "layer": 1}}, absent=("/f",),
                        summary=STARTS, config=STARTS))


# --- special files, duplicates, whiteouts --------------------------------------------------------------

@case("devices-and-fifos")
def _(work: Path) -> Case:
    layer = [E("dev/", "dir"), E("dev/null", "char", devmajor=1, devminor=3),
             E("dev/sda", "block", devmajor=8, devminor=0), E("dev/huge", "char", devmajor=0o7777777,
                                                                devminor=0o7777777),
             E("run/", "dir"), E("run/fifo", "fifo"), E("bin/sh", "char", mode=0o755, devmajor=1, devminor=3)]
    path = write(work / "image.tar", "legacy", spec(layer, config={"Entrypoint": ["/run/fifo"]}))
    return Case("", "character and block devices (one with the largest numbers ustar holds), a FIFO, a device "
                "named /bin/sh; the entrypoint is the FIFO", path,
                listing({"/dev/null": {"type": "char", "device": [1, 3]},
                         "/dev/sda": {"type": "block", "device": [8, 0]},
                         "/dev/huge": {"type": "char", "device": [0o7777777, 0o7777777]},
                         "/run/fifo": {"type": "fifo", "device": None}, "/bin/sh": {"type": "char"}},
                        summary=[[["entrypoint", "problems"], "contains", "fifo"]],
                        config=[[["entrypoint", "problems"], "contains", "fifo"]]))


@case("duplicate-entries")
def _(work: Path) -> Case:
    layer = [E("f", data=b"one"), E("f", data=b"second"),
             E("d/", "dir"), E("d/x", data=b"x"), E("d", data=b"D"),
             E("m/", "dir", mode=0o700), E("./m", "dir", mode=0o751),
             E("s", "symlink", target="a"), E("s", "symlink", target="b"),
             E("x", data=b"xx"), E("x/", "dir"), E("x/y", data=b"y")]
    path = write(work / "layout", "oci-zstd", spec(layer))
    return Case("", "the same names several times in one layer: the last one wins (containerd applies them in "
                "order; Docker 20.10's layer store refuses duplicates)", path,
                listing({"/f": {"size": 6}, "/d": {"type": "file", "size": 1}, "/m": {"type": "dir", "mode": "0751"},
                         "/s": {"target": "b"}, "/x": {"type": "dir"}, "/x/y": {"size": 1}}, absent=("/d/x",),
                        summary=STARTS, config=STARTS))


@case("whiteouts-for-nothing")
def _(work: Path) -> Case:
    layer = [E(".wh.ghost"), E("nodir/.wh.ghost"), E("etc/.wh.nothing"), E("deep/er/.wh.ghost")]
    path = write(work / "image.tar", "legacy", spec(layer))
    return Case("", "whiteouts for names no layer ever had; the engine creates their missing parents", path,
                listing({**BASE_FILES, "/nodir": {"type": "dir", "mode": "0755"}, "/deep/er": {"type": "dir"}},
                        absent=("/ghost", "/nodir/ghost", "/etc/nothing", "/deep/er/ghost"),
                        summary=STARTS, config=STARTS))


@case("whiteout-without-a-name")
def _(work: Path) -> Case:
    path = write(work / "image.tar", "legacy", spec([E(".wh."), E("z", data=b"z")]))
    return Case("", "a whiteout entry named just .wh. (the engine fails to apply it)", path,
                _damaged_layer(path, ("whiteout",), or_mismatch=False))


@case("opaque-at-root")
def _(work: Path) -> Case:
    layers = [[E("lower/", "dir"), E("lower/x", data=b"x")], [opaque("."), E("upper", data=b"u")],
              [E("/.wh..wh..opq"), E("top", data=b"t")]]
    path = write(work / "layout", "oci-gzip", spec(*layers))
    return Case("", "opaque markers at the top of a layer (./.wh..wh..opq and /.wh..wh..opq): overlayfs "
                "ignores the opaque flag on the root, so nothing below is hidden (verified with Docker 20.10)", path,
                listing({**BASE_FILES, "/lower/x": {"layer": 1}, "/upper": {"layer": 2}, "/top": {"layer": 3},
                         "/data/noise": {"size": len(NOISE)}},
                        absent=("/.wh..wh..opq",), summary=STARTS, config=STARTS))


# ------------------------------------------------------------------------------------------------------
# command line
# ------------------------------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Write the corpus of bad inputs for inspect-image.")
    parser.add_argument("directory", type=Path)
    parser.add_argument("--light", action="store_true", help="leave out the bombs and million-entry layers")
    parser.add_argument("--case", action="append", dest="names", metavar="NAME", help="write only this case")
    args = parser.parse_args(argv)
    cases = write_corpus(args.directory, names=args.names, heavy=not args.light)
    (args.directory / "cases.json").write_text(
        json.dumps({name: c.to_json() for name, c in cases.items()}, indent=2, ensure_ascii=True) + "\n")
    for name, c in cases.items():
        print(f"{name}: {c.description}", file=sys.stdout)
    print(f"{len(cases)} cases written to {args.directory} (expectations in cases.json)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

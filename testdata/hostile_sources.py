"""Hostile outer containers, made by code: archives and layouts that lie about what they hold.

Issue 11, items 2-6 (the sources): an outer archive holding one member name twice (the first copy
altered), digests in spellings we cannot or must not check (``sha512:`` wrong, a Cyrillic
``shа256``, uppercase, short, ``md5:``, control characters), an OCI folder whose blobs are
symlinks to host files or FIFOs, a gzip'd archive of gzip layers whose stages each inflate
modestly but whose product is a bomb, and one-pass streams full of JSON-looking junk members.

Every input is small on disk (or generated as a stream by ``python -m testdata.hostile_sources``,
so the test process itself holds no threads when it forks the CLI under ``RLIMIT_AS``).
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from testdata.imagebuilder import E, ImageSpec, digest, layer_tar, write_docker_archive, write_oci_layout
from testdata.make_bad_inputs import OciDir, info, tar_bytes

GENUINE = b"genuine motd\n"
ALTERED = b"ALTERED-UNVERIFIED-BYTES\n"
HOST_SECRET = b"HOST-SECRET-NEVER-SHOWN\n"


def genuine_spec() -> ImageSpec:
    layer = [E("etc/", "dir"), E("etc/motd", data=GENUINE), E("bin/", "dir"),
             E("bin/app", data=b"#!/bin/app\n", mode=0o755)]
    return ImageSpec([layer], {"Entrypoint": ["/bin/app"]}, ["hostile/app:1"])


def altered_layer() -> bytes:
    """What the first, unverified copy of a duplicated member holds."""
    return layer_tar([E("etc/", "dir"), E("etc/motd", data=ALTERED), E("bin/", "dir"),
                      E("bin/app", data=b"#!/bin/app\n", mode=0o755), E("evil", data=ALTERED)])


# --- item 2: one member name twice --------------------------------------------------------------

def _insert_before(src: bytes, pick: str, extra: tuple[tarfile.TarInfo, bytes]) -> bytes:
    """Copy the tar ``src``, adding ``extra`` right before the member named ``pick``."""
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(src)) as tin, tarfile.open(fileobj=out, mode="w",
                                                                   format=tarfile.PAX_FORMAT) as tout:
        for member in tin.getmembers():
            if member.name == pick:
                tout.addfile(extra[0], io.BytesIO(extra[1]))
            tout.addfile(member, tin.extractfile(member) if member.isfile() else None)
    return out.getvalue()


def duplicate_docker_archive(path: Path, spelling: str = "{}", compress: bool = False) -> str:
    """A legacy ``docker save`` whose ``<id>/layer.tar`` appears twice, the first copy altered.

    ``spelling`` formats the altered copy's name (``./{}``, ``/{}``: the same name once cleaned).
    """
    buffer = io.BytesIO()
    write_docker_archive(buffer, genuine_spec(), "legacy")
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as tar:
        layer = next(m.name for m in tar.getmembers() if m.name.endswith("layer.tar"))
    data = _insert_before(buffer.getvalue(), layer, info(spelling.format(layer), altered_layer()))
    if compress:
        data = gzip.compress(data, mtime=0)
    path.write_bytes(data)
    return str(path)


def duplicate_oci_archive(path: Path) -> str:
    """An oci-archive whose layer blob appears twice, the first copy altered (same digest name)."""
    buffer = io.BytesIO()
    write_oci_layout(buffer, genuine_spec(), compression="none", as_tar=True)
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as tar:
        names = [m.name for m in tar.getmembers()]
    layer = "blobs/sha256/" + digest(layer_tar(genuine_spec().layers[0])).split(":")[1]
    assert layer in names, names
    path.write_bytes(_insert_before(buffer.getvalue(), layer, info(layer, altered_layer())))
    return str(path)


def oci_archive_blob_symlink(path: Path) -> str:
    """An oci-archive whose layer blob is a symlink member to another member holding an altered tar."""
    buffer = io.BytesIO()
    write_oci_layout(buffer, genuine_spec(), compression="none", as_tar=True)
    layer = "blobs/sha256/" + digest(layer_tar(genuine_spec().layers[0])).split(":")[1]
    out = io.BytesIO()
    with tarfile.open(fileobj=io.BytesIO(buffer.getvalue())) as tin, tarfile.open(fileobj=out, mode="w",
                                                                                 format=tarfile.PAX_FORMAT) as tout:
        for member in tin.getmembers():
            if member.name == layer:
                tout.addfile(*_with_stream(info("elsewhere/layer", altered_layer())))
                tout.addfile(info(layer, kind=tarfile.SYMTYPE, linkname="../../elsewhere/layer")[0])
                continue
            tout.addfile(member, tin.extractfile(member) if member.isfile() else None)
    path.write_bytes(out.getvalue())
    return str(path)


def _with_stream(pair: tuple[tarfile.TarInfo, bytes]) -> tuple[tarfile.TarInfo, IO[bytes]]:
    return pair[0], io.BytesIO(pair[1])


# --- item 3: digests ----------------------------------------------------------------------------

def sha512(data: bytes) -> str:
    return "sha512:" + hashlib.sha512(data).hexdigest()


def _place_blob(layout: OciDir, name: str, data: bytes) -> None:
    """Store ``data`` where a reader would look for the (maybe odd) digest ``name``; best effort."""
    algorithm, _, encoded = name.partition(":")
    try:
        target = layout.root / "blobs" / algorithm / encoded
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    except (OSError, ValueError):
        pass  # a name no file can have: the reader must refuse it before looking anyway


def oci_with_digest(root: Path, where: str, name: str | None, *, compression: str = "none") -> str:
    """A genuine OCI folder, except that the ``where`` document is named by digest ``name``.

    ``where``: ``manifest`` (index.json's descriptor), ``config`` or ``layer`` (the manifest's
    descriptors) or ``diff_id`` (the config's). ``name`` None: the true sha512 of the bytes;
    ``{hex}`` and ``{HEX}`` in ``name`` stand for the genuine sha256 hex (a lookalike's bait).
    """
    write_oci_layout(root, genuine_spec(), compression=compression)
    layout = OciDir(str(root))
    manifest = layout.manifest()
    if where == "manifest":
        data = layout.blob(layout.manifest_digest()).read_bytes()
        name = _named(name, data)
        _place_blob(layout, name, data)
        index = layout.index
        index["manifests"][0]["digest"] = name
        (root / "index.json").write_bytes(json.dumps(index).encode())
    elif where in ("config", "layer"):
        descriptor = manifest["config"] if where == "config" else manifest["layers"][0]
        data = layout.blob(descriptor["digest"]).read_bytes()
        name = _named(name, data)
        _place_blob(layout, name, data)
        descriptor["digest"] = name
        layout.set_manifest(json.dumps(manifest).encode())
    elif where == "diff_id":
        config = json.loads(layout.blob(layout.config_digest()).read_bytes())
        name = _named(name, layer_tar(genuine_spec().layers[0]))
        config["rootfs"]["diff_ids"][0] = name
        layout.set_config(json.dumps(config).encode())
    else:
        raise ValueError(where)
    return str(root)


def _named(name: str | None, data: bytes) -> str:
    if name is None:
        return sha512(data)
    genuine = hashlib.sha256(data).hexdigest()
    return name.replace("{hex}", genuine).replace("{HEX}", genuine.upper())


def legacy_with_diff_id(path: Path, diff_id: str | None) -> str:
    """A legacy docker save whose config names its layer by ``diff_id`` (None: the true sha512)."""
    tar = layer_tar(genuine_spec().layers[0])
    config = {"architecture": "amd64", "os": "linux", "config": {"Entrypoint": ["/bin/app"]},
              "rootfs": {"type": "layers", "diff_ids": [diff_id or sha512(tar)]}}
    config_bytes = json.dumps(config).encode()
    config_name = digest(config_bytes).split(":")[1] + ".json"
    members = [info("abc/", kind=tarfile.DIRTYPE, mode=0o755), info("abc/layer.tar", tar),
               info(config_name, config_bytes),
               info("manifest.json", json.dumps([{"Config": config_name, "RepoTags": ["hostile/app:1"],
                                                  "Layers": ["abc/layer.tar"]}]).encode())]
    path.write_bytes(tar_bytes(members))
    return str(path)


# --- item 4: an OCI folder reaching out ---------------------------------------------------------

def oci_reaching_out(root: Path, host: Path, how: str) -> str:
    """An OCI folder (no diff IDs in its config) whose layer blob is not a plain file inside it.

    ``how``: ``blob-symlink`` (the blob links to a file on the host holding a layer with
    ``/secret.txt``), ``blobs-symlink`` (the whole ``blobs`` folder is a link elsewhere),
    ``algo-symlink`` (``blobs/sha256`` is), ``index-symlink`` (``index.json`` is), ``fifo``
    (the blob is a FIFO nobody writes), ``dir`` (the blob is a directory).
    """
    secret = ImageSpec([[E("secret.txt", data=HOST_SECRET), E("etc/", "dir"), E("etc/motd", data=GENUINE)]],
                       {"Entrypoint": ["/secret.txt"]}, ["hostile/app:1"])
    write_oci_layout(root, secret, compression="none")
    layout = OciDir(str(root))
    config = json.loads(layout.blob(layout.config_digest()).read_bytes())
    config.pop("rootfs")
    layout.set_config(json.dumps(config).encode())
    blob = layout.blob(layout.layer_digest(0))
    host.mkdir(parents=True, exist_ok=True)
    if how == "blob-symlink":
        blob.replace(host / "layer.tar")
        blob.symlink_to(host / "layer.tar")
    elif how == "blobs-symlink":
        shutil.move(str(root / "blobs"), str(host / "blobs"))
        (root / "blobs").symlink_to(host / "blobs")
    elif how == "algo-symlink":
        shutil.move(str(root / "blobs" / "sha256"), str(host / "sha256"))
        (root / "blobs" / "sha256").symlink_to(host / "sha256")
    elif how == "index-symlink":
        (root / "index.json").replace(host / "index.json")
        (root / "index.json").symlink_to(host / "index.json")
    elif how == "fifo":
        blob.unlink()
        os.mkfifo(blob)
    elif how == "dir":
        blob.unlink()
        blob.mkdir()
    else:
        raise ValueError(how)
    return str(root)


# --- item 5c: a gzip'd archive of gzip layers -----------------------------------------------------

def _repeated_gzip(prefix: bytes, block: bytes, count: int, suffix: bytes) -> Iterator[bytes]:
    """A gzip member holding ``prefix + block * count + suffix``, without ever holding it whole.

    After a full flush deflate starts afresh, so ``block`` compressed once stands for every copy.
    The trailer's CRC is left zero (computing it means hashing every inflated byte): a reader
    must stop long before it gets there.
    """
    deflate = zlib.compressobj(6, zlib.DEFLATED, -15)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
    yield deflate.compress(prefix) + deflate.flush(zlib.Z_FULL_FLUSH)
    piece = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    yield piece * count
    yield deflate.compress(suffix) + deflate.flush(zlib.Z_FINISH)
    yield bytes(4) + ((len(prefix) + len(block) * count + len(suffix)) & 0xFFFFFFFF).to_bytes(4, "little")


def nested_gzip_bomb(path: Path, inflated: int = 4 << 30) -> str:
    """``docker save | gzip`` of an archive whose one gzip layer holds ``inflated`` bytes.

    Each stage alone stays under the default limit (the layer inflates about 150 times, the
    archive's gzip compresses the repetitive layer blob a few hundred times), but the product,
    measured from the bytes on disk, is tens of thousands.
    """
    block = hashlib.sha256(b"seed").digest() * 2 + bytes(16 << 10)  # ~150x under deflate
    count = inflated // len(block)
    size = count * len(block)
    member = tarfile.TarInfo("data")
    member.size, member.mtime, member.mode = size, 1_600_000_000, 0o644
    header = member.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")
    trailer = bytes(-size % 512) + bytes(1024)
    layer_gz = b"".join(_repeated_gzip(header, block, count, trailer))
    config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                         "rootfs": {"type": "layers", "diff_ids": ["sha256:" + "0" * 64]}}).encode()
    config_name = digest(config).split(":")[1] + ".json"
    archive = tar_bytes([info("abc/", kind=tarfile.DIRTYPE, mode=0o755), info("abc/layer.tar", layer_gz),
                         info(config_name, config),
                         info("manifest.json", json.dumps([{"Config": config_name, "RepoTags": ["bomb:1"],
                                                            "Layers": ["abc/layer.tar"]}]).encode())])
    path.write_bytes(gzip.compress(archive, compresslevel=6, mtime=0))
    return str(path)


# --- item 6c: one-pass streams of junk ----------------------------------------------------------

def junk_stream(out: IO[bytes], count: int, size: int) -> None:
    """A tar of ``count`` JSON-looking members of ``size`` bytes each, written as it goes."""
    chunk = b" " * (1 << 20)
    for i in range(count):
        member = tarfile.TarInfo(f"junk{i}.json")
        member.size, member.mtime, member.mode = size, 1_600_000_000, 0o644
        out.write(member.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape"))
        out.write(b"{")
        left = size - 2
        while left:
            step = min(left, len(chunk))
            out.write(chunk[:step])
            left -= step
        out.write(b"}" + bytes(-size % 512))
    out.write(bytes(1024))
    out.flush()


def many_members_stream(out: IO[bytes], count: int) -> None:
    """A tar of ``count`` tiny members (each would be kept whole by a one-pass reader)."""
    for i in range(count):
        member = tarfile.TarInfo(f"m{i}")
        member.size, member.mtime, member.mode = 2, 1_600_000_000, 0o644
        out.write(member.tobuf(tarfile.USTAR_FORMAT, "utf-8", "surrogateescape") + b"{}" + bytes(510))
    out.write(bytes(1024))
    out.flush()


def main(argv: list[str]) -> int:
    """``python -m testdata.hostile_sources junk COUNT SIZE | many COUNT``: a stream on stdout."""
    out = sys.stdout.buffer
    try:
        if argv[0] == "junk":
            junk_stream(out, int(argv[1]), int(argv[2]))
        elif argv[0] == "many":
            many_members_stream(out, int(argv[1]))
        else:
            return 2
    except BrokenPipeError:  # the reader stopped early: what the tests expect
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""What the engine does with PAX global headers and out-of-range owners, and that we do the same.

Layers are written byte by byte (``testdata.hostile_tar``), ``docker load``-ed, and the container's
``docker export`` is compared with our listing of the very archive that was loaded.

Found on Docker 20.10 (and asserted here): a global header (``g``) changes nothing, whatever it
carries (``path``, ``uid``, ``mtime``, ``SCHILY.xattr.security.capability``) and whatever its own
header is named (no implied parent directories, no whiteout); a global header whose name repeats
another entry's makes ``docker load`` fail (tar-split: "duplicates of file paths not supported").
An owner of 10^30 makes ``docker load`` fail; 2^32+5 is silently cut to 5 by the kernel's 32-bit
uid -- we refuse both as malformed (exit 2) rather than show an owner the header does not state.
"""

from __future__ import annotations

import io
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testdata import hostile_tar as H

from .conftest import EngineImages
from .helpers import (
    REPO_ROOT,
    assert_parity,
    export_listing,
    inspector_env,
    our_listing,
)

pytestmark = pytest.mark.engine

CAPABILITY = b"\x01\x00\x00\x02" + b"\x00\x04\x00\x00" + bytes(12)  # v2: cap_net_bind_service


def _global(pairs: list[tuple[str, str | bytes]], name: str = "././@PaxHeader") -> bytes:
    return H.pax(H.records(pairs), kind=b"g", name=name)


GLOBAL_LAYERS = {
    "fields-and-capability": H.layer(
        H.directory("d/"),
        _global([("path", "gdir/gfile"), ("uid", "4242"), ("gid", "4343"), ("mtime", "12345"),
                 ("SCHILY.xattr.security.capability", CAPABILITY), ("comment", "global")]),
        H.regular("a", b"1", mode=0o755), H.regular("d/b", b"2"), H.directory("e/")),
    "named-below-a-missing-parent": H.layer(H.regular("a", b"1"), _global([("comment", "x")], "implied/parent/g"),
                                            H.regular("z", b"3")),
    "path-is-a-whiteout": H.layer(H.regular("a", b"1"), _global([("path", ".wh.a")]), H.regular("z", b"3")),
    "many-global-xattrs": H.global_xattr_layer(count=2000, files=50),
}


def _load(engine_images: EngineImages, archive: bytes) -> str:
    reply = engine_images.client.images.load(io.BytesIO(archive))
    image = reply[0]
    tag = image.tags[0]
    engine_images._record(tag, image.id)  # removed at session end like every test image
    return tag


@pytest.mark.parametrize("case", GLOBAL_LAYERS)
def test_global_headers_change_nothing(case: str, engine_images: EngineImages, tmp_path: Path) -> None:
    tag = EngineImages.tag_for(f"tar-globals-{case}")
    archive = H.docker_archive([GLOBAL_LAYERS[case]], tag)
    path = tmp_path / "image.tar"
    path.write_bytes(archive)
    engine = export_listing(_load(engine_images, archive), engine_images.client)
    ours = our_listing(f"docker-archive:{path}")
    assert_parity(ours, engine, case)
    # and what parity proves, said plainly
    assert not any(entry.get("caps") for entry in engine.entries.values())
    assert {p for p in ours if p.startswith(("/gdir", "/implied", "/@PaxHeader", "/PaxHeader"))} == set()
    if case != "many-global-xattrs":
        assert ours["/a"]["uid"] == 0 and ours["/a"]["type"] == "file"


def _ours(path: Path) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([sys.executable, "-m", "inspector", f"docker-archive:{path}", "--files", "--format", "json"],
                          check=False, capture_output=True, cwd=REPO_ROOT, env=inspector_env(), timeout=60)


@pytest.mark.parametrize(("uid", "engine_uid"), [("1" + "0" * 30, None), (str(2 ** 32 + 5), 5)],
                         ids=["10^30", "2^32+5"])
def test_owners_beyond_32_bits_are_refused(uid: str, engine_uid: int | None, engine_images: EngineImages,
                                           tmp_path: Path) -> None:
    import docker

    tag = EngineImages.tag_for(f"tar-uid-{len(uid)}")
    archive = H.docker_archive([H.layer(H.pax(H.records({"uid": uid})), H.regular("a", b"1"))], tag)
    path = tmp_path / "image.tar"
    path.write_bytes(archive)
    engine: Any
    if engine_uid is None:
        with pytest.raises((docker.errors.APIError, docker.errors.ImageLoadError), match="invalid tar header"):
            _load(engine_images, archive)
    else:  # the engine keeps the low 32 bits: not what the header says
        engine = export_listing(_load(engine_images, archive), engine_images.client)
        assert engine.entries["/a"]["uid"] == engine_uid
    proc = _ours(path)
    err = proc.stderr.decode()
    assert proc.returncode == 2 and len(err.splitlines()) == 1 and "Traceback" not in err
    assert "uid" in err and "corrupt" in err

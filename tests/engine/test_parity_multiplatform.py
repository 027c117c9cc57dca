"""A multi-platform OCI layout: each platform reads exactly as that platform's image alone.

``docker load`` of Docker 20.10 cannot take an image index, so the engine cannot be asked about
the layout itself. Instead, for each platform of a two-platform layout (zstd layers, the index
written flat and nested):

* our listing of ``LAYOUT --platform P`` == our listing of a ``docker save`` archive holding only
  platform P's image (the same JSON bytes);
* that single-platform archive, ``docker load``-ed, == ``docker export`` of a container created
  from it (``docker create`` does not care that the architecture is not the machine's).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from testdata import realworld_layouts as rw
from testdata.imagebuilder import E, ImageSpec, opaque, whiteout, write_docker_archive

from .conftest import EngineImages
from .helpers import (
    REPO_ROOT,
    assert_parity,
    export_listing,
    inspector_env,
    listing_of_json,
)

_BASE = [E("etc/", "dir"), E("etc/os-release", data=b"ID=test\n"), E("bin/", "dir"),
         E("bin/tool", data=b"\x7fELF fake", mode=0o4755), E("bin/link", "symlink", target="tool"),
         E("data/", "dir", mode=0o700, uid=5, gid=6), E("data/a", data=b"a"), E("data/b", data=b"bb")]
PLATFORMS = {
    "linux/amd64": ImageSpec([_BASE, [whiteout("data/a"), E("arch", data=b"amd64\n")]], {"Cmd": ["/bin/tool"]}),
    "linux/arm64/v8": ImageSpec([_BASE, [opaque("data"), E("data/c", data=b"ccc"), E("arch", data=b"arm64 v8\n"),
                                         E("lib/", "dir"), E("lib/ld", "symlink", target="../bin/tool")]],
                                {"Cmd": ["/bin/tool"]}, architecture="arm64", variant="v8"),
}


def _ours(ref: str, *extra: str) -> bytes:
    proc = subprocess.run([sys.executable, "-m", "inspector", ref, *extra, "--files", "--format", "json"],
                          capture_output=True, cwd=REPO_ROOT, env=inspector_env(), timeout=120, check=False)
    assert proc.returncode == 0, f"{ref} {extra}: exit {proc.returncode}: {proc.stderr.decode(errors='replace')}"
    return proc.stdout


@pytest.fixture(scope="module")
def layouts(engine_workdir: Path) -> dict[str, str]:
    root = engine_workdir / "multiplatform"
    root.mkdir(exist_ok=True)
    specs = tuple(PLATFORMS.values())
    return {how: rw.multi_platform(root / how, how, compression="zstd", specs=specs) for how in ("flat", "nested")}


@pytest.fixture(scope="module")
def single(engine_images: EngineImages, engine_workdir: Path) -> dict[str, tuple[str, Any]]:
    """Per platform: a docker save archive of that platform's image alone, and the engine's export of it."""
    out = {}
    for i, (platform, spec) in enumerate(PLATFORMS.items()):
        tag = EngineImages.tag_for(f"multiplatform-{i}")
        tagged = replace(spec, tags=[tag])
        archive = engine_workdir / f"multiplatform-{i}.tar"
        write_docker_archive(archive, tagged, "legacy")
        engine_images.load(tagged, engine_workdir)
        out[platform] = (str(archive), export_listing(tag, engine_images.client))
    return out


@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_single_platform_archive_matches_export(single: dict[str, tuple[str, Any]], platform: str) -> None:
    archive, engine = single[platform]
    assert_parity(listing_of_json(_ours(archive)), engine, archive)


@pytest.mark.parametrize("how", ["flat", "nested"])
@pytest.mark.parametrize("platform", list(PLATFORMS))
def test_platform_of_layout_reads_as_that_image_alone(layouts: dict[str, str], single: dict[str, tuple[str, Any]],
                                                      how: str, platform: str) -> None:
    archive, engine = single[platform]
    ours = _ours(f"oci:{layouts[how]}", "--platform", platform)
    assert ours == _ours(archive), f"{how} layout, {platform}: differs from the single-platform archive"
    assert_parity(listing_of_json(ours), engine, f"oci:{layouts[how]} --platform {platform}")

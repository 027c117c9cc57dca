"""Audit rows of ``python -m tests.bench``: 20 images on two shared bases, audited with an empty cache.

The fleet: the two realistic images (the fat JDK and the distroless Java image, as ``docker save``
wrote them for the other rows) are the bases; each of the 20 images is one of them plus one small
layer of its own (100 files under /app), written as an OCI layout (uncompressed layers) whose base
blobs are hard links to one copy, as a registry or a shared volume would hold them. Rows:

* ``tarfile scan, unique layers``: stdlib tarfile (``r|``) over every UNIQUE layer once (both bases'
  layers and the 20 small ones), nothing done per member: the floor of any reader of the fleet;
* ``ours audit --jobs 1``: ``inspect-image audit`` of the 20 images, empty cache each run (goal:
  <= 1.5x the floor, which no tool reaching each shared layer once per image can meet);
* ``ours audit --jobs 2``: the same on two processes; ``note`` prints its images per second;
* ``ours audit --jobs 2, the cache filled by the warm-up``: a repeat audit of the same fleet (a
  daily run over a shared cache): every layer found in the cache, only the per-image reports done.

``python -m tests.bench.audit_rows [--runs N]`` measures these rows alone.
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
from pathlib import Path
from typing import Any

from . import floor

PY = sys.executable
IMAGES = 20
_ROWS: list[Any] = []  # the rows made by ``rows`` (``note`` reruns one of them)
FLEET_VERSION = "1"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _app_layer(number: int) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name, data in [("app/", None)] + [(f"app/part{i}.txt", f"app {number} part {i}\n".encode() * 20)
                                               for i in range(100)]:
            info = tarfile.TarInfo(name.rstrip("/"))
            info.mtime = 1_600_000_000
            if data is None:
                info.type, info.mode = tarfile.DIRTYPE, 0o755
                tar.addfile(info)
            else:
                info.size, info.mode = len(data), 0o644
                tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def _base_blobs(docker_archive: Path, blobs: Path) -> tuple[dict[str, Any], list[str]]:
    """The base's config and its layers as uncompressed blobs in ``blobs`` (named by digest)."""
    with tarfile.open(docker_archive) as outer:
        manifest = json.load(outer.extractfile("manifest.json"))[0]  # type: ignore[arg-type]
        config = json.load(outer.extractfile(manifest["Config"]))  # type: ignore[arg-type]
        digests = []
        for name in manifest["Layers"]:
            member = outer.extractfile(name)
            assert member is not None
            hasher = hashlib.sha256()
            partial = blobs / "partial"
            with open(partial, "wb") as out:
                while chunk := member.read(1 << 20):
                    hasher.update(chunk)
                    out.write(chunk)
            digest = "sha256:" + hasher.hexdigest()
            partial.rename(blobs / digest.split(":")[1])
            digests.append(digest)
    return config, digests


def _link(blobs: Path, layout: Path, digest: str) -> None:
    target = layout / "blobs" / "sha256" / digest.split(":")[1]
    if not target.exists():
        os.link(blobs / digest.split(":")[1], target)


def _put(blobs: Path, data: bytes) -> str:
    digest = _sha(data)
    path = blobs / digest.split(":")[1]
    if not path.exists():
        path.write_bytes(data)
    return digest


def build_fleet(bases: list[Path], root: Path) -> tuple[list[str], list[Path]]:
    """The 20 ``oci:DIR`` references, and every unique layer blob (the floor's input)."""
    from tests.build_cache import is_built, mark_built

    done = root / f"fleet-v{FLEET_VERSION}"
    blobs = root / "blobs"
    layouts = [done / f"app{n}" for n in range(IMAGES)]
    listing = root / "unique-layers.txt"
    if not is_built(done):
        blobs.mkdir(parents=True, exist_ok=True)
        based = [_base_blobs(base, blobs) for base in bases]
        unique: list[str] = []
        for _config, digests in based:
            unique += [d for d in digests if d not in unique]
        for number, layout in enumerate(layouts):
            base_config, base_layers = based[number % len(based)]
            app = _app_layer(number)
            app_digest = _put(blobs, app)
            unique.append(app_digest)
            config = json.loads(json.dumps(base_config))
            config["rootfs"] = {"type": "layers", "diff_ids": [*base_layers, app_digest]}
            config["history"] = [*config.get("history", []), {"created_by": f"COPY app{number} /app"}]
            config_digest = _put(blobs, json.dumps(config).encode())
            layers = [{"mediaType": MT_LAYER, "digest": d, "size": (blobs / d.split(":")[1]).stat().st_size}
                      for d in [*base_layers, app_digest]]
            manifest = json.dumps({"schemaVersion": 2, "mediaType": MT_MANIFEST, "layers": layers,
                                   "config": {"mediaType": MT_CONFIG, "digest": config_digest,
                                              "size": (blobs / config_digest.split(":")[1]).stat().st_size}}).encode()
            manifest_digest = _put(blobs, manifest)
            (layout / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
            for digest in [*base_layers, app_digest, config_digest, manifest_digest]:
                _link(blobs, layout, digest)
            (layout / "oci-layout").write_text('{"imageLayoutVersion":"1.0.0"}')
            (layout / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": [
                {"mediaType": MT_MANIFEST, "digest": manifest_digest, "size": len(manifest)}]}))
        listing.write_text("\n".join(d.split(":")[1] for d in unique) + "\n")
        mark_built(done, f"{IMAGES} images on {len(bases)} bases")
    unique_paths = [blobs / name for name in listing.read_text().split()]
    return [f"oci:{layout}" for layout in layouts], unique_paths


def tarscan(paths: list[str], hashed: bool = False) -> int:
    """The floor: every unique layer once, tarfile ``r|``, nothing per member; ``hashed``: and the
    SHA-256 of every byte on the way, which checking each layer against its diff ID costs anyone."""
    members = 0
    for path in paths:
        with open(path, "rb", buffering=1 << 20) as raw:
            members += floor.scan(_Hashing(raw) if hashed else raw, "r|")  # type: ignore[arg-type]
    return members


class _Hashing:
    """A file whose bytes are hashed as they are read."""

    def __init__(self, raw: Any) -> None:
        self._raw = raw
        self._hash = hashlib.sha256()

    def read(self, size: int = -1) -> bytes:
        data = self._raw.read(size)
        self._hash.update(data)
        return bytes(data)


def _listing(references: list[str]) -> Path:
    """The fleet's references, one a line, for ``audit --from``."""
    listing = Path(references[0].split(":", 1)[1]).parent / "images.txt"
    listing.write_text("\n".join(references) + "\n")
    return listing


def _audit(references: list[str], jobs: int) -> list[str]:
    """``audit`` with a fresh, empty cache directory each run (removed after)."""
    script = ('d=$(mktemp -d) && XDG_CACHE_HOME="$d" "$0" -m inspector audit --jobs "$1" --from "$2" >/dev/null; '
              'rc=$?; rm -rf "$d"; exit $rc')
    return ["sh", "-c", script, PY, str(jobs), str(_listing(references))]


def _audit_warm(references: list[str], jobs: int, cache: Path) -> list[str]:
    """``audit`` over one cache directory kept between runs: the warm-up round fills it, every
    measured run finds each layer there and does only the per-image reports."""
    script = 'XDG_CACHE_HOME="$3" "$0" -m inspector audit --jobs "$1" --from "$2" >/dev/null'
    return ["sh", "-c", script, PY, str(jobs), str(_listing(references)), str(cache)]


def rows(bench: Any, bases: list[Path], root: Path) -> list[Any]:
    """``bench`` is ``run.Bench`` (passed in: run.py imports this module, not the other way round)."""
    references, unique = build_fleet(bases, root)
    warm = root / "warm-cache"
    shutil.rmtree(warm, ignore_errors=True)  # filled by this bench's warm-up round, from nothing
    floor = [PY, "-m", "tests.bench.audit_rows", "tarscan", *map(str, unique)]
    hashed = [PY, "-m", "tests.bench.audit_rows", "tarscan-sha256", *map(str, unique)]
    _ROWS[:] = [
        bench("audit.tarscan", f"fleet of {IMAGES} on 2 bases: tarfile scan (r|), unique layers only", floor),
        bench("audit.tarscan_sha256", f"fleet of {IMAGES}: the same scan + SHA-256 of every byte (diff-ID check)",
              hashed, baseline="audit.tarscan"),
        bench("audit.jobs1", f"fleet of {IMAGES}: ours audit --jobs 1, empty cache", _audit(references, 1),
              baseline="audit.tarscan", goal_ratio=1.5),
        bench("audit.jobs2", f"fleet of {IMAGES}: ours audit --jobs 2, empty cache", _audit(references, 2),
              baseline="audit.tarscan", cpu_comparable=False),
        bench("audit.jobs2_warm", f"fleet of {IMAGES}: ours audit --jobs 2, the cache filled by the warm-up",
              _audit_warm(references, 2, warm), baseline="audit.tarscan", cpu_comparable=False),
    ]
    return list(_ROWS)


def note(series: dict[str, Any]) -> str:
    """Images per second, and (from one more run with --jobs 1) each phase's seconds: the unique-layer
    phase is what the floor compares with; the image phase is the per-image reports."""
    if "audit.jobs2" not in series:
        return ""
    seconds = series["audit.jobs2"].median()
    one = series["audit.jobs1"].median() if "audit.jobs1" in series else None
    text = f"audit: {IMAGES} images with --jobs 2 in {seconds:.2f} s: {IMAGES / seconds:.1f} images/s"
    text += f" (--jobs 1: {IMAGES / one:.1f} images/s)" if one else ""
    if "audit.jobs2_warm" in series:
        warm = series["audit.jobs2_warm"].median()
        text += f"; over a filled cache {warm:.2f} s: {IMAGES / warm:.1f} images/s"
    command = next((row for row in _ROWS if row.key == "audit.jobs1"), None)
    if command is None:
        return text
    script = command.cmd[2].replace(">/dev/null", "2>&1 >/dev/null")
    proc = subprocess.run(["sh", "-c", script, *command.cmd[3:]], capture_output=True, text=True)
    phases = re.search(r"manifests ([0-9.]+) s, layers ([0-9.]+) s, images ([0-9.]+) s", proc.stdout)
    if phases and "audit.tarscan" in series:
        floor = series["audit.tarscan"].median()
        layers = float(phases[2])
        text += (f"\naudit --jobs 1, one more run: manifests {phases[1]} s, unique layers {layers:.1f} s "
                 f"({layers / floor:.2f}x the tarfile floor of {floor:.2f} s), per-image reports {phases[3]} s")
    return text


def main(argv: list[str]) -> int:
    if argv[:1] in (["tarscan"], ["tarscan-sha256"]):
        print(f"members={tarscan(argv[1:], hashed=argv[0] == 'tarscan-sha256')}")
        return 0
    import argparse

    from . import images
    from .run import REPO_ROOT, Bench, measure, report

    parser = argparse.ArgumentParser(prog="python -m tests.bench.audit_rows")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warmup", type=int, default=1)
    args = parser.parse_args(argv)
    fat, distroless = images.realistic_images(with_engine=False)
    table = rows(Bench, [fat.docker_archive, distroless.docker_archive], images.cache_dir() / "audit")
    os.chdir(REPO_ROOT)
    series = measure(table, args.runs, args.warmup, "audit")
    print(report(table, series, []))
    print(note(series))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

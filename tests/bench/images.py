"""The images the benchmark reads: a large real one built by the engine, and a quick synthetic one.

Everything is built once and kept under ``~/.cache/inspect-image-bench/`` (or ``$INSPECT_IMAGE_BENCH_CACHE``),
keyed by a version string: change ``LARGE_VERSION`` / ``QUICK_VERSION`` when the recipe changes and
the next run builds afresh. A file only counts as built once its ``.done`` marker exists, so an
interrupted build is redone rather than reused.

Large image (needs root, ``debootstrap``, ``skopeo`` and a Docker engine; no network beyond Debian's
apt mirror, which only ``debootstrap`` uses):

1. ``debootstrap --variant=minbase bookworm`` into a scratch dir, tarred to ``debian-bookworm-minbase.tar``;
2. ``docker import`` of that tarball as the base;
3. a Dockerfile on top (classic builder, no build context) that copies ``/usr`` twice, removes
   directories again (whiteouts, an opaque directory), hardlinks a tree, writes 10,000 small files
   and three big files (random and compressible bytes);
4. ``docker save`` to ``large-vN.docker.tar`` and ``skopeo copy`` to a gzip ``large-vN.oci.tar``;
   the OCI archive's layer blobs are also extracted to ``large-vN.oci-blobs/`` for ``gzip -dc``.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

LARGE_VERSION = "1"
LARGE_TAG = f"inspector-bench/large:{LARGE_VERSION}"
BASE_TAG = "inspector-bench/debian-minbase:bookworm"
QUICK_VERSION = "2"
QUICK_TAG = f"inspector-bench/quick:{QUICK_VERSION}"
VERSION_LABEL = "inspector.bench.version"
DEBIAN_MIRROR = os.environ.get("INSPECT_IMAGE_BENCH_MIRROR", "http://deb.debian.org/debian")

#: On top of the debootstrap base. No build context, no network: every byte comes from the base.
LARGE_DOCKERFILE = f"""\
FROM {BASE_TAG}
LABEL {VERSION_LABEL}="{LARGE_VERSION}"
# Layer: a full copy of /usr (regular files, symlinks, hardlinks inside the copy).
RUN cp -a /usr /opt/copy1
# Layer: a second copy plus /etc and /var.
RUN cp -a /usr /opt/copy2 && cp -a /etc /opt/etc2 && cp -a /var /opt/var2
# Layer: deletions of lower-layer trees (whiteouts), a directory replaced (opaque), hardlinks.
RUN rm -rf /opt/copy1/share/locale /opt/copy1/share/doc /opt/copy2/lib/x86_64-linux-gnu/perl-base \\
        /usr/share/doc /usr/share/man /opt/var2/lib/dpkg/info \\
 && rm -rf /opt/copy2/share && mkdir -p /opt/copy2/share/replaced && echo replaced > /opt/copy2/share/replaced/f \\
 && cp -al /opt/copy1/bin /opt/hardlinked-bin
# Layer: 10,000 small files in 100 directories.
RUN mkdir -p /opt/many && cd /opt/many \\
 && for d in $(seq 1 100); do mkdir d$d; for f in $(seq 1 100); do echo "file $d/$f" > d$d/f$f; done; done
# Layer: big files: 96 MiB of random bytes, 64 MiB of compressible binaries, 80 MiB random.
RUN mkdir -p /opt/big && head -c 100663296 /dev/urandom > /opt/big/random96 \\
 && for i in $(seq 1 30); do cat /usr/bin/* 2>/dev/null; done | head -c 67108864 > /opt/big/binaries64
RUN head -c 83886080 /dev/urandom > /opt/big/random80 && rm -rf /opt/many/d1 /opt/many/d2
ENV BENCH=1
CMD ["/bin/sh"]
"""


def log(message: str) -> None:
    print(f"[bench] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    root = os.environ.get("INSPECT_IMAGE_BENCH_CACHE")
    path = Path(root) if root else Path.home() / ".cache" / "inspect-image-bench"
    path.mkdir(parents=True, exist_ok=True)
    return path


def _done(path: Path) -> Path:
    return path.with_name(path.name + ".done")


def _is_built(path: Path) -> bool:
    return path.exists() and _done(path).exists()


def _mark_built(path: Path, note: str = "") -> None:
    _done(path).write_text(note + "\n")


def forget_stale(kind: str, version: str, engine: bool) -> None:
    """Remove cached files (and engine tags) of other versions of ``kind`` ("large" or "quick")."""
    keep = f"{kind}-v{version}."
    for path in cache_dir().glob(f"{kind}-v*"):
        if not path.name.startswith(keep):
            log(f"removing stale {path}")
            shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    if engine:
        listed = subprocess.run(["docker", "images", "--format", "{{.Repository}}:{{.Tag}}",
                                 f"inspector-bench/{kind}"], capture_output=True, text=True)
        for tag in listed.stdout.split():
            if tag != f"inspector-bench/{kind}:{version}":
                _run(["docker", "rmi", tag], stdout=subprocess.DEVNULL)


def _run(cmd: list[str], **kwargs) -> subprocess.CompletedProcess:
    log("$ " + " ".join(cmd))
    return subprocess.run(cmd, check=True, **kwargs)


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


def engine_has(tag: str, version: str | None = None) -> bool:
    proc = subprocess.run(["docker", "image", "inspect", tag], capture_output=True)
    if proc.returncode != 0:
        return False
    if version is None:
        return True
    labels = (json.loads(proc.stdout)[0].get("Config") or {}).get("Labels") or {}
    return labels.get(VERSION_LABEL) == version


def image_id(tag: str) -> str:
    return subprocess.run(["docker", "image", "inspect", "--format", "{{.Id}}", tag], capture_output=True,
                          check=True, text=True).stdout.strip()


# --------------------------------------------------------------------------------------------
# large image
# --------------------------------------------------------------------------------------------

@dataclass
class LargeImage:
    docker_archive: Path
    oci_archive: Path
    oci_blobs: list[Path] = field(default_factory=list)  # the gzip layer blobs, in stack order
    tag: str = LARGE_TAG
    in_engine: bool = False


def debian_rootfs() -> Path:
    """The debootstrap minbase rootfs as a tarball (built once)."""
    tarball = cache_dir() / "debian-bookworm-minbase.tar"
    if _is_built(tarball):
        return tarball
    if shutil.which("debootstrap") is None:
        raise SystemExit("debootstrap is missing: apt-get install debootstrap (needed once, to build the base)")
    if os.geteuid() != 0:
        raise SystemExit("debootstrap needs root (needed once, to build the base image)")
    scratch = Path(tempfile.mkdtemp(prefix="debootstrap-", dir=cache_dir()))
    try:
        started = time.monotonic()
        _run(["debootstrap", "--variant=minbase", "bookworm", str(scratch / "root"), DEBIAN_MIRROR],
             stdout=subprocess.DEVNULL)
        log(f"debootstrap took {time.monotonic() - started:.0f}s")
        # apt's downloaded .debs are not part of any real base image
        shutil.rmtree(scratch / "root" / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        partial = tarball.with_suffix(".tar.partial")
        _run(["tar", "--numeric-owner", "--xattrs", "-C", str(scratch / "root"), "-cf", str(partial), "."])
        partial.rename(tarball)
        _mark_built(tarball)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return tarball


def _build_large_in_engine() -> None:
    if not engine_has(BASE_TAG):
        rootfs = debian_rootfs()
        _run(["docker", "import", "--change", "CMD [\"/bin/sh\"]", str(rootfs), BASE_TAG],
             stdout=subprocess.DEVNULL)
    started = time.monotonic()
    env = dict(os.environ, DOCKER_BUILDKIT="0")
    _run(["docker", "build", "--network", "none", "-t", LARGE_TAG, "-"], input=LARGE_DOCKERFILE.encode(), env=env,
         stdout=subprocess.DEVNULL)
    log(f"docker build took {time.monotonic() - started:.0f}s")


def large_image(need_engine: bool) -> LargeImage:
    """Build (or reuse) the large image, its docker-archive, its gzip oci-archive and extracted blobs."""
    cache = cache_dir()
    docker_tar = cache / f"large-v{LARGE_VERSION}.docker.tar"
    oci_tar = cache / f"large-v{LARGE_VERSION}.oci.tar"
    engine = engine_answers()
    if need_engine and not engine:
        raise SystemExit("no Docker engine answers `docker version`; the full benchmark needs one (try --quick)")
    forget_stale("large", LARGE_VERSION, engine)
    in_engine = engine and engine_has(LARGE_TAG, LARGE_VERSION)
    if engine and not in_engine:
        if _is_built(docker_tar):  # the archive survived (e.g. a pruned engine): load it back, no rebuild
            _run(["docker", "load", "-i", str(docker_tar)], stdout=subprocess.DEVNULL)
        else:
            _build_large_in_engine()
        in_engine = True
    if not _is_built(docker_tar):
        if not in_engine:
            raise SystemExit(f"{docker_tar} is not built and no engine answers to build it")
        partial = docker_tar.with_suffix(".tar.partial")
        _run(["docker", "save", "-o", str(partial), LARGE_TAG])
        partial.rename(docker_tar)
        _mark_built(docker_tar, image_id(LARGE_TAG))
        for stale in (oci_tar, _done(oci_tar)):
            stale.unlink(missing_ok=True)
    if not _is_built(oci_tar):
        if shutil.which("skopeo") is None:
            raise SystemExit("skopeo is missing: apt-get install skopeo (needed once, for the oci-archive)")
        partial = oci_tar.with_suffix(".tar.partial")
        partial.unlink(missing_ok=True)
        _run(["skopeo", "copy", "--quiet", "--dest-compress-format", "gzip",
              f"docker-archive:{docker_tar}", f"oci-archive:{partial}"])
        partial.rename(oci_tar)
        _mark_built(oci_tar)
    blobs = extract_layer_blobs(oci_tar, cache / f"large-v{LARGE_VERSION}.oci-blobs")
    return LargeImage(docker_tar, oci_tar, blobs, LARGE_TAG, in_engine)


def extract_layer_blobs(oci_tar: Path, into: Path) -> list[Path]:
    """Copy the layer blobs of the (single-image) OCI archive to files, in stack order."""
    marker = _done(into)
    if marker.exists():
        names = marker.read_text().split()
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
    marker.write_text("\n".join(names) + "\n")
    return [into / n for n in names]


# --------------------------------------------------------------------------------------------
# quick synthetic image
# --------------------------------------------------------------------------------------------

def _quick_spec():
    """~50k small entries over four layers, with whiteouts, an opaque directory, symlinks, hardlinks.

    Sized so that ``--quick`` (three rounds, engine rows included) stays under a minute on two cores:
    the engine's own ``docker save`` of many small files costs about as much as our parse does.
    """
    from testdata.imagebuilder import E, ImageSpec, opaque, whiteout

    def tree(root: str, dirs: int, files: int, tag: str) -> list:
        entries = [E(f"{root}/", "dir")]
        for d in range(dirs):
            entries.append(E(f"{root}/d{d:03}/", "dir"))
            for f in range(files):
                entries.append(E(f"{root}/d{d:03}/f{f:03}.txt", data=f"{tag} {d} {f}\n".encode()))
            entries.append(E(f"{root}/d{d:03}/link", "symlink", target="f000.txt"))
            entries.append(E(f"{root}/d{d:03}/hard", "hardlink", target=f"{root}/d{d:03}/f001.txt"))
        return entries

    base = [E("bin/", "dir"), E("bin/sh", data=b"\x7fELF" + bytes(2000), mode=0o755),
            E("etc/", "dir"), E("etc/os-release", data=b"ID=bench\n"), E("usr/", "dir")]
    layer1 = base + tree("usr/lib", 100, 150, "one")            # ~15.3k entries
    layer2 = tree("usr/share", 100, 150, "two")                  # ~15.3k entries
    layer3 = [whiteout(f"usr/lib/d{d:03}") for d in range(0, 100, 4)] + [opaque("usr/share/d001")] \
        + tree("opt/app", 70, 150, "three")                      # ~10.7k entries
    layer4 = [whiteout(f"opt/app/d{d:03}/f{f:03}.txt") for d in range(0, 70, 3) for f in range(0, 150, 10)] \
        + tree("srv/data", 60, 150, "four")                      # ~9.6k entries
    return ImageSpec([layer1, layer2, layer3, layer4], config={"Cmd": ["/bin/sh"]}, tags=[QUICK_TAG])


def quick_image(use_engine: bool) -> LargeImage:
    """Write (or reuse) the synthetic image as a docker-archive and a gzip oci-archive; load it if asked."""
    from testdata.imagebuilder import write_docker_archive, write_oci_layout

    cache = cache_dir()
    forget_stale("quick", QUICK_VERSION, use_engine)
    docker_tar = cache / f"quick-v{QUICK_VERSION}.docker.tar"
    oci_tar = cache / f"quick-v{QUICK_VERSION}.oci.tar"
    if not (_is_built(docker_tar) and _is_built(oci_tar)):
        started = time.monotonic()
        spec = _quick_spec()
        entries = sum(map(len, spec.layers))
        log(f"writing the quick image ({entries} layer entries)")
        write_docker_archive(docker_tar, spec, "legacy")
        _mark_built(docker_tar, f"{entries} layer entries")
        write_oci_layout(oci_tar, spec, compression="gzip", as_tar=True)
        _mark_built(oci_tar)
        log(f"quick image written in {time.monotonic() - started:.1f}s")
    blobs = extract_layer_blobs(oci_tar, cache / f"quick-v{QUICK_VERSION}.oci-blobs")
    in_engine = False
    if use_engine:
        in_engine = engine_has(QUICK_TAG)
        if not in_engine:
            _run(["docker", "load", "-i", str(docker_tar)], stdout=subprocess.DEVNULL)
            in_engine = engine_has(QUICK_TAG)
    return LargeImage(docker_tar, oci_tar, blobs, QUICK_TAG, in_engine)

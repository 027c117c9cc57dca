"""Fixtures for the engine-parity tests (everything under ``tests/engine`` is marked ``engine``).

* ``docker_client`` -- a ``docker`` SDK client; skips the tests when no engine answers, unless
  ``INSPECTOR_REQUIRE_DOCKER=1`` (CI), which turns that into a failure.
* ``engine_images`` -- builds (classic builder, through the SDK's build API), loads and imports test
  images, all tagged ``inspector-test/...``; removes every image it made (and the intermediate
  images of its builds) at session end. Containers are removed as soon as they are exported.
* ``busybox_base`` -- ``inspector-test/busybox:latest``, imported from a tar made here with the
  host's static ``/bin/busybox``: the base of every ``docker build`` (there is no registry).
"""

from __future__ import annotations

import io
import os
import re
import shutil
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_REPO_ROOT = Path(__file__).resolve().parents[2]
if str(_REPO_ROOT) not in sys.path:  # ``testdata`` is not installed, only the repository has it
    sys.path.insert(0, str(_REPO_ROOT))

from testdata.imagebuilder import ImageSpec, write_docker_archive  # noqa: E402

from .helpers import EngineListing, export_listing  # noqa: E402

_HERE = Path(__file__).resolve().parent
TAG_PREFIX = "inspector-test/"
#: Tag of this session's scenario images: sessions sharing an engine must not clobber each other.
SESSION = f"t{os.getpid()}"
BUSYBOX_TAG = "inspector-test/busybox:latest"
HOST_BUSYBOX = "/bin/busybox"
#: Applets linked in the base image (busybox picks the applet from argv[0]; no setcap applet exists).
BUSYBOX_APPLETS = ("sh", "ls", "cp", "ln", "rm", "mkdir", "chmod", "chown", "touch", "mkfifo", "mknod",
                   "echo", "cat", "dd", "true", "printf", "mv")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Every test collected from this directory needs the engine: give it the ``engine`` marker."""
    for item in items:
        if _HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.engine)


# ---------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------

def _engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "unix:///var/run/docker.sock"


@pytest.fixture(scope="session")
def docker_client() -> Iterator[Any]:
    """A connected SDK client, or a skip (a failure with ``INSPECTOR_REQUIRE_DOCKER=1``)."""
    required = os.environ.get("INSPECTOR_REQUIRE_DOCKER") == "1"
    try:
        import docker

        client = docker.from_env(timeout=300)
        client.ping()
    except Exception as exc:  # ImportError, DockerException, connection errors...
        reason = (f"no Docker engine reachable at {_engine_address()}; start dockerd or set DOCKER_HOST "
                  f"({type(exc).__name__}: {exc})")
        if required:
            pytest.fail(f"INSPECTOR_REQUIRE_DOCKER=1 but {reason}", pytrace=False)
        pytest.skip(reason)
    try:
        yield client
    finally:
        client.close()


class BuildError(AssertionError):
    pass


class EngineImages:
    """Makes ``inspector-test/...`` images and remembers everything to remove at the end.

    Several test sessions may share one engine (and the classic builder's cache): scenario tags
    carry this session's :data:`SESSION` token, builds start ``FROM`` the base image's *ID* (another
    session may move or remove the shared base tag), and cleanup never forces: a tag is removed
    only while it still names the image this session made, an ID only when nothing else uses it.
    """

    def __init__(self, client: Any) -> None:
        self.client = client
        self._made: list[tuple[str, str]] = []  # (tag, image id), in creation order
        self._ids: list[str] = []  # every image id made here, incl. build intermediates and stages

    @staticmethod
    def tag_for(name: str) -> str:
        return name if name.startswith(TAG_PREFIX) else f"{TAG_PREFIX}{name}:{SESSION}"

    def id_of(self, tag: str) -> str:
        """The ID of the image this session made under ``tag``."""
        return next(image_id for made, image_id in reversed(self._made) if made == tag)

    def _record(self, tag: str, image_id: str) -> None:
        self._made.append((tag, image_id))
        self._ids.append(image_id)

    # making images -----------------------------------------------------------------------------
    def build(self, name: str, dockerfile: str, files: dict[str, bytes] | None = None) -> str:
        """``docker build`` ``dockerfile`` (classic builder, no pull, ``rm``); returns the tag.

        ``{BASE}`` in the Dockerfile becomes the ID of ``inspector-test/busybox:latest`` (request
        the ``busybox_base`` fixture first). The SDK's build API is the classic builder on a 20.10
        daemon (BuildKit would need ``version=2`` and a session) -- what ``DOCKER_BUILDKIT=0 docker
        build`` runs, and with the Docker 28 CLI and no buildx plugin the only builder there is.
        """
        tag = self.tag_for(name)
        if "{BASE}" in dockerfile:
            dockerfile = dockerfile.replace("{BASE}", self.id_of(BUSYBOX_TAG))
        context = io.BytesIO()
        with tarfile.open(fileobj=context, mode="w") as tf:
            for member, data in {"Dockerfile": dockerfile.encode(), **(files or {})}.items():
                info = tarfile.TarInfo(member)
                info.size, info.mode = len(data), 0o644
                tf.addfile(info, io.BytesIO(data))
        context.seek(0)
        log: list[str] = []
        image_id = None
        for chunk in self.client.api.build(fileobj=context, custom_context=True, tag=tag, rm=True,
                                           forcerm=True, pull=False, decode=True):
            if "stream" in chunk:
                log.append(chunk["stream"])
                for line in chunk["stream"].splitlines():
                    match = re.fullmatch(r" ---> ([0-9a-f]{12})", line.rstrip())
                    if match:
                        self._ids.append(match.group(1))
            if "error" in chunk:
                raise BuildError(f"docker build {tag} failed: {chunk['error']}\n{''.join(log)}")
            image_id = (chunk.get("aux") or {}).get("ID", image_id)
        if not image_id:
            raise BuildError(f"docker build {tag}: no image ID reported\n{''.join(log)}")
        self._record(tag, image_id)
        return tag

    def load(self, specs: ImageSpec | list[ImageSpec], workdir: Path) -> list[str]:
        """``docker load`` an archive written by ``testdata.imagebuilder`` (legacy layout).

        Give the specs tags made with :meth:`tag_for`; returns them.
        """
        specs = specs if isinstance(specs, list) else [specs]
        tags = [t for spec in specs for t in spec.tags]
        assert specs and all(spec.tags for spec in specs) and all(t.startswith(TAG_PREFIX) for t in tags), tags
        archive = workdir / f"load-{len(self._made)}-{len(tags)}.tar"
        write_docker_archive(archive, specs, "legacy")
        with open(archive, "rb") as fh:
            self.client.images.load(fh)
        archive.unlink()
        for tag in tags:
            self._record(tag, self.client.images.get(tag).id)
        return tags

    def import_tar(self, tag: str, data: bytes) -> str:
        """``docker import`` a root filesystem tar as a one-layer image; returns ``tag``."""
        repo, _, version = tag.rpartition(":")
        reply = self.client.api.import_image_from_data(data, repository=repo, tag=version)
        found = re.findall(r"sha256:[0-9a-f]{64}", str(reply))
        self._record(tag, found[-1] if found else self.client.images.get(tag).id)
        return tag

    # reading them ----------------------------------------------------------------------------
    def save(self, tag: str, path: Path) -> Path:
        """``docker save TAG > path``."""
        with open(path, "wb") as fh:
            for chunk in self.client.images.get(tag).save(chunk_size=1 << 20, named=True):
                fh.write(chunk)
        return path

    def export(self, tag: str) -> EngineListing:
        return export_listing(tag, self.client)

    # cleaning up ---------------------------------------------------------------------------
    def cleanup(self) -> list[str]:
        """Remove every image made here; returns what could not be removed (besides shared ones).

        Tags first (only while they still name our image), then the IDs that no tag names any
        more, newest first; a 409 (the image still has children) is retried after the others went,
        and left alone if it persists.
        """
        import docker

        for tag, image_id in reversed(self._made):
            try:
                if self.client.images.get(tag).id == image_id:
                    self.client.images.remove(tag, noprune=False)
            except docker.errors.ImageNotFound:
                pass
            except docker.errors.APIError:
                pass  # still in use: the ID pass below reports it if it stays
        pending = list(dict.fromkeys(reversed(self._ids)))
        errors: dict[str, str] = {}
        while pending:
            left = []
            for ref in pending:
                try:
                    if self.client.images.get(ref).tags:
                        continue  # tagged by someone else (same content loaded, or a cache hit)
                    self.client.images.remove(ref, noprune=False)
                except docker.errors.ImageNotFound:
                    pass
                except docker.errors.APIError as exc:
                    left.append(ref)
                    errors[ref] = str(exc)
            if len(left) == len(pending):
                # "referenced in multiple repositories" / "has dependent child images": another
                # session (or the user) uses it too -- theirs to remove, not a problem.
                return [f"{ref}: {errors[ref]}" for ref in left
                        if "multiple repositories" not in errors[ref] and "child images" not in errors[ref]]
            pending = left
        return []


@pytest.fixture(scope="session")
def engine_images(docker_client: Any) -> Iterator[EngineImages]:
    images = EngineImages(docker_client)
    try:
        yield images
    finally:
        problems = images.cleanup()
        if problems:
            print("\nengine tests: could not remove:\n  " + "\n  ".join(problems), file=sys.stderr)


@pytest.fixture(scope="session")
def engine_workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("engine")


# ---------------------------------------------------------------------------------------------
# the base image
# ---------------------------------------------------------------------------------------------

def busybox_rootfs_tar(busybox: str = HOST_BUSYBOX) -> bytes:
    """``/bin/busybox`` (static, from the host) + applet symlinks, ``/etc``, ``/tmp`` (1777)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tf:
        def add(name: str, kind: bytes, mode: int, data: bytes = b"", target: str = "") -> None:
            info = tarfile.TarInfo(name)
            info.type, info.mode, info.linkname, info.size = kind, mode, target, len(data)
            info.mtime = 1_600_000_000
            tf.addfile(info, io.BytesIO(data))

        for d in ("bin/", "etc/"):
            add(d, tarfile.DIRTYPE, 0o755)
        add("tmp/", tarfile.DIRTYPE, 0o1777)
        with open(busybox, "rb") as fh:
            add("bin/busybox", tarfile.REGTYPE, 0o755, fh.read())
        for applet in BUSYBOX_APPLETS:
            add(f"bin/{applet}", tarfile.SYMTYPE, 0o777, target="busybox")
    return buf.getvalue()


def _is_static_elf(path: str) -> bool:
    """An ELF executable without a PT_INTERP program header (no dynamic loader needed)."""
    import struct

    with open(path, "rb") as fh:
        head = fh.read(64)
        if head[:4] != b"\x7fELF" or head[4] != 2:  # ELF, 64-bit
            return False
        endian = "<" if head[5] == 1 else ">"
        phoff, = struct.unpack_from(endian + "Q", head, 32)
        phentsize, phnum = struct.unpack_from(endian + "HH", head, 54)
        fh.seek(phoff)
        table = fh.read(phentsize * phnum)
    return all(struct.unpack_from(endian + "I", table, i * phentsize)[0] != 3 for i in range(phnum))


@pytest.fixture(scope="session")
def busybox_base(engine_images: EngineImages) -> str:
    """``inspector-test/busybox:latest``: the ``FROM`` of every build in these tests."""
    busybox = HOST_BUSYBOX if os.path.exists(HOST_BUSYBOX) else shutil.which("busybox")
    if not busybox or not _is_static_elf(busybox):
        reason = f"no static busybox at {HOST_BUSYBOX} (apt-get install busybox-static)"
        if os.environ.get("INSPECTOR_REQUIRE_DOCKER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    return engine_images.import_tar(BUSYBOX_TAG, busybox_rootfs_tar(busybox))

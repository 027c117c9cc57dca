"""Helpers for the engine-parity tests: the engine's view of an image, ours, and their difference.

Both views are ``{path: {type, mode, uid, gid, size, target, device, caps}}`` in the vocabulary of
``inspect-image --files --format json`` (``mode`` as a 4-digit octal string including
setuid/setgid/sticky, ``size`` the content size of regular files and 0 for everything else,
``target`` of symlinks, ``device`` ``[major, minor]`` of char/block devices, ``caps`` the hex of a
``security.capability`` xattr -- the only xattr ``docker export`` writes).

The engine's view is ``docker export`` of a container that was created (never started) from the
image. Creating a container makes the runtime add a few entries of its own (the "init layer" plus
the working directory); :func:`runtime_normalised` removes exactly those, each rule documented at
:data:`RUNTIME_FILES` / :data:`RUNTIME_DIRS` and established empirically against Docker 20.10
(overlay2), see ``test_parity.test_runtime_additions_are_exactly_what_we_ignore``.
"""

from __future__ import annotations

import io
import json
import os
import posixpath
import subprocess
import sys
import tarfile
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

REPO_ROOT = Path(__file__).resolve().parents[2]

#: Fields compared between the two views (``mtime`` is not: the runtime touches directories).
FIELDS = ("type", "mode", "uid", "gid", "size", "target", "device", "caps")

# ---------------------------------------------------------------------------------------------
# What the runtime adds: moby daemon/initlayer/setup_unix.go (the "-init" layer every container
# gets between the image and its writable layer) and daemon/create_unix.go.
#
# For each path below the init layer first unlink()s every path component (in the init layer, so
# a lower *file or symlink* of that name is hidden, but unlink() fails on a directory, which then
# stays), then creates what is missing with MkdirAllAndChownNew(0755, root) / open(O_CREATE, 0755)
# -- "New": nothing that already exists is chowned or chmodded. Observed on Docker 20.10 overlay2:
#   * image /etc 0700 5:6        -> export /etc 0700 5:6 (kept; only its mtime changes)
#   * image /etc/hosts 0600 uid 3 with content -> export: empty 0755 root file
#   * image /etc -> private/etc (symlink)     -> export: a new 0755 root *directory* /etc holding
#     only the runtime files; the symlink is gone
#   * image /proc a regular file              -> export: 0755 root directory /proc
#   * image /dev/null (char 1,3)              -> kept, next to the added /dev/console etc.
#   * config WorkingDir=/work/deep, missing in the layers -> export: /work and /work/deep, 0755 root
#   * config Volumes={/data/vol: {}}          -> NOT created by `docker create` (only at start)
# ---------------------------------------------------------------------------------------------

#: Always replaced by the runtime (unlinked, then created empty, 0755 or a symlink), whatever the
#: image holds there: dropped from both views.
RUNTIME_FILES = frozenset({
    "/.dockerenv",        # empty 0755 file: marks "inside a Docker container"
    "/etc/hosts",         # empty 0755 file: bind-mount target for the container's hosts file
    "/etc/hostname",      # empty 0755 file: bind-mount target
    "/etc/resolv.conf",   # empty 0755 file: bind-mount target
    "/etc/mtab",          # symlink -> /proc/mounts
    "/dev/console",       # empty 0755 file: bind-mount target for the console tty
})

#: Directories the runtime creates (0755 root) only when the image has no directory there; an
#: image directory keeps its own mode and owner. Dropped from both views when our listing has no
#: directory at that path (absent, or a file/symlink the runtime replaced).
RUNTIME_DIRS = frozenset({
    "/dev", "/dev/pts", "/dev/shm",  # mount points for devtmpfs/devpts/shm (and parents)
    "/proc", "/sys",                 # mount points for procfs/sysfs
    "/etc",                          # parent of the runtime files above
})


def workdir_dirs(working_dir: str | None) -> set[str]:
    """``docker create`` makes the config's WorkingDir and its missing parents (0755 root)."""
    if not working_dir:
        return set()
    out, path = set(), posixpath.normpath("/" + working_dir.lstrip("/"))  # never "//x"
    while path != "/":
        out.add(path)
        path = posixpath.dirname(path)
    return out


@dataclass
class EngineListing:
    """``docker export`` entries, plus the paths the runtime may have created for the workdir."""

    entries: dict[str, dict[str, Any]]
    workdir: set[str] = field(default_factory=set)
    image: str = ""


# ---------------------------------------------------------------------------------------------
# the engine's view
# ---------------------------------------------------------------------------------------------

class _ChunkReader(io.RawIOBase):
    """A readable file over an iterator of byte chunks (the SDK's streamed HTTP body)."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks: Iterator[bytes] = iter(chunks)
        self._buf = b""

    def readable(self) -> bool:
        return True

    def readinto(self, b: Any) -> int:
        while not self._buf:
            try:
                self._buf = next(self._chunks)
            except StopIteration:
                return 0
        n = min(len(b), len(self._buf))
        b[:n] = self._buf[:n]
        self._buf = self._buf[n:]
        return n


_TAR_KIND = {
    tarfile.REGTYPE: "file", tarfile.AREGTYPE: "file", tarfile.CONTTYPE: "file",
    tarfile.DIRTYPE: "dir", tarfile.SYMTYPE: "symlink", tarfile.CHRTYPE: "char",
    tarfile.BLKTYPE: "block", tarfile.FIFOTYPE: "fifo",
}


def _tar_path(name: str) -> str:
    """``./a/b/``, ``a/b``, ``/a/b`` -> ``/a/b`` (one leading slash: normpath keeps ``//``)."""
    return posixpath.normpath("/" + name.lstrip("/"))


def listing_of_tar(stream: IO[bytes]) -> dict[str, dict[str, Any]]:
    """Entries of an (export) tar stream; hardlinks take their target's type and size."""
    out: dict[str, dict[str, Any]] = {}
    with tarfile.open(fileobj=stream, mode="r|", encoding="utf-8", errors="surrogateescape") as tf:
        for ti in tf:
            path = _tar_path(ti.name)
            if path == "/":
                continue
            caps = ti.pax_headers.get("SCHILY.xattr.security.capability")
            entry = {"type": None, "mode": f"{ti.mode & 0o7777:04o}", "uid": ti.uid, "gid": ti.gid,
                     "size": 0, "target": None, "device": None,
                     "caps": caps.encode("utf-8", "surrogateescape").hex() if caps is not None else None}
            if ti.type == tarfile.LNKTYPE:
                linked = out[_tar_path(ti.linkname)]  # always an earlier member of the same tar
                entry["type"], entry["size"] = linked["type"], linked["size"]
            else:
                entry["type"] = _TAR_KIND.get(ti.type, f"tar-type-{ti.type!r}")
                if entry["type"] == "file":
                    entry["size"] = ti.size
                elif entry["type"] == "symlink":
                    entry["target"] = ti.linkname
                elif entry["type"] in ("char", "block"):
                    entry["device"] = [ti.devmajor, ti.devminor]
            out[path] = entry
    return out


def export_listing(image: str, client: Any = None) -> EngineListing:
    """``docker create`` a container from ``image`` (not started), read ``docker export`` of it.

    The container is removed again. The result still holds what the runtime added; compare it
    through :func:`runtime_normalised` (or :func:`parity_diff`).
    """
    if client is None:
        import docker

        client = docker.from_env()
    # A command is required when the image has neither Cmd nor Entrypoint; it never runs.
    container = client.containers.create(image, command=["/inspector-test-never-runs"])
    try:
        working_dir = (container.attrs.get("Config") or {}).get("WorkingDir")
        reader = io.BufferedReader(_ChunkReader(container.export(chunk_size=1 << 20)), 1 << 20)
        entries = listing_of_tar(reader)
    finally:
        container.remove(force=True)
    return EngineListing(entries, workdir_dirs(working_dir), image)


# ---------------------------------------------------------------------------------------------
# our view
# ---------------------------------------------------------------------------------------------

def inspector_env() -> dict[str, str]:
    env = dict(os.environ)
    env.pop("INSPECTOR_DEBUG", None)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def our_json(ref: str, timeout: float = 120) -> bytes:
    """The raw stdout of ``python -m inspector REF --files --format json``; fails on non-zero exit."""
    proc = subprocess.run([sys.executable, "-m", "inspector", ref, "--files", "--format", "json"],
                          capture_output=True, cwd=REPO_ROOT, env=inspector_env(), timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"inspect-image {ref} --files --format json: exit {proc.returncode}\n"
                             f"{proc.stderr.decode('utf-8', 'replace')}")
    return proc.stdout


def listing_of_json(data: bytes | str) -> dict[str, dict[str, Any]]:
    """Our JSON array mapped to the comparison shape; duplicate paths are an error."""
    out: dict[str, dict[str, Any]] = {}
    for e in json.loads(data):
        if e["path"] in out:
            raise AssertionError(f"duplicate path in our listing: {e['path']!r}")
        caps = (e.get("xattrs") or {}).get("security.capability")
        out[e["path"]] = {"type": e["type"], "mode": e["mode"], "uid": e["uid"], "gid": e["gid"],
                          "size": e["size"], "target": e["target"],
                          "device": list(e["device"]) if e.get("device") else None, "caps": caps}
    return out


def our_listing(ref: str) -> dict[str, dict[str, Any]]:
    """``inspect-image REF --files --format json`` as ``{path: {type, mode, uid, gid, ...}}``."""
    return listing_of_json(our_json(ref))


# ---------------------------------------------------------------------------------------------
# comparing
# ---------------------------------------------------------------------------------------------

def runtime_normalised(ours: dict[str, dict[str, Any]], engine: EngineListing
                       ) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    """Both views without what the runtime (not the image) decides; see RUNTIME_FILES/RUNTIME_DIRS."""
    mine, theirs = dict(ours), dict(engine.entries)
    for path in RUNTIME_FILES:
        mine.pop(path, None)
        theirs.pop(path, None)
    for path in RUNTIME_DIRS:
        if (mine.get(path) or {}).get("type") != "dir":
            mine.pop(path, None)
            theirs.pop(path, None)
    for path in engine.workdir:
        if path not in mine:
            theirs.pop(path, None)
    return mine, theirs


def diff_listings(ours: dict[str, dict[str, Any]], engine: dict[str, dict[str, Any]]) -> list[str]:
    """One readable line per difference, sorted by path."""
    lines = []
    for path in sorted(set(ours) | set(engine)):
        a, b = ours.get(path), engine.get(path)
        if a is None:
            lines.append(f"  only in docker export: {path!r} {_brief(b)}")
        elif b is None:
            lines.append(f"  only in inspect-image: {path!r} {_brief(a)}")
        else:
            for key in FIELDS:
                if a.get(key) != b.get(key):
                    lines.append(f"  {path!r}: {key}: inspect-image={a.get(key)!r} docker-export={b.get(key)!r}")
    return lines


def _brief(e: dict[str, Any] | None) -> str:
    if not e:
        return ""
    text = f"{e['type']} {e['mode']} {e['uid']}:{e['gid']} size={e['size']}"
    if e.get("target") is not None:
        text += f" -> {e['target']!r}"
    if e.get("device"):
        text += f" dev={e['device']}"
    return text


def parity_diff(ours: dict[str, dict[str, Any]], engine: EngineListing) -> list[str]:
    return diff_listings(*runtime_normalised(ours, engine))


def assert_parity(ours: dict[str, dict[str, Any]], engine: EngineListing, what: str) -> None:
    lines = parity_diff(ours, engine)
    if lines:
        raise AssertionError(f"{what}: {len(lines)} difference(s) from docker export of "
                             f"{engine.image}:\n" + "\n".join(lines))

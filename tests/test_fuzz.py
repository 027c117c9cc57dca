"""A short, time-bounded fuzzing run of the archive readers and the reports, in-process.

Valid images are damaged four ways and fed to ``inspect-image REF VIEW`` through
``inspector.cli.main`` (no subprocess: a few milliseconds per run):

* bytes of the outer archive (flips, truncation, insertion, deletion, overwrites, tar header fields
  rewritten with a valid checksum), read with random access, as a one-pass stream from standard
  input, or as ``docker save | gzip``;
* bytes of one member: ``manifest.json``, ``index.json``, the OCI manifest, the config, an
  uncompressed layer tar, a gzip or zstd layer blob -- with every digest that names the member
  recomputed (so the damage gets past the digest checks and reaches the parsers) or left stale;
* JSON fields of ``manifest.json``, ``index.json``, the OCI manifest and the config replaced by
  values of the wrong type (numbers, lists, null, nested objects, other blobs' digests), digests
  recomputed;
* hostile layer contents: names that climb out or white out nothing, links anywhere, devices,
  odd modes and owners, truncated ELF headers, shebangs, JDK ``release`` files, capability xattrs.

Every run picks a view -- the summary, ``--files``, ``--bin``, ``--executables``, ``--jre``,
``--config``, as a table or as JSON -- and sometimes ``--verify``, ``--platform`` or ``--tag``.
Whatever the input, the CLI must exit 0, 2 or 3; stderr must be empty, warning lines, or one
``inspect-image: error:`` line; never a traceback nor the catch-all "internal error" (reserved for
bugs); stdout empty on an error and valid JSON on success with ``--format json``. Runs that read
layers run twice over one private per-layer cache: the second, answered from the cache, must give
the same exit code, errors and output.

Each input that once broke this promise is kept as an ``@example`` (minimised, with the function
that failed); an internal error is raised as ``InternalError_<exception>_in_<module>_<function>`` so
that Hypothesis reports different bugs separately.
"""

from __future__ import annotations

import copy
import gzip
import hashlib
import io
import json
import os
import signal
import struct
import sys
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from inspector.cli import main
from testdata.imagebuilder import E, layer_tar, opaque, whiteout

# ---------------------------------------------------------------------------------------------
# running the CLI in-process
# ---------------------------------------------------------------------------------------------

ERROR_PREFIX = "inspect-image: error:"
WARNING_PREFIX = "inspect-image: warning:"


HANG_SECONDS = 20  # the images here are tiny: a run this long is a loop that does not end


class Hang(BaseException):
    """Raised by SIGALRM in a run that takes too long (a BaseException: the CLI must not catch it)."""


def _hang(signum: int, frame: Any) -> None:
    raise Hang()


@contextmanager
def environment(**values: str | None) -> Iterator[None]:
    """Set (or, for None, unset) environment variables; all restored on exit."""
    with mock.patch.dict(os.environ):
        for name, value in values.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        yield


def run_cli(args: list[str], stdin: bytes | None = None, cache: Path | None = None,
            debug: bool = False) -> tuple[int, str, str]:
    """``inspect-image ARGS`` in this process: ``(exit code, stdout, stderr)``.

    ``cache`` is the XDG cache home for this run: the per-layer cache must neither touch the
    user's cache nor carry results from one example to the next (that would make failures flaky).
    """
    out_buf, err_buf = io.BytesIO(), io.BytesIO()
    out = io.TextIOWrapper(out_buf, encoding="utf-8", errors="backslashreplace", write_through=True)
    err = io.TextIOWrapper(err_buf, encoding="utf-8", errors="backslashreplace", write_through=True)
    saved = sys.stdout, sys.stderr, sys.stdin
    sys.stdout, sys.stderr = out, err
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    code: int
    previous = signal.signal(signal.SIGALRM, _hang)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    with tempfile.TemporaryDirectory() as fallback, \
            environment(INSPECTOR_DEBUG="1" if debug else None, XDG_CACHE_HOME=str(cache or fallback)):
        try:
            main(args)
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except Hang:
            raise AssertionError(f"inspect-image {' '.join(args)}: still running after {HANG_SECONDS} s") from None
        finally:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous)
            sys.stdout, sys.stderr, sys.stdin = saved
    return code, out_buf.getvalue().decode("utf-8", "replace"), err_buf.getvalue().decode("utf-8", "replace")


def traceback_of(args: list[str], stdin: bytes | None) -> str:
    """Run again with INSPECTOR_DEBUG=1, which lets the exception escape: its traceback."""
    import traceback

    try:
        run_cli(args, stdin, debug=True)
    except BaseException as exc:  # noqa: BLE001 - we want whatever escaped
        return "".join(traceback.format_exception(exc))
    return "(no exception escaped with INSPECTOR_DEBUG=1)"


_CRASHES: dict[str, type[AssertionError]] = {}


def crash_class(trace: str) -> type[AssertionError]:
    """One exception class per (exception type, innermost inspector function), so that Hypothesis
    tells different bugs apart, shrinks each on its own and reports them all."""
    import re

    frames = re.findall(r'File "[^"]*/inspector/([^"]+)", line \d+, in (\w+)', trace)
    raised = re.findall(r"^([\w.]+(?:Error|Exception)):", trace, re.MULTILINE)
    name = f"InternalError_{(raised[-1] if raised else 'unknown').rsplit('.', 1)[-1]}_in_" + \
        (f"{frames[-1][0].replace('/', '_').removesuffix('.py')}_{frames[-1][1]}" if frames else "unknown")
    if name not in _CRASHES:
        _CRASHES[name] = type(name, (AssertionError,), {})
    return _CRASHES[name]


def check_outcome(args: list[str], stdin: bytes | None = None, what: str = "",
                  cache: Path | None = None) -> tuple[int, str, str]:
    code, out, err = run_cli(args, stdin, cache)
    where = f"{what}\ninspect-image {' '.join(args)}"
    if "internal error" in err or "Traceback" in err + out:
        trace = traceback_of(args, stdin)
        raise crash_class(trace)(f"{where}\nexit {code}, stderr: {err.strip()}\n\n{trace}")
    assert code in (0, 2, 3), f"{where}\nexit {code}, stderr: {err!r}"
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
    others = [line for line in lines if not line.startswith((ERROR_PREFIX, WARNING_PREFIX))]
    assert not others, f"{where}\nstray stderr lines: {others!r}"
    if code == 0:
        assert not errors, f"{where}\nexit 0 with an error line: {errors!r}"
        if "json" in args:
            json.loads(out)
    else:
        assert len(errors) == 1 and lines[-1] == errors[0], f"{where}\nexit {code}, stderr: {err!r}"
        assert out == "", f"{where}\nexit {code} but stdout was written: {out[:200]!r}"
    return code, out, err


# ---------------------------------------------------------------------------------------------
# the valid image
# ---------------------------------------------------------------------------------------------

def tiny_elf(interpreter: bytes = b"/lib64/ld-linux-x86-64.so.2") -> bytes:
    """An ELF64 x86-64 executable header with PT_INTERP and PT_DYNAMIC, no sections."""
    phoff, phnum = 64, 2
    interp_at = phoff + 56 * phnum
    interp = interpreter + b"\0"
    header = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack(
        "<HHIQQQIHHHHHH", 2, 62, 1, 0x400000, phoff, 0, 0, 64, 56, phnum, 64, 0, 0)
    pt_interp = struct.pack("<IIQQQQQQ", 3, 4, interp_at, 0, 0, len(interp), len(interp), 1)
    pt_dynamic = struct.pack("<IIQQQQQQ", 2, 6, 0, 0, 0, 0, 0, 8)
    return header + pt_interp + pt_dynamic + interp + b"\0" * 64


TEXT = b"".join(b"line %d of a compressible text file\n" % i for i in range(120))
CAPABILITY = bytes.fromhex("0100000200200000000000000000000000000000")

LAYERS = [
    [E("etc/", "dir"), E("etc/os-release", data=b'ID=debian\nPRETTY_NAME="Debian"\n'),
     E("etc/old", data=b"old"), E("bin/", "dir"), E("bin/sh", data=tiny_elf(), mode=0o755),
     E("lib64/", "dir"), E("lib64/ld-linux-x86-64.so.2", data=tiny_elf(b""), mode=0o755),
     E("usr/bin/env", "symlink", target="../../bin/sh"), E("var/lib/dpkg/status.d/openjdk-17-jre-headless", data=b"x")],
    [E("opt/java/", "dir"), E("opt/java/release", data=b'JAVA_VERSION="17.0.2"\nIMPLEMENTOR="Eclipse Adoptium"\n'
                                                    b'IMAGE_TYPE="JRE"\n'),
     E("opt/java/bin/java", data=tiny_elf(), mode=0o755),
     E("opt/java/lib/server/libjvm.so", data=b"\0" * 32 + b"\0Eclipse Adoptium\0" + TEXT, mode=0o755),
     E("usr/bin/java", "symlink", target="/opt/java/bin/java"), E("doc/text", data=TEXT)],
    [E("app/", "dir", mode=0o750, uid=1000, gid=1000),
     E("app/run.sh", data=b"#!/bin/sh\nexec java -jar app.jar\n", mode=0o755, uid=1000),
     E("app/again", "hardlink", target="app/run.sh", mode=0o755, uid=1000),
     E("bin/su", data=b"\x7fELF", mode=0o4755), E("bin/ping", data=b"#!/bin/sh\n", mode=0o755,
                                                 xattrs={"security.capability": CAPABILITY}),
     whiteout("etc/old"), opaque("doc"), E("doc/new", data=b"new"), E("dev/null", "char", devmajor=1, devminor=3)],
]
CONFIG = {
    "architecture": "amd64", "os": "linux", "created": "2020-09-13T12:26:40Z",
    "config": {"Entrypoint": ["./run.sh"], "Cmd": ["--port", "80"], "WorkingDir": "/app",
               "Env": ["PATH=/usr/bin:/bin", "JAVA_HOME=/opt/java"], "User": "1000",
               "ExposedPorts": {"80/tcp": {}}, "Volumes": {"/data": {}}, "Labels": {"a": "b"},
               "StopSignal": "SIGTERM", "Shell": ["/bin/sh", "-c"]},
    "history": [{"created_by": f"layer {i}"} for i in range(len(LAYERS))],
    "rootfs": {"type": "layers", "diff_ids": []},  # filled in by assemble()
}
TAG = "fuzz/app:1"
LAYER_TARS = [layer_tar(entries) for entries in LAYERS]

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = {"none": "application/vnd.oci.image.layer.v1.tar", "gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
            "zstd": "application/vnd.oci.image.layer.v1.tar+zstd"}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def compress(data: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(data, mtime=0)
    if how == "zstd":
        import zstandard

        return zstandard.ZstdCompressor(level=3, write_checksum=True).compress(data)
    return data


def dumps(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


# ---------------------------------------------------------------------------------------------
# assembling an image, with damage where asked
# ---------------------------------------------------------------------------------------------

#: Where damage can go. "layer-tar:N" is the uncompressed tar of layer N, "layer-blob:N" the
#: stored (maybe compressed) blob; "manifest" the OCI manifest blob; "manifest.json" Docker's.
DOCUMENTS = ("config", "manifest", "index.json", "manifest.json")
ByteHook = Callable[[bytes], bytes]
JsonHook = Callable[[Any, dict[str, str]], Any]


@dataclass(frozen=True)
class Layout:
    name: str
    kind: str  # legacy, docker25, oci
    compression: str  # of the layer blobs
    form: str  # tar, dir, stdin, gzip-stream

    @property
    def documents(self) -> tuple[str, ...]:
        return {"legacy": ("config", "manifest.json"), "docker25": DOCUMENTS,
                "oci": ("config", "manifest", "index.json")}[self.kind]


LAYOUTS = {layout.name: layout for layout in (
    Layout("legacy", "legacy", "none", "tar"),
    Layout("legacy-stdin", "legacy", "none", "stdin"),
    Layout("legacy-gzip-stream", "legacy", "none", "gzip-stream"),
    Layout("legacy-gzip-layers", "legacy", "gzip", "tar"),
    Layout("docker25", "docker25", "none", "tar"),
    Layout("docker25-gzip", "docker25", "gzip", "tar"),
    Layout("docker25-gzip-stdin", "docker25", "gzip", "stdin"),
    Layout("oci-gzip-dir", "oci", "gzip", "dir"),
    Layout("oci-zstd-dir", "oci", "zstd", "dir"),
    Layout("oci-none-dir", "oci", "none", "dir"),
    Layout("oci-archive-gzip", "oci", "gzip", "tar"),
    Layout("oci-archive-zstd", "oci", "zstd", "tar"),
)}


def assemble(layout: Layout, byte_hooks: dict[str, ByteHook] | None = None,
             json_hooks: dict[str, JsonHook] | None = None, stale: bool = False,
             layers: list[bytes] | None = None, config: dict[str, Any] | None = None) -> dict[str, bytes]:
    """The files of the image, in the order producers write them: ``{member name: bytes}``.

    Hooks see each document (as a JSON value, then as bytes) and each layer (uncompressed tar,
    then stored blob) before anything that names it is written, so every digest is computed from
    the damaged bytes -- unless ``stale``, where digests are those of the undamaged bytes.
    """
    byte_hooks, json_hooks = byte_hooks or {}, json_hooks or {}
    refs: dict[str, str] = {}  # "@layer0" → digest ..., what JSON hooks may point at

    def emit_bytes(name: str, good: bytes) -> tuple[bytes, str]:
        """(bytes to store, digest to name them by)."""
        bad = byte_hooks[name](good) if name in byte_hooks else good
        return bad, sha(good if stale else bad)

    def emit_json(name: str, value: Any) -> tuple[bytes, str]:
        good = dumps(value)
        if name in json_hooks:
            value = json_hooks[name](copy.deepcopy(value), refs)
        raw = dumps(value) if name in json_hooks else good
        bad = byte_hooks[name](raw) if name in byte_hooks else raw
        return bad, sha(good if stale else bad)

    blobs: dict[str, bytes] = {}
    diff_ids, layer_descs, layer_blobs = [], [], []
    for i, tar in enumerate(LAYER_TARS if layers is None else layers):
        tar_bad, diff_id = emit_bytes(f"layer-tar:{i}", tar)
        stored_bad, digest = emit_bytes(f"layer-blob:{i}", compress(tar_bad, layout.compression))
        diff_ids.append(diff_id)
        layer_blobs.append(stored_bad)
        layer_descs.append({"mediaType": MT_LAYER[layout.compression], "digest": digest, "size": len(stored_bad)})
        refs[f"@layer{i}"] = digest
        blobs[digest] = stored_bad
    config = dict(CONFIG if config is None else config, rootfs={"type": "layers", "diff_ids": diff_ids})
    config_bytes, config_digest = emit_json("config", config)
    refs["@config"] = config_digest
    files: dict[str, bytes] = {}

    def blob_path(digest: str) -> str:
        return "blobs/sha256/" + digest.split(":", 1)[1]

    if layout.kind == "legacy":
        paths = []
        for i, data in enumerate(layer_blobs):
            v1 = hashlib.sha256(b"v1 %d" % i).hexdigest()
            files[f"{v1}/VERSION"] = b"1.0"
            files[f"{v1}/json"] = dumps({"id": v1})
            files[f"{v1}/layer.tar"] = data
            paths.append(f"{v1}/layer.tar")
        config_name = config_digest.split(":", 1)[1] + ".json"
        files[config_name] = config_bytes
        refs["@config-path"], refs["@layer0-path"] = config_name, (paths or [""])[0]
        files["manifest.json"], _ = emit_json("manifest.json", [{"Config": config_name, "RepoTags": [TAG],
                                                                  "Layers": paths}])
        files["repositories"] = dumps({"fuzz/app": {"1": paths[-1].split("/")[0]}})
        return files

    for digest, data in blobs.items():
        files[blob_path(digest)] = data
    files[blob_path(config_digest)] = config_bytes
    manifest_bytes, manifest_digest = emit_json("manifest", {
        "schemaVersion": 2, "mediaType": MT_MANIFEST,
        "config": {"mediaType": MT_CONFIG, "digest": config_digest, "size": len(config_bytes)},
        "layers": layer_descs})
    files[blob_path(manifest_digest)] = manifest_bytes
    refs["@manifest"] = manifest_digest
    refs["@config-path"], refs["@layer0-path"] = blob_path(config_digest), blob_path(layer_descs[0]["digest"])
    annotations = {"org.opencontainers.image.ref.name": "1"}
    if layout.kind == "docker25":
        annotations = {"io.containerd.image.name": "docker.io/fuzz/app:1", **annotations}
    files["index.json"], _ = emit_json("index.json", {
        "schemaVersion": 2, "mediaType": MT_INDEX,
        "manifests": [{"mediaType": MT_MANIFEST, "digest": manifest_digest, "size": len(manifest_bytes),
                       "annotations": annotations, "platform": {"architecture": "amd64", "os": "linux"}}]})
    if layout.kind == "docker25":
        files["manifest.json"], _ = emit_json("manifest.json", [{
            "Config": blob_path(config_digest), "RepoTags": [TAG],
            "Layers": [blob_path(d["digest"]) for d in layer_descs]}])
    files["oci-layout"] = b'{"imageLayoutVersion":"1.0.0"}'
    return files


def tar_of(files: dict[str, bytes]) -> bytes:
    """The outer archive: parent directories first, then each file, as ``docker save`` writes."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        made: set[str] = set()
        for name, data in files.items():
            parts = name.split("/")[:-1]
            for i in range(1, len(parts) + 1):
                directory = "/".join(parts[:i])
                if directory not in made:
                    made.add(directory)
                    info = tarfile.TarInfo(directory + "/")
                    info.type, info.mode = tarfile.DIRTYPE, 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(name)
            info.size, info.mode = len(data), 0o644
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def materialize(layout: Layout, files: dict[str, bytes], tmp: Path,
                outer_hook: ByteHook | None = None) -> tuple[str, bytes | None]:
    """Write the image where ``layout.form`` says: ``(reference, bytes for stdin or None)``."""
    if layout.form == "dir":
        root = tmp / "layout"
        for name, data in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_bytes(data)
        prefix = "oci:"
        return prefix + str(root), None
    data = tar_of(files)
    if layout.form == "gzip-stream":
        data = gzip.compress(data, mtime=0)
    if outer_hook is not None:
        data = outer_hook(data)
    if layout.form == "stdin":
        return "-", data
    path = tmp / "image.tar"
    path.write_bytes(data)
    prefix = "oci-archive:" if layout.kind == "oci" else "docker-archive:"
    return prefix + str(path), None


# ---------------------------------------------------------------------------------------------
# byte damage
# ---------------------------------------------------------------------------------------------

#: ``(op, position, argument)``: a negative position counts from the end; positions wrap.
Mutation = tuple[str, int, Any]

positions = st.one_of(st.integers(0, 600), st.integers(-600, -1), st.integers(0, 1 << 17))
NEGATIVE_512 = b"\xff" * 10 + b"\xfe\x00"  # -512 as a base-256 tar number field

#: Offsets of tar header fields in the first headers (of 512-byte blocks 0 to 7).
tar_fields = st.builds(lambda block, field: 512 * block + field, st.integers(0, 7),
                       st.sampled_from((0, 1, 99, 100, 108, 116, 124, 130, 135, 136, 156, 157, 257, 263, 265, 297,
                                        329, 337, 345, 500)))
mutations = st.one_of(
    st.tuples(st.just("tarfield"), tar_fields,
              st.sampled_from([b"\xff" * 12, NEGATIVE_512, b"\xff" * 10 + b"\xfc\x00", b"\x80" + b"\0" * 10 + b"\x01",
                               b"77777777777", b"00000000000",
                               b"0000777", b"7777777", b"\0", b"0", b"1", b"2", b"3", b"4", b"5", b"6", b"7", b"g",
                               b"x", b"L", b"K", b"S", b"V", b"..", b"../../x", b"/", b".wh..wh..opq",
                               b"ustar\0", b"ustar  \0", b"-1", b" " * 12])),
    st.tuples(st.just("flip"), positions, st.integers(1, 255)),
    st.tuples(st.just("truncate"), positions, st.just(0)),
    st.tuples(st.just("insert"), positions, st.binary(min_size=1, max_size=16)),
    st.tuples(st.just("delete"), positions, st.integers(1, 64)),
    st.tuples(st.just("overwrite"), positions,
              st.one_of(st.binary(min_size=1, max_size=12),
                        st.sampled_from([b"\0", b"\xff" * 8, b"0", b"7777777", b"99999999999", b" ", b"\0" * 512,
                                         b"{", b"}", b"[]", b"null", b'"', b"\x1f\x8b", b"\x28\xb5\x2f\xfd",
                                         b"\xfd7zXZ\x00",
                                         b"BZh9", b"ustar\x0000", b"././@LongLink"]))),
)


def _fix_checksum(out: bytearray, at: int) -> None:
    """Give the 512-byte tar block holding ``at`` a valid header checksum, so the damage gets past it."""
    start = at - at % 512
    block = out[start:start + 512]
    if len(block) < 512:
        return
    block[148:156] = b" " * 8
    out[start + 148:start + 156] = b"%06o\0 " % (sum(block) & 0o777777)


def damage(data: bytes, ops: list[Mutation]) -> bytes:
    out = bytearray(data)
    for op, pos, arg in ops:
        if not out:
            out += b"\0"
        at = pos % len(out)
        if op == "tarfield":  # a header field rewritten, its checksum fixed: what a hostile producer writes
            out[at:at + len(arg)] = arg
            _fix_checksum(out, at)
        elif op == "flip":
            out[at] ^= arg
        elif op == "truncate":
            del out[at:]
        elif op == "insert":
            out[at:at] = arg
        elif op == "delete":
            del out[at:at + arg]
        else:
            out[at:at + len(arg)] = arg
    return bytes(out)


VIEWS = (["--files", "--format", "json"], ["--format", "json"], ["--executables", "--format", "json"],
         ["--jre", "--format", "json"], ["--config", "--format", "json"], ["--bin", "--format", "json"],
         [], ["--files"], ["--executables"], ["--jre"], ["--config"], ["--bin"])
#: Options that change how the image is picked and checked, added to some runs.
OPTIONS = ([], [], [], [], [], ["--verify"], ["--platform", "linux/amd64"], ["--platform", "linux/arm64/v8"],
           ["--tag", TAG], ["--tag", "other:2"])
views = st.builds(lambda view, options: [*view, *options], st.sampled_from(VIEWS), st.sampled_from(OPTIONS))


def comparable(view: list[str], out: str) -> Any:
    """What must not depend on the per-layer cache: the output, less what says what was verified."""
    summary = not set(view) & {"--files", "--bin", "--executables", "--jre", "--config"}
    if "json" in view and out:
        data = json.loads(out)
        if summary:
            data.pop("verification", None)
        return data
    return None if summary else out


def run_damaged(layout: Layout, files: dict[str, bytes], view: list[str], what: str,
                outer_hook: ByteHook | None = None, twice: bool = False) -> int:
    """Run ``view`` on the image; with ``twice``, again over the per-layer cache the first run
    filled, which must not change the exit code, the errors or the output."""
    with tempfile.TemporaryDirectory() as tmp:
        ref, stdin = materialize(layout, files, Path(tmp), outer_hook)
        cache = Path(tmp) / "cache"
        code, out, err = check_outcome([ref, *view], stdin, what, cache)
        if twice:
            again = check_outcome([ref, *view], stdin, what + " (second run, over the cache)", cache)
            assert (again[0], again[2]) == (code, err), \
                f"{what}\nthe cache changed the outcome: {again} != {(code, out, err)}"
            assert comparable(view, again[1]) == comparable(view, out), f"{what}\nthe cache changed the output"
    return code


def fuzz_settings(max_examples: int) -> settings:
    return settings(max_examples=max_examples, deadline=None, print_blob=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# ---------------------------------------------------------------------------------------------
# the fuzzers
# ---------------------------------------------------------------------------------------------


def test_the_undamaged_image_is_read_everywhere():
    for layout in LAYOUTS.values():
        for view in VIEWS:
            code = run_damaged(layout, assemble(layout), view, f"undamaged {layout.name}")
            assert code == 0, (layout.name, view)


FILES_JSON = ["--files", "--format", "json"]


@fuzz_settings(300)
# Regressions (internal errors found by this fuzzer): decompressor exceptions that are not OSError
# `docker save | gzip` with a broken deflate stream: isal's IsalError from StreamedImage._read_all
@example(layout="legacy-gzip-stream", ops=[("flip", 10, 1)], view=FILES_JSON)
# an archive starting with the zstd magic, then junk: zstandard.ZstdError from StreamedImage._read_all
@example(layout="legacy", ops=[("overwrite", 0, b"\x28\xb5\x2f\xfd")], view=FILES_JSON)
# ... with the xz magic: lzma.LZMAError from StreamedImage._read_all
@example(layout="legacy", ops=[("overwrite", 0, b"\xfd7zXZ\x00")], view=FILES_JSON)
# a member whose size is -512 (base-256, checksum fixed): tarfile read its own header again, forever,
# before 15d982f -- a hang, which HANG_SECONDS turns into a failure
@example(layout="legacy", ops=[("tarfield", 636, NEGATIVE_512)], view=FILES_JSON)
@given(layout=st.sampled_from(sorted(name for name, kind in LAYOUTS.items() if kind.form != "dir")),
       ops=st.lists(mutations, min_size=1, max_size=4),
       view=views)
def test_fuzz_outer_archive_bytes(layout, ops, view):
    chosen = LAYOUTS[layout]
    run_damaged(chosen, assemble(chosen), view, f"{layout}: outer archive damaged by {ops}",
                outer_hook=lambda data: damage(data, ops))


def _members(layout: Layout) -> list[str]:
    names = list(layout.documents)
    for i in range(len(LAYER_TARS)):
        names.append(f"layer-tar:{i}")
        if layout.compression != "none":
            names.append(f"layer-blob:{i}")
    return names


@st.composite
def member_damage(draw) -> tuple[str, str, list[Mutation], bool]:
    layout = draw(st.sampled_from(sorted(LAYOUTS)))
    member = draw(st.sampled_from(_members(LAYOUTS[layout])))
    ops = draw(st.lists(mutations, min_size=1, max_size=3))
    stale = draw(st.booleans())
    return layout, member, ops, stale


@fuzz_settings(500)
# Regressions: a gzip layer whose deflate data is broken -- isal's IsalError escaped
# scan_layer (fs/layer.py) and run_scanner (sources/stored.py), random access and one-pass alike
@example(case=("oci-gzip-dir", "layer-blob:0", [("flip", 10, 1)], False), view=FILES_JSON)
@example(case=("legacy-gzip-layers", "layer-blob:0", [("flip", 10, 1)], False), view=FILES_JSON)
@example(case=("docker25-gzip-stdin", "layer-blob:0", [("flip", 10, 1)], False), view=FILES_JSON)
# a layer blob that starts with the xz magic and is not xz: lzma.LZMAError escaped scan_layer
@example(case=("legacy", "layer-tar:0", [("overwrite", 0, b"\xfd7zXZ\x00")], False), view=FILES_JSON)
@given(case=member_damage(), view=views)
def test_fuzz_member_bytes(case, view):
    layout, member, ops, stale = case
    chosen = LAYOUTS[layout]
    files = assemble(chosen, byte_hooks={member: lambda data: damage(data, ops)}, stale=stale)
    run_damaged(chosen, files, view, f"{layout}: {member} damaged by {ops}" + (" (stale digests)" if stale else ""),
                twice=True)


# --- wrong types in the JSON documents ----------------------------------------------------------

INTERESTING = [
    "", "sha256:", "sha256:" + "0" * 64, "sha256:../../../etc/passwd", "md5:abc", "../manifest.json", "/", ".",
    "index.json", "blobs/sha256/", "@layer0", "@layer1", "@config", "@manifest", "@config-path", "@layer0-path",
    "application/vnd.oci.image.index.v1+json", "application/vnd.oci.image.manifest.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json", "./run.sh", "run.sh", "bin/sh", "/bin/sh",
    "java", "PATH=/opt/java/bin", "JAVA_HOME=/opt/java", "PATH=", "=", "linux", "amd64", "unknown", "1:2",
    "fuzz/app:1", "x" * 300, "\udcff", "é", "\0",
]
json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.floats(allow_nan=False),
    st.text(max_size=12), st.sampled_from(INTERESTING))
json_values = st.recursive(
    json_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(
                                ["digest", "mediaType", "size", "manifests", "platform", "os", "architecture",
                                 "annotations", "config", "layers", "Env", "Cmd", "Entrypoint"])), inner, max_size=3)),
    max_leaves=6)
DELETE = "@delete"


def _resolve(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, str) and value in refs:
        return refs[value]
    if isinstance(value, list):
        return [_resolve(v, refs) for v in value]
    if isinstance(value, dict):
        return {k: _resolve(v, refs) for k, v in value.items()}
    return value


def field_paths(value: Any, here: tuple = ()) -> list[tuple]:
    """Every place in a JSON value: keys and list items, at every depth (the root as ``()``)."""
    found = [here]
    if isinstance(value, dict):
        for key, child in value.items():
            found += field_paths(child, here + (key,))
        found.append(here + ("@new-key",))
    elif isinstance(value, list):
        for i, child in enumerate(value):
            found += field_paths(child, here + (i,))
    return found


def substitute(doc: Any, path: tuple, value: Any) -> Any:
    """``doc`` with the value at ``path`` replaced (or deleted); paths that no longer exist are skipped."""
    if not path:
        return None if value == DELETE else value
    parent = doc
    for step in path[:-1]:
        if isinstance(parent, dict) and isinstance(step, str) and step in parent:
            parent = parent[step]
        elif isinstance(parent, list) and isinstance(step, int) and step < len(parent):
            parent = parent[step]
        else:
            return doc
    last = path[-1]
    if isinstance(parent, dict) and isinstance(last, str):
        if value == DELETE:
            parent.pop(last, None)
        else:
            parent[last] = value
    elif isinstance(parent, list) and isinstance(last, int) and last < len(parent):
        if value == DELETE:
            del parent[last]
        else:
            parent[last] = value
    return doc


def _document_shapes() -> dict[str, Any]:
    """The undamaged JSON documents, to list the places a substitution can go."""
    shapes: dict[str, Any] = {}
    for layout in (LAYOUTS["docker25"], LAYOUTS["legacy"]):
        def keep(name: str) -> JsonHook:
            def hook(value: Any, refs: dict[str, str]) -> Any:
                shapes.setdefault(name, copy.deepcopy(value))
                return value
            return hook
        assemble(layout, json_hooks={name: keep(name) for name in DOCUMENTS})
    return shapes


SHAPES = _document_shapes()
PLACES = sorted({(doc, path) for doc, shape in SHAPES.items() for path in field_paths(shape)}, key=repr)


@st.composite
def substitutions(draw) -> tuple[str, list[tuple[str, tuple, Any]]]:
    layout = draw(st.sampled_from(sorted(name for name, kind in LAYOUTS.items() if kind.form in ("tar", "dir"))))
    places = [p for p in PLACES if p[0] in LAYOUTS[layout].documents]
    changes = draw(st.lists(st.tuples(st.sampled_from(places), st.one_of(json_values, st.just(DELETE))),
                            min_size=1, max_size=3))
    return layout, [(doc, path, value) for (doc, path), value in changes]


def apply_substitutions(layout: str, changes: list[tuple[str, tuple, Any]]) -> dict[str, bytes]:
    by_doc: dict[str, list[tuple[tuple, Any]]] = {}
    for doc, path, value in changes:
        by_doc.setdefault(doc, []).append((path, value))

    def hook_for(doc: str) -> JsonHook:
        def hook(value: Any, refs: dict[str, str]) -> Any:
            for path, new in by_doc[doc]:
                value = substitute(value, path, _resolve(new, refs))
            return value
        return hook

    return assemble(LAYOUTS[layout], json_hooks={doc: hook_for(doc) for doc in by_doc})


@fuzz_settings(600)
# Regressions (internal errors found by this fuzzer):
# a manifest whose mediaType is a list (or an object): "unhashable type" in layout._leaf_manifests
@example(case=("docker25", [("manifest", ("mediaType",), ["x"])]), view=FILES_JSON)
# WorkingDir that is not a string, with a relative entrypoint: TypeError in entrypoint._locate
@example(case=("oci-gzip-dir", [("config", ("config", "WorkingDir"), 1)]), view=["--config", "--format", "json"])
# "os" (or "architecture", "variant") that is not a string: TypeError in report_tables.summary (table view)
@example(case=("oci-gzip-dir", [("config", ("os",), ["linux"])]), view=[])
# a diff_id that is not a well-formed digest: ValueError "not a digest" from fs/cache.py LayerCache._path
@example(case=("oci-none-dir", [("config", ("rootfs", "diff_ids", 0), "sha256:")]), view=FILES_JSON)
@given(case=substitutions(), view=views)
def test_fuzz_json_fields(case, view):
    layout, changes = case
    files = apply_substitutions(layout, changes)
    run_damaged(LAYOUTS[layout], files, view, f"{layout}: JSON substitutions {changes!r}", twice=True)


# --- hostile layer contents ----------------------------------------------------------------------

COMPONENTS = ("a", "b", "bin", "usr", "opt", "java", "jre", "lib", "server", "release", "libjvm.so", "sh", "run.sh",
              "app", ".", "", ".wh.a", ".wh.bin", ".wh..wh..opq", ".wh..wh.plnk", "é", "\udcff",
              "x" * 120, " ", "a b", "-", "*", "\\")
safe_names = st.builds(
    lambda prefix, parts: prefix + "/".join(parts),
    st.sampled_from(("", "", "./", "/", "//")), st.lists(st.sampled_from(COMPONENTS), min_size=0, max_size=5))
#: Names that climb out of the root or white out nothing are refused with an error: rare, or no
#: layer would ever be read to its end.
climbing_names = st.builds(
    lambda prefix, parts: prefix + "/".join(parts),
    st.sampled_from(("", "../", "/../", "./")), st.lists(st.sampled_from(COMPONENTS + ("..", ".wh.")), min_size=1,
                                                        max_size=5))
member_names = st.integers(0, 39).flatmap(lambda roll: climbing_names if roll == 0 else safe_names)
contents = st.one_of(
    st.binary(max_size=64),
    st.builds(lambda tail: tiny_elf() + tail, st.binary(max_size=32)),
    st.builds(lambda cut: tiny_elf()[:cut], st.integers(0, 300)),
    st.builds(lambda tail: b"#!" + tail, st.binary(max_size=40)),
    st.builds(lambda pairs: "\n".join(f"{k}={v}" for k, v in pairs).encode(),
              st.lists(st.tuples(st.sampled_from(["JAVA_VERSION", "JAVA_RUNTIME_VERSION", "IMPLEMENTOR",
                                                  "IMAGE_TYPE", "FULL_VERSION", "BUILD_TYPE", "#x", ""]),
                                 st.text(max_size=12)), max_size=4)),
    st.builds(lambda tail: b"\0Eclipse Adoptium\0" + tail, st.binary(max_size=16)),
)


@st.composite
def hostile_entries(draw) -> E:
    kind = draw(st.sampled_from(("file", "file", "dir", "symlink", "hardlink", "char", "block", "fifo")))
    entry = E(draw(member_names), kind, mode=draw(st.integers(0, 0o7777)),
              uid=draw(st.sampled_from((0, 1, 1000, 65534, 2 ** 21 - 1))),
              gid=draw(st.sampled_from((0, 5, 2 ** 21 - 1))),
              mtime=draw(st.sampled_from((0, 1_600_000_000, 2 ** 33 - 1))),
              fmt=draw(st.sampled_from(("pax", "pax", "gnu"))))
    if kind == "file":
        entry.data = draw(contents)
    if kind in ("symlink", "hardlink"):
        entry.target = draw(member_names)
    if kind in ("char", "block"):
        entry.devmajor, entry.devminor = draw(st.integers(0, 4095)), draw(st.integers(0, 255))
    if entry.fmt == "pax" and draw(st.booleans()):
        entry.xattrs = draw(st.dictionaries(
            st.sampled_from(("security.capability", "user.x", "trusted.overlay.opaque", "security.selinux")),
            st.one_of(st.binary(max_size=24), st.just(CAPABILITY),
                      st.builds(lambda cut: CAPABILITY[:cut], st.integers(0, 20))),
            max_size=2))
    return entry


def layer_or_none(entries: list[E]) -> bytes | None:
    try:
        return layer_tar(entries)
    except (ValueError, tarfile.TarError, UnicodeError):
        return None  # a header tarfile cannot write (name too long for GNU, a NUL...): not a case


@fuzz_settings(300)
@given(layers=st.lists(st.lists(hostile_entries(), max_size=8), min_size=1, max_size=3),
       program=st.one_of(member_names, st.sampled_from(["./run.sh", "/bin/sh", "java", "sh"])),
       layout=st.sampled_from(("legacy", "oci-gzip-dir", "docker25-gzip-stdin")), view=views)
def test_fuzz_layer_entries(layers, program, layout, view):
    tars = [layer_or_none(entries) for entries in layers]
    if any(t is None for t in tars):
        return
    config = copy.deepcopy(CONFIG)
    config["config"]["Entrypoint"] = [program]
    config["history"] = [{"created_by": "fuzz"} for _ in tars]
    files = assemble(LAYOUTS[layout], layers=tars, config=config)  # type: ignore[arg-type]
    run_damaged(LAYOUTS[layout], files, view, f"{layout}: layers {layers!r}, entrypoint {program!r}", twice=True)

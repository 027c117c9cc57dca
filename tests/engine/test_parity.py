"""inspect-image's merged filesystem == ``docker export`` of a container created from the image.

Every scenario image is made by the real engine during the run: built with ``docker build``
(classic builder) from the imported busybox base, or -- for layer contents ``docker build`` cannot
produce (opaque markers in any order, implied parents, odd path spellings, GNU/PAX long names,
xattrs) -- written by ``testdata.imagebuilder`` and ``docker load``-ed. Each image is then
``docker save``-d, converted by skopeo (``oci:`` gzip, ``oci-archive:``, ``oci:`` zstd), and:

* our listing of every one of those == the engine's export (type, mode with setuid/setgid/sticky,
  uid, gid, size, symlink target, device numbers, file capabilities), minus what the runtime itself
  adds (see ``helpers.RUNTIME_FILES``/``RUNTIME_DIRS``);
* the JSON bytes are identical whatever the transport (``layer`` and ``mtime`` included);
* ``docker:NAME`` (the engine source) gives the same bytes as ``docker-archive:FILE``.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from testdata.imagebuilder import E, ImageSpec, opaque, whiteout

from .conftest import EngineImages
from .helpers import (
    REPO_ROOT,
    RUNTIME_DIRS,
    RUNTIME_FILES,
    EngineListing,
    assert_parity,
    export_listing,
    listing_of_json,
    our_json,
)

pytestmark = pytest.mark.engine

ENGINE_SOURCE = REPO_ROOT / "inspector" / "sources" / "engine.py"

# ---------------------------------------------------------------------------------------------
# images built with `docker build`
# ---------------------------------------------------------------------------------------------

FROM_BASE = "FROM {BASE}\n"  # the ID of inspector-test/busybox:latest, see EngineImages.build

# A 200-character path (ustar can still split it into prefix + name) and a 120-character single
# name (cannot be split: Docker writes a PAX path record).
LONG_DIRS = "/names/" + "/".join(["x" * 49] * 3)
LONG_PATH = LONG_DIRS + "/" + "f" * (200 - len(LONG_DIRS) - 1)
LONG_NAME = "/names/" + "n" * 120
LONG_TARGET = "../" + "t" * 150
assert len(LONG_PATH) == 200

BUILDS: dict[str, str] = {
    # rm of files and of directories in later steps; `rm -rf d && mkdir d` (an opaque directory);
    # removing from the imported base layer; re-creating removed names later.
    "removals": FROM_BASE + """\
RUN mkdir -p /d/sub /keep /r/x && echo a > /d/a && echo b > /d/sub/b && echo f > /f \\
 && echo k > /keep/k && echo g > /keep/g && echo 1 > /r/x/1 && echo 2 > /r/2 && touch /r/x/.hidden
RUN rm /f /keep/g && rm -rf /d/sub
RUN rm -rf /d /r && mkdir /r && echo 3 > /r/3 && chmod 0700 /etc && chown 5:6 /etc
RUN mkdir /r/x && echo again > /keep/g && echo etc > /etc/own && rm /bin/dd /bin/cat
""",
    # file -> dir, dir -> file, dir -> symlink, symlink -> dir, file <-> symlink, retargeted link.
    "replacements": FROM_BASE + """\
RUN echo f > /fd && mkdir -p /df/in /ds/in /target && echo x > /df/in/x && echo y > /ds/in/y \\
 && echo t > /target/t && ln -s /target /sd && echo fs > /fs && ln -s /target/t /sf \\
 && ln -s t /target/rel && mkdir -p /tmp/tree/deeper && echo z > /tmp/tree/deeper/z
RUN rm /fd && mkdir /fd && echo z > /fd/z && rm -rf /df && echo now-a-file > /df \\
 && rm -rf /ds && ln -s target /ds && rm /sd && mkdir /sd && echo s > /sd/s \\
 && rm /fs && ln -s /target/t /fs && rm /sf && echo was-a-link > /sf \\
 && ln -sfn rel /target/rel2 && rm /target/rel && ln -s /nowhere /target/rel \\
 && rm -rf /tmp/tree && echo tree > /tmp/tree
""",
    # hardlinks; the name the layer tar stores as the regular file (the first in walk order)
    # removed later; a link to a lower-layer file (copy-up); writing through one link later.
    "hardlinks": FROM_BASE + """\
RUN mkdir -p /h/sub && echo data > /h/a-src && ln /h/a-src /h/b-link && ln /h/a-src /h/c-link \\
 && echo other > /h/o && ln /h/o /h/sub/o2 && chmod 4750 /h/o
RUN rm /h/a-src
RUN ln /h/o /h/o3 && ln /bin/busybox /h/bb
RUN echo changed > /h/b-link && rm /h/o
""",
    # setuid/setgid/sticky, odd modes, chown (large ids too), symlink ownership, fifo, devices;
    # metadata-only changes in a later step (copy-up without content change; chown clears setuid).
    "modes": FROM_BASE + """\
RUN mkdir /m && echo s > /m/suid && chmod 4755 /m/suid && echo g > /m/sgid && chmod 2755 /m/sgid \\
 && mkdir /m/sticky && chmod 1777 /m/sticky && mkdir /m/sgiddir && chown 0:42 /m/sgiddir \\
 && chmod 2775 /m/sgiddir && echo inherit > /m/sgiddir/f && mkdir /m/sgiddir/sub \\
 && echo o > /m/owned && chown 1234:5678 /m/owned && mkdir /m/odir && chown 65534:65534 /m/odir \\
 && chmod 0700 /m/odir && echo w > /m/odd && chmod 0604 /m/odd && echo all > /m/all \\
 && chmod 7777 /m/all && echo none > /m/none && chmod 0000 /m/none \\
 && echo big > /m/bigid && chown 3000000:4000000000 /m/bigid \\
 && ln -s suid /m/link && chown -h 7:8 /m/link \\
 && mkfifo /m/fifo && chmod 0640 /m/fifo && mknod /m/null c 1 3 && mknod /m/loop b 7 0
RUN chmod 0750 /m/odir && chown 1:2 /m/suid && chmod 1755 /m && touch /m/sticky/x \\
 && chown 9:9 /m/sgid && chmod 6755 /m/sgid
""",
    # unicode names, a 200-character path, a 120-character name, a 150-character link target.
    "names": FROM_BASE + f"""\
RUN mkdir -p "/names/ünïcødé dir" && echo u > "/names/ünïcødé dir/日本語 ✓.txt" \\
 && echo e > "/names/emoji-🙂" && echo s > "/names/with space" \\
 && mkdir -p {LONG_DIRS} && echo long > {LONG_PATH} && echo n > {LONG_NAME} \\
 && ln -s {LONG_TARGET} /names/longlink && ln {LONG_PATH} /names/hardlink-to-long
""",
    # the multi-stage build: a scratch image holding "java" (busybox) and a jar, plus the
    # /usr/bin/java symlink made in a build stage.
    "multistage": FROM_BASE.replace("\n", " AS build\n") + """\
RUN mkdir /src && echo "PK fake jar" > /src/app.jar
RUN mkdir -p /out/usr/bin && ln -s /usr/lib/jvm/fake/bin/java /out/usr/bin/java
FROM scratch
COPY --from=build /bin/busybox /usr/lib/jvm/fake/bin/java
COPY --from=build /src/app.jar /app/app.jar
COPY --from=build /out/ /
ENTRYPOINT ["/usr/bin/java", "-jar"]
""",
    # an entrypoint reached through a symlink chain, as Debian's alternatives lay it out.
    "symlink-chain": FROM_BASE.replace("\n", " AS build\n") + """\
RUN mkdir -p /out/usr/bin /out/etc/alternatives /out/usr/lib/jvm/x/bin \\
 && cp /bin/busybox /out/usr/lib/jvm/x/bin/java \\
 && ln -s /etc/alternatives/java /out/usr/bin/java \\
 && ln -s /usr/lib/jvm/x/bin/java /out/etc/alternatives/java
FROM scratch
COPY --from=build /out/ /
ENTRYPOINT ["/usr/bin/java"]
""",
}

# ---------------------------------------------------------------------------------------------
# images loaded from crafted archives (`docker load`)
# ---------------------------------------------------------------------------------------------

#: A valid VFS_CAP_REVISION_2 security.capability value (effective; cap_net_bind_service): the
#: kernel refuses to store malformed ones.
CAP_NET_BIND = struct.pack("<IIIII", 0x02000001, 1 << 10, 0, 0, 0)


def _f(path: str, data: bytes | None = None, **kw: Any) -> E:
    return E(path, "file", data if data is not None else path.encode() + b"\n", **kw)


def _d(path: str, **kw: Any) -> E:
    return E(path, "dir", **kw)


LOADS: dict[str, Callable[[str], ImageSpec]] = {
    # opaque markers before and after the new entries of the same directory, without the
    # directory's own entry, on a directory new in the same layer, and re-opaqued later.
    "opaque": lambda tag: ImageSpec([
        [_d("d1/"), _f("d1/a"), _d("d1/sub/"), _f("d1/sub/c"), _d("d2/"), _f("d2/a"), _f("d2/b"),
         _d("d3/", mode=0o750, uid=3), _f("d3/x"), _d("d4/"), _d("d4/keep/"), _f("d4/keep/k")],
        [_d("d1/", mode=0o711), opaque("d1"), _f("d1/new"), _d("d1/sub/"), _f("d1/sub/fresh"),
         _d("d2/"), _f("d2/new2"), _d("d2/later/"), opaque("d2"),
         opaque("d3"),
         _d("e/"), opaque("e"), _f("e/inside"),
         _f("d4/keep/added")],
        [_f("d2/top"), opaque("d4/keep"), _d("d4/keep/", mode=0o700), _f("d4/keep/last"),
         whiteout("d1/new")],
    ], {"Cmd": ["/nothing"]}, [tag]),
    # implied parents (no directory entry in the layer) over a lower symlink, over a lower 1777
    # directory, over lower directories with unusual owners/modes, and with nothing below.
    "implied-parents": lambda tag: ImageSpec([
        [_d("tmp/", mode=0o1777), _d("real/", mode=0o700, uid=9, gid=9), _f("real/old"),
         E("link", "symlink", target="real"), E("abslink", "symlink", target="/real"),
         _d("deep/", mode=0o750, uid=3, gid=3), _d("deep/er/", mode=0o2711, gid=5), _f("deep/er/old")],
        [_f("tmp/x"), _f("link/new"), _f("abslink/new2"), _f("deep/er/f"), _f("fresh/a/b/c")],
        [_f("tmp/y"), _d("deep/", mode=0o700, uid=4, gid=4)],
    ], {"Cmd": ["/nothing"]}, [tag]),
    # every path spelling, GNU and PAX long names and link names, a ustar prefix split,
    # big ids, a mode field with file-type bits, a symlink header mode other than 0777, xattrs.
    "path-forms": lambda tag: ImageSpec([
        [E("./", "dir"), _d("./pf/"), _f("./pf/dot"), _f("/pf/abs"), _d("pf/slash/", mode=0o750),
         _d("pf/noslash", mode=0o705), _f("pf/noslash/f"), _d("/pf/absdir/"), _f("pf/absdir/g"),
         _d("pf/" + "u" * 60 + "/"), _f("pf/" + "u" * 60 + "/" + "v" * 60, fmt="ustar"),
         _f("pf/" + "g" * 150, fmt="gnu"), _f("pf/" + "p" * 150, fmt="pax"),
         E("pf/gnu-longlink", "symlink", target="/" + "k" * 150, fmt="gnu"),
         E("pf/pax-longlink", "symlink", target="/" + "q" * 150, fmt="pax"),
         E("pf/hl-" + "h" * 120, "hardlink", target="pf/" + "p" * 150),
         E("./pf/hl-dot", "hardlink", target="/pf/abs"),
         _f("pf/biguid-pax", uid=3_000_000, gid=5_000_000), _f("pf/biguid-gnu", uid=3_000_000, fmt="gnu"),
         _f("pf/typebits", mode=0o100640),
         E("pf/symlink-755", "symlink", target="dot", mode=0o755, uid=5, gid=6),
         _f("pf/xattr", xattrs={"user.test": b"value", "security.capability": CAP_NET_BIND}),
         _d("pf/xattrdir/", xattrs={"user.dir": b"\x00\xff"}),
         _f("pf/ünï-pax", fmt="pax"), E("pf/fifo", "fifo", mode=0o600),
         E("pf/char", "char", devmajor=1, devminor=5, mode=0o620)],
        [_f("./pf/dot", b"changed\n"), whiteout("/pf/abs"), _f("pf/slash/new"),
         E("pf/noslash/", "dir", mode=0o777), whiteout("./pf/" + "g" * 150)],
    ], {"Cmd": ["/nothing"]}, [tag]),
    # runtime-owned paths present in the image: kept (/etc 0700 5:6, /dev 0750, /dev/null) or
    # replaced (/etc/hosts, /.dockerenv); a WorkingDir missing from the layers.
    "runtime-kept": lambda tag: ImageSpec([
        [_d("etc/", mode=0o700, uid=5, gid=6), _f("etc/hosts", b"127.0.0.1 x\n", mode=0o600, uid=3),
         _f("etc/passwd"), E("etc/mtab", "symlink", target="/nowhere"), _d("dev/", mode=0o750, uid=7),
         E("dev/null", "char", devmajor=1, devminor=3, mode=0o666), _d("proc/", mode=0o555),
         _d("sys/", mode=0o500), _f(".dockerenv", b"image's own\n"), _d("tmp/", mode=0o1777)],
    ], {"Cmd": ["/nothing"], "WorkingDir": "/work/deep", "Volumes": {"/data/vol": {}}}, [tag]),
    # runtime paths the image has as non-directories: /etc a symlink, /proc a file, /dev a link.
    "runtime-replaced": lambda tag: ImageSpec([
        [_d("private/"), _d("private/etc/"), _f("private/etc/passwd"),
         E("etc", "symlink", target="private/etc"), _f("proc", b"not a dir\n"),
         E("dev", "symlink", target="/private"), _f("sys", b"")],
    ], {"Cmd": ["/nothing"]}, [tag]),
}

SCENARIOS = [*BUILDS, *LOADS]

#: Sanity checks that the engine really made what a scenario is about (paths -> type in export).
EXPECT: dict[str, dict[str, str | None]] = {
    "removals": {"/f": None, "/d": None, "/r/3": "file", "/r/2": None, "/r/x": "dir", "/bin/dd": None},
    "replacements": {"/fd": "dir", "/df": "file", "/ds": "symlink", "/sd": "dir", "/fs": "symlink",
                     "/sf": "file", "/tmp/tree": "file"},
    "hardlinks": {"/h/a-src": None, "/h/b-link": "file", "/h/c-link": "file", "/h/o": None,
                  "/h/o3": "file", "/h/bb": "file"},
    "modes": {"/m/fifo": "fifo", "/m/null": "char", "/m/loop": "block"},
    "names": {LONG_PATH: "file", LONG_NAME: "file", "/names/ünïcødé dir/日本語 ✓.txt": "file"},
    "multistage": {"/usr/bin/java": "symlink", "/usr/lib/jvm/fake/bin/java": "file", "/app/app.jar": "file"},
    "symlink-chain": {"/usr/bin/java": "symlink", "/etc/alternatives/java": "symlink"},
    "opaque": {"/d1/a": None, "/d1/sub/fresh": "file", "/d2/a": None, "/d3/x": None, "/d4/keep/k": None},
    "implied-parents": {"/link": "dir", "/link/new": "file", "/fresh/a/b/c": "file"},
    "path-forms": {"/pf/dot": "file", "/pf/abs": None, "/pf/hl-dot": "file"},
    "runtime-kept": {"/dev/null": "char", "/work/deep": "dir"},
    "runtime-replaced": {"/private/etc/passwd": "file"},
}


# ---------------------------------------------------------------------------------------------
# preparing one scenario: make, save, convert, export
# ---------------------------------------------------------------------------------------------

@dataclass
class Prepared:
    name: str
    tag: str
    directory: Path
    saved: Path
    engine: EngineListing
    _json: dict[str, bytes] = field(default_factory=dict)

    def refs(self) -> dict[str, str]:
        """Transport name -> reference, for the layouts made by ``convert``."""
        return {"docker-archive": f"docker-archive:{self.saved}",
                "oci": f"oci:{self.directory / 'oci'}",
                "oci-archive": f"oci-archive:{self.directory / 'oci-archive.tar'}",
                "oci-zstd": f"oci:{self.directory / 'oci-zstd'}"}

    def json(self, transport: str) -> bytes:
        """Our ``--files --format json`` bytes from one transport (memoised)."""
        if transport not in self._json:
            ref = f"docker:{self.tag}" if transport == "docker" else self.refs()[transport]
            self._json[transport] = our_json(ref)
        return self._json[transport]


def _require(tool: str) -> None:
    if shutil.which(tool) is None:
        reason = f"{tool} is not installed (apt-get install {tool})"
        if os.environ.get("INSPECTOR_REQUIRE_DOCKER") == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)


def _skopeo_copy(source: str, dest: str, *extra: str) -> None:
    proc = subprocess.run(["skopeo", "copy", "-q", *extra, source, dest], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 0, f"skopeo copy {source} {dest}: {proc.stderr}"


def _make(name: str, images: EngineImages, workdir: Path) -> str:
    if name in BUILDS:
        return images.build(name, BUILDS[name])
    return images.load(LOADS[name](EngineImages.tag_for(name)), workdir)[0]


@pytest.fixture(scope="module", params=SCENARIOS)
def prepared(request: pytest.FixtureRequest, engine_images: EngineImages, busybox_base: str,
             engine_workdir: Path) -> Prepared:
    name = request.param
    directory = engine_workdir / name
    directory.mkdir()
    tag = _make(name, engine_images, engine_workdir)
    saved = engine_images.save(tag, directory / "saved.tar")
    return Prepared(name, tag, directory, saved, engine_images.export(tag))


@pytest.fixture(scope="module")
def converted(prepared: Prepared) -> Prepared:
    """The saved archive copied by skopeo into ``oci:`` (gzip), ``oci-archive:``, ``oci:`` (zstd)."""
    _require("skopeo")
    refs = prepared.refs()
    if not (prepared.directory / "oci").exists():
        _skopeo_copy(refs["docker-archive"], refs["oci"])
        _skopeo_copy(refs["docker-archive"], refs["oci-archive"])
        _skopeo_copy(refs["docker-archive"], refs["oci-zstd"], "--dest-compress-format", "zstd")
    return prepared


# ---------------------------------------------------------------------------------------------
# the tests
# ---------------------------------------------------------------------------------------------

def test_engine_made_the_scenario(prepared: Prepared) -> None:
    """Guards the other tests against a scenario that silently built something trivial."""
    got = {path: (prepared.engine.entries.get(path) or {}).get("type") for path in EXPECT[prepared.name]}
    assert got == EXPECT[prepared.name]


def test_docker_archive_matches_export(prepared: Prepared) -> None:
    assert_parity(listing_of_json(prepared.json("docker-archive")), prepared.engine,
                  f"docker-archive:{prepared.saved}")


@pytest.mark.parametrize("transport", ["oci", "oci-archive", "oci-zstd"])
def test_skopeo_layouts_match_export(converted: Prepared, transport: str) -> None:
    assert_parity(listing_of_json(converted.json(transport)), converted.engine, converted.refs()[transport])


def test_same_json_bytes_from_every_transport(converted: Prepared) -> None:
    expected = converted.json("docker-archive")
    for transport in ("oci", "oci-archive", "oci-zstd"):
        assert converted.json(transport) == expected, f"{transport} differs from docker-archive"


@pytest.mark.skipif(not ENGINE_SOURCE.exists(), reason="inspector/sources/engine.py (the docker: source) "
                                                       "does not exist yet")
def test_engine_source_same_bytes_as_saved_archive(prepared: Prepared) -> None:
    assert prepared.json("docker") == prepared.json("docker-archive")


def test_runtime_additions_are_exactly_what_we_ignore(engine_images: EngineImages,
                                                      engine_workdir: Path) -> None:
    """What ``docker create`` adds to a bare image: the documented runtime files and directories
    (0755 root), the WorkingDir with its parents -- and nothing else (e.g. no Volumes)."""
    tag = EngineImages.tag_for("runtime-bare")
    engine_images.load(ImageSpec([[_f("marker")]], {"Cmd": ["/x"], "WorkingDir": "/w/x",
                                                    "Volumes": {"/vol": {}}}, [tag]), engine_workdir)
    engine = export_listing(tag, engine_images.client)
    assert set(engine.entries) == {"/marker", "/w", "/w/x", *RUNTIME_FILES, *RUNTIME_DIRS}
    for path in [*RUNTIME_DIRS, "/w", "/w/x"]:
        assert engine.entries[path] == {"type": "dir", "mode": "0755", "uid": 0, "gid": 0, "size": 0,
                                        "target": None, "device": None, "caps": None}, path
    assert engine.entries["/etc/mtab"]["target"] == "/proc/mounts"
    for path in RUNTIME_FILES - {"/etc/mtab"}:
        assert engine.entries[path]["type"] == "file" and engine.entries[path]["size"] == 0, path

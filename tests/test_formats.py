"""One image, every way of storing and feeding it: the merged listing must not change by one byte."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
import threading
from dataclasses import replace
from pathlib import Path

import pytest

from testdata.imagebuilder import E, ImageSpec, opaque, whiteout, write_docker_archive, write_oci_layout

CAPABILITY = bytes.fromhex("0100000200200000000000000000000000000000")
LONG_PAX = "/".join(["p" * 70, "q" * 70, "r" * 70]) + "/pax-file"
LONG_GNU = "/".join(["g" * 70, "h" * 70, "i" * 70]) + "/gnu-file"

#: Every changeset rule at least once, so that any source-specific difference shows up.
RICH = ImageSpec(
    layers=[
        [
            E("etc/", "dir"), E("etc/a", data=b"alpha\n"), E("etc/b", data=b"beta\n"),
            E("d/", "dir"), E("d/x", data=b"x"), E("d/sub/", "dir"), E("d/sub/deep", data=b"deep"),
            E("opq/", "dir"), E("opq/old", data=b"old"), E("opq/olddir/", "dir"), E("opq/olddir/f", data=b"f"),
            E("rw/", "dir"), E("rw/old", data=b"old"),
            E("tmp/", "dir", mode=0o1777), E("tmp/keep", data=b"k"),
            E("usr/", "dir"), E("usr/lib/", "dir"), E("usr/lib/libc.so", data=b"libc" * 100),
            E("lib", "symlink", target="usr/lib"),
            E("bin/", "dir"), E("bin/su", data=b"su", mode=0o4755, uid=0, gid=0),
            E("bin/wall", data=b"wall", mode=0o2755, gid=5),
            E("bin/tool", data=b"tool binary", mode=0o750, uid=12, gid=34),
            E("bin/tool-link", "hardlink", target="bin/tool", mode=0o750, uid=12, gid=34),
            E("bin/ping", data=b"ping", xattrs={"security.capability": CAPABILITY}),
            E("dev/", "dir"), E("dev/null", "char", mode=0o666, devmajor=1, devminor=3),
            E("dev/sda", "block", devmajor=8, devminor=0), E("run/", "dir"), E("run/fifo", "fifo"),
            E(LONG_PAX, data=b"pax"), E(LONG_GNU, data=b"gnu", fmt="gnu"),
            E("données/", "dir"), E("données/café.txt", data="é".encode()), E("日本語", data=b"jp"),
            E("./dotted", data=b"dot"), E("/absolute", data=b"abs"), E("trailing/", "dir"),
            E("file2dir", data=b"f"), E("dir2file/", "dir"), E("dir2file/c", data=b"c"),
            E("dir2link/", "dir"), E("dir2link/c", data=b"c"), E("link2dir", "symlink", target="usr"),
            E("home/", "dir"), E("home/app/", "dir", mode=0o700, uid=1000, gid=1000),
            E("home/app/data", data=b"data", uid=1000, gid=1000),
        ],
        [
            whiteout("etc/a"), whiteout("d"),
            E("opq/new", data=b"new"), opaque("opq"),  # marker after the layer's own entry
            whiteout("rw"), E("rw/", "dir", mode=0o700), E("rw/new", data=b"new"),
            E("tmp/x", data=b"x"), E("lib/x/foo", data=b"foo"),
            whiteout("bin/tool"),
            E("file2dir/", "dir"), E("file2dir/c", data=b"c"), E("dir2file", data=b"now a file"),
            E("dir2link", "symlink", target="/usr/lib"), E("link2dir/", "dir"), E("link2dir/n", data=b"n"),
            E("dotted", data=b"dotted again"), E("./absolute/", "dir"), E("/trailing/t", data=b"t"),
        ],
        [
            E("home/app/late", data=b"late", uid=1000, gid=1000), E("bin/late-suid", data=b"s", mode=0o4711),
            whiteout("données/café.txt"), E("données/thé.txt", data=b"tea"),
        ],
    ],
    config={"Cmd": ["/bin/sh"], "Env": ["PATH=/usr/bin:/bin"]},
    tags=["rich/app:1"],
)

DOCKER_LAYOUTS = ("legacy", "docker25", "docker25-gzip")
OCI_COMPRESSIONS = ("none", "gzip", "zstd")


@pytest.fixture(scope="module")
def rich(tmp_path_factory) -> dict[str, str]:
    """The rich image written in every layout: ``{name: path}``."""
    root = tmp_path_factory.mktemp("rich")
    paths: dict[str, str] = {}
    for layout in DOCKER_LAYOUTS:
        paths[layout] = str(root / f"{layout}.tar")
        write_docker_archive(paths[layout], RICH, layout)
    for compression in OCI_COMPRESSIONS:
        paths[f"oci-{compression}"] = str(root / f"oci-{compression}")
        write_oci_layout(paths[f"oci-{compression}"], RICH, compression=compression)
        paths[f"oci-archive-{compression}"] = str(root / f"oci-archive-{compression}.tar")
        write_oci_layout(paths[f"oci-archive-{compression}"], RICH, compression=compression, as_tar=True)
    paths["legacy-gz"] = str(root / "legacy.tar.gz")
    Path(paths["legacy-gz"]).write_bytes(gzip.compress(Path(paths["legacy"]).read_bytes(), mtime=0))
    return paths


@pytest.fixture(scope="module")
def baseline(rich, run_cli) -> str:
    """The listing of the legacy archive, read by its path: what every other source must print."""
    code, out, err = run_cli(rich["legacy"], "--files", "--format", "json")
    assert code == 0, err
    return out


def test_baseline_reflects_the_changesets(baseline):
    """Guard against an empty or trivial baseline making every comparison below pass."""
    listing = {e["path"]: e for e in json.loads(baseline)}
    present = ["/etc/b", "/opq/new", "/rw/new", "/rw/old", "/tmp/x", "/tmp/keep", "/lib/x/foo", "/bin/tool-link",
               "/" + LONG_PAX, "/" + LONG_GNU, "/données/thé.txt", "/日本語", "/file2dir/c", "/link2dir/n",
               "/dotted", "/absolute", "/trailing/t", "/home/app/late", "/dev/null", "/run/fifo"]
    absent = ["/etc/a", "/d", "/d/x", "/opq/old", "/opq/olddir", "/bin/tool", "/dir2file/c", "/dir2link/c",
              "/données/café.txt", "/usr/lib/x", "/link2dir/lib"]
    assert [p for p in present if p not in listing] == []
    assert [p for p in absent if p in listing] == []
    assert listing["/bin/tool-link"]["size"] == len(b"tool binary")
    assert listing["/bin/ping"]["xattrs"] == {"security.capability": CAPABILITY.hex()}
    assert listing["/lib"]["type"] == "dir" and listing["/tmp"]["mode"] == "0755"
    assert listing["/dir2link"]["target"] == "/usr/lib"
    assert listing["/bin/late-suid"]["mode"] == "4711"


@pytest.mark.parametrize("name", [
    "legacy", "docker25", "docker25-gzip", "oci-none", "oci-gzip", "oci-zstd",
    "oci-archive-none", "oci-archive-gzip", "oci-archive-zstd", "legacy-gz",
])
def test_every_layout_gives_the_same_listing_by_bare_path(run_cli, rich, baseline, name):
    code, out, err = run_cli(rich[name], "--files", "--format", "json")
    assert code == 0, err
    assert out == baseline


@pytest.mark.parametrize("name, prefix", [
    ("legacy", "docker-archive"), ("docker25", "docker-archive"), ("docker25-gzip", "docker-archive"),
    ("legacy-gz", "docker-archive"),
    ("oci-none", "oci"), ("oci-gzip", "oci"), ("oci-zstd", "oci"),
    ("oci-archive-none", "oci-archive"), ("oci-archive-gzip", "oci-archive"), ("oci-archive-zstd", "oci-archive"),
])
def test_explicit_transport_prefixes(run_cli, rich, baseline, name, prefix):
    code, out, err = run_cli(f"{prefix}:{rich[name]}", "--files", "--format", "json")
    assert code == 0, err
    assert out == baseline


@pytest.mark.parametrize("name", ["legacy", "docker25", "docker25-gzip", "oci-archive-zstd"])
def test_standard_input(run_cli, rich, baseline, name):
    code, out, err = run_cli("-", "--files", "--format", "json", input=Path(rich[name]).read_bytes())
    assert code == 0, err
    assert out == baseline


def _through_fifo(tmp_path: Path, env: dict[str, str], data: bytes, *args: str,
                  reference: str = "{fifo}") -> tuple[int, str, str]:
    """Run the CLI on a FIFO (a non-seekable path, like <(docker save …)) fed with ``data``."""
    fifo = tmp_path / "image.fifo"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-m", "inspector", reference.format(fifo=fifo), *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)

    def feed() -> None:
        try:
            with open(fifo, "wb") as sink:  # blocks until the CLI opens the FIFO
                sink.write(data)
        except BrokenPipeError:  # the reader gave up early: its exit status tells the story
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    try:
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
        if writer.is_alive():  # unblock a writer whose reader never opened the FIFO
            os.close(os.open(fifo, os.O_RDONLY | os.O_NONBLOCK))
        writer.join(timeout=10)
    return proc.returncode, out.decode(), err.decode()


@pytest.mark.parametrize("name", ["legacy", "docker25", "docker25-gzip"])
@pytest.mark.parametrize("reference", ["{fifo}", "docker-archive:{fifo}"])
def test_non_seekable_path(cli_env, tmp_path, rich, baseline, name, reference):
    data = Path(rich[name]).read_bytes()
    code, out, err = _through_fifo(tmp_path, cli_env, data, "--files", "--format", "json", reference=reference)
    assert code == 0, err
    assert out == baseline


def test_dev_stdin_as_a_path(run_cli, rich, baseline):
    """A path that is really a pipe (``/dev/stdin``, ``<(docker save app)``) can be read only once."""
    code, out, err = run_cli("/dev/stdin", "--files", "--format", "json", input=Path(rich["docker25"]).read_bytes())
    assert code == 0, err
    assert out == baseline


@pytest.mark.parametrize("how", ["file", "stdin", "fifo"])
def test_gzip_compressed_docker_save_is_read_as_a_stream(run_cli, cli_env, tmp_path, rich, baseline, how):
    """`docker save app | gzip`: only a forward pass is possible, whichever way it arrives."""
    data = Path(rich["legacy-gz"]).read_bytes()
    if how == "file":
        result = run_cli(rich["legacy-gz"], "--files", "--format", "json")
    elif how == "stdin":
        result = run_cli("-", "--files", "--format", "json", input=data)
    else:
        result = _through_fifo(tmp_path, cli_env, data, "--files", "--format", "json")
    code, out, err = result
    assert code == 0, err
    assert out == baseline


# --- several images in one archive ------------------------------------------------------------

# TOOL's top layer is APP's middle one: a legacy archive stores it once and links the second
# ``layer.tar`` to the first (a symlink member), as `docker save` does.
BASE = [E("etc/", "dir"), E("etc/which", data=b"base")]
TOOL_TOP = [E("etc/which", data=b"the tool image"), E("tool-only", data=b"t")]
APP_TOP = [E("etc/which", data=b"the app image, longest"), E("app-only", data=b"a")]
TOOL = ImageSpec([BASE, TOOL_TOP], tags=["example/tool:2", "example/tool:latest"])
APP = ImageSpec([BASE, TOOL_TOP, APP_TOP], config={"Cmd": ["/app"]}, tags=["example/app:1"])


def _paths(out: str) -> dict[str, dict]:
    return {e["path"]: e for e in json.loads(out)}


def _assert_is(listing: dict[str, dict], spec: ImageSpec) -> None:
    which = next(e.data for e in spec.layers[-1] if e.path == "etc/which")
    assert listing["/etc/which"]["size"] == len(which)
    assert "/tool-only" in listing
    assert ("/app-only" in listing) == (spec is APP)
    assert listing["/etc/which"]["layer"] == len(spec.layers) - 1


@pytest.fixture(scope="module")
def multi(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("multi")
    paths = {}
    for layout in DOCKER_LAYOUTS:
        paths[layout] = str(root / f"{layout}.tar")
        write_docker_archive(paths[layout], [APP, TOOL], layout)
    return paths


@pytest.mark.parametrize("layout", DOCKER_LAYOUTS)
@pytest.mark.parametrize("pick, spec", [("example/app:1", APP), ("example/tool:2", TOOL),
                                        ("docker.io/example/tool:latest", TOOL)])
def test_multi_image_archive_pick_by_reference_suffix(run_cli, multi, layout, pick, spec):
    code, out, err = run_cli(f"{multi[layout]}:{pick}", "--files", "--format", "json")
    assert code == 0, err
    _assert_is(_paths(out), spec)
    code, out2, err = run_cli(f"docker-archive:{multi[layout]}:{pick}", "--files", "--format", "json")
    assert code == 0, err
    assert out2 == out


@pytest.mark.parametrize("layout", DOCKER_LAYOUTS)
@pytest.mark.parametrize("pick, spec", [("example/app:1", APP), ("example/tool:2", TOOL)])
def test_multi_image_archive_pick_by_tag_option(run_cli, multi, layout, pick, spec):
    code, out, err = run_cli(multi[layout], "--tag", pick, "--files", "--format", "json")
    assert code == 0, err
    _assert_is(_paths(out), spec)


@pytest.mark.parametrize("layout", DOCKER_LAYOUTS)
@pytest.mark.parametrize("pick, spec", [("example/app:1", APP), ("example/tool:2", TOOL)])
def test_multi_image_stream_pick_by_tag_option(run_cli, multi, layout, pick, spec):
    data = Path(multi[layout]).read_bytes()
    code, out, err = run_cli("-", "--tag", pick, "--files", "--format", "json", input=data)
    assert code == 0, err
    _assert_is(_paths(out), spec)


@pytest.mark.parametrize("layout", DOCKER_LAYOUTS)
def test_multi_image_archive_without_a_tag_is_ambiguous(run_cli, multi, layout):
    code, out, err = run_cli(multi[layout], "--files", "--format", "json")
    assert code == 2
    assert out == ""
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err
    for tag in ("example/app:1", "example/tool:2"):
        assert tag in lines[0]
    assert multi[layout] in lines[0]


@pytest.mark.parametrize("layout", DOCKER_LAYOUTS)
def test_multi_image_archive_unknown_tag(run_cli, multi, layout):
    code, out, err = run_cli(multi[layout], "--tag", "example/missing:9", "--files")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert "example/missing:9" in err and "example/app:1" in err


@pytest.fixture(scope="module")
def multi_oci(tmp_path_factory) -> dict[str, str]:
    """OCI layouts name images by ``org.opencontainers.image.ref.name``: here ``alpha``, ``beta``, ``latest``."""
    root = tmp_path_factory.mktemp("multi-oci")
    paths = {"oci": str(root / "layout"), "oci-archive": str(root / "layout.tar")}
    specs = [replace(APP, tags=["example/app:alpha"]), replace(TOOL, tags=["example/tool:beta", "example/tool:latest"])]
    write_oci_layout(paths["oci"], specs)
    write_oci_layout(paths["oci-archive"], specs, as_tar=True)
    return paths


@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
@pytest.mark.parametrize("pick, spec", [("alpha", APP), ("beta", TOOL), ("latest", TOOL)])
def test_multi_image_oci_layout_pick_by_ref_name(run_cli, multi_oci, transport, pick, spec):
    code, out, err = run_cli(f"{transport}:{multi_oci[transport]}:{pick}", "--files", "--format", "json")
    assert code == 0, err
    _assert_is(_paths(out), spec)
    code, out2, err = run_cli(multi_oci[transport], "--tag", pick, "--files", "--format", "json")
    assert code == 0, err
    assert out2 == out


@pytest.mark.parametrize("transport", ["oci", "oci-archive"])
def test_multi_image_oci_layout_without_a_tag_is_ambiguous(run_cli, multi_oci, transport):
    code, out, err = run_cli(multi_oci[transport], "--files")
    assert code == 2 and out == ""
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert multi_oci[transport] in err and "alpha" in err and "beta" in err


# --- several platforms in one OCI index -------------------------------------------------------

AMD64 = ImageSpec([[E("arch", data=b"x86-64 build")], [E("only-amd64", data=b"a")]], tags=["multi:1"])
ARM64 = ImageSpec([[E("arch", data=b"aarch64 build, longer")], [E("only-arm64", data=b"b")]], tags=["multi:1"],
                  architecture="arm64", variant="v8")


@pytest.fixture(scope="module")
def multiarch(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("multiarch")
    paths = {"dir": str(root / "oci"), "tar": str(root / "oci.tar")}
    write_oci_layout(paths["dir"], [AMD64, ARM64], index_platforms=True)
    write_oci_layout(paths["tar"], [AMD64, ARM64], index_platforms=True, as_tar=True)
    return paths


@pytest.mark.parametrize("kind", ["dir", "tar"])
@pytest.mark.parametrize("platform, spec", [("linux/amd64", AMD64), ("linux/arm64", ARM64),
                                            ("linux/arm64/v8", ARM64)])
def test_platform_is_picked_from_the_index(run_cli, multiarch, kind, platform, spec):
    code, out, err = run_cli(multiarch[kind], "--platform", platform, "--files", "--format", "json")
    assert code == 0, err
    listing = _paths(out)
    data = next(e.data for e in spec.layers[0] if e.path == "arch")
    assert listing["/arch"]["size"] == len(data)
    assert ("/only-arm64" in listing) == (spec is ARM64)
    assert ("/only-amd64" in listing) == (spec is AMD64)


@pytest.mark.parametrize("kind", ["dir", "tar"])
@pytest.mark.parametrize("platform", ["linux/s390x", "windows/amd64", "linux/arm64/v7"])
def test_absent_platform_is_a_clear_error(run_cli, multiarch, kind, platform):
    code, out, err = run_cli(multiarch[kind], "--platform", platform, "--files")
    assert code == 2
    assert out == ""
    assert len(err.splitlines()) == 1, err
    assert "Traceback" not in err
    assert platform in err
    assert "linux/amd64" in err and "linux/arm64" in err  # what is available instead

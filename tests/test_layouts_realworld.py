"""Layouts as real producers write them: the same image gives the same answer (issue 12, 11.5).

Fixtures come from ``testdata.realworld_layouts``: multi-platform indexes written flat and nested,
cosign signatures beside an image, Helm and ORAS artifacts, Docker 25 saves of untagged images,
pre-1.10 saves, duplicate tags, and index graphs that share children.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from pathlib import Path

import pytest

from inspector.sources.platforms import Platform
from testdata import realworld_layouts as rw
from testdata.imagebuilder import ImageSpec, write_docker_archive, write_oci_layout

from .conftest import cli_env

HOST = str(Platform.host())
HOST_SPEC = {"linux/amd64": rw.AMD64, "linux/arm64": rw.ARM64}.get(HOST)
S390X = ImageSpec([[rw.E("only-s390x", data=b"s")]], architecture="s390x")


def _paths(out: str) -> set[str]:
    return {e["path"] for e in json.loads(out)}


def _is(out: str, spec: ImageSpec) -> None:
    paths = _paths(out)
    for other, marker in ((rw.AMD64, "/only-amd64"), (rw.ARM64, "/only-arm64")):
        assert (marker in paths) == (spec is other), (marker, sorted(paths))


def _one_line(err: str) -> str:
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert "Traceback" not in err and "internal error" not in err
    return lines[0]


def _run_limited(*args: str, timeout: float = 10, memory: int = 1 << 30) -> tuple[int, str, str]:
    """The CLI under a memory limit and a time limit, as hostile-input tests run it."""
    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (memory, memory))

    proc = subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, env=cli_env(),
                          timeout=timeout, check=False, preexec_fn=limit)
    return proc.returncode, proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")


# --- 1. multi-platform layouts are one image ---------------------------------------------------

@pytest.fixture(scope="module")
def multi(tmp_path_factory) -> dict[tuple[str, bool], str]:
    root = tmp_path_factory.mktemp("multi")
    return {(how, as_tar): rw.multi_platform(root / f"{how}-{as_tar}{'.tar' if as_tar else ''}", how, as_tar)
            for how in ("flat", "nested", "nested-docker") for as_tar in (False, True)}


def _ref(path: str, as_tar: bool, style: str) -> str:
    if style == "bare":
        return path
    return f"{'oci-archive' if as_tar else 'oci'}:{path}"


@pytest.mark.parametrize("how", ["flat", "nested", "nested-docker"])
@pytest.mark.parametrize("as_tar", [False, True])
@pytest.mark.parametrize("style", ["bare", "transport"])
@pytest.mark.parametrize("platform, spec", [("linux/arm64", rw.ARM64), ("linux/amd64", rw.AMD64)])
def test_multi_platform_layout_is_one_image(run_cli, multi, how, as_tar, style, platform, spec):
    code, out, err = run_cli(_ref(multi[how, as_tar], as_tar, style), "--platform", platform,
                             "--files", "--format", "json")
    assert code == 0, err
    _is(out, spec)


@pytest.mark.skipif(HOST_SPEC is None, reason=f"no fixture for this machine's platform {HOST}")
@pytest.mark.parametrize("how", ["flat", "nested"])
@pytest.mark.parametrize("as_tar", [False, True])
def test_multi_platform_default_is_this_machine(run_cli, multi, how, as_tar):
    code, out, err = run_cli(multi[how, as_tar], "--files", "--format", "json")
    assert code == 0, err
    _is(out, HOST_SPEC)


@pytest.mark.parametrize("how", ["flat", "nested"])
def test_multi_platform_without_this_machine_lists_platforms(run_cli, tmp_path, how):
    others = tuple(s for s in (rw.AMD64, rw.ARM64, S390X) if str(Platform(s.os, s.architecture)) != HOST)[:2]
    path = rw.multi_platform(tmp_path / "layout", how, specs=others)
    code, out, err = run_cli(path, "--files")
    assert code == 2 and out == ""
    line = _one_line(err)
    for spec in others:
        assert f"{spec.os}/{spec.architecture}" in line
    assert HOST in line


def test_multi_platform_archive_on_stdin(run_cli, multi):
    data = Path(multi["flat", True]).read_bytes()
    code, out, err = run_cli("-", "--platform", "linux/arm64", "--files", "--format", "json", input=data)
    assert code == 0, err
    _is(out, rw.ARM64)


def test_docker25_multi_platform_save(run_cli, tmp_path):
    """Docker 25 saves the index of every platform, but only the blobs of the one it pulled."""
    path = rw.docker25_multi_platform(tmp_path / "saved.tar", present=(rw.AMD64,))
    code, out, err = run_cli(path, "--platform", "linux/amd64", "--files", "--format", "json")
    assert code == 0, err
    _is(out, rw.AMD64)
    code, out, err = run_cli(path, "--platform", "linux/arm64", "--files")
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "linux/arm64" in line and "not in the archive" in line


@pytest.mark.parametrize("platform, spec", [("linux/arm64", rw.ARM64), ("linux/amd64", rw.AMD64)])
def test_platform_manifests_sharing_one_tag_are_one_image(run_cli, tmp_path, platform, spec):
    path = rw.tagged_platforms(tmp_path / "layout")
    for args in ((path,), (path, "--tag", "1.0"), (f"{path}:1.0",)):
        code, out, err = run_cli(*args, "--platform", platform, "--files", "--format", "json")
        assert code == 0, (args, err)
        _is(out, spec)


# --- 2. --platform is checked everywhere -------------------------------------------------------

@pytest.mark.parametrize("layout", ["legacy", "docker25", "oci-gzip", "oci-archive"])
@pytest.mark.parametrize("stdin", [False, True])
def test_platform_of_a_single_image_is_checked(run_cli, image_writer, layout, stdin):
    path = image_writer(ImageSpec(rw.AMD64.layers, tags=["app:1"]), layout)
    if stdin and not Path(path).is_file():
        pytest.skip("a folder cannot be piped")
    args = ("-",) if stdin else (path,)
    data = Path(path).read_bytes() if stdin else None
    code, out, err = run_cli(*args, "--platform", "linux/arm64", "--files", input=data)
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "linux/arm64" in line and "linux/amd64" in line
    code, out, err = run_cli(*args, "--platform", "linux/amd64", "--files", "--format", "json", input=data)
    assert code == 0, err


# --- 3. select by digest; signatures and artifacts ----------------------------------------------

def _manifest_digest(spec: ImageSpec) -> str:
    return rw.built(spec).manifest.digest


@pytest.mark.parametrize("as_tar", [False, True])
def test_select_manifest_by_digest(run_cli, multi, as_tar):
    path = multi["nested", as_tar]
    digest = _manifest_digest(rw.ARM64)
    transport = "oci-archive" if as_tar else "oci"
    code, out, err = run_cli(f"{transport}:{path}@{digest}", "--files", "--format", "json")
    assert code == 0, err
    _is(out, rw.ARM64)
    code, out2, err = run_cli(path, "--digest", digest, "--files", "--format", "json")
    assert code == 0, err
    assert out2 == out


def test_select_index_by_digest_then_platform(run_cli, multi):
    path = multi["nested-docker", False]
    index = json.loads((Path(path) / "index.json").read_bytes())["manifests"][0]["digest"]
    code, out, err = run_cli(f"oci:{path}@{index}", "--platform", "linux/arm64", "--files", "--format", "json")
    assert code == 0, err
    _is(out, rw.ARM64)


@pytest.mark.parametrize("layout", ["legacy", "docker25"])
def test_docker_save_image_id_as_digest(run_cli, image_writer, layout):
    path = image_writer([ImageSpec(rw.AMD64.layers, tags=["a:1"]), ImageSpec(rw.OTHER.layers, tags=["b:1"])], layout)
    image_id = rw.built(ImageSpec(rw.AMD64.layers)).config.digest
    code, out, err = run_cli(path, "--digest", image_id, "--files", "--format", "json")
    assert code == 0, err
    _is(out, rw.AMD64)
    assert "/other" not in _paths(out)


def test_unknown_digest_is_a_clear_error(run_cli, multi):
    missing = "sha256:" + "ab" * 32
    code, out, err = run_cli(multi["flat", False], "--digest", missing, "--files")
    assert code == 2 and out == ""
    assert missing in _one_line(err)


@pytest.mark.parametrize("typed", ["md5:abc", "sha256:" + "A" * 64, "sha256:abc"])
def test_malformed_digest_is_a_usage_error(run_cli, multi, typed):
    for args in ((multi["flat", False], "--digest", typed), (f"oci:{multi['flat', False]}@{typed}",)):
        code, out, err = run_cli(*args, "--files")
        assert code == 2 and out == ""
        line = _one_line(err)
        assert "not a digest" in line and "sha256:<64 hex>" in line


def test_digest_and_platform_must_agree(run_cli, multi):
    code, out, err = run_cli(multi["flat", False], "--digest", _manifest_digest(rw.ARM64), "--platform",
                             "linux/amd64", "--files")
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "linux/arm64" in line and "linux/amd64" in line


@pytest.mark.parametrize("style", ["tags", "kinds"])
@pytest.mark.parametrize("as_tar", [False, True])
def test_cosign_signatures_are_skipped_and_named(run_cli, tmp_path, style, as_tar):
    path = rw.cosign_layout(tmp_path / ("layout.tar" if as_tar else "layout"), style, as_tar)
    code, out, err = run_cli(path, "--files", "--format", "json")
    assert code == 0, err
    _is(out, rw.AMD64)
    assert "Traceback" not in err
    assert "skipped" in err and "signature" in err and "attestation" in err
    assert len(err.splitlines()) == 1, err


def test_cosign_signature_asked_for_by_tag_is_refused(run_cli, tmp_path):
    path = rw.cosign_layout(tmp_path / "layout", "tags")
    tag = "sha256-" + _manifest_digest(rw.AMD64).split(":")[1] + ".sig"
    code, out, err = run_cli(path, "--tag", tag, "--files")
    assert code == 2 and out == ""
    assert "cosign signature" in _one_line(err)


@pytest.mark.parametrize("as_tar", [False, True])
def test_helm_chart_is_not_an_image(run_cli, tmp_path, as_tar):
    path = rw.helm_chart(tmp_path / ("chart.tar" if as_tar else "chart"), as_tar)
    code, out, err = run_cli(path, "--files")
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "Helm chart" in line and "not a container image" in line


def test_oras_sbom_is_not_an_image(run_cli, tmp_path):
    code, out, err = run_cli(rw.oras_sbom(tmp_path / "sbom"))
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "application/spdx+json" in line and "not a container image" in line


# --- 4. docker save oddities --------------------------------------------------------------------

@pytest.mark.parametrize("stdin", [False, True])
def test_docker25_untagged_save_falls_back_to_manifest_json(run_cli, tmp_path, stdin):
    path = rw.docker25_untagged(tmp_path / "saved.tar")
    if stdin:
        code, out, err = run_cli("-", "--files", "--format", "json", input=Path(path).read_bytes())
    else:
        code, out, err = run_cli(path, "--files", "--format", "json")
    assert code == 0, err
    _is(out, rw.AMD64)


def test_pre_110_save_says_to_resave(run_cli, tmp_path):
    code, out, err = run_cli(rw.pre_110_save(tmp_path / "old.tar"), "--files")
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "1.10" in line and "docker load" in line and "docker save" in line


# --- 6. tags as people type them -----------------------------------------------------------------

@pytest.mark.parametrize("stored, typed", [
    ("app", "app:latest"), ("app", "docker.io/library/app:latest"), ("app", "app"),
    ("docker.io/library/app:latest", "app"), ("docker.io/library/app:latest", "app:latest"),
    ("library/app:latest", "docker.io/library/app"),
])
def test_tag_as_typed_matches(run_cli, tmp_path, stored, typed):
    path = rw.named(tmp_path / "layout", stored)
    other = rw.built(rw.OTHER)  # a second image makes the choice matter
    index = json.loads((Path(path) / "index.json").read_bytes())
    index["manifests"].append(other.manifest.descriptor(annotations={rw.ANN_REF_NAME: "other:9"}))
    write_oci_layout(tmp_path / "other", rw.OTHER)
    for blob in (Path(tmp_path / "other") / "blobs" / "sha256").iterdir():
        (Path(path) / "blobs" / "sha256" / blob.name).write_bytes(blob.read_bytes())
    (Path(path) / "index.json").write_text(json.dumps(index))
    for args in ((path, "--tag", typed), (f"{path}:{typed}",)):
        code, out, err = run_cli(*args, "--files", "--format", "json")
        assert code == 0, (args, err)
        _is(out, rw.AMD64)


def test_legacy_repo_tag_without_latest(run_cli, tmp_path):
    archive = tmp_path / "saved.tar"
    write_docker_archive(archive, [ImageSpec(rw.AMD64.layers, tags=["app"]), ImageSpec(rw.OTHER.layers, tags=["b:1"])])
    code, out, err = run_cli(archive, "--tag", "docker.io/library/app:latest", "--files", "--format", "json")
    assert code == 0, err
    _is(out, rw.AMD64)


@pytest.mark.parametrize("as_tar", [False, True])
@pytest.mark.parametrize("tag", [None, "1.0.0"])
def test_two_images_with_the_same_tag(run_cli, tmp_path, as_tar, tag):
    path = rw.duplicate_ref_names(tmp_path / ("l.tar" if as_tar else "l"), as_tar)
    code, out, err = run_cli(path, *(("--tag", tag) if tag else ()), "--files")
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "2 images are tagged 1.0.0" in line
    assert "1.0.0, 1.0.0" not in line
    assert _manifest_digest(rw.AMD64) in line  # what to pass to --digest


@pytest.mark.parametrize("ref", ["busybox:latest", "docker:busybox:latest"])
def test_tag_on_an_engine_reference_is_an_error(run_cli, ref):
    code, out, err = run_cli(ref, "--tag", "other:1", "--files")
    assert code == 2 and out == ""
    assert "--tag picks an image inside an archive" in _one_line(err)


# --- 9. references that look like files, documents that are not ------------------------------

@pytest.mark.parametrize("ref", ["/nonexistent.tar", "./missing.tar", "missing.tar.gz", "missing.tgz",
                                 "missing.oci", "/no/such/dir", "oci-archive:/nonexistent.tar@sha256:" + "a" * 64])
def test_reference_that_looks_like_a_file(run_cli, tmp_path, ref):
    code, out, err = run_cli(ref, "--files", cwd=tmp_path)
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "no such file" in line.lower()
    assert "invalid reference format" not in line and "engine" not in line.lower()


def test_index_json_is_a_directory(run_cli, tmp_path):
    path = rw.index_json_directory(tmp_path / "layout")
    code, out, err = run_cli(path, "--files")
    assert code == 2 and out == ""
    line = _one_line(err)
    assert "index.json" in line and "directory" in line


@pytest.mark.parametrize("stdin", [False, True])
def test_manifest_json_null(run_cli, tmp_path, stdin):
    path = rw.manifest_json_null(tmp_path / "saved.tar")
    args = ("-",) if stdin else (path,)
    code, out, err = run_cli(*args, "--files", input=Path(path).read_bytes() if stdin else None)
    assert code == 2 and out == ""
    assert "manifest.json is null" in _one_line(err)


# --- 11.5 index graphs that share children ------------------------------------------------------

def test_shared_children_are_visited_once(tmp_path):
    path = rw.shared_children(tmp_path / "layout")
    code, out, err = _run_limited(path, "--files", "--format", "json", timeout=10)
    assert code == 0, err
    _is(out, rw.AMD64)


def test_too_many_descriptors_is_a_clear_error(tmp_path):
    path = rw.wide_index(tmp_path / "layout")
    code, out, err = _run_limited(path, "--platform", "linux/s390x", "--files", timeout=10)
    assert code == 2 and out == ""
    assert "10,000 descriptors" in _one_line(err)

"""The registry source sees exactly what the archive source sees, under every spelling of the name."""

from __future__ import annotations

import pytest

from .conftest import Bed, Runner, no_engine


@pytest.mark.parametrize("key", ["sample", "base", "app"])
def test_files_json_equal_the_archive_byte_for_byte(bed: Bed, run: Runner, key: str) -> None:
    from_registry = run(f"registry:{bed.names[key]}", "--files", "--format", "json")
    from_archive = run(bed.archives[key], "--files", "--format", "json")
    assert from_registry.code == 0, from_registry.err
    assert from_registry.out == from_archive.out
    assert from_registry.err == ""


@pytest.mark.parametrize("arch", ["amd64", "arm64"])
def test_each_platform_of_a_zstd_index_equals_its_own_archive(bed: Bed, run: Runner, arch: str) -> None:
    from_registry = run(f"registry:{bed.names['multi']}", "--platform", f"linux/{arch}", "--files", "--format", "json")
    from_archive = run(bed.archives[f"multi-{arch}"], "--files", "--format", "json")
    assert from_registry.code == 0, from_registry.err
    assert from_registry.out == from_archive.out
    assert f"/opt/{arch}/tool" in from_registry.out


def test_a_platform_the_index_lacks_is_one_line(bed: Bed, run: Runner) -> None:
    run(f"registry:{bed.names['multi']}", "--platform", "linux/s390x").one_error(2, "s390x", "amd64", "arm64")


def test_summary_names_the_registry_as_its_source(bed: Bed, run: Runner) -> None:
    summary = run(f"registry:{bed.names['sample']}", "--format", "json").json()
    assert summary["image"]["source"] == "registry"
    assert summary["image"]["reference"] == f"registry:{bed.names['sample']}"
    assert summary["image"]["repo_tags"] == [bed.names["sample"]]
    assert summary["image"]["manifest_digest"].startswith("sha256:")
    assert summary["verification"]["layers_checked"] == summary["image"]["layers"]
    assert summary["verification"]["blobs_checked"] == summary["image"]["layers"]


def test_skopeo_spelling_docker_slash_slash(bed: Bed, run: Runner) -> None:
    summary = run(f"docker://{bed.names['base']}", "--format", "json").json()
    assert summary["image"]["source"] == "registry"


def test_by_digest(bed: Bed, run: Runner) -> None:
    digest = run(f"registry:{bed.names['app']}", "--format", "json").json()["image"]["manifest_digest"]
    name = bed.names["app"].rsplit(":", 1)[0]
    by_digest = run(f"registry:{name}@{digest}", "--files", "--format", "json")
    assert by_digest.out == run(bed.archives["app"], "--files", "--format", "json").out


def test_a_bare_name_goes_to_the_registry_when_no_engine_answers(bed: Bed, run: Runner) -> None:
    summary = run(bed.names["base"], "--format", "json", env=no_engine()).json()
    assert summary["image"]["source"] == "registry"


def test_source_registry_skips_the_engine(bed: Bed, run: Runner) -> None:
    summary = run(bed.names["base"], "--source", "registry", "--format", "json").json()
    assert summary["image"]["source"] == "registry"


def test_source_engine_keeps_a_bare_name_away_from_the_registry(bed: Bed, run: Runner) -> None:
    run(bed.names["base"], "--source", "engine", env=no_engine()).one_error(2, "engine")


def test_cat_from_the_registry(bed: Bed, run: Runner) -> None:
    result = run("cat", f"registry:{bed.names['app']}", "/app/data.txt")
    assert result.code == 0, result.err
    assert result.out == "only in the app layer\n"


def test_progress_is_drawn_only_on_a_terminal(bed: Bed, run: Runner) -> None:
    import os
    import pty
    import subprocess
    import sys

    from ..conftest import cli_env

    leader, follower = pty.openpty()
    env = {**cli_env(), "XDG_CACHE_HOME": str(run.home / "cache"), "DOCKER_CONFIG": str(run.home / "docker")}
    proc = subprocess.run([sys.executable, "-m", "inspector", f"registry:{bed.names['app']}", "--files", "--no-cache"],
                          stdout=subprocess.PIPE, stderr=follower, env=env, timeout=60, check=False)
    os.close(follower)
    drawn = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError:
            break
        if not chunk:
            break
        drawn += chunk
    os.close(leader)
    assert proc.returncode == 0
    assert b"downloading layer" in drawn and drawn.endswith(b"\r\x1b[K")
    assert run(f"registry:{bed.names['app']}", "--files", "--no-cache").err == ""  # not a terminal: nothing

"""``inspect-image diff``: what changed between two images, as a table, as JSON and as an exit code."""

from __future__ import annotations

import json

import pytest

from testdata.imagebuilder import E, ImageSpec, whiteout

BASE = [E("bin/", "dir"), E("bin/sh", data=b"#!/bin/busybox sh\n", mode=0o755),
        E("bin/su", data=b"\x7fELF su", mode=0o4755), E("usr/", "dir"), E("usr/bin/", "dir"),
        E("usr/bin/apt", data=b"#!/bin/sh\n", mode=0o755), E("usr/share/", "dir"), E("usr/share/doc/", "dir"),
        E("usr/share/doc/readme", data=b"docs v1"), E("etc/", "dir"), E("etc/conf", data=b"one")]
FAT = ImageSpec(layers=[BASE, [E("app/", "dir"), E("app/run", data=b"#!/bin/sh\necho v1\n", mode=0o755)]],
                config={"Entrypoint": ["/app/run"], "Env": ["PATH=/bin:/usr/bin", "MODE=fat"], "User": "0"})
SLIM = ImageSpec(layers=[BASE, [whiteout("bin/sh"), whiteout("bin/su"), whiteout("usr/bin/apt"),
                                E("app/", "dir"), E("app/run", data=b"#!/bin/sh\necho v2\n", mode=0o755),
                                E("usr/share/doc/readme", data=b"docs v2"), E("etc/conf", data=b"two", mode=0o600),
                                E("app/new", data=b"\x7fELF new", mode=0o755)]],
                 config={"Entrypoint": ["/app/run"], "Env": ["PATH=/bin:/usr/bin", "MODE=slim"], "User": "65532"})


@pytest.fixture
def pair(image_writer):
    return image_writer(FAT, "oci-gzip", name="fat"), image_writer(SLIM, "legacy", name="slim")


def _diff(run_cli, a: str, b: str, *args: str):
    code, out, err = run_cli("diff", a, b, *args, "--format", "json")
    assert "Traceback" not in err
    return code, json.loads(out) if out else None


def test_executables_added_removed_changed(run_cli, pair):
    code, result = _diff(run_cli, *pair)
    assert code == 0, "without --exit-code differences are not an error"
    assert {e["path"] for e in result["removed"]} == {"/bin/sh", "/bin/su", "/usr/bin/apt"}
    assert {e["path"] for e in result["added"]} == {"/app/new"}
    (changed,) = result["changed"]
    assert changed["path"] == "/app/run" and changed["differences"] == ["content"]
    assert changed["a"]["sha256"] != changed["b"]["sha256"]
    summary = result["summary"]
    assert summary["shells"] == {"added": [], "removed": ["/bin/sh"]}
    assert summary["package_managers"] == {"added": [], "removed": ["apt"]}
    assert summary["setuid"] == {"added": [], "removed": ["/bin/su"]}
    assert (summary["added"], summary["removed"], summary["changed"]) == (1, 3, 1)


def test_config_differences(run_cli, pair):
    _, result = _diff(run_cli, *pair)
    assert result["config"]["user"] == {"a": "0", "b": "65532"}
    assert result["config"]["env"]["added"] == ["MODE=slim"] and result["config"]["env"]["removed"] == ["MODE=fat"]
    assert "entrypoint" not in result["config"]


def test_all_entries_with_path_and_ignore(run_cli, pair):
    _, result = _diff(run_cli, *pair, "--all")
    changed = {c["path"]: c["differences"] for c in result["changed"]}
    assert changed["/etc/conf"] == ["mode", "content"]
    assert changed["/usr/share/doc/readme"] == ["content"]
    _, result = _diff(run_cli, *pair, "--all", "--ignore", "/usr/share/doc/**", "--path", "/usr")
    paths = {e["path"] for e in result["added"] + result["removed"]} | {c["path"] for c in result["changed"]}
    assert paths == {"/usr/bin/apt"}


def test_exit_code_like_git_diff(run_cli, pair, image_writer):
    assert _diff(run_cli, *pair, "--exit-code")[0] == 1
    same = image_writer(FAT, "legacy", name="fat-again")
    code, result = _diff(run_cli, pair[0], same, "--exit-code")
    assert code == 0
    assert result["added"] == result["removed"] == result["changed"] == [] and result["config"] == {}
    assert run_cli("diff", pair[0], "missing.tar", "--pull", "never")[0] == 2


def test_table_groups_changes(run_cli, pair):
    code, out, err = run_cli("diff", *pair)
    assert code == 0, err
    lines = out.splitlines()
    assert any(line.startswith("- ") and line.endswith("/bin/su") for line in lines)
    assert any(line.startswith("+ ") and line.endswith("/app/new") for line in lines)
    assert any(line.startswith("~ /app/run") for line in lines)
    assert max(len(line) for line in lines) <= 100


@pytest.mark.parametrize("cache, expected", [([], 0), (["--no-cache"], 3)])
def test_shared_base_layers_are_parsed_once(run_cli, image_writer, tmp_path, cache, expected):
    # the slim image's copy of the shared base layer is spoiled (same size): with the cache it is
    # answered by the entry the fat image's copy made (a hit checks the size only, see README);
    # without one, the copy is hashed before the fat image's scan stands in for it, and fails
    import os
    from pathlib import Path

    fat = image_writer(FAT, "oci-gzip", name="fat-shared")
    slim = Path(image_writer(SLIM, "oci-gzip", name="slim-shared"))
    index = json.loads((slim / "index.json").read_text())
    manifest = json.loads((slim / "blobs/sha256" / index["manifests"][0]["digest"][7:]).read_text())
    base = slim / "blobs/sha256" / manifest["layers"][0]["digest"][7:]
    os.chmod(base, 0o644)
    base.write_bytes(b"spoiled".ljust(base.stat().st_size, b"!"))
    code, result = _diff(run_cli, fat, str(slim), *cache)
    assert code == expected, result
    if expected == 0:
        assert {e["path"] for e in result["added"]} == {"/app/new"}


def test_diff_of_every_entry_walks_a_tree_ten_thousand_levels_deep(run_cli, tmp_path):
    """Both views are walked side by side (``fs.merge.walk_pair``) without recursion: a hostile
    image nests a file as deep as ``--max-depth`` lets it."""
    from tests.conftest import write_image

    deep = "/".join(["d"] * 10_000)
    base = [E("etc/", "dir"), E(f"{deep}/leaf", data=b"leaf")]
    a = write_image(tmp_path / "a", ImageSpec([base]), "oci-gzip")
    b = write_image(tmp_path / "b", ImageSpec([base, [E(f"{deep}/sibling", data=b"new")]]), "oci-gzip")
    code, out, err = run_cli("diff", a, b, "--all", "--format", "json", "--max-depth", "20000", "--exit-code",
                             timeout=120)
    assert code == 1, err
    result = json.loads(out)
    assert [entry["path"] for entry in result["added"]] == [f"/{deep}/sibling"]
    assert result["removed"] == [] and result["changed"] == []

"""Digest verification: what passes through us is checked by default, --verify checks everything.

A mismatch is exit code 3 (audit scripts tell it apart from bad input, 2) with the layer named.
"""

from __future__ import annotations

import json

import pytest

from testdata.imagebuilder import E, ImageSpec

SPEC = ImageSpec(layers=[[E("etc/", "dir"), E("etc/motd", data=b"hello world\n")],
                         [E("usr/", "dir"), E("usr/tool", data=b"original tool", mode=0o755)]])


def _flip_byte(word: bytes):
    """A layer hook that changes one byte of a file's content: the tar still reads fine."""

    def hook(index: int, data: bytes) -> bytes:
        if index != 1:
            return data
        at = data.find(word)
        assert at >= 0, "the hook only works on uncompressed layers"
        return data[:at] + b"X" + data[at + 1:]

    return hook


def test_an_untouched_image_verifies_fully(image_writer, run_cli):
    ref = image_writer(SPEC, "oci-gzip")
    code, out, err = run_cli(ref, "--verify", "--format", "json")
    assert code == 0, err
    checked = json.loads(out)["verification"]
    assert checked["full"] is True
    assert checked["layers_checked"] == 2 and checked["layers_unchecked"] == 0
    assert checked["blobs_checked"] == 2
    assert checked["documents_checked"] >= 2  # the manifest and the config


@pytest.mark.parametrize("layout", ["legacy", "docker25", "oci-none"])
def test_changed_content_fails_verify_with_exit_3_naming_the_layer(image_writer, run_cli, layout):
    ref = image_writer(SPEC, layout, layer_bytes_hook=_flip_byte(b"original"))
    code, out, err = run_cli(ref, "--files", "--verify")
    assert code == 3, err
    assert out == ""
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "layer 1" in err and "diff_id" in err


def test_changed_content_is_caught_by_default_where_the_bytes_stream_past(image_writer, run_cli):
    # through standard input every byte passes anyway, so the check is free and on by default
    ref = image_writer(SPEC, "legacy", layer_bytes_hook=_flip_byte(b"original"))
    with open(ref, "rb") as handle:
        code, _, err = run_cli("-", "--files", "--no-cache", input=handle.read())
    assert code == 3 and "layer 1" in err


def test_a_seekable_archive_is_hashed_with_and_without_the_cache(image_writer, run_cli):
    # a seekable uncompressed layer is read in full and hashed, cache or not: nothing is listed
    # that nobody checked (issue 12.5: --no-cache used to skip file data unchecked)
    ref = image_writer(SPEC, "legacy", layer_bytes_hook=_flip_byte(b"original"))
    code, _, err = run_cli(ref, "--files", "--no-cache")
    assert code == 3 and "layer 1" in err
    code, _, err = run_cli(ref, "--files")
    assert code == 3 and "layer 1" in err


def test_a_config_that_does_not_match_its_digest_is_exit_3(image_writer, run_cli, tmp_path):
    ref = image_writer(SPEC, "oci-none")
    index = json.loads((tmp_path / ref.rsplit("/", 1)[-1] / "index.json").read_text())
    manifest_digest = index["manifests"][0]["digest"].split(":", 1)[1]
    manifest_path = tmp_path / ref.rsplit("/", 1)[-1] / "blobs" / "sha256" / manifest_digest
    manifest = json.loads(manifest_path.read_text())
    config_path = manifest_path.parent / manifest["config"]["digest"].split(":", 1)[1]
    config = json.loads(config_path.read_text())
    config["config"] = {"User": "0"}  # tampered: the digest no longer matches
    config_path.write_text(json.dumps(config))
    code, _, err = run_cli(ref)
    assert code == 3, err
    assert "config" in err and "digest" in err


def test_summary_reports_what_was_verified(image_writer, run_cli):
    ref = image_writer(SPEC, "oci-gzip")  # compressed layers stream through us: checked by default
    code, out, err = run_cli(ref, "--format", "json")
    assert code == 0, err
    checked = json.loads(out)["verification"]
    assert checked["full"] is False and checked["layers_checked"] == 2

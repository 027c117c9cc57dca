"""Only what is needed is downloaded, on a cold cache too: ``diff`` shares layers by digests we computed,
``cat`` reads the top layers first and stops as soon as the rest cannot change the answer.

Requests are counted at the bed's proxy (a real docker-registry behind it). Every run has its own
empty ``XDG_CACHE_HOME`` (the ``run`` fixture) or ``--no-cache``, so nothing comes from a cache.
"""

from __future__ import annotations

import json

import pytest

from testdata.imagebuilder import ImageSpec, write_oci_layout

from .conftest import BASE_LAYERS, Bed, Proxy, Runner, _layer_digests


@pytest.fixture(scope="module")
def zstd_base(bed: Bed, tmp_path_factory: pytest.TempPathFactory) -> tuple[str, list[str]]:
    """The base image's layers again, zstd-compressed: the same diff IDs under other blob digests."""
    layout = tmp_path_factory.mktemp("zstd-base") / "oci"
    write_oci_layout(layout, ImageSpec(BASE_LAYERS, config={"Cmd": ["/bin/sh"]}), compression="zstd")
    bed.anon.push(f"oci:{layout}", "test/base-zstd:1")
    return f"{bed.proxy.host}/test/base-zstd:1", _layer_digests(layout)


def _diff(run: Runner, a: str, b: str, *extra: str) -> dict:
    result = run("diff", a, b, "--format", "json", *extra)
    assert result.code == 0, result.err
    return json.loads(result.out)


@pytest.mark.parametrize("extra", [("--no-cache",), ("--all", "--no-cache"), ("--all",)])
def test_diff_downloads_the_shared_base_once(bed: Bed, run: Runner, proxy: Proxy, extra: tuple[str, ...]) -> None:
    """The second image's base layers have the blob digests the first image's download computed (and
    the same diff IDs): they are not downloaded again. Same answer as the two archives give."""
    got = _diff(run, f"registry:{bed.names['base']}", f"registry:{bed.names['app']}", *extra)
    base, own = set(bed.layers["base"]), {bed.layers["app"][2]}
    assert proxy.blob_gets(base) == len(base), proxy.counts
    assert proxy.blob_gets(own) == 1, proxy.counts
    expected = _diff(run, bed.archives["base"], bed.archives["app"], *extra)
    for key in ("added", "removed", "changed", "config", "summary"):
        assert got[key] == expected[key], key


def test_diff_shares_nothing_on_a_claimed_diff_id_alone(bed: Bed, run: Runner, proxy: Proxy,
                                                          zstd_base: tuple[str, list[str]]) -> None:
    """Same diff IDs, other blobs (zstd): no digest we computed names them, so each is downloaded and
    hashed before the merged base is shared."""
    name, zstd_layers = zstd_base
    assert set(zstd_layers).isdisjoint(bed.layers["base"])
    got = _diff(run, f"registry:{bed.names['base']}", f"registry:{name}", "--all", "--no-cache")
    assert got["added"] == got["removed"] == got["changed"] == []
    assert proxy.blob_gets(set(zstd_layers)) == len(zstd_layers), proxy.counts
    assert proxy.blob_gets(set(bed.layers["base"])) == len(bed.layers["base"]), proxy.counts


def test_diff_refuses_a_shared_layer_that_was_tampered_with(bed: Bed, run: Runner, proxy: Proxy) -> None:
    """The first image's copy of a base layer is damaged on the way: exit 3, nothing is vouched for."""
    proxy.flip_blob = bed.layers["base"][1]
    result = run("diff", f"registry:{bed.names['base']}", f"registry:{bed.names['app']}", "--no-cache")
    result_line = result.err.strip()
    assert result.code == 3, result.err
    assert "Traceback" not in result.err and len(result_line.splitlines()) == 1, result.err
    assert "digest" in result_line

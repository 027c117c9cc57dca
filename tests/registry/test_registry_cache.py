"""Only what is needed crosses the network: requests are counted at a proxy in front of the registry."""

from __future__ import annotations

from .conftest import Bed, Runner


def test_a_second_run_downloads_no_blob(bed: Bed, run: Runner, proxy) -> None:
    first = run(f"registry:{bed.names['app']}", "--files", "--format", "json")
    assert first.code == 0, first.err
    assert proxy.blob_gets(set(bed.layers["app"])) == len(bed.layers["app"])
    proxy.reset()
    second = run(f"registry:{bed.names['app']}", "--files", "--format", "json")
    assert second.out == first.out
    assert proxy.blob_gets() == 0, proxy.counts  # no layer, and the config from the cache too


def test_the_summary_repeats_without_downloads_too(bed: Bed, run: Runner, proxy) -> None:
    first = run(f"registry:{bed.names['sample']}", "--format", "json")
    proxy.reset()
    second = run(f"registry:{bed.names['sample']}", "--format", "json")
    assert {**second.json(), "verification": None} == {**first.json(), "verification": None}
    assert second.json()["verification"]["layers_checked"] == 0  # nothing read, so nothing hashed
    assert proxy.blob_gets() == 0, proxy.counts


def test_another_image_on_the_same_base_downloads_only_its_own_layers(bed: Bed, run: Runner, proxy) -> None:
    assert run(f"registry:{bed.names['base']}", "--files").code == 0
    base_layers = set(bed.layers["base"])
    assert base_layers == set(bed.layers["app"][:2])
    proxy.reset()
    assert run(f"registry:{bed.names['app']}", "--files").code == 0
    assert proxy.blob_gets(base_layers) == 0, proxy.counts
    assert proxy.blob_gets({bed.layers["app"][2]}) == 1


def test_no_cache_downloads_everything_every_time(bed: Bed, run: Runner, proxy) -> None:
    for _ in range(2):
        assert run(f"registry:{bed.names['base']}", "--files", "--no-cache").code == 0
    assert proxy.blob_gets(set(bed.layers["base"])) == 2 * len(bed.layers["base"])


def test_cat_downloads_again_only_the_layer_holding_the_file(bed: Bed, run: Runner, proxy) -> None:
    """cat reads the stack from the top (``export.topdown``): the app layer, then the one holding the
    file, which is read again to copy its bytes; the base layer below it never."""
    result = run("cat", f"registry:{bed.names['app']}", "/usr/lib/libbase.so")
    assert result.code == 0, result.err
    assert result.out == "base" * 1000
    assert proxy.blob_gets({bed.layers["app"][1]}) == 2
    assert proxy.blob_gets({bed.layers["app"][2]}) == 1
    assert proxy.blob_gets({bed.layers["app"][0]}) == 0


def test_an_index_costs_one_manifest_per_level(bed: Bed, run: Runner, proxy) -> None:
    assert run(f"registry:{bed.names['multi']}", "--platform", "linux/arm64", "--files").code == 0
    manifest_gets = sum(n for key, n in proxy.counts.items() if "/manifests/" in key)
    assert manifest_gets == 2, proxy.counts  # the index, then arm64's manifest; never amd64's

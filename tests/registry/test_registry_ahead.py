"""Two registry layers downloaded and scanned at once (``sources.registry._scan_ahead``).

The next layer's download and inflation run while the current one is parsed; what a user sees must
not change: the same output as one layer at a time, errors in stack order naming the same layer,
a stateful probe (``--packages``, whose integrity hashes are collected per layer) one layer at a
time, and no download left running when the reader stops early.
"""

from __future__ import annotations

import json
import re
import sys
import threading
import time

import pytest

from inspector.fs import LayerScanner
from inspector.limits import DEFAULT
from inspector.reports import facts
from inspector.sources.layout import Selector
from inspector.sources.registry import open_registry_image
from inspector.sources.registry_ref import parse_registry_ref

from .conftest import Bed, Proxy, Runner


def test_two_layers_download_at_once_and_the_listing_is_the_same(bed: Bed, run: Runner, proxy: Proxy) -> None:
    proxy.delay_blobs = 0.3  # each blob answer waits: one at a time, they would never overlap
    result = run(f"registry:{bed.names['app']}", "--files", "--format", "json", "--no-cache")
    assert result.code == 0, result.err
    assert proxy.most_blobs_at_once == 2
    assert result.out == run(bed.archives["app"], "--files", "--format", "json").out


def test_packages_with_integrity_read_one_layer_at_a_time(bed: Bed, run: Runner, proxy: Proxy) -> None:
    """Its probe collects digests per layer (``Prehash``): it is not marked reentrant, so no overlap."""
    proxy.delay_blobs = 0.2
    result = run(f"registry:{bed.names['app']}", "--packages", "--format", "json", "--no-cache")
    assert result.code == 0, result.err
    assert proxy.most_blobs_at_once == 1
    archive = run(bed.archives["app"], "--packages", "--format", "json")
    assert json.loads(result.out)["packages"] == json.loads(archive.out)["packages"]


@pytest.mark.parametrize("tampered", [0, 1])
def test_a_tampered_layer_is_the_error_whichever_finishes_first(bed: Bed, run: Runner, proxy: Proxy,
                                                               tampered: int) -> None:
    proxy.flip_blob = bed.layers["app"][tampered]
    result = run(f"registry:{bed.names['app']}", "--files", "--no-cache")
    line = result.one_error(3, f"layer {tampered}", bed.layers["app"][tampered])
    assert f"layer {1 - tampered}" not in line


@pytest.mark.parametrize("limit", [4, 5, 7, 8, 10])
def test_the_entry_limit_fails_at_the_layer_it_fails_at_one_at_a_time(bed: Bed, run: Runner, proxy: Proxy,
                                                                       limit: int) -> None:
    """Layers 0 and 1 are scanned together, each counting only what was settled before it began; the
    total is checked in stack order, so the failing layer is the one a one-at-a-time read names."""
    archive = run(bed.archives["app"], "--files", "--max-entries", str(limit))
    expected = re.findall(r"layer \d+ ", archive.err)
    assert archive.code == 2 and expected, archive.err
    for _ in range(3):  # whichever layer's scan ends first
        registry = run(f"registry:{bed.names['app']}", "--files", "--no-cache", "--max-entries", str(limit))
        line = registry.one_error(2, f"more than {limit} entries")
        assert re.findall(r"layer \d+ ", line) == expected


def test_a_reader_that_stops_early_leaves_no_download_running(bed: Bed, proxy: Proxy) -> None:
    proxy.delay_blobs = 0.5
    image = open_registry_image(parse_registry_ref(bed.names["app"]), Selector())
    try:
        scans = image.scan_layers(LayerScanner(facts.probe, DEFAULT))
        before = sys.getswitchinterval()
        info, tree = next(scans)
        assert info.index == 0 and tree is not None
        assert _ahead_threads()  # layers 1 and 2 are on their way
        assert sys.getswitchinterval() <= 0.001  # the inflating workers get the GIL back sooner
        started = time.monotonic()
        scans.close()  # the consumer stops: the downloads under way are stopped and waited for
        assert not _ahead_threads()
        assert time.monotonic() - started < 5
        assert sys.getswitchinterval() == before
    finally:
        image.close()


def _ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("layer-ahead") and t.is_alive()]


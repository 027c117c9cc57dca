"""``audit registry:HOST/REPO`` audits every tag, ``audit registry:HOST`` every repository of the catalog.

Against a real ``docker-registry``: its tag lists and catalog page with ``?n=&last=`` and a
``Link: <…>; rel="next"`` header. What a registry lists is untrusted: a name outside the
distribution grammar, an endless or oversized listing is refused, as one error line for that
listing, while the rest of the audit goes on.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from inspector.sources import registry_catalog
from inspector.sources.registry_ref import RegistryOptions, RegistryRef
from testdata.audit_fleet import write_fleet

from ..conftest import cli_env
from .conftest import Proxy, Registry

TAGS = ["1.0", "1.1", "2.0", "latest", "z-last"]


@pytest.fixture(scope="module")
def catalog(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, Proxy]]:
    root = tmp_path_factory.mktemp("catalog")
    fleet = write_fleet(root / "fleet", len(TAGS) + 1)
    registry = Registry(root / "registry").start()
    proxy = Proxy(registry.port).start()
    try:
        for tag, archive in zip(TAGS, fleet, strict=False):
            registry.push(f"docker-archive:{archive}", f"fleet/app:{tag}")
        registry.push(f"docker-archive:{fleet[-1]}", "other:1")
        yield registry, proxy
    finally:
        proxy.stop()
        registry.stop()


def audit(*args: str, cache: Path) -> tuple[int, list[dict[str, Any]], str]:
    proc = subprocess.run([sys.executable, "-m", "inspector", "audit", *args],
                          env={**cli_env(), "XDG_CACHE_HOME": str(cache)}, capture_output=True, timeout=120)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr.decode()


def test_tags_and_catalog_are_read_page_by_page(catalog: tuple[Registry, Proxy]) -> None:
    registry, proxy = catalog
    proxy.reset()
    options = RegistryOptions()
    # distribution 2.8 answers a tag list whole (no Link), in its own order; the catalog pages
    assert sorted(registry_catalog.list_tags(RegistryRef(proxy.host, "fleet/app"), options, page=2)) == TAGS
    assert registry_catalog.list_repositories(proxy.host, options, page=1) == ["fleet/app", "other"]
    catalog_pages = [key for key in proxy.counts if "/_catalog" in key]
    assert len(catalog_pages) == 2 and any("last=fleet%2Fapp" in key for key in catalog_pages), catalog_pages
    assert registry_catalog.expand(f"registry:{proxy.host}/fleet/app:1.0", options) is None  # one image: no listing


def test_audit_of_a_repository_is_every_tag(catalog: tuple[Registry, Proxy], tmp_path: Path) -> None:
    registry, _ = catalog
    code, found, err = audit(f"registry:{registry.host}/fleet/app", cache=tmp_path)
    assert code == 0, err
    expected = sorted(f"registry:{registry.host}/fleet/app:{tag}" for tag in TAGS)
    assert sorted(line["reference"] for line in found) == expected
    assert all(line["manifest_digest"].startswith("sha256:") and "summary" in line for line in found)


def test_audit_of_a_registry_is_its_catalog(catalog: tuple[Registry, Proxy], tmp_path: Path) -> None:
    registry, _ = catalog
    code, found, err = audit(f"registry:{registry.host}", "--fail-on", "shell", cache=tmp_path)
    assert code == 1, err  # the shell base is among them
    assert len(found) == len(TAGS) + 1 and f"registry:{registry.host}/other:1" in {line["reference"] for line in found}
    code, found_slash, _ = audit(f"registry:{registry.host}/", "--shard", "0/1", cache=tmp_path)
    assert {line["reference"] for line in found_slash} == {line["reference"] for line in found}


@pytest.mark.parametrize(("body", "words"), [
    (b'{"name": "fleet/app", "tags": ["1.0", "../../v2/x"]}', "not a valid name"),
    (b'{"name": "fleet/app", "tags": "1.0"}', "not a list"),
    (b"[" * 100000, "not JSON"),
    (b'{"tags": ["' + b"a" * (5 << 20) + b'"]}', "allowed"),
])
def test_a_hostile_tag_list_is_one_error_line_and_the_audit_goes_on(
        catalog: tuple[Registry, Proxy], tmp_path: Path, body: bytes, words: str) -> None:
    registry, proxy = catalog
    proxy.honest()
    proxy.rewrite = lambda path, original: body if "/tags/list" in path else original
    try:
        listing = f"registry:{proxy.host}/fleet/app"
        code, found, err = audit(listing, f"registry:{proxy.host}/other:1", cache=tmp_path)
    finally:
        proxy.honest()
    by_reference = {line["reference"]: line for line in found}
    assert set(by_reference) == {listing, f"registry:{proxy.host}/other:1"}
    assert words in by_reference[listing]["error"] and "summary" in by_reference[f"registry:{proxy.host}/other:1"]
    assert code == 2 and "Traceback" not in err and "internal error" not in err


def test_a_listing_longer_than_the_bound_is_refused(catalog: tuple[Registry, Proxy]) -> None:
    _, proxy = catalog
    with pytest.raises(registry_catalog.ListingError, match="more than 1 repositories"):
        registry_catalog.list_repositories(proxy.host, RegistryOptions(), max_names=1, page=1)
    with pytest.raises(registry_catalog.ListingError, match="more than 4 tags"):
        registry_catalog.list_tags(RegistryRef(proxy.host, "fleet/app"), RegistryOptions(), max_names=4)

"""The engine source answers a repeat inspection from the layer cache: an inspect call, no save."""

from __future__ import annotations

from typing import Any

import pytest

import inspector
from inspector.fs.cache import CacheUse, LayerCache
from inspector.reports import FACTS_CODEC, inspect_image, summary
from inspector.sources import EngineOptions

pytestmark = pytest.mark.engine


class CountingClient:
    """The real client, counting the save calls made through it."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.saves = 0
        outer = self

        class Api:
            def __getattr__(self, name: str) -> Any:
                return getattr(outer._client.api, name)

            def get_image(self, *args: Any, **kwargs: Any) -> Any:
                outer.saves += 1
                return outer._client.api.get_image(*args, **kwargs)

        self.api = Api()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def _summary(image: str, client: CountingClient, cache: LayerCache) -> dict[str, Any]:
    with inspector.open_image(f"docker:{image}", engine=EngineOptions(client=client, pull="never"),
                              cache=cache) as img:
        return summary(inspect_image(img, cache=CacheUse(cache, FACTS_CODEC)))


def test_a_cached_image_is_answered_without_docker_save(busybox_base, docker_client, tmp_path):
    cache = LayerCache(tmp_path / "cache")
    client = CountingClient(docker_client)
    first = _summary(busybox_base, client, cache)
    assert client.saves == 1
    second = _summary(busybox_base, client, cache)
    assert client.saves == 1, "the second look must not ask the engine to save the image"
    first["image"].pop("reference"), second["image"].pop("reference")
    first.pop("verification"), second.pop("verification")
    assert second == first


def test_a_stale_cache_falls_back_to_the_save_stream(busybox_base, docker_client, tmp_path):
    cache = LayerCache(tmp_path / "cache")
    client = CountingClient(docker_client)
    expected = _summary(busybox_base, client, cache)
    for entry in (cache.directory / "layers").iterdir():
        entry.write_bytes(b"garbage")  # every layer entry now fails its checksum
    again = _summary(busybox_base, client, cache)
    assert client.saves == 2 and cache.rejected >= 1
    assert again["executables"] == expected["executables"]

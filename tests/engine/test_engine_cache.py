"""The engine source answers a repeat inspection from the layer cache: an inspect call, no save."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import inspector
from inspector.fs.cache import CacheUse, LayerCache
from inspector.reports import FACTS_CODEC, inspect_image
from inspector.reports.summary import summary
from inspector.sources import EngineOptions
from inspector.sources.engine_socket import inspect_image as engine_inspect
from inspector.sources.engine_socket import local_socket

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


_REPEAT = """
import json, sys
from inspector.cli import main
sys.argv = ["inspect-image", sys.argv[1], "--format", "json"]
try:
    main()
finally:
    print(json.dumps({"sdk_imported": "docker" in sys.modules}), file=sys.stderr)
"""


def _cli_run(image: str, cache_home: Path) -> tuple[dict[str, Any], bool]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache_home)}
    done = subprocess.run([sys.executable, "-c", _REPEAT, f"docker:{image}"], capture_output=True, env=env,
                          timeout=300, check=True)
    return json.loads(done.stdout), json.loads(done.stderr.decode().strip().splitlines()[-1])["sdk_imported"]


def test_a_cached_repeat_on_the_local_socket_does_without_the_sdk(busybox_base, docker_client, tmp_path):
    """The repeat's one inspect call goes straight to the socket: importing the SDK would cost a
    quarter of the run. The answer must not differ from the first run's (which saved the image)."""
    if local_socket(None) is None:
        pytest.skip("the engine is not reached through a plain unix socket here (DOCKER_HOST, context or TLS)")
    first, first_sdk = _cli_run(busybox_base, tmp_path)
    second, second_sdk = _cli_run(busybox_base, tmp_path)
    assert first_sdk, "the first run saves the image, through the SDK"
    assert not second_sdk, "a repeat answered from the cache must not need the SDK"
    first.pop("verification"), second.pop("verification")
    assert second == first


def test_the_sdk_free_inspect_reads_what_the_sdk_reads(busybox_base, docker_client):
    path = local_socket(None)
    if path is None:
        pytest.skip("the engine is not reached through a plain unix socket here (DOCKER_HOST, context or TLS)")
    assert engine_inspect(path, busybox_base) == docker_client.api.inspect_image(busybox_base)
    assert engine_inspect(path, "inspector-test/no-such-image:0") is None

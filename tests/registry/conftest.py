"""Fixtures for the registry source: real ``docker-registry`` servers on 127.0.0.1, images pushed by skopeo.

Session-scoped (a registry starts in ~0.1 s, a push takes ~0.3 s): one anonymous registry behind a
counting and tampering proxy, one with htpasswd Basic auth, one with Bearer tokens from
``testdata.registry_bed.TokenServer``. Every server is stopped by its own pid (or thread) at the end.
Skipped, with the reason, when docker-registry, skopeo, htpasswd or openssl is missing (``.ci/run``
installs them).
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from testdata.imagebuilder import E, ImageSpec, write_docker_archive, write_oci_layout
from testdata.registry_bed import Proxy, Registry, TokenServer, missing_tools

__all__ = ["Proxy", "Registry", "TokenServer"]

from ..conftest import REPO_ROOT, cli_env

MEMORY = 1 << 30
SAMPLE = REPO_ROOT / "testdata" / "sample" / "distroless-java.tar"


@pytest.fixture(scope="session", autouse=True)
def _tools() -> None:
    missing = missing_tools()
    if missing:
        pytest.skip(f"registry tests need {', '.join(missing)} (apt-get install docker-registry skopeo "
                    "apache2-utils openssl)")


def _limit() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        assert self.code == 0, f"exit {self.code}: {self.err}"
        return json.loads(self.out)

    def one_error(self, expected: int, *words: str) -> str:
        """Exactly one stderr line, no traceback, the expected exit code, and these words in the line."""
        assert self.code == expected, f"exit {self.code}, expected {expected}: {self.err}"
        assert "Traceback" not in self.err and "internal error" not in self.err, self.err
        lines = self.err.strip("\n").split("\n")
        assert len(lines) == 1, self.err
        for word in words:
            assert word.lower() in lines[0].lower(), f"{word!r} not in {lines[0]!r}"
        return lines[0]


@dataclass
class Runner:
    """Runs the CLI in a subprocess with a clean credentials environment and its own layer cache."""

    home: Path
    env: dict[str, str] = field(default_factory=dict)

    def __call__(self, *args: str, env: dict[str, str] | None = None, timeout: float = 60) -> Result:
        full = cli_env()
        full.update({"HOME": str(self.home), "DOCKER_CONFIG": str(self.home / "docker"),
                     "XDG_CACHE_HOME": str(self.home / "cache"), "XDG_RUNTIME_DIR": str(self.home / "run")})
        full.pop("REGISTRY_AUTH_FILE", None)
        full.update(self.env)
        full.update(env or {})
        proc = subprocess.run([sys.executable, "-m", "inspector", *args], check=False, stdin=subprocess.DEVNULL,
                              capture_output=True, env=full, timeout=timeout, preexec_fn=_limit)
        return Result(proc.returncode, proc.stdout.decode("utf-8", "surrogateescape"),
                      proc.stderr.decode("utf-8", "surrogateescape"))

    def docker_config(self, document: dict[str, Any]) -> None:
        (self.home / "docker").mkdir(parents=True, exist_ok=True)
        (self.home / "docker" / "config.json").write_text(json.dumps(document))


@pytest.fixture
def run(tmp_path: Path) -> Runner:
    """A fresh HOME (no credentials, empty cache) for each test."""
    return Runner(tmp_path / "home")


# --- images ------------------------------------------------------------------------------------
BASE_LAYERS = [
    [E("bin/", "dir"), E("bin/busybox", data=b"\x7fELF" + b"\0" * 60, mode=0o755),
     E("bin/sh", "symlink", target="busybox"), E("etc/", "dir"), E("etc/os-release", data=b"ID=test\n")],
    [E("usr/", "dir"), E("usr/lib/", "dir"), E("usr/lib/libbase.so", data=b"base" * 1000)],
]
APP_LAYER = [E("app/", "dir"), E("app/run.sh", data=b"#!/bin/sh\necho app\n", mode=0o755),
             E("app/data.txt", data=b"only in the app layer\n")]


def platform_spec(arch: str) -> ImageSpec:
    return ImageSpec([[E("etc/", "dir"), E("etc/arch", data=f"{arch}\n".encode())],
                      [E(f"opt/{arch}/", "dir"), E(f"opt/{arch}/tool", data=arch.encode() * 500, mode=0o755)]],
                     config={"Entrypoint": [f"/opt/{arch}/tool"]}, tags=["multi:1"], architecture=arch)


@dataclass
class Bed:
    """What the session pushed: names to ask for, and the local archives they must equal."""

    anon: Registry
    proxy: Proxy
    archives: dict[str, str]  # name -> local reference holding the same image
    layers: dict[str, list[str]]  # name -> layer blob digests, bottom first
    names: dict[str, str]  # short key -> HOST/NAME:TAG on the proxy


def _layer_digests(layout: Path) -> list[str]:
    index = json.loads((layout / "index.json").read_text())
    digest = index["manifests"][0]["digest"]
    manifest = json.loads((layout / "blobs" / "sha256" / digest.split(":")[1]).read_text())
    return [layer["digest"] for layer in manifest["layers"]]


@pytest.fixture(scope="session")
def bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Bed]:
    root = tmp_path_factory.mktemp("registry-bed")
    anon = Registry(root / "anon").start()
    proxy = Proxy(anon.port).start()
    try:
        archives: dict[str, str] = {}
        layers: dict[str, list[str]] = {}
        names: dict[str, str] = {}
        pushed = anon.push(f"docker-archive:{SAMPLE}", "sample/java:21")  # Docker v2 manifest, gzip by skopeo
        names["sample"] = pushed.replace(anon.host, proxy.host)
        archives["sample"] = f"docker-archive:{SAMPLE}"
        for key, spec in (("base", ImageSpec(BASE_LAYERS, config={"Cmd": ["/bin/sh"]})),
                          ("app", ImageSpec([*BASE_LAYERS, APP_LAYER], config={"Entrypoint": ["/app/run.sh"]}))):
            layout = root / f"{key}-oci"
            write_oci_layout(layout, spec, compression="gzip")  # deterministic blobs: base layers shared
            write_docker_archive(root / f"{key}.tar", spec)
            anon.push(f"oci:{layout}", f"test/{key}:1")
            names[key] = f"{proxy.host}/test/{key}:1"
            archives[key] = f"docker-archive:{root / f'{key}.tar'}"
            layers[key] = _layer_digests(layout)
        specs = [platform_spec("amd64"), platform_spec("arm64")]
        write_oci_layout(root / "multi-oci", specs, compression="zstd", index_platforms=True)
        anon.push(f"oci:{root / 'multi-oci'}", "test/multi:1", all_platforms=True)
        names["multi"] = f"{proxy.host}/test/multi:1"
        for spec in specs:
            write_docker_archive(root / f"multi-{spec.architecture}.tar", spec)
            archives[f"multi-{spec.architecture}"] = f"docker-archive:{root / f'multi-{spec.architecture}.tar'}"
        yield Bed(anon, proxy, archives, layers, names)
    finally:
        proxy.stop()
        anon.stop()


@pytest.fixture
def proxy(bed: Bed) -> Iterator[Proxy]:
    """The bed's proxy, counting from zero and honest again after each test."""
    bed.proxy.reset()
    bed.proxy.honest()
    yield bed.proxy
    bed.proxy.honest()


@pytest.fixture(scope="session")
def basic_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Registry]:
    registry = Registry(tmp_path_factory.mktemp("registry-basic"), auth="basic").start()
    try:
        registry.push(f"docker-archive:{SAMPLE}", "private/java:21")
        yield registry
    finally:
        registry.stop()


@pytest.fixture(scope="session")
def token_bed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Registry, TokenServer]]:
    root = tmp_path_factory.mktemp("registry-token")
    tokens = TokenServer(root / "tokens").start()
    registry = Registry(root / "registry", auth=tokens).start()
    try:
        registry.push(f"docker-archive:{SAMPLE}", "private/java:21")
        yield registry, tokens
    finally:
        registry.stop()
        tokens.stop()


def auths(host: str, user: str, password: str) -> dict[str, Any]:
    """A docker config.json ``auths`` entry as ``docker login`` writes it."""
    import base64

    return {"auths": {host: {"auth": base64.b64encode(f"{user}:{password}".encode()).decode()}}}


def no_engine() -> dict[str, str]:
    """An environment in which no Docker engine answers."""
    return {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}


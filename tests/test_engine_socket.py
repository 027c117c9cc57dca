"""The SDK-free inspect call: used only when the SDK would surely reach the same unix socket, and
silent (None, so the SDK takes over) on anything but a plain answer."""

from __future__ import annotations

import json
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from inspector.sources import engine_socket
from inspector.sources.engine_socket import inspect_image, local_socket

RECORD = {"Id": "sha256:" + "a" * 64, "RepoTags": ["x:1"], "RootFS": {"Type": "layers", "Layers": []}}


@pytest.fixture
def clean_env(monkeypatch, tmp_path):
    """No DOCKER_* settings, and a CLI config folder of our own (empty)."""
    for name in ("DOCKER_HOST", "DOCKER_CONTEXT", "DOCKER_TLS_VERIFY", "DOCKER_CERT_PATH"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    return tmp_path / "docker-config"


def test_the_default_is_the_standard_socket(clean_env):
    assert local_socket(None) == "/var/run/docker.sock"


def test_host_option_and_docker_host_are_followed_when_they_are_unix_sockets(clean_env, monkeypatch):
    assert local_socket("unix:///run/user/1000/podman/podman.sock") == "/run/user/1000/podman/podman.sock"
    monkeypatch.setenv("DOCKER_HOST", "unix:///tmp/d.sock")
    assert local_socket(None) == "/tmp/d.sock"
    assert local_socket("unix:///other.sock") == "/other.sock", "--host wins over DOCKER_HOST"


@pytest.mark.parametrize("host", ["tcp://127.0.0.1:2375", "ssh://user@box", "npipe:////./pipe/docker_engine",
                                  "unix://relative.sock", "http://localhost:2375"])
def test_other_hosts_are_left_to_the_sdk(clean_env, host):
    assert local_socket(host) is None


def test_tls_settings_are_left_to_the_sdk(clean_env, monkeypatch):
    monkeypatch.setenv("DOCKER_TLS_VERIFY", "1")
    assert local_socket(None) is None


@pytest.mark.parametrize("config, expected", [
    ({"currentContext": "remote"}, None),
    ({"currentContext": "default"}, "/var/run/docker.sock"),
    ({"auths": {}}, "/var/run/docker.sock"),
])
def test_a_selected_docker_context_is_left_to_the_sdk(clean_env, config, expected):
    clean_env.mkdir()
    (clean_env / "config.json").write_text(json.dumps(config))
    assert local_socket(None) == expected


def test_an_unreadable_cli_config_is_left_to_the_sdk(clean_env):
    clean_env.mkdir()
    (clean_env / "config.json").write_text("{not json")
    assert local_socket(None) is None


def test_docker_context_variable_wins(clean_env, monkeypatch):
    monkeypatch.setenv("DOCKER_CONTEXT", "remote")
    assert local_socket(None) is None
    monkeypatch.setenv("DOCKER_CONTEXT", "default")
    assert local_socket(None) == "/var/run/docker.sock"


class FakeEngine:
    """A unix-socket HTTP server answering every request with one canned reply; records the paths."""

    def __init__(self, path: Path, status: int, body: bytes) -> None:
        self.paths: list[str] = []
        engine = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 - http.server's naming
                engine.paths.append(self.path)
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

            def address_string(self) -> str:  # a unix peer has no host/port pair
                return "unix"

        self.server = socketserver.ThreadingUnixStreamServer(str(path), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, args=(0.02,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def fake_engine(tmp_path):
    engines: list[FakeEngine] = []

    def start(status: int = 200, body: bytes = json.dumps(RECORD).encode()) -> tuple[str, FakeEngine]:
        path = tmp_path / f"engine{len(engines)}.sock"
        engines.append(FakeEngine(path, status, body))
        return str(path), engines[-1]

    yield start
    for engine in engines:
        engine.close()


def test_a_plain_answer_is_the_inspect_record(fake_engine):
    path, engine = fake_engine()
    assert inspect_image(path, "gcr.io/distroless/java21-debian12:nonroot") == RECORD
    assert engine.paths == ["/images/gcr.io/distroless/java21-debian12:nonroot/json"]


def test_names_are_quoted_like_the_sdk_does(fake_engine):
    path, engine = fake_engine()
    inspect_image(path, "repo/name@sha256:" + "b" * 64)
    inspect_image(path, "odd name?#")
    assert engine.paths == ["/images/repo/name%40sha256:" + "b" * 64 + "/json", "/images/odd%20name%3F%23/json"]


@pytest.mark.parametrize("status, body", [
    (404, b'{"message":"No such image: x:1"}'),
    (500, b'{"message":"boom"}'),
    (200, b"not json"),
    (200, b"[1, 2]"),
    (200, b'{"RepoTags": []}'),
    (200, b'{"Id": 42}'),
])
def test_anything_but_a_plain_answer_is_none(fake_engine, status, body):
    path, _ = fake_engine(status, body)
    assert inspect_image(path, "x:1") is None


def test_an_oversized_reply_is_none(fake_engine, monkeypatch):
    monkeypatch.setattr(engine_socket, "MAX_REPLY", 100)
    path, _ = fake_engine(200, json.dumps({**RECORD, "pad": "x" * 200}).encode())
    assert inspect_image(path, "x:1") is None


def test_no_engine_is_none(tmp_path):
    assert inspect_image(str(tmp_path / "missing.sock"), "x:1") is None
    (tmp_path / "not-a-socket").write_text("")
    assert inspect_image(str(tmp_path / "not-a-socket"), "x:1") is None

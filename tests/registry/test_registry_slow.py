"""A registry that sends one byte just before each read would time out must not hold us for ever.

The socket's timeout counts silence per read; a hostile server (a real socket on 127.0.0.1, started
here and stopped at the end of each test) drips its answer's headers, a bounded body (a manifest)
or a layer's body, never silent long enough for it. The headers and bounded bodies have a deadline
in all (``RegistryOptions.deadline``); each read of a layer must end within ``max(rate_window,
chunk / min_rate)`` seconds (``registry_stalls``). Each test runs the client in a thread and gives up on it after 20 s,
so that a missing guard fails the test instead of hanging the suite.
"""

from __future__ import annotations

import socketserver
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from inspector.sources.registry import BlobStream
from inspector.sources.registry_http import RegistryClient, RegistryError
from inspector.sources.registry_ref import RegistryOptions, RegistryRef

GIVE_UP = 20.0
DIGEST = "sha256:" + "0" * 64


class DrippingServer(socketserver.ThreadingTCPServer):
    """Answers ``GET /v2/`` at once (the client's plain-HTTP probe) and every other request with
    ``head`` at once, then ``drip`` a piece at a time, ``every`` seconds apart, until stopped."""

    daemon_threads = True

    def __init__(self, head: bytes, drip: bytes, every: float) -> None:
        super().__init__(("127.0.0.1", 0), _Dripping)
        self.head, self.drip, self.every = head, drip, every
        self.port = self.server_address[1]
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, args=(0.1,), daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.stop.set()
        self.shutdown()
        self.server_close()
        self.thread.join(5)


class _Dripping(socketserver.BaseRequestHandler):
    server: DrippingServer

    def handle(self) -> None:
        conn, server = self.request, self.server
        try:
            request = conn.recv(65536)
            if request.startswith(b"GET /v2/ "):
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}")
                if not conn.recv(65536):
                    return
            conn.sendall(server.head)
            while not server.stop.is_set():
                conn.sendall(server.drip)
                time.sleep(server.every)
        except OSError:
            return  # the client gave up: what the tests want


@pytest.fixture
def serve() -> Iterator[Callable[[bytes, bytes, float], DrippingServer]]:
    servers: list[DrippingServer] = []

    def start(head: bytes, drip: bytes, every: float) -> DrippingServer:
        servers.append(DrippingServer(head, drip, every))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


def outcome(work: Callable[[], Any]) -> tuple[BaseException | None, float]:
    """Run ``work`` in a thread: (what it raised, seconds it took); fails if it is still running."""
    raised: list[BaseException] = []

    def run() -> None:
        try:
            work()
        except BaseException as exc:  # noqa: BLE001 - reported to the test
            raised.append(exc)

    started = time.monotonic()
    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    thread.join(GIVE_UP)
    assert not thread.is_alive(), f"still waiting on a dripping registry after {GIVE_UP:g} s"
    return (raised[0] if raised else None), time.monotonic() - started


def client(server: DrippingServer, **options: Any) -> RegistryClient:
    return RegistryClient(RegistryRef(f"127.0.0.1:{server.port}", "app", tag="1"),
                          RegistryOptions(timeout=0.5, **options))


def test_headers_sent_a_byte_at_a_time_end_at_the_deadline(serve) -> None:
    server = serve(b"HTTP/1.1 200 OK\r\n", b"X", 0.05)  # one header line that never ends
    registry = client(server, deadline=1.0)
    error, seconds = outcome(lambda: registry.get("manifests/1", "the manifest"))
    assert isinstance(error, RegistryError), error
    assert f"127.0.0.1:{server.port} took more than 1 s to answer" in str(error)
    assert seconds < 10


def test_a_manifest_sent_a_byte_at_a_time_ends_at_the_deadline(serve) -> None:
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n", b"{", 0.05)
    registry = client(server, deadline=1.0)

    def read() -> bytes:
        return registry.get("manifests/1", "the manifest").read_capped(1 << 20, "the manifest", registry.error)

    error, seconds = outcome(read)
    assert isinstance(error, RegistryError), error
    assert "the manifest took more than 1 s to arrive" in str(error)
    assert seconds < 10


def blob_outcome(server: DrippingServer, size: int, **options: Any) -> tuple[BaseException | None, float]:
    registry = client(server, **options)

    def read() -> None:
        stream = BlobStream(registry.get(f"blobs/{DIGEST}", "the layer"), DIGEST, size, "layer 1")
        buffer = bytearray(1 << 16)
        while stream.readinto(buffer):
            pass

    return outcome(read)


def test_a_layer_slower_than_the_minimum_rate_is_stopped(serve) -> None:
    """1 MB at 200 bytes/s, with a minimum of 1 MB/s: the first 1 MiB read may take 1 s, no more."""
    size = 1_000_000
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size, b"\0" * 10, 0.05)
    error, seconds = blob_outcome(server, size, min_rate=1_000_000, rate_window=1.0)
    assert isinstance(error, RegistryError), error
    assert "the registry sent the layer slower than 1,000,000 bytes/s: stopped after 0 of 1,000,000 bytes" \
        in str(error)
    assert seconds < 10


def test_a_layer_at_the_minimum_rate_is_read_to_its_end(serve) -> None:
    """The limit does not cut a slow, steady download: 4,000 bytes at 2,000 bytes/s with a minimum
    of 1,000 bytes/s are read whole, and the end is the digest check, as for any blob."""
    size = 4000
    server = serve(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % size, b"\0" * 100, 0.05)
    error, seconds = blob_outcome(server, size, min_rate=1000, rate_window=1.0)
    assert error is not None and "does not match its digest" in str(error), error
    assert seconds >= 1.5  # the whole body, over more than one rate window

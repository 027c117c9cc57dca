"""A hostile registry whose catalog pages point at each other (``last=a``, ``last=b``, ``last=a``…):
every page repeats the same names, so no count bound grows. The listing must end, not loop."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from tests.conftest import cli_env


class _Looping(BaseHTTPRequestHandler):
    pages = 0

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        if self.path.startswith("/v2/_catalog"):
            type(self).pages += 1
            last = "ab"[self.pages % 2]
            self._send({"repositories": ["a"]}, {"Link": f'</v2/_catalog?n=1000&last={last}>; rel="next"'})
        elif self.path == "/v2/" or self.path.startswith("/v2/a/tags/list"):
            self._send({"name": "a", "tags": ["1"]} if "tags" in self.path else {}, {})
        else:
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()

    def _send(self, body: object, headers: dict[str, str]) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for key, value in headers.items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def looping() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Looping)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_catalog_whose_pages_loop_ends(looping: str, tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "inspector", "audit", f"registry:{looping}/"], capture_output=True,
                          env={**cli_env(), "XDG_CACHE_HOME": str(tmp_path / "cache"), "HOME": str(tmp_path)},
                          timeout=30, stdin=subprocess.DEVNULL)
    err = proc.stderr.decode()
    assert "Traceback" not in err and "internal error" not in err
    lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [line["reference"] for line in lines] == [f"registry:{looping}/a:1"], err  # its manifest: a 404
    assert proc.returncode == 2 and "error" in lines[0]

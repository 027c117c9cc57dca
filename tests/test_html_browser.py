"""The HTML report in a real browser: Debian's ``chromium-headless-shell`` renders it to a PNG.

What is checked, and how each check could fail:

* the page draws something: the 1280×800 screenshot is decoded here (zlib + PNG row filters, no
  imaging library) and its pixels must vary (a blank or one-colour page has no variance);
* the page asks for nothing: chromium runs with every request sent to a proxy we listen on
  (``--proxy-server``, loopback included), so any fetch, font, image, prefetch, would be a
  connection we see. A control page that does load a remote image proves the listener sees it;
* the page's own style and script are allowed by its CSP and nothing is refused: with
  ``--enable-logging=stderr`` chromium prints each CSP violation as a console line (a page whose
  script hash is wrong is the control).

The screenshots go to the test's temporary folder, never to the repository. Without the browser
(``apt-get install chromium-headless-shell``; ``.ci/run`` installs it) the tests skip, saying so.
"""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import threading
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from .conftest import REPO_ROOT, run_cli

SAMPLE = REPO_ROOT / "testdata" / "sample" / "distroless-java.tar"
BROWSER = shutil.which("chromium-headless-shell") or shutil.which("chromium")
WIDTH, HEIGHT = 1280, 800

pytestmark = pytest.mark.skipif(BROWSER is None, reason="no chromium-headless-shell on PATH "
                                                        "(apt-get install chromium-headless-shell)")


class Listener:
    """A TCP listener standing in for every server: it records what connects and closes it."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.server.settimeout(0.1)
        self.port = self.server.getsockname()[1]
        self.seen: list[bytes] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.server.accept()
            except TimeoutError:
                continue
            with conn:
                conn.settimeout(1)
                try:
                    self.seen.append(conn.recv(300) or b"(connected, sent nothing)")
                except OSError as exc:
                    self.seen.append(f"(connected: {exc})".encode())

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self.server.close()


@pytest.fixture
def listener() -> Iterator[Listener]:
    found = Listener()
    yield found
    found.close()


def screenshot(page: Path, out: Path, listener: Listener, tmp_path: Path) -> str:
    """Render ``page`` to ``out``; return chromium's log (stderr)."""
    profile = tmp_path / f"profile-{out.stem}"
    profile.mkdir()
    assert BROWSER is not None
    proc = subprocess.run(
        [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-default-apps", "--mute-audio",
         f"--user-data-dir={profile}", f"--window-size={WIDTH},{HEIGHT}", "--hide-scrollbars",
         f"--proxy-server=http://127.0.0.1:{listener.port}", "--proxy-bypass-list=<-loopback>",
         "--enable-logging=stderr", "--v=0", f"--screenshot={out}", page.as_uri()],
        capture_output=True, timeout=120, cwd=tmp_path, env={**os.environ, "HOME": str(tmp_path)})
    log = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0 and out.exists(), log[-2000:]
    return log


def csp_violations(log: str) -> list[str]:
    return [line for line in log.splitlines() if "Content Security Policy" in line]


def decode_png(data: bytes) -> tuple[int, int, int, list[bytes]]:
    """``(width, height, bytes per pixel, rows)`` of an 8-bit RGB or RGBA PNG, rows unfiltered."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), b""
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = body
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    width, height, depth, colour = struct.unpack(">IIBB", header[:10])
    assert depth == 8 and colour in (2, 6), (depth, colour)
    bpp = 3 if colour == 2 else 4
    raw = zlib.decompress(bytes(idat))
    stride = width * bpp
    rows: list[bytes] = []
    previous = bytes(stride)
    for y in range(height):
        kind = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + previous[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = previous[i]
                c = previous[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 0xFF
        previous = bytes(line)
        rows.append(previous)
    return width, height, bpp, rows


def pixel_stats(png: Path) -> dict[str, Any]:
    width, height, bpp, rows = decode_png(png.read_bytes())
    values = [sum(row[i:i + 3]) / 3 for row in rows for i in range(0, width * bpp, bpp * 4)]  # every 4th pixel
    mean = sum(values) / len(values)
    colours = {bytes(row[i:i + 3]) for row in rows[::8] for i in range(0, width * bpp, bpp * 8)}
    return {"size": (width, height), "variance": sum((v - mean) ** 2 for v in values) / len(values),
            "colours": len(colours)}


def report(tmp_path: Path, *args: str) -> Path:
    code, out, err = run_cli(*args, "--format", "html", "--no-cache", timeout=300)
    assert code == 0, err
    page = tmp_path / "report.html"
    page.write_text(out, encoding="utf-8")
    return page


def test_control_page_requests_are_seen(tmp_path: Path, listener: Listener) -> None:
    """The net check can fail: a page that loads a remote image connects to our listener, and a page
    whose script hash is wrong logs a CSP violation."""
    control = tmp_path / "control.html"
    control.write_text("<!DOCTYPE html><h1>control</h1><img src=\"http://example.test/x.png\">", encoding="utf-8")
    screenshot(control, tmp_path / "control.png", listener, tmp_path)
    assert any(b"example.test" in seen for seen in listener.seen), listener.seen
    page = report(tmp_path, str(SAMPLE))
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text(encoding="utf-8").replace("script-src 'sha256-", "script-src 'sha256-AAAA"),
                      encoding="utf-8")
    assert csp_violations(screenshot(broken, tmp_path / "broken.png", listener, tmp_path))


def test_sample_report_renders_and_fetches_nothing(tmp_path: Path, listener: Listener) -> None:
    page = report(tmp_path, str(SAMPLE))
    png = tmp_path / "sample.png"
    log = screenshot(page, png, listener, tmp_path)
    assert listener.seen == []
    assert csp_violations(log) == []
    stats = pixel_stats(png)
    assert stats["size"] == (WIDTH, HEIGHT)
    assert stats["variance"] > 100 and stats["colours"] > 8, stats


def test_hostile_report_renders_and_fetches_nothing(tmp_path: Path, listener: Listener,
                                                   image_writer: Any) -> None:
    from .test_html import hostile_spec

    page = report(tmp_path, image_writer(hostile_spec()))
    log = screenshot(page, tmp_path / "hostile.png", listener, tmp_path)
    assert listener.seen == [] and csp_violations(log) == []


@pytest.mark.engine
@pytest.mark.parametrize("which", ["fat", "distroless"])
def test_realistic_reports_render(tmp_path: Path, listener: Listener, which: str) -> None:
    """The JDK and the distroless-style images of the engine tests, when the engine has them built."""
    docker = pytest.importorskip("docker")
    from .engine import realistic_images as realistic

    try:
        client = docker.from_env()
        client.ping()
    except Exception as exc:  # no engine: as the other engine tests
        if os.environ.get("INSPECTOR_REQUIRE_DOCKER") == "1":
            pytest.fail(f"INSPECTOR_REQUIRE_DOCKER=1 but no engine answers: {exc}", pytrace=False)
        pytest.skip(f"no Docker engine answers: {exc}")
    try:
        tag = realistic.ensure_fat(client) if which == "fat" else realistic.ensure_distroless(client)[0]
    except realistic.Unavailable as exc:
        pytest.skip(str(exc))
    page = report(tmp_path, f"docker:{tag}")
    assert page.stat().st_size < 3_000_000
    png = tmp_path / f"{which}.png"
    log = screenshot(page, png, listener, tmp_path)
    assert listener.seen == [] and csp_violations(log) == []
    stats = pixel_stats(png)
    assert stats["variance"] > 100 and stats["colours"] > 8, stats

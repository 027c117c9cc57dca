"""Progress on stderr for the slow parts (pulling, saving), drawn only on a terminal."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any


class Progress:
    """A one-line progress bar: bytes, rate and, when the total is known, a bar."""

    def __init__(self, enabled: bool, stream: Any = None) -> None:
        self.enabled = enabled
        self._stream = stream or sys.stderr
        self._layers: dict[str, tuple[int, int]] = {}
        self._started = time.monotonic()
        self._last_draw = 0.0

    def pull_event(self, name: str, event: dict[str, Any]) -> None:
        """Fold one event of the engine's pull stream into the bar."""
        if not self.enabled:
            return
        detail = event.get("progressDetail") or {}
        layer = event.get("id")
        if layer and isinstance(detail.get("current"), int) and isinstance(detail.get("total"), int):
            if event.get("status") == "Downloading":
                self._layers[layer] = (detail["current"], detail["total"])
        done = sum(c for c, _ in self._layers.values())
        total = sum(t for _, t in self._layers.values()) or None
        self._draw(f"pulling {name}", done, total)

    def track_save(self, name: str, chunks: Iterator[bytes], expected: int | None) -> Iterator[bytes]:
        """Pass chunks through, counting them on the bar."""
        if not self.enabled:
            yield from chunks
            return
        self._started = time.monotonic()
        done = 0
        for chunk in chunks:
            done += len(chunk)
            self._draw(f"reading {name}", done, expected)
            yield chunk
        self.done()

    def done(self) -> None:
        if self.enabled and self._last_draw:
            self._stream.write("\r\x1b[K")
            self._stream.flush()
            self._last_draw = 0.0

    def _draw(self, label: str, done: int, total: int | None) -> None:
        now = time.monotonic()
        if now - self._last_draw < 0.1:
            return
        self._last_draw = now
        rate = done / max(now - self._started, 1e-6)
        if total:
            filled = min(20, int(20 * done / total))
            bar = f"[{'#' * filled}{'.' * (20 - filled)}] {_size(done)} of ~{_size(total)}"
        else:
            bar = _size(done)
        self._stream.write(f"\r\x1b[K{label} {bar} {_size(rate)}/s")
        self._stream.flush()


def _size(count: float) -> str:
    for unit in ("B", "kB", "MB", "GB"):
        if count < 1000 or unit == "GB":
            return f"{count:.0f} {unit}" if unit == "B" else f"{count:.1f} {unit}"
        count /= 1000
    return f"{count:.1f} GB"

"""The audit's output: one JSON object per line, appended whole, and what an earlier run already wrote.

Each line is written with one ``write`` on a file opened for appending and flushed at once, so an
audit killed midway leaves whole lines (and at worst one partial last line, which the next run cuts
off before appending). ``read_done`` tells the next run which images it may skip.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import IO, Any

from ..errors import InspectorError
from ..output.escape import json_text

#: Bytes of one line we read back when resuming (a line holds one image's whole report).
MAX_LINE = 1 << 30


def dumps_line(value: Any) -> str:
    """Compact strict JSON on one line (newlines inside strings are escaped by JSON itself)."""
    return json_text(json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":")))


def encode_line(line: str) -> bytes:
    """UTF-8; names that were not UTF-8 (surrogate-escaped) become ``\\udcXX``, still valid JSON."""
    return (line + "\n").encode("utf-8", "backslashreplace")


@dataclass
class Done:
    """What an earlier run wrote: manifest digests, and references of images with none."""

    digests: set[str] = field(default_factory=set)
    references: set[str] = field(default_factory=set)
    lines: int = 0

    def has(self, reference: str, manifest_digest: str | None) -> bool:
        if manifest_digest is not None:
            return manifest_digest in self.digests
        return reference in self.references

    def add(self, reference: str, manifest_digest: str | None) -> None:
        self.lines += 1
        if isinstance(manifest_digest, str):
            self.digests.add(manifest_digest)
        else:
            self.references.add(reference)


def read_done(path: str) -> tuple[Done, int]:
    """The images ``path`` already holds, and the length of its whole lines (a cut-off last line
    of a killed run is not counted, and is cut before new lines are appended)."""
    done = Done()
    end = 0
    try:
        handle = open(path, "rb")
    except FileNotFoundError:
        return done, 0
    except OSError as exc:
        raise InspectorError(f"cannot read --out {path!r}: {exc.strerror}") from None
    with handle:
        while True:
            line = handle.readline(MAX_LINE + 1)
            if not line.endswith(b"\n"):
                break  # the end, or a line cut off by a kill
            end += len(line)
            try:
                value = json.loads(line)
            except ValueError:
                continue  # not ours: leave it, count nothing
            if isinstance(value, dict) and isinstance(value.get("reference"), str):
                digest = value.get("manifest_digest")
                done.add(value["reference"], digest if isinstance(digest, str) else None)
    return done, end


class LineWriter:
    """Appends lines to ``--out`` (after cutting a partial last line) or writes them to a stream."""

    def __init__(self, path: str | None, stream: IO[bytes] | None = None, keep: int | None = None) -> None:
        self._stream = stream
        self._fd: int | None = None
        if path is not None:
            try:
                self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
                if keep is not None and os.fstat(self._fd).st_size > keep:
                    os.ftruncate(self._fd, keep)
            except OSError as exc:
                raise InspectorError(f"cannot write --out {path!r}: {exc.strerror}") from None
            self._path = path

    def write(self, line: str) -> None:
        data = encode_line(line)
        if self._fd is None:
            assert self._stream is not None
            self._stream.write(data)
            self._stream.flush()
            return
        view = memoryview(data)
        try:
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            raise InspectorError(f"cannot write --out {self._path!r}: {exc.strerror}") from None

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

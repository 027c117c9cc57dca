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


@dataclass(frozen=True)
class Record:
    """What an earlier line said about its image: enough for the final table and the exit code,
    so a resumed audit ends as an uninterrupted one would."""

    failed: bool = False
    exit_code: int = 0
    findings: tuple[tuple[str, int], ...] = ()


@dataclass
class Done:
    """What an earlier run wrote, by manifest digest (or by reference for images with none)."""

    records: dict[str, Record] = field(default_factory=dict)

    @staticmethod
    def key(reference: str, manifest_digest: str | None) -> str:
        return f"digest {manifest_digest}" if manifest_digest is not None else f"reference {reference}"

    def get(self, reference: str, manifest_digest: str | None) -> Record | None:
        return self.records.get(self.key(reference, manifest_digest))

    def add(self, reference: str, manifest_digest: str | None, record: Record) -> None:
        self.records.setdefault(self.key(reference, manifest_digest), record)


def record_of(line: dict[str, Any]) -> Record:
    """The ``Record`` of a line read back (ours, but read as untrusted: anything odd counts as nothing)."""
    if "error" in line:
        code = line.get("exit_code")
        return Record(True, code if type(code) is int and 0 < code < 256 else 2)
    counts: dict[str, int] = {}
    findings = line.get("findings")
    for finding in findings if isinstance(findings, list) else []:
        rule = finding.get("rule") if isinstance(finding, dict) else None
        if isinstance(rule, str):
            counts[rule] = counts.get(rule, 0) + 1
    truncated = line.get("findings_truncated")
    for rule, more in (truncated.items() if isinstance(truncated, dict) else []):
        if isinstance(rule, str) and type(more) is int and more > 0:
            counts[rule] = counts.get(rule, 0) + more
    return Record(findings=tuple(sorted(counts.items())))


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
                done.add(value["reference"], digest if isinstance(digest, str) else None, record_of(value))
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

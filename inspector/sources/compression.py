"""Turn a stored layer blob into its uncompressed tar stream.

Media types lie (Docker 25 archives from the containerd store name gzip blobs like plain ones), so
the magic bytes decide; the media type only breaks ties. Decompression always streams.
"""

from __future__ import annotations

import bz2
import io
import lzma
from typing import IO, Any

from ..errors import ImageFormatError, InspectorError

try:  # ISA-L inflates 2-3x faster than zlib; fall back quietly where the wheel is missing.
    from isal import igzip as _gzip
except ImportError:  # pragma: no cover - depends on the platform's wheels
    import gzip as _gzip  # type: ignore[no-redef]

GZIP_MAGIC = b"\x1f\x8b"
ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
BZIP2_MAGIC = b"BZh"
XZ_MAGIC = b"\xfd7zXZ\x00"

_BUFFER = 1 << 20


def sniff(head: bytes) -> str:
    """Name the compression of a blob from its first bytes: gzip, zstd, bzip2, xz or none."""
    if head.startswith(GZIP_MAGIC):
        return "gzip"
    if head.startswith(ZSTD_MAGIC):
        return "zstd"
    if head.startswith(BZIP2_MAGIC):
        return "bzip2"
    if head.startswith(XZ_MAGIC):
        return "xz"
    return "none"


def peekable(raw: IO[bytes]) -> io.BufferedReader:
    """Wrap ``raw`` so its head can be inspected without consuming it."""
    if isinstance(raw, io.BufferedReader):
        return raw
    return io.BufferedReader(_RawAdapter(raw), buffer_size=_BUFFER)


def open_uncompressed(raw: IO[bytes]) -> IO[bytes]:
    """Return a stream of the uncompressed tar held by ``raw``, whatever its compression."""
    stream = peekable(raw)
    kind = sniff(stream.peek(8)[:8])
    if kind == "none":
        return stream
    if kind == "gzip":
        inner: IO[bytes] = _gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
    elif kind == "zstd":
        import zstandard

        inner = zstandard.ZstdDecompressor().stream_reader(stream, read_across_frames=True, closefd=False)
    elif kind == "bzip2":
        inner = bz2.BZ2File(stream)
    else:
        inner = lzma.LZMAFile(stream)
    return io.BufferedReader(_Decompressed(inner, kind), buffer_size=_BUFFER)


class _Decompressed(io.RawIOBase):
    """A decompressor whose failures, whatever class each library raises, are one error: corrupt data."""

    def __init__(self, inner: IO[bytes], kind: str) -> None:
        self._inner = inner
        self._kind = kind

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            return _RawAdapter(self._inner).readinto(buffer)
        except InspectorError:
            raise
        except Exception as exc:  # IsalError, ZstdError, LZMAError, zlib.error, EOFError, OSError...
            raise ImageFormatError(f"the {self._kind} stream is corrupt or truncated: {exc}") from exc


class _RawAdapter(io.RawIOBase):
    """Present any readable object as a RawIOBase so BufferedReader can sit on it."""

    def __init__(self, inner: IO[bytes]) -> None:
        self._inner = inner

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        readinto = getattr(self._inner, "readinto", None)
        if readinto is not None:
            return readinto(buffer) or 0
        data = self._inner.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

"""An image archive read in one forward pass: a pipe, standard input, or the engine's save stream.

``docker save`` writes the layers before ``manifest.json``, so the stack order is unknown while the
layers go by. Each layer is scanned as it arrives and only the scan's result is kept (never its
bytes); small files (JSON documents) are kept whole. When the stream ends, the same layout logic as
for files picks the image and puts the results in stack order.
"""

from __future__ import annotations

import io
import lzma
import os
import posixpath
import stat
import zlib
from collections.abc import Callable, Iterator
from typing import IO

from ..errors import ImageFormatError, InspectorError
from ..limits import DEFAULT, Limits
from ..tarheader import TarMember
from ..tarwalk import NotATarError, stream_members
from .compression import open_uncompressed, peekable, sniff
from .interface import Image, ImageMeta, LayerInfo, LayerScanner, T
from .layout import Resolved, Selector, resolve
from .reader import CountingReader, ForwardReader
from .store import MAX_JSON_BYTES, MemberNames, MemoryStore
from .stored import InflationBudget, ratio_guard, run_scanner, tar_stream
from .verify import BOTH, LayerDigests, Verification

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows
    fcntl = None  # type: ignore[assignment]

SMALL_FILE = 4096  # VERSION files and the like: kept whole whatever they look like
#: All the non-layer members (documents, small files) a one-pass read keeps, together. Real archives
#: hold a few KiB to a few MiB of them (a config with a long history is ~100 KiB, a thousand-image
#: archive's manifests a few MiB); junk beyond this is refused rather than held in memory.
MAX_KEPT = 64 << 20
PIPE_SIZE = 1 << 20


class StreamedImage(Image):
    """An image archive that can be read only once, from start to end (``docker save | gzip`` too)."""

    def __init__(self, stream: IO[bytes] | None, location: str, selector: Selector, reference: str, source: str,
                 diff_ids: list[str | None] | None = None, verification: Verification | None = None,
                 limits: Limits = DEFAULT, reopen: Callable[[], IO[bytes]] | None = None) -> None:
        self._reopen = reopen  # a fresh copy of the same stream, for a second look (None: impossible)
        self.verification = verification or Verification()
        self._limits = limits
        self._stream = stream
        self._diff_ids = diff_ids
        self._location = location
        self._selector = selector
        self._reference = reference
        self._source = source
        self._resolved: Resolved | None = None
        self._canonical: Callable[[str], str] = _clean
        self._consumed = False
        self._budget: InflationBudget | None = None  # of the current pass over a compressed archive
        self._kept = 0  # bytes of the members kept whole so far

    @property
    def meta(self) -> ImageMeta:
        if self._resolved is None:
            for _ in self.scan_layers(_drain):
                pass
        assert self._resolved is not None
        return self._resolved.meta

    def scan_layers(self, scanner: LayerScanner[T], skip: Callable[[LayerInfo], bool] | None = None
                    ) -> Iterator[tuple[LayerInfo, T | None]]:
        if self._consumed:
            raise InspectorError("a one-pass stream can be read only once", where=self._location)
        self._consumed = True
        if self._stream is None:  # opened only now: a source answered from a cache never asks for it
            assert self._reopen is not None
            self._stream = self._reopen()
        results, failures, store = self._read_all(scanner)
        self._canonical = store.canonical
        self._resolved = resolve(store, self._selector, self._reference, self._source, self.verification)
        for info, name in zip(self._resolved.meta.layers, self._resolved.layer_names, strict=True):
            key = store.canonical(name)
            where = f"{self._location}: layer {info.index} ({name})"
            if key in failures:
                raise failures[key]
            if key in results:
                result, digests = results[key]
            elif key in store.files:  # a layer small or odd enough to be kept as a file
                result, digests = run_scanner(scanner, io.BytesIO(store.files[key]), where, full=True,
                                              algorithms=BOTH)
            else:
                raise ImageFormatError("the layer is missing from the archive", where=where)
            self.verification.check_layer(info, digests, where)
            yield info, result

    def _read_all(self, scanner: LayerScanner[T]) -> tuple[dict[str, tuple[T, LayerDigests]],
                                                           dict[str, InspectorError], MemoryStore]:
        results: dict[str, tuple[T, LayerDigests]] = {}
        failures: dict[str, InspectorError] = {}
        files: dict[str, bytes] = {}
        aliases: dict[str, str] = {}
        try:
            assert self._stream is not None
            names = MemberNames(self._limits.max_entries)  # each name once: one copy is read and verified
            for member, handle in stream_members(self._outer(self._stream)):
                name = names.admit(member)
                if member.sparse:  # hashing it would inflate its holes (64 GiB of zeros from 5 kB)
                    raise ImageFormatError(f"sparse member {member.name[:80]!r} in the archive: refused")
                if member.islnk():
                    aliases[name] = _clean(member.linkname)
                elif member.issym():
                    aliases[name] = _clean(posixpath.join(posixpath.dirname(name), member.linkname))
                elif handle is not None:
                    self._read_member(handle, member, name, scanner, results, failures, files)
        except NotATarError as exc:
            raise ImageFormatError(f"the archive is truncated or not a tar: {exc}", where=self._location) from exc
        except ImageFormatError as exc:
            if exc.where is None:
                raise ImageFormatError(str(exc), where=self._location) from exc
            raise
        except (EOFError, OSError, lzma.LZMAError, zlib.error) as exc:
            raise ImageFormatError(f"the archive is truncated or not a tar: {exc}", where=self._location) from exc
        return results, failures, MemoryStore(self._location, files, aliases)

    def _outer(self, raw: IO[bytes]) -> IO[bytes]:
        """The archive's tar stream; a compressed archive may not inflate beyond the ratio limit."""
        _widen_pipe(raw)
        stored = CountingReader(raw)
        stream = open_uncompressed(io.BufferedReader(stored, buffer_size=1 << 20))
        self._budget = InflationBudget(stored, self._limits)  # shared by the layers' own decompressors
        if getattr(stream, "raw", None) is stored:
            return stream
        return ForwardReader(stream, budget=ratio_guard(stored, self._limits))  # type: ignore[return-value]

    def _read_member(self, handle: IO[bytes], member: TarMember, name: str, scanner: LayerScanner[T],
                     results: dict[str, tuple[T, LayerDigests]], failures: dict[str, InspectorError],
                     files: dict[str, bytes]) -> None:
        data = peekable(handle)
        head = data.peek(512)[:512]
        if member.size <= SMALL_FILE or (_looks_like_json(head) and member.size <= MAX_JSON_BYTES):
            self._kept += member.size
            if self._kept > MAX_KEPT:
                raise ImageFormatError(f"the archive holds more than {MAX_KEPT >> 20} MiB of documents and "
                                       f"small files besides its layers (at {name!r}): not an image archive")
            files[name] = data.read()
            return
        try:  # a one-pass read cannot know yet which digest the config names the layer by: hash for both
            results[name] = run_scanner(scanner, data, f"{self._location}: {name}", self.verification.full,
                                        self._limits, algorithms=BOTH if self.verification.full else ("sha256",),
                                        budget=self._budget)
        except InspectorError as exc:  # only an error if the chosen image uses this layer
            failures[name] = exc

    def read_layers(self, wanted: set[int], consumer: Callable[[LayerInfo, IO[bytes]], None]) -> None:
        """Stream the archive again; its layer members are known by name from the first pass."""
        if self._reopen is None or self._resolved is None:
            super().read_layers(wanted, consumer)
            return
        layers = zip(self._resolved.meta.layers, self._resolved.layer_names, strict=True)
        by_name = {self._canonical(name): info for info, name in layers if info.index in wanted}
        try:
            names = MemberNames(self._limits.max_entries)
            for member, handle in stream_members(self._outer(self._reopen())):
                info = by_name.get(names.admit(member))
                if info is not None and handle is not None:
                    consumer(info, tar_stream(handle, self._limits, self._budget))
        except (NotATarError, EOFError, OSError) as exc:
            raise ImageFormatError(f"the archive is truncated or not a tar: {exc}", where=self._location) from exc

    def known_diff_ids(self) -> list[str | None] | None:
        return self._diff_ids

    def close(self) -> None:
        close = getattr(self._stream, "close", None) if self._stream is not None else None
        if close is not None:
            close()


def _widen_pipe(stream: IO[bytes]) -> None:
    """Let a pipe hold 1 MiB instead of 64 KiB.

    With 64 KiB the writer (``docker save |``) fills the pipe in an instant and waits while we parse,
    then we wait while it refills: the two take turns instead of working at once. Measured on a
    700 MB archive piped in (``cat | inspect-image -``, medians of 5): 1.73 s with the default size,
    1.44 s with 1 MiB (the largest a user may ask for without privileges). Best effort: not a pipe,
    or not Linux, changes nothing.
    """
    resize = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    try:
        fd = stream.fileno()
        if resize is not None and stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, resize, PIPE_SIZE)
    except (AttributeError, OSError, ValueError):
        pass


def _looks_like_json(head: bytes) -> bool:
    stripped = head.lstrip()
    return stripped[:1] in (b"{", b"[") and sniff(head) == "none" and head[257:262] != b"ustar"


def _clean(name: str) -> str:
    return posixpath.normpath("/" + name).lstrip("/")


def _drain(stream: IO[bytes]) -> None:
    while stream.read(1 << 20):
        pass

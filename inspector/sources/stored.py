"""An image whose files can be opened in any order: a folder, or an archive on a seekable file."""

from __future__ import annotations

import functools
import io
import lzma
import zlib
from collections.abc import Callable, Iterator
from typing import IO, cast

from ..errors import ImageFormatError, InspectorError
from ..limits import DEFAULT, Limits
from .compression import open_uncompressed
from .interface import Image, ImageMeta, LayerInfo, LayerScanner, StoredForm, T
from .layout import Resolved
from .reader import CountingReader, ForwardReader
from .store import Store
from .verify import LayerDigests, Verification, algorithms_for


class StoredImage(Image):
    """Reads each layer when it is its turn, so only one layer is ever open."""

    def __init__(self, store: Store, resolved: Resolved, verification: Verification,
                 limits: Limits = DEFAULT) -> None:
        self._limits = limits
        self._store = store
        self._resolved = resolved
        self.verification = verification

    @property
    def meta(self) -> ImageMeta:
        return self._resolved.meta

    def scan_layers(self, scanner: LayerScanner[T], skip: Callable[[LayerInfo], bool] | None = None
                    ) -> Iterator[tuple[LayerInfo, T | None]]:
        for info, name in zip(self._resolved.meta.layers, self._resolved.layer_names, strict=True):
            if skip is not None and skip(info):
                yield info, None
                continue
            where = f"{self._store.location}: layer {info.index} ({name})"
            with self._store.open(name) as raw:
                result, digests = run_scanner(scanner, raw, where, self.verification.full, self._limits,
                                              self.verification.hash_layers,
                                              algorithms=algorithms_for(info.diff_id, info.digest))
            self.verification.check_layer(info, digests, where)
            yield info, result

    def read_layers(self, wanted: set[int], consumer: Callable[[LayerInfo, IO[bytes]], None]) -> None:
        for info, name in zip(self._resolved.meta.layers, self._resolved.layer_names, strict=True):
            if info.index in wanted:
                if info.diff_id is not None and info.index not in self.verification.verified:
                    self.verify_layer(info)  # what we hand out was hashed in this run, never taken on trust
                where = f"{self._store.location}: layer {info.index} ({name})"
                with self._store.open(name) as raw:  # this layer's info and blob, bound now (tests/test_habits.py)
                    _guarded(functools.partial(_hand_over, consumer, info, raw, self._limits), where)

    def known_diff_ids(self) -> list[str | None]:
        return [layer.diff_id for layer in self._resolved.meta.layers]

    def stored_form(self, info: LayerInfo) -> StoredForm | None:
        """The blob's size as stored now (the file's, or the tar member header's), without reading it."""
        name = self._resolved.layer_names[info.index]
        where = f"{self._store.location}: layer {info.index} ({name})"

        def measure() -> int | None:
            with self._store.open(name) as blob:
                try:
                    return blob.seek(0, io.SEEK_END)
                except (OSError, ValueError, io.UnsupportedOperation):
                    return None

        size = _guarded(measure, where)
        return StoredForm(size, info.digest) if isinstance(size, int) else None

    def verify_layer(self, info: LayerInfo) -> bool:
        """Hash the whole layer (no parsing) and check it against its diff ID."""
        name = self._resolved.layer_names[info.index]
        where = f"{self._store.location}: layer {info.index} ({name})"
        with self._store.open(name) as raw:
            _, digests = run_scanner(_hash_only, raw, where, self.verification.full, self._limits, hash_layers=True,
                                     algorithms=algorithms_for(info.diff_id, info.digest))
        self.verification.check_layer(info, digests, where)
        return info.index in self.verification.verified

    def close(self) -> None:
        self._store.close()


def run_scanner(scanner: LayerScanner[T], raw: IO[bytes], where: str, full: bool = False,
                limits: Limits = DEFAULT, hash_layers: bool = False, *, algorithms: tuple[str, ...] = ("sha256",),
                budget: InflationBudget | None = None) -> tuple[T, LayerDigests]:
    """Decompress and scan one layer, naming the layer in any error.

    Bytes that must pass through us anyway (compressed or one-pass) are hashed on the way, so the
    diff ID can be checked; a seekable uncompressed layer is skipped through unless ``full``.
    ``algorithms``: the digests to compute (those the diff ID and blob digest use); ``budget``: the
    archive-wide inflation budget when this layer is itself inside a compressed archive.
    """
    return _guarded(lambda: _scan(scanner, raw, full, limits, hash_layers, algorithms, budget), where)


def _scan(scanner: LayerScanner[T], raw: IO[bytes], full: bool, limits: Limits, hash_layers: bool,
          algorithms: tuple[str, ...], budget: InflationBudget | None) -> tuple[T, LayerDigests]:
    blob = ForwardReader(raw, hash_it=True, algorithms=algorithms) if full else None
    # a ForwardReader reads like IO[bytes]; typeshed does not relate io.RawIOBase to typing.IO
    stored = CountingReader(raw if blob is None else cast("IO[bytes]", blob))
    stream = open_uncompressed(io.BufferedReader(stored, buffer_size=1 << 20))
    if not hash_layers and blob is None and stream.raw is stored and _really_seekable(raw):  # type: ignore[attr-defined]
        raw.seek(0)  # uncompressed and seekable: hand tarfile the original, so it can really seek
        return scanner(raw), LayerDigests()
    reader = ForwardReader(stream, hash_it=True, budget=ratio_guard(stored, limits, budget), algorithms=algorithms)
    try:
        result = scanner(reader)  # type: ignore[arg-type]
        reader.drain()
        if blob is not None:
            blob.drain()
        return result, LayerDigests(diff_ids=reader.digests(), blobs=blob.digests() if blob else {})
    finally:  # a failed scan must not leave its hashing threads waiting
        reader.close()
        if blob is not None:
            blob.close()


def _hand_over(consumer: Callable[[LayerInfo, IO[bytes]], None], info: LayerInfo, raw: IO[bytes],
               limits: Limits) -> None:
    consumer(info, tar_stream(raw, limits))


def tar_stream(raw: IO[bytes], limits: Limits = DEFAULT, budget: InflationBudget | None = None) -> IO[bytes]:
    """The uncompressed tar of a stored blob, seekable at least forward (what ``scan_layer`` wants).

    Inflation is bounded as in a scan: a second read (``cat``, ``export``) may meet a layer the
    first one skipped (a cache hit).
    """
    stored = CountingReader(raw)
    stream = open_uncompressed(io.BufferedReader(stored, buffer_size=1 << 20))
    if stream.raw is stored and _really_seekable(raw):  # type: ignore[attr-defined]
        raw.seek(0)
        return raw
    return ForwardReader(stream, budget=ratio_guard(stored, limits, budget))  # type: ignore[return-value]


def _hash_only(stream: IO[bytes]) -> None:
    """A scanner that reads the layer to its end and learns nothing: the reader hashes what passes."""
    drain = getattr(stream, "drain", None)
    if drain is not None:
        drain()
        return
    while stream.read(1 << 20):
        pass


def _guarded(action: Callable[[], T], where: str) -> T:
    """Run ``action`` with errors reported as one line naming the layer."""
    try:
        return action()
    except InspectorError as exc:
        if exc.where is None:
            raise type(exc)(str(exc), where=where) from exc
        raise
    except (OSError, EOFError, ValueError, OverflowError, lzma.LZMAError, zlib.error) as exc:
        raise ImageFormatError(f"cannot read layer: {exc}", where=where) from exc
    except Exception as exc:  # zstandard.ZstdError and friends share no base class with the others
        if type(exc).__module__.startswith("zstandard"):
            raise ImageFormatError(f"cannot read layer: {exc}", where=where) from exc
        raise


class InflationBudget:
    """What the inner decompressors of one compressed archive may produce, for the bytes on disk.

    A gzip'd archive of gzip layers has two stages; each may stay under the ratio limit while
    their product is a bomb (a layer inflating 150 times inside an archive inflating 300 times).
    So every inner stage charges what it produced to the archive's one budget, and the total may
    not exceed ``max_ratio`` times the bytes read from disk (past the grace), whichever layer
    produced it. The outer stage is held to the same rule by its own guard.
    """

    def __init__(self, disk: CountingReader, limits: Limits) -> None:
        self.disk = disk
        self.limits = limits
        self.produced = 0

    def charge(self, count: int) -> None:
        self.produced += count
        limits = self.limits
        if self.produced > limits.ratio_grace and self.produced > limits.max_ratio * max(self.disk.count, 1):
            raise ImageFormatError(f"the layers inflate more than {limits.max_ratio} times the archive's "
                                   f"bytes on disk through nested compression ({self.disk.count:,} bytes → over "
                                   f"{self.produced:,}): a decompression bomb? (raise the limit with --max-ratio)")


def ratio_guard(stored: CountingReader, limits: Limits,
                budget: InflationBudget | None = None) -> Callable[[int], None]:
    """Stop a layer that inflates beyond ``limits.max_ratio`` times its stored size (a gzip bomb),
    or, inside a compressed archive, beyond the archive's ``budget``."""
    charged = 0

    def check(inflated: int) -> None:
        nonlocal charged
        if inflated > limits.ratio_grace and inflated > limits.max_ratio * max(stored.count, 1):
            raise ImageFormatError(f"the layer inflates more than {limits.max_ratio} times its stored size "
                                   f"({stored.count:,} bytes → over {inflated:,}): a decompression bomb? "
                                   "(raise the limit with --max-ratio)")
        if budget is not None:
            budget.charge(inflated - charged)
            charged = inflated

    return check


def _really_seekable(stream: IO[bytes]) -> bool:
    try:
        return bool(stream.seekable()) and stream.tell() >= 0
    except (OSError, ValueError, AttributeError):
        return False

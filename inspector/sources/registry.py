"""Images read straight from a registry (the OCI distribution API): no engine, nothing on disk.

Only what is needed is fetched, in the order trivy fetches it: the manifest (through an index to the
platform's manifest), the config, and then only the layers the per-layer cache lacks. Each layer is
streamed from its HTTP response through the usual decompressor, reader and hash thread; it never
lands on disk and is never held in memory.

The chain of trust, link by link (every link checked before the next is used):
  * the top manifest or index is hashed from its raw bytes and compared with the digest the user
    named (``NAME@sha256:…``) or, for a tag, with the registry's ``Docker-Content-Digest``;
  * every further manifest and the config are fetched by the digests those verified documents hold,
    and compared with them (sha256 or sha512, exact hex);
  * every layer blob is compared with its descriptor's digest and size, and its uncompressed tar
    with the config's diff ID.
So a layer skipped because its diff ID is in the cache rests on a verified chain: the diff ID comes
from a config whose digest a verified manifest names, the blob digest and size from that manifest
(``stored_form``), and the cache answers for a diff ID only in a stored form in which the layer's
bytes were once downloaded, checked against that blob digest and hashed to that diff ID. (For a tag, what the tag
points to is the registry's word, as for every client; what we report is then exactly the image with that digest.)

Manifests are read whole with a 4 MiB cap (the distribution spec's limit), configs with the cap the
other sources use; the layout logic (``layout.resolve``) walks them exactly as it walks an OCI
layout on disk, so platform selection from an index is the same code for both.
"""

from __future__ import annotations

import functools
import hashlib
import http.client
import io
import json
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import IO, Any, cast

from ..errors import (
    BadReferenceError,
    ImageFormatError,
    InspectorError,
    VerificationError,
)
from ..fs.cache import LayerCache
from ..limits import DEFAULT, Limits
from . import registry_stalls
from .hashing import BackgroundHash
from .interface import Image, ImageMeta, LayerInfo, LayerScanner, SplitScanner, StoredForm, T
from .layout import INDEX_TYPES, MANIFEST_TYPES, Resolved, Selector, resolve
from .platforms import Platform
from .reference import Reference
from .registry_http import RegistryClient, RegistryError, Response
from .registry_pipe import scan_piped
from .registry_ref import RegistryOptions, RegistryRef, check_digest, parse_registry_ref
from .store import MAX_JSON_BYTES, Store
from .stored import _guarded
from .verify import LayerDigests, Verification, algorithms_for

MAX_MANIFEST_BYTES = 4 << 20  # the distribution spec lets registries refuse larger manifests
ACCEPT = ("application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
          "application/vnd.docker.distribution.manifest.v2+json, "
          "application/vnd.docker.distribution.manifest.list.v2+json")
SCHEMA1 = ("application/vnd.docker.distribution.manifest.v1+json",
           "application/vnd.docker.distribution.manifest.v1+prettyjws")
_CHUNK = 1 << 20
AHEAD = 2  # layers downloaded and scanned at once, when the scanner allows it
#: While layers download, the interpreter hands the GIL round every millisecond rather than every 5:
#: the inflating workers need it back after each chunk (to queue it, to read the socket) and the
#: parsers hold it. Fat JDK image, cold, medians of 8 interleaved against ``skopeo copy``: 1.26x ->
#: 1.17x. (Archives gain nothing: their parser inflates on its own thread.)
SWITCH_INTERVAL = 0.001


def open_registry_reference(ref: Reference, typed: str, selector: Selector, options: RegistryOptions | None,
                            source: str | None, verification: Verification, limits: Limits,
                            cache: LayerCache | None) -> RegistryImage:
    """``registry:…``, ``docker://…``, or a bare name with ``--source registry``."""
    if ref.transport == "registry" and source == "engine":
        raise BadReferenceError(f"{typed} names a registry image, but --source engine asks for the engine")
    if typed.startswith(("docker:", "docker-daemon:")) and not typed.startswith("docker://"):
        raise BadReferenceError(f"{typed} names an image in the Docker engine, but --source registry asks for a "
                                f"registry: write registry:{ref.location}")
    return open_registry_image(parse_registry_ref(ref.location), selector, options, verification, limits, cache)


def open_after_engine(name: str, engine_error: InspectorError, selector: Selector, options: RegistryOptions | None,
                      verification: Verification, limits: Limits, cache: LayerCache | None) -> RegistryImage:
    """A bare name when no engine answers: read it from its registry; a failure there names both."""
    try:
        ref = parse_registry_ref(name)
    except BadReferenceError as exc:
        raise BadReferenceError(f"no file or directory {name!r}; not an image reference either ({exc}); "
                                f"and no Docker engine answered") from exc
    try:
        return open_registry_image(ref, selector, options, verification, limits, cache)
    except RegistryError as exc:
        raise RegistryError(f"{exc} (no Docker engine answered, so the registry was asked: {engine_error})") from exc


def open_registry_image(ref: RegistryRef, selector: Selector, options: RegistryOptions | None = None,
                        verification: Verification | None = None, limits: Limits = DEFAULT,
                        cache: LayerCache | None = None) -> RegistryImage:
    """Fetch ``ref``'s manifest (and index) and config; layers are fetched only when scanned."""
    options = options or RegistryOptions()
    verification = verification if verification is not None else Verification()
    if selector.tag:
        raise BadReferenceError("--tag picks an image inside an archive; name a registry image's tag in its "
                                f"reference ({ref.name}:TAG)")
    client = RegistryClient(ref, options)
    try:
        store = RegistryStore(client, cache, selector)
        resolved = resolve(store, selector, f"registry:{ref}", "registry", verification)
    except BaseException:
        client.close()
        raise
    if ref.tag:
        resolved.meta.repo_tags = [f"{ref.name}:{ref.tag}"]
    return RegistryImage(client, resolved, verification, limits, options.progress)


class RegistryStore(Store):
    """The registry seen as an OCI layout, for ``layout.resolve``: ``index.json`` names the top manifest.

    ``blobs/ALG/HEX`` is a manifest when a verified index listed it (or it is the top one), else a
    blob (the config). Each is fetched once, capped, and checked against its digest here, whatever
    algorithm it uses (``resolve`` checks sha256 documents a second time, which costs nothing).

    An index of a dozen platforms (plus as many attestations) would cost a request per manifest, so
    when some of its children name the platform wanted, the others are reported as absent, as an
    archive holding one platform of an index reports them, and are never fetched. When none
    matches, all are fetched, so that the error lists what is there.
    """

    def __init__(self, client: RegistryClient, cache: LayerCache | None, selector: Selector | None = None) -> None:
        super().__init__(str(client.ref))
        self._client = client
        self._cache = cache
        self._wanted = (selector.platform if selector else None) or Platform.host()
        self._choose = selector is None or not selector.digest  # --digest may name any child: keep them all
        self._documents: dict[str, bytes] = {}
        self._manifests: set[str] = set()
        self._absent: set[str] = set()  # children of a verified index not worth a request
        top, media_type = self._fetch_top()
        descriptor: dict[str, Any] = {"digest": top, "size": len(self._documents[top])}
        if media_type:
            descriptor["mediaType"] = media_type
        self._index = json.dumps({"schemaVersion": 2, "manifests": [descriptor]}).encode()

    def exists(self, name: str) -> bool:
        if name == "index.json":
            return True
        algorithm, _, encoded = name.removeprefix("blobs/").partition("/")
        return name.startswith("blobs/") and f"{algorithm}:{encoded}" not in self._absent

    def open(self, name: str) -> IO[bytes]:
        if name == "index.json":
            return io.BytesIO(self._index)
        algorithm, _, encoded = name.removeprefix("blobs/").partition("/")
        digest = check_digest(f"{algorithm}:{encoded}", "a digest in the manifest", VerificationError)
        if digest not in self._documents:
            if digest in self._manifests:
                self._documents[digest] = self._fetch_manifest(digest)
            else:
                self._documents[digest] = self._fetch_config(digest)
        return io.BytesIO(self._documents[digest])

    def _fetch_top(self) -> tuple[str, str | None]:
        ref = self._client.ref
        what = f"manifest {ref.reference}"
        response = self._client.get(f"manifests/{ref.reference}", what, accept=ACCEPT)
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        announced = response.headers.get("Docker-Content-Digest")
        data = response.read_capped(MAX_MANIFEST_BYTES, what, self._client.error)
        if ref.digest:
            actual = _digest_of(data, ref.digest)
            if actual != ref.digest:
                raise VerificationError(f"the manifest the registry sent for {ref.digest} is {actual}: "
                                        "it does not match its digest", where=str(ref))
            digest = ref.digest
        else:
            digest = "sha256:" + hashlib.sha256(data).hexdigest()
            if announced:
                claimed = check_digest(announced.strip(), "the registry's Docker-Content-Digest", VerificationError)
                actual = _digest_of(data, claimed)
                if actual != claimed:
                    raise VerificationError(f"the manifest for tag {ref.tag or 'latest'} does not match the "
                                            f"digest the registry announced ({claimed}): it is {actual}",
                                            where=str(ref))
        self._note(digest, data, media_type)
        if media_type in SCHEMA1 or _declared_type(data) in SCHEMA1 or b'"schemaVersion": 1' in data[:200]:
            raise self._client.error(f"{what}: a Docker schema 1 manifest, which this tool does not read "
                                     "(push the image again with a current docker or skopeo)")
        known = INDEX_TYPES | MANIFEST_TYPES
        return digest, media_type if media_type in known else _declared_type(data)

    def _fetch_manifest(self, digest: str) -> bytes:
        what = f"manifest {digest}"
        response = self._client.get(f"manifests/{digest}", what, accept=ACCEPT)
        media_type = (response.headers.get("Content-Type") or "").split(";")[0].strip()
        data = response.read_capped(MAX_MANIFEST_BYTES, what, self._client.error)
        _check(data, digest, what, str(self._client.ref))
        self._note(digest, data, media_type)
        return data

    def _fetch_config(self, digest: str) -> bytes:
        cached = self._cache.get_config(digest) if self._cache is not None else None
        if cached is not None:  # get_config re-hashes what it returns: a corrupt entry is never used
            return cached
        what = f"config {digest}"
        response = self._client.get(f"blobs/{digest}", what)
        data = response.read_capped(MAX_JSON_BYTES, what, self._client.error)
        _check(data, digest, what, str(self._client.ref))
        if self._cache is not None:
            self._cache.put_config(digest, data)
        return data

    def _note(self, digest: str, data: bytes, media_type: str) -> None:
        """Keep a verified document; if it is an index, its children are manifests (not blobs)."""
        self._documents[digest] = data
        try:
            document = json.loads(data)
        except ValueError:
            return  # resolve() reports it
        children = document.get("manifests") if isinstance(document, dict) else None
        if not isinstance(children, list):
            return
        listed = [(c["digest"], Platform.from_descriptor(c)) for c in children
                  if isinstance(c, dict) and isinstance(c.get("digest"), str)]
        self._manifests.update(digest for digest, _ in listed)
        if self._choose and any(p is not None and p.os != "unknown" and p.matches(self._wanted) for _, p in listed):
            self._absent.update(digest for digest, p in listed if p is not None and not p.matches(self._wanted)
                                and digest not in self._documents)


class RegistryImage(Image):
    """A resolved registry image; layers are downloaded only when scanned or read, one at a time."""

    def __init__(self, client: RegistryClient, resolved: Resolved, verification: Verification, limits: Limits,
                 progress: bool) -> None:
        self._client = client
        self._resolved = resolved
        self.verification = verification
        self._limits = limits
        self._progress = _Progress(progress, len(resolved.meta.layers))

    @property
    def meta(self) -> ImageMeta:
        return self._resolved.meta

    def known_diff_ids(self) -> list[str | None]:
        return [layer.diff_id for layer in self._resolved.meta.layers]

    def stored_form(self, info: LayerInfo) -> StoredForm | None:
        """The blob as the verified manifest names it: a download checks both, so a cache entry made
        from one names the bytes that hashed to the diff ID (``fs.cache.CacheUse.answer``)."""
        return StoredForm(info.size, info.digest) if isinstance(info.size, int) and info.digest else None

    @property
    def requests(self) -> int:
        """HTTP answers received so far (tests count them)."""
        return self._client.requests

    def scan_layers(self, scanner: LayerScanner[T], skip: Callable[[LayerInfo], bool] | None = None
                    ) -> Iterator[tuple[LayerInfo, T | None]]:
        """Each layer the cache does not answer for, downloaded and scanned; results in stack order.

        A scanner that allows it (``parallel``: ``fs.LayerScanner`` with a probe that keeps no
        state, whose ``scan`` runs on any thread and whose ``settle`` counts each result in stack
        order) runs over ``AHEAD`` layers at once, each on a thread of its own: inflating a layer
        (ISA-L, no GIL) is the longest step of a cold read, and one layer's inflation then runs
        while the other is parsed. Every check is made as before, in stack order, on this thread.
        """
        previous = sys.getswitchinterval()
        sys.setswitchinterval(min(previous, SWITCH_INTERVAL))
        try:
            if getattr(scanner, "parallel", False) is True:
                yield from self._scan_ahead(cast(SplitScanner[T], scanner), skip)
                return
            for info in self._resolved.meta.layers:
                if skip is not None and skip(info):
                    yield info, None  # not downloaded at all
                    continue
                result = self._read_layer(info, scanner)
                yield info, result
        finally:
            sys.setswitchinterval(previous)
            self._progress.done()

    def _scan_ahead(self, scanner: SplitScanner[T], skip: Callable[[LayerInfo], bool] | None
                    ) -> Iterator[tuple[LayerInfo, T | None]]:
        upcoming = iter(self._resolved.meta.layers)
        window: deque[tuple[LayerInfo, _Stopper, Future[tuple[T, LayerDigests]]] | tuple[LayerInfo, None, None]] \
            = deque()
        pool = ThreadPoolExecutor(AHEAD, thread_name_prefix="layer-ahead")

        def top_up() -> None:  # skip() is asked in stack order, as the layers are reached
            while len(window) < AHEAD:
                info = next(upcoming, None)
                if info is None:
                    return
                if skip is not None and skip(info):
                    window.append((info, None, None))  # not downloaded at all
                else:
                    stopper = _Stopper()
                    window.append((info, stopper, pool.submit(self._download, info, scanner.scan, stopper)))

        try:
            top_up()
            while window:
                info, _, future = window.popleft()
                if future is None:
                    top_up()
                    yield info, None
                    continue
                result, digests = future.result()  # the layer's own error, raised here in stack order
                _guarded(functools.partial(scanner.settle, result), self._where(info))
                self._account(info, digests)
                top_up()
                yield info, result
        finally:  # an error, or a consumer that stopped early: no download goes on behind our back
            for _, stopper, _ in window:
                if stopper is not None:
                    stopper.abort()
            pool.shutdown(wait=True)

    def scan_one(self, info: LayerInfo, scanner: LayerScanner[T]) -> T:
        """Download and scan one layer alone (``cat`` reads the stack from the top: ``export.topdown``)."""
        try:
            return self._read_layer(info, scanner)
        finally:
            self._progress.done()

    def read_layers(self, wanted: set[int], consumer: Callable[[LayerInfo, IO[bytes]], None]) -> None:
        """Download again only the wanted layers (checked again: they were never kept)."""
        try:
            for info in self._resolved.meta.layers:
                if info.index in wanted:
                    self._read_layer(info, lambda stream, info=info: consumer(info, stream))  # type: ignore[misc]
        finally:
            self._progress.done()

    def _read_layer(self, info: LayerInfo, scanner: LayerScanner[T]) -> T:
        result, digests = self._download(info, scanner)
        self._account(info, digests)
        return result

    def _download(self, info: LayerInfo, scanner: LayerScanner[T], stopper: _Stopper | None = None
                  ) -> tuple[T, LayerDigests]:
        """Download, inflate and scan one layer (the blob checked against its digest as it ends);
        on any thread. ``stopper`` is told the blob, so that the consumer can stop the download."""
        where = self._where(info)
        digest = check_digest(info.digest, f"layer {info.index}'s digest", VerificationError)
        if not isinstance(info.size, int) or info.size < 0:
            raise ImageFormatError(f"layer {info.index} has no size in its manifest", where=where)
        response = self._client.get(f"blobs/{digest}", f"layer {info.index} ({digest})")
        blob = BlobStream(response, digest, info.size, where, self._progress.counter(info.index))
        try:
            if stopper is not None:
                stopper.attach(blob)
            return scan_piped(scanner, blob, where, self._limits, algorithms_for(info.diff_id))
        except InspectorError as exc:
            if not isinstance(exc, VerificationError) and not blob.aborted:
                blob.finish_quietly(exc)  # a damaged stream is often a tampered one: say so (exit 3)
            raise
        finally:
            blob.close()

    def _account(self, info: LayerInfo, digests: LayerDigests) -> None:
        """On the consumer's thread, in stack order: the diff ID check, and what it vouches for."""
        self.verification.check_layer(info, digests, self._where(info))
        self.verification.blobs_checked += 1
        if info.diff_id and info.digest and info.index in self.verification.verified:
            VERIFIED_BLOBS.add(info.digest, info.diff_id)

    def _where(self, info: LayerInfo) -> str:
        return f"{self._client.ref}: layer {info.index} ({info.digest})"

    def verify_layer(self, info: LayerInfo) -> bool:
        """True when layer ``info``'s bytes are known to hash to its diff ID in this run.

        A blob this process downloaded, whose bytes hashed to the digest named here and whose tar
        hashed to the diff ID claimed here, needs no second download: a digest we computed names
        those very bytes (``diff`` shares the base layers of two registry images so). Otherwise the
        blob is downloaded and hashed, not parsed.
        """
        if info.digest and info.diff_id and VERIFIED_BLOBS.vouches(info.digest, info.diff_id):
            self.verification.verified.add(info.index)
            return True
        self._read_layer(info, _drain)
        return info.index in self.verification.verified

    def close(self) -> None:
        self._client.close()


class VerifiedBlobs:
    """Blob digests this process computed while downloading, each with the diff IDs its tar hashed to.

    Only pairs that were both computed from bytes in this run are kept: a descriptor's digest or a
    config's diff ID alone vouches for nothing. Bounded: past ``LIMIT`` pairs, the oldest go.
    """

    LIMIT = 4096

    def __init__(self) -> None:
        self._pairs: dict[tuple[str, str], None] = {}

    def add(self, blob: str, diff_id: str) -> None:
        self._pairs[(blob, diff_id)] = None
        while len(self._pairs) > self.LIMIT:
            del self._pairs[next(iter(self._pairs))]

    def vouches(self, blob: str, diff_id: str) -> bool:
        return (blob, diff_id) in self._pairs


VERIFIED_BLOBS = VerifiedBlobs()


def _drain(stream: IO[bytes]) -> None:
    """A scanner that learns nothing: the reader hashes the tar as it passes."""
    drain = getattr(stream, "drain", None)
    if drain is not None:
        drain()
        return
    while stream.read(_CHUNK):
        pass


class BlobStream(io.RawIOBase):
    """A blob's HTTP body, cut at the descriptor's size and hashed with the descriptor's algorithm.

    Reading past the size is impossible (a registry cannot make us read forever); ending early is a
    truncation; at the end, the hash must equal the digest (VerificationError, exit 3). It is read
    by the worker thread of ``registry_pipe``, which also inflates: the socket is read straight into
    the buffers of a ``BackgroundHash``, whose own thread hashes each while the worker inflates it.
    Hashing on the worker itself made the worker the critical path of a cold read (on the fat JDK
    image: socket, 326 MB of SHA-256 and the inflation, 1.7 s of the layer's 1.9 s).
    """

    def __init__(self, response: Response, digest: str, size: int, where: str,
                 on_bytes: Callable[[int], None] | None = None) -> None:
        self._response = response
        self._digest = digest
        self._hash = BackgroundHash((digest.partition(":")[0],), size=_CHUNK)
        self._chunk = memoryview(b"")
        self._at = 0
        self._left = size
        self._size = size
        self._where = where
        self._on_bytes = on_bytes
        self._checked = False
        self.aborted = False
        self._reading: tuple[float, float] | None = None  # (when the read in progress began, its allowance)
        self._stalled = False
        registry_stalls.watch(self)  # until its end, its close, or its garbage

    def readable(self) -> bool:
        return True

    def abort(self) -> None:
        """From another thread: the download is no longer wanted; the next read fails at once."""
        self.aborted = True
        self._response.abort()

    def readinto(self, buffer: Any) -> int:
        if self._at == len(self._chunk):
            if self._left == 0:
                self._check()
                return 0
            self._fill()
        view = memoryview(buffer).cast("B")
        count = min(len(view), len(self._chunk) - self._at)
        view[:count] = self._chunk[self._at:self._at + count]
        self._at += count
        if self._at == len(self._chunk) and self._left == 0:
            self._check()
        return count

    def _fill(self) -> None:
        """Read the next piece of the body into a hash buffer and hand it to the hash thread."""
        self._chunk.release()
        self._chunk, self._at = memoryview(b""), 0
        if self.aborted:
            raise RegistryError("the download was stopped", where=self._where)
        buffer = self._hash.buffer()
        view = memoryview(buffer)[:min(len(buffer), self._left)]
        options = self._response.options
        self._reading = (time.monotonic(), max(options.rate_window, len(view) / options.min_rate))
        try:
            count = self._response.raw.readinto(view)
        except (OSError, ValueError, http.client.HTTPException) as exc:  # reset, timeout, IncompleteRead
            self._too_slow()
            raise RegistryError(f"the connection broke off after {self._size - self._left:,} of {self._size:,} "
                                f"bytes ({type(exc).__name__})", where=self._where) from None
        finally:
            self._reading = None
            view.release()
        self._too_slow()
        if not count:
            raise ImageFormatError(f"the registry sent {self._size - self._left:,} bytes of a {self._size:,}-byte "
                                   "blob: it is truncated", where=self._where)
        self._hash.submit(buffer, count)
        self._chunk = memoryview(buffer)[:count]
        self._at = 0
        self._left -= count
        if self._on_bytes is not None:
            self._on_bytes(count)

    def stalled(self, now: float) -> None:
        """From ``registry_stalls``' thread: stop a read that is past its allowance."""
        reading = self._reading
        if reading is not None and now - reading[0] > reading[1]:
            self._stalled = True
            self._response.abort()

    def _too_slow(self) -> None:
        if self._stalled:
            registry_stalls.forget(self)
            options = self._response.options
            raise RegistryError(f"the registry sent the layer slower than {options.min_rate:,} bytes/s: stopped "
                                f"after {self._size - self._left:,} of {self._size:,} bytes", where=self._where)

    def finish(self) -> None:
        """Read what the decompressor left (padding, a trailing frame) and check the digest."""
        buffer = bytearray(_CHUNK)
        while self.readinto(buffer):
            pass
        self._check()

    def finish_quietly(self, cause: InspectorError) -> None:
        """After a failed scan: if the blob does not match its digest, that is the error to report."""
        try:
            self.finish()
        except VerificationError as exc:
            raise exc from cause
        except InspectorError:
            pass

    def _check(self) -> None:
        if self._checked:
            return
        self._checked = True
        registry_stalls.forget(self)
        actual = f"{self._digest.partition(':')[0]}:{self._hash.hexdigest()}"
        self._response.release(complete=True)  # read to its end: the connection can serve the next blob
        if actual != self._digest:
            raise VerificationError(f"the blob does not match its digest {self._digest}: it is {actual}",
                                    where=self._where)

    def close(self) -> None:
        registry_stalls.forget(self)
        self._chunk.release()
        self._chunk, self._at = memoryview(b""), 0
        self._hash.close()
        if not self._checked:
            self._response.release(complete=False)
        super().close()


class _Stopper:
    """Lets the consumer stop a layer download that runs on another thread (``_scan_ahead``)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._blob: BlobStream | None = None
        self._stopped = False

    def attach(self, blob: BlobStream) -> None:
        """Called by the download once its blob is open: from now on ``abort`` stops it."""
        with self._lock:
            self._blob = blob
            stopped = self._stopped
        if stopped:
            blob.abort()

    def abort(self) -> None:
        with self._lock:
            self._stopped = True
            blob = self._blob
        if blob is not None:
            blob.abort()


class _Progress:
    """``layer 2/5 12.3 MB of 40.0 MB 9.8 MB/s`` on stderr, only when it is a terminal."""

    def __init__(self, enabled: bool, layers: int) -> None:
        self._enabled = enabled
        self._layers = layers
        self._bytes = 0
        self._started = time.monotonic()
        self._last = 0.0

    def counter(self, index: int) -> Callable[[int], None] | None:
        if not self._enabled:
            return None

        def count(amount: int) -> None:
            self._bytes += amount
            now = time.monotonic()
            if now - self._last >= 0.1:
                self._last = now
                rate = self._bytes / max(now - self._started, 1e-6)
                sys.stderr.write(f"\r\x1b[Kdownloading layer {index + 1}/{self._layers}: "
                                 f"{self._bytes / 1e6:.1f} MB, {rate / 1e6:.1f} MB/s")
                sys.stderr.flush()

        return count

    def done(self) -> None:
        if self._enabled and self._last:
            sys.stderr.write("\r\x1b[K")
            sys.stderr.flush()
            self._last = 0.0


def _digest_of(data: bytes, like: str) -> str:
    algorithm = like.partition(":")[0]
    return f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"


def _check(data: bytes, digest: str, what: str, where: str) -> None:
    actual = _digest_of(data, digest)
    if actual != digest:
        raise VerificationError(f"{what} does not match its digest: it is {actual}", where=where)


def _declared_type(data: bytes) -> str | None:
    try:
        document = json.loads(data)
    except ValueError:
        return None
    value = document.get("mediaType") if isinstance(document, dict) else None
    return value if isinstance(value, str) else None

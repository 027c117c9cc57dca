"""``sources.reader``: reading a one-pass stream as if it could seek forward, hashing what passes.

``ForwardReader`` is checked against ``io.BytesIO`` over the same bytes for random sequences of
reads and forward seeks, over inner streams that return short reads and cannot seek; the digest
must cover every byte whatever was read or skipped. ``BackgroundHash`` must give hashlib's digest
and never deadlock however many buffers go round its pool.
"""

from __future__ import annotations

import hashlib
import io
import random
import tarfile
import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.sources.hashing import BUFFER, POOL, BackgroundHash
from inspector.sources.reader import CHUNK, CountingReader, ForwardReader

from .pipes import Pipe

MiB = 1 << 20
SIZES = (0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + CHUNK // 2)
_DATA: dict[int, bytes] = {}


def data_of(size: int) -> bytes:
    if size not in _DATA:
        _DATA[size] = random.Random(size).randbytes(size)
    return _DATA[size]


def sha256(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


class ReadOnly:
    """A stream with nothing but ``read`` (no ``readinto``), returning short reads."""

    def __init__(self, data: bytes, step: int = 4096, seed: int = 0) -> None:
        self._pipe = Pipe(data, step, seed)

    def read(self, size: int) -> bytes:
        return self._pipe.read(size)


def inner(kind: str, data: bytes, step: int, seed: int = 0):
    return ReadOnly(data, step, seed) if kind == "read-only" else Pipe(data, step, seed)


# --- ForwardReader against BytesIO -----------------------------------------------------------------

lengths = st.one_of(st.integers(1, 4096), st.integers(1, 2 * MiB),
                    st.sampled_from([CHUNK - 1, CHUNK, CHUNK + 1, 2 * MiB]))
operations = st.lists(st.one_of(
    st.tuples(st.just("read"), lengths),
    st.tuples(st.just("readinto"), lengths),
    st.tuples(st.just("seek"), st.one_of(st.just(0), lengths)),  # absolute, to here + n
    st.tuples(st.just("seek-cur"), st.one_of(st.just(0), lengths)),
    st.just(("tell", 0)),
    st.just(("read-all", 0)),
), max_size=8)


def run_operations(reader, data: bytes, ops, budget_calls: list[int]) -> None:
    """Apply ``ops`` to ``reader`` and to a BytesIO model; every result must agree."""
    model = io.BytesIO(data)
    for op, n in ops:
        here = model.tell()
        if op == "read":
            assert reader.read(n) == model.read(n), (op, n, here)
        elif op == "readinto":
            got, want = bytearray(n), bytearray(n)
            assert reader.readinto(got) == model.readinto(want), (op, n, here)
            assert got == want, (op, n, here)
        elif op == "seek":
            target = min(here + n, len(data))
            assert reader.seek(target) == model.seek(target) == target
        elif op == "seek-cur":
            delta = min(here + n, len(data)) - here
            assert reader.seek(delta, io.SEEK_CUR) == model.seek(delta, io.SEEK_CUR)
        elif op == "read-all":
            assert reader.read() == model.read()
        assert reader.tell() == model.tell(), (op, n, here)
        # The budget has seen every byte handed out (it guards against inflation before use)
        assert max(budget_calls, default=0) >= reader.tell()


@settings(max_examples=300, deadline=None, derandomize=True)
@given(size=st.sampled_from(SIZES), kind=st.sampled_from(["pipe", "read-only"]),
       step=st.sampled_from([7, 4096, 65_536, CHUNK + 1, 1 << 30]), hash_it=st.booleans(),
       ops=operations, seed=st.integers(0, 100))
def test_forward_reader_behaves_like_bytesio(size, kind, step, hash_it, ops, seed):
    data = data_of(size)
    if size > 65_536:
        step = max(step, 4096)  # 7-byte reads of megabytes would only make the test slow
    calls: list[int] = []
    reader = ForwardReader(inner(kind, data, step, seed), hash_it=hash_it, budget=calls.append)
    try:
        run_operations(reader, data, ops, calls)
        assert reader.drain() == size
        assert reader.tell() == size
        assert reader.read(10) == b""
        assert reader.digest() == (sha256(data) if hash_it else None)
        assert calls == sorted(calls) and calls[-1] == size
    finally:
        reader.close()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("n", [4096, CHUNK - 1, CHUNK, CHUNK + 1, 2 * MiB])
@pytest.mark.parametrize("hash_it", [False, True])
def test_read_returns_n_bytes_unless_at_end(size, n, hash_it):
    """tarfile takes a short read for a truncated tar: ``read(n)`` must fill up whatever the inner gives."""
    data = data_of(size)
    reader = ForwardReader(Pipe(data, 65_536), hash_it=hash_it)
    pieces = []
    while piece := reader.read(n):
        pieces.append(piece)
    assert all(len(piece) == n for piece in pieces[:-1])
    assert b"".join(pieces) == data
    assert reader.digest() == (sha256(data) if hash_it else None)
    reader.close()


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("how", ["seek-to-end", "drain", "read-some-then-drain", "nothing-then-drain"])
def test_digest_covers_skipped_bytes(size, how):
    data = data_of(size)
    reader = ForwardReader(Pipe(data, 65_536), hash_it=True)
    if how == "seek-to-end":
        assert reader.seek(size) == size
    elif how == "drain":
        assert reader.drain() == size
    elif how == "read-some-then-drain":
        assert reader.read(3) == data[:3]
        middle = max(min(3, size), size // 2)
        assert reader.seek(middle) == middle
        assert reader.read(CHUNK) == data[middle:middle + CHUNK]
        assert reader.drain() == size
    else:
        assert reader.drain() == size
    assert reader.digest() == sha256(data)
    assert reader.digest() == sha256(data)  # asking twice changes nothing
    reader.close()


def test_digest_is_none_without_hash():
    reader = ForwardReader(Pipe(data_of(CHUNK + 1)))
    assert reader.drain() == CHUNK + 1
    assert reader.digest() is None


def test_inner_stream_without_readinto():
    data = data_of(CHUNK + 1)
    reader = ForwardReader(ReadOnly(data, 999), hash_it=True)
    assert reader.read(10) == data[:10]
    reader.seek(CHUNK - 5)
    assert reader.read() == data[CHUNK - 5:]
    assert reader.digest() == sha256(data)


@pytest.mark.parametrize("hash_it", [False, True])
def test_backward_seeks_are_refused(hash_it):
    data = data_of(CHUNK + 1)
    reader = ForwardReader(Pipe(data), hash_it=hash_it)
    assert reader.seekable()  # tarfile's r: mode needs it: forward seeks do work
    assert reader.read(100) == data[:100]
    with pytest.raises(io.UnsupportedOperation):
        reader.seek(99)
    with pytest.raises(io.UnsupportedOperation):
        reader.seek(0)
    with pytest.raises(io.UnsupportedOperation):
        reader.seek(-1, io.SEEK_CUR)
    with pytest.raises(io.UnsupportedOperation):
        reader.seek(0, io.SEEK_END)
    # A refused seek leaves the reader where it was
    assert reader.tell() == 100
    assert reader.read(10) == data[100:110]
    assert reader.seek(110) == 110  # seeking to where it is is allowed
    assert reader.read() == data[110:]
    reader.close()


@pytest.mark.parametrize("size", [0, 1, CHUNK, CHUNK + 1])
@pytest.mark.parametrize("whence", [io.SEEK_SET, io.SEEK_CUR])
def test_seek_past_the_end_is_eof_error(size, whence):
    data = data_of(size)
    reader = ForwardReader(Pipe(data, 65_536))
    assert reader.seek(size, whence) == size  # to the very end is fine
    assert reader.read(1) == b""
    reader2 = ForwardReader(Pipe(data, 65_536))
    with pytest.raises(EOFError):
        reader2.seek(size + 1, whence)


class Boom(Exception):
    pass


@pytest.mark.parametrize("hash_it", [False, True])
def test_budget_stops_the_read(hash_it):
    """The budget sees the count after each refill; its exception ends the read (a decompression bomb)."""
    data = data_of(3 * CHUNK + CHUNK // 2)
    limit = 2 * CHUNK + CHUNK // 2
    calls = []

    def budget(count):
        calls.append(count)
        if count > limit:
            raise Boom(count)

    reader = ForwardReader(Pipe(data, CHUNK), hash_it=hash_it, budget=budget)
    assert reader.read(2 * CHUNK) == data[:2 * CHUNK]
    with pytest.raises(Boom):
        reader.read()
    assert calls == sorted(calls) and calls[-1] > limit and all(count <= len(data) for count in calls)
    reader.close()


def test_budget_exception_from_seek_and_drain():
    data = data_of(CHUNK + 1)

    def budget(count):
        if count > 1000:
            raise Boom(count)

    with pytest.raises(Boom):
        ForwardReader(Pipe(data, 4096), budget=budget).seek(CHUNK)
    with pytest.raises(Boom):
        ForwardReader(Pipe(data, 4096), budget=budget).drain()


# --- ForwardReader under tarfile ---------------------------------------------------------------------

def build_tar(fmt) -> bytes:
    rng = random.Random(fmt)
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=fmt) as tar:
        for name, size in [("a", 0), ("b", 1), ("c" * 120, 511), ("d/" * 70 + "e", 512), ("f", 513),
                           ("big", 2 * MiB + 700), ("chunk", CHUNK), ("ü-名前", 3), ("last", 10_000)]:
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = size, 1_700_000_000, 0o640
            tar.addfile(info, io.BytesIO(rng.randbytes(size)))
            link = tarfile.TarInfo(name + "-link")
            link.type, link.linkname = tarfile.SYMTYPE, "l" * 150
            tar.addfile(link)
        folder = tarfile.TarInfo("dir")
        folder.type = tarfile.DIRTYPE
        tar.addfile(folder)
    return out.getvalue()


TARS = {"gnu": build_tar(tarfile.GNU_FORMAT), "pax": build_tar(tarfile.PAX_FORMAT)}


def listing(tar: tarfile.TarFile, read: bool):
    result = []
    for info in tar:
        content = tar.extractfile(info).read() if read and info.isreg() else None
        result.append((info.name, info.type, info.size, info.linkname, info.mode, info.mtime,
                       info.offset_data, content))
    return result


@pytest.mark.parametrize("fmt", TARS)
@pytest.mark.parametrize("read", [False, True], ids=["list", "extract"])
@pytest.mark.parametrize("hash_it", [False, True])
def test_tarfile_reads_through_forward_reader(fmt, read, hash_it):
    """tarfile's random-access mode over a pipe: it seeks forward over data it does not read."""
    data = TARS[fmt]
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        expected = listing(tar, read)
    reader = ForwardReader(Pipe(data, 4096), hash_it=hash_it)
    with tarfile.open(fileobj=reader, mode="r:") as tar:
        assert listing(tar, read) == expected
    assert reader.drain() == len(data)  # the padding after the end marker too
    assert reader.digest() == (sha256(data) if hash_it else None)
    reader.close()


# --- CountingReader ----------------------------------------------------------------------------------

def test_counting_reader_counts_what_was_read():
    data = data_of(CHUNK + 1)
    raw = CountingReader(Pipe(data, 4096))
    assert raw.read(10) == data[:10]
    assert raw.count == 10
    with io.BufferedReader(raw, buffer_size=1000) as buffered:
        assert buffered.read() == data[10:]
    assert raw.count == len(data)


def test_counting_reader_over_read_only_stream():
    data = data_of(5000)
    counted = CountingReader(ReadOnly(data, 7))
    assert counted.read() == data
    assert counted.count == len(data)


# --- BackgroundHash ----------------------------------------------------------------------------------

def run_with_timeout(function, seconds=20.0):
    """Run ``function`` on a thread; fail (instead of hanging the suite) if it has not returned in time."""
    outcome = {}

    def target():
        try:
            outcome["value"] = function()
        except BaseException as exc:  # noqa: BLE001 - handed back to the test
            outcome["error"] = exc

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s: deadlock?"
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def hash_pieces(hasher: BackgroundHash, pieces) -> list[bytearray]:
    """Hand each piece over in a buffer from ``hasher``; the buffers it gave, in order."""
    given = []
    for piece in pieces:
        buffer = hasher.buffer()
        assert len(buffer) == BUFFER
        buffer[:len(piece)] = piece
        room = min(5, len(buffer) - len(piece))  # a buffer keeps its size (a mapped one cannot grow)
        buffer[len(piece):len(piece) + room] = b"stale"[:room]  # bytes past ``count`` are not hashed
        hasher.submit(buffer, len(piece))
        given.append(buffer)
    return given


def test_background_hash_equals_hashlib():
    rng = random.Random(1)
    pieces = [rng.randbytes(size) for size in (0, 1, BUFFER - 5, 1000, 0, 4096)]
    hasher = BackgroundHash()
    hash_pieces(hasher, pieces)
    digest = run_with_timeout(hasher.hexdigest)
    assert digest == hashlib.sha256(b"".join(pieces)).hexdigest()
    assert hasher.hexdigest() == digest  # asking again gives the same answer


def test_background_hash_of_nothing():
    assert run_with_timeout(BackgroundHash().hexdigest) == hashlib.sha256(b"").hexdigest()


def test_many_more_buffers_than_the_pool():
    """Buffers go round the pool: no deadlock, at most ``POOL`` of them, none rewritten before hashed.

    Each buffer is filled with new bytes every time it comes back, so a buffer handed out again
    before the hash had read it would change the digest.
    """
    rng = random.Random(2)
    pieces = [rng.randbytes(rng.choice([1, 4096, 65_536, BUFFER - 8])) for _ in range(6 * POOL + 3)]

    def work():
        hasher = BackgroundHash()
        given = hash_pieces(hasher, pieces)
        return hasher.hexdigest(), {id(buffer) for buffer in given}

    digest, distinct = run_with_timeout(work)
    assert digest == hashlib.sha256(b"".join(pieces)).hexdigest()
    assert len(distinct) <= POOL


def new_hash_threads(before: set[threading.Thread]) -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread not in before and thread.name == "layer-hash"]


def assert_close_stops_the_hash_thread(start, close):
    """``start()`` hashes on a worker thread and returns what ``close(it)`` must stop."""
    before = set(threading.enumerate())

    def work():
        it = start()
        started = new_hash_threads(before)  # seen while alive: it may be gone right after close()
        close(it)
        return started

    threads = run_with_timeout(work)
    assert threads, "hashing is expected to run on a worker thread"
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive(), "close() left the hash thread running"


def test_close_without_digest_stops_the_worker():
    def start():
        hasher = BackgroundHash()
        hash_pieces(hasher, [b"abc", bytes(BUFFER)])
        return hasher

    def close(hasher):
        hasher.close()
        hasher.close()  # twice is harmless

    assert_close_stops_the_hash_thread(start, close)


def test_abandoned_forward_reader_stops_its_hash_thread():
    """A stream dropped half-way (the image was not the one wanted) leaves no thread behind."""
    def start():
        reader = ForwardReader(Pipe(data_of(3 * CHUNK + CHUNK // 2), CHUNK), hash_it=True)
        reader.read(CHUNK + 10)
        return reader

    assert_close_stops_the_hash_thread(start, lambda reader: reader.close())

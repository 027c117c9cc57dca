"""``tarwalk.stream_members``: walking a tar that can be read only once, front to back.

Every walk is checked against ``tarfile`` reading the same bytes with random access: the same
members, in the same order, with the same metadata, and each regular file's reader giving exactly
the file's bytes, whether the consumer reads all of it, a prefix, or nothing.
"""

from __future__ import annotations

import io
import random
import tarfile

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.errors import ImageFormatError
from inspector.sources.reader import ForwardReader
from inspector.tarwalk import NotATarError, stream_members

from .pipes import Pipe

MiB = 1 << 20
FORMATS = {"ustar": tarfile.USTAR_FORMAT, "gnu": tarfile.GNU_FORMAT, "pax": tarfile.PAX_FORMAT}
ATTRS = ("name", "type", "size", "linkname", "mode", "uid", "gid", "mtime", "pax_headers",
         "uname", "gname", "devmajor", "devminor")


# --- streams that cannot seek --------------------------------------------------------------------

class ShortReadinto(Pipe):
    """Not seekable; ``read(n)`` blocks for n bytes (like a buffered pipe) but ``readinto`` is short.

    The walk reads file data with ``readinto``: this exercises its handling of short data reads.
    """

    def read(self, size=-1):
        if size is None or size < 0:
            return self.readall()
        out = bytearray()
        while len(out) < size:
            chunk = bytearray(size - len(out))
            count = self.readinto(chunk)
            if not count:
                break
            out += chunk[:count]
        return bytes(out)


def make_stream(kind: str, data: bytes, seed: int = 0):
    if kind == "buffered-pipe":  # what open() of a FIFO or sys.stdin.buffer gives
        return io.BufferedReader(Pipe(data, 7, seed), buffer_size=64)
    if kind == "short-readinto":
        return ShortReadinto(data, 7, seed)
    if kind == "short-readinto-4k":
        return ShortReadinto(data, 4096, seed)
    if kind == "forward-reader":  # how the tool wraps a decompressed layer
        return ForwardReader(Pipe(data, 4096, seed))
    raise AssertionError(kind)


STREAMS = ("buffered-pipe", "short-readinto", "forward-reader")


# --- building tars ---------------------------------------------------------------------------------

def payload(size: int, seed: int) -> bytes:
    return random.Random(seed).randbytes(size)


def member(name, kind="file", *, size=0, seed=0, linkname="", mode=0o644, uid=1000, gid=1000,
           mtime=1_700_000_000, pax=None, uname="user", gname="group", dev=(0, 0)):
    """A member spec: ``(TarInfo, data or None)``."""
    info = tarfile.TarInfo(name)
    info.type = {"file": tarfile.REGTYPE, "dir": tarfile.DIRTYPE, "symlink": tarfile.SYMTYPE,
                 "hardlink": tarfile.LNKTYPE, "fifo": tarfile.FIFOTYPE, "chr": tarfile.CHRTYPE,
                 "blk": tarfile.BLKTYPE, "cont": tarfile.CONTTYPE}.get(kind) or kind.encode()
    info.linkname = linkname
    info.mode, info.uid, info.gid, info.mtime = mode, uid, gid, mtime
    info.uname, info.gname = uname, gname
    info.devmajor, info.devminor = dev
    if pax:
        info.pax_headers = dict(pax)
    data = None
    if kind in ("file", "cont") or size:
        data = payload(size, seed)
        info.size = size
    return info, data


def build_tar(members, fmt="pax", global_pax=None) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=FORMATS[fmt], pax_headers=global_pax or {}) as tar:
        for info, data in members:
            tar.addfile(info, io.BytesIO(data) if data is not None else None)
    return out.getvalue()


def reference(data: bytes):
    """What ``tarfile`` with random access sees: ``[(attributes, file bytes or None)]``."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        result = []
        for info in tar:
            handle = tar.extractfile(info) if info.isreg() else None
            result.append((attrs(info), handle.read() if handle is not None else None))
        return result


def attrs(info: tarfile.TarInfo) -> dict:
    return {name: getattr(info, name) for name in ATTRS}


def walk(stream, plan="all", seed=0):
    """Walk ``stream``: ``[(attributes, bytes read or None)]``, reading each file as ``plan`` says.

    ``all``: everything, in reads of random sizes; ``prefix``: a random-length prefix; ``none``:
    nothing (the walk skips the data); ``mixed``: one of the three per member.
    """
    rng = random.Random(seed)
    result = []
    for info, reader in stream_members(stream):
        if reader is None:
            result.append((attrs(info), None))
            continue
        assert reader.readable() and not reader.seekable()
        how = rng.choice(["all", "prefix", "none"]) if plan == "mixed" else plan
        got = bytearray()
        if how == "all":
            while chunk := reader.read(rng.choice([1, 7, 512, 4096, 100_000, -1])):
                got += chunk
            assert reader.read(10) == b""  # the end of the member stays the end
        elif how == "prefix":
            want = rng.randint(0, info.size)
            while len(got) < want and (chunk := reader.read(min(want - len(got), rng.randint(1, 5000)))):
                got += chunk
            assert len(got) == want, f"{info.name!r}: the reader ended before the member's end"
        result.append((attrs(info), (how, bytes(got))))
    return result


def check_walk(data: bytes, kind="buffered-pipe", plan="all", seed=0):
    expected = reference(data)
    got = walk(make_stream(kind, data, seed), plan, seed)
    assert [a for a, _ in got] == [a for a, _ in expected]
    for (info, read), (_, content) in zip(got, expected, strict=True):
        assert (read is None) == (content is None), f"{info['name']!r}: reader only for regular files"
        if read is None:
            continue
        how, got_bytes = read
        if how == "all":
            assert got_bytes == content, info["name"]
        else:
            assert content.startswith(got_bytes), info["name"]
    return got


# --- fixed archives --------------------------------------------------------------------------------

SIZES = (0, 1, 511, 512, 513, 1023, 1024, 10_240, 10_241)


def mixed_members(fmt: str):
    long_ok = fmt != "ustar"
    members = [
        member("etc", "dir", mode=0o755),
        member("etc/empty", size=0),
        *[member(f"etc/size-{size}", size=size, seed=size) for size in SIZES],
        member("etc/link", "symlink", linkname="size-1", mode=0o777),
        member("etc/hard", "hardlink", linkname="etc/size-513"),
        member("dev/fifo", "fifo", mode=0o600),
        member("dev/null", "chr", dev=(1, 3), mode=0o666),
        member("dev/sda", "blk", dev=(8, 0), mode=0o660),
        member("etc/contiguous", "cont", size=700, seed=7),
        member("etc/setuid", size=3, mode=0o4755, uid=0, gid=0, uname="root", gname="root"),
        # USTAR splits a path up to 255 bytes into prefix + name
        member("p" * 120 + "/" + "n" * 90, size=5, seed=1),
    ]
    if long_ok:
        members += [
            member("l" * 101, size=600, seed=2),  # just over the 100-byte name field
            member("/".join(["deep" * 20] * 4), size=1, seed=3),  # 323 chars
            member("x" * 300 + "/tail", size=2000, seed=4),
            member("s" * 150, "symlink", linkname="t" * 260),  # long link target
            member("h" * 200, "hardlink", linkname="l" * 101),
            member("unicodé/файл/文件-ß", size=33, seed=5),
            member("emoji-🐳" * 30, size=1, seed=6),  # multi-byte and long
            member("big-uid", size=9, uid=8 ** 8 + 1, gid=8 ** 9),  # beyond 7 octal digits
        ]
    if fmt == "pax":
        members += [
            member("with-records", size=70, pax={"comment": "a comment", "SCHILY.xattr.user.k": "v" * 300,
                                                 "LIBARCHIVE.creationtime": "1700000000"}),
            member("float-mtime", size=4, mtime=1_700_000_000.25),
            member("xattr-dir", "dir", pax={"SCHILY.xattr.security.capability": "\x01\x02"}),
        ]
    members.append(member("last", size=1, seed=9))
    return members


@pytest.mark.parametrize("kind", STREAMS)
@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("plan", ["all", "prefix", "none", "mixed"])
def test_walk_matches_tarfile(fmt, kind, plan):
    got = check_walk(build_tar(mixed_members(fmt), fmt), kind, plan, seed=sum(map(ord, fmt + kind + plan)))
    assert len(got) == len(mixed_members(fmt))


@pytest.mark.parametrize("kind", ["short-readinto-4k", "forward-reader"])
@pytest.mark.parametrize("plan", ["all", "none", "mixed"])
def test_several_mib_files(kind, plan):
    """Files larger than the walk's 1 MiB skip buffer, read or skipped, leave the next header intact."""
    members = [member("a", size=3 * MiB + 5, seed=1), member("b", size=MiB, seed=2),
               member("c", size=2 * MiB - 1, seed=3), member("d", size=1, seed=4)]
    check_walk(build_tar(members, "pax"), kind, plan, seed=5)


def test_pax_global_header_applies_to_later_members():
    members = [member("a", size=3), member("b", "dir"), member("c" * 120, size=1)]
    data = build_tar(members, "pax", global_pax={"comment": "global", "SCHILY.xattr.user.g": "1"})
    got = check_walk(data, "short-readinto")
    assert all(info["pax_headers"].get("comment") == "global" for info, _ in got)


def test_pax_size_record_overrides_the_header_size():
    """How files of 8 GiB and more are stored: the header says 0, a PAX ``size`` record the truth."""
    big = tarfile.TarInfo("big")
    big.pax_headers = {"size": "1500"}  # the header's own size field stays 0
    content = payload(1500, 1)
    data = (big.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape") + content + bytes(-1500 % 512)
            + build_tar([member("after", size=3, seed=2)], "ustar"))
    got = check_walk(data, "short-readinto")
    assert [(info["name"], info["size"]) for info, _ in got] == [("big", 1500), ("after", 3)]
    assert got[0][1] == ("all", content)


def test_undecodable_name_survives():
    """A name that is not UTF-8 comes back with surrogate escapes, as tarfile gives it."""
    data = build_tar([member("bad-\udcff-name", size=2), member("ok", size=1)], "gnu")
    got = check_walk(data, "short-readinto")
    assert got[0][0]["name"] == "bad-\udcff-name"


def test_unknown_type_data_is_skipped():
    """A member of a type tarfile does not know keeps its data (skipped, no reader) like tarfile."""
    data = build_tar([member("odd", "Z", size=700, seed=1), member("next", size=5, seed=2)], "ustar")
    got = check_walk(data, "short-readinto")
    assert [(info["name"], read is None) for info, read in got] == [("odd", True), ("next", False)]


def test_empty_archive_has_no_members():
    assert list(stream_members(make_stream("buffered-pipe", build_tar([])))) == []


# --- the end marker and damaged archives -----------------------------------------------------------

def end_marker_offset(data: bytes) -> int:
    """Where the first zero block after the last member starts."""
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        tar.getmembers()  # read to the end
        return tar.offset


@pytest.mark.parametrize("garbage", [b"\xff" * 3000, b"junk", None], ids=["ff", "junk", "valid-tar"])
def test_walk_stops_at_the_end_marker(garbage):
    """Whatever follows the first zero block (more data, even a valid member) is not a member."""
    members = [member("a", size=10), member("b", "dir")]
    data = build_tar(members)
    end = end_marker_offset(data) + 512
    tail = garbage if garbage is not None else build_tar([member("hidden", size=4)])
    names = [info.name for info, _ in stream_members(make_stream("buffered-pipe", data[:end] + tail))]
    assert names == ["a", "b"]


def test_empty_input_is_a_read_error():
    with pytest.raises(NotATarError):
        list(stream_members(make_stream("buffered-pipe", b"")))


@pytest.mark.parametrize("start", [b"x" * 100, b"\xaa" * 512, b"not a tar at all\n" * 100])
def test_garbage_start_is_a_tar_error(start):
    with pytest.raises(NotATarError):
        list(stream_members(make_stream("buffered-pipe", start)))


def test_negative_pax_size_is_rejected():
    """A PAX ``size=-5`` would send tarfile back to the same header; the walk refuses it."""
    data = build_tar([member("ok", size=3), member("neg", pax={"size": "-5"}), member("after", size=1)])
    seen = []
    with pytest.raises(ImageFormatError):
        for info, reader in stream_members(make_stream("buffered-pipe", data)):
            seen.append(info.name)
            if reader is not None:
                reader.read()
    assert seen == ["ok"]


def truncation_cases():
    members = [member("f" * 130, size=700, seed=1), member("d", "dir"), member("n" * 150, size=513, seed=2),
               member("s" * 120, "symlink", linkname="t" * 120), member("empty"), member("last", size=1024, seed=3)]
    return {fmt: build_tar(members, fmt) for fmt in ("gnu", "pax")}


TRUNCATED = truncation_cases()


@pytest.mark.parametrize("fmt", TRUNCATED)
@pytest.mark.parametrize("plan", ["all", "none"])
def test_every_cut_is_an_error(fmt, plan):
    """A tar cut anywhere before the end of its end marker's first block fails; never a short listing.

    Cuts every 13 bytes, and around every block boundary (where headers start and end).

    Inside the first member's headers the cut is a ``tarfile`` error (the input may not be a tar at
    all); anywhere after, in a header, in file data or its padding, an ``ImageFormatError``.
    """
    data = TRUNCATED[fmt]
    end = end_marker_offset(data)
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        first_data = tar.next().offset_data
    near_blocks = {block + delta for block in range(0, end + 512, 512) for delta in (-2, -1, 0, 1, 2, 100)}
    for cut in sorted({*range(1, end + 512, 13), *near_blocks} & set(range(1, end + 512))):
        expected = NotATarError if cut < first_data else ImageFormatError
        with pytest.raises(expected) as raised:
            walk(make_stream("buffered-pipe", data[:cut], seed=cut), plan, seed=cut)
        assert cut < first_data or not isinstance(raised.value, NotATarError)
    # From the full end marker on, the walk completes
    for cut in (end + 512, end + 1024, len(data)):
        check_walk(data[:cut], "buffered-pipe", plan)


@pytest.mark.parametrize("plan", ["all", "none"])
def test_cut_inside_file_data_fails_on_read_or_on_next(plan):
    """Reading a cut file raises from the reader; skipping it raises when the walk moves on."""
    data = build_tar([member("a", size=5000, seed=1), member("b", size=3)])
    walker = stream_members(make_stream("short-readinto", data[:512 + 2000]))
    info, reader = next(walker)
    assert info.name == "a"
    with pytest.raises(ImageFormatError):
        if plan == "all":
            reader.read()
        else:
            next(walker)


# --- random archives -------------------------------------------------------------------------------

names = st.one_of(
    st.text(st.characters(codec="utf-8", exclude_characters="\x00"), min_size=1, max_size=40),
    st.builds(lambda stem, n: (stem * n)[:n], st.sampled_from(["a", "dir/", "é", "文", "🐳x/"]),
              st.integers(1, 320)),
)
sizes = st.one_of(st.sampled_from([0, 1, 511, 512, 513, 1024, 10_240]), st.integers(0, 20_000))


@st.composite
def random_members(draw):
    specs = []
    for index in range(draw(st.integers(0, 12))):
        kind = draw(st.sampled_from(["file", "file", "file", "dir", "symlink", "hardlink", "fifo", "chr"]))
        name = draw(names)
        specs.append(member(
            name, kind,
            size=draw(sizes) if kind == "file" else 0, seed=index,
            linkname=draw(names) if kind in ("symlink", "hardlink") else "",
            mode=draw(st.integers(0, 0o7777)), uid=draw(st.integers(0, 8 ** 8)), gid=draw(st.integers(0, 70_000)),
            mtime=draw(st.integers(0, 8 ** 11 - 1)),
            pax=draw(st.dictionaries(st.sampled_from(["comment", "SCHILY.xattr.user.a", "x.y"]),
                                     st.text(max_size=20), max_size=2)),
            dev=(draw(st.integers(0, 255)), draw(st.integers(0, 255))) if kind == "chr" else (0, 0),
        ))
    return specs


@settings(max_examples=150, deadline=None, derandomize=True)
@given(random_members(), st.sampled_from(["gnu", "pax"]), st.sampled_from(STREAMS),
       st.sampled_from(["all", "prefix", "none", "mixed"]), st.integers(0, 1000))
def test_random_archives_match_tarfile(specs, fmt, kind, plan, seed):
    got = check_walk(build_tar(specs, fmt), kind, plan, seed)
    assert len(got) == len(specs)


# --- raw streams hand over what has arrived ------------------------------------------------------

class Writes(Pipe):
    """A raw pipe fed by writes of ``step`` bytes: a read never returns bytes of two writes."""

    def readinto(self, buffer):
        count = min(len(buffer), self._step - self._pos % self._step, len(self._data) - self._pos)
        memoryview(buffer).cast("B")[:count] = self._data[self._pos:self._pos + count]
        self._pos += count
        return count


@pytest.mark.parametrize(("fmt", "delivery"), [("pax", "reads-of-1-to-7"), ("ustar", "writes-of-1000")])
def test_raw_pipe_with_short_reads(fmt, delivery):
    """A raw (unbuffered) pipe or socket may return less than asked at any read, headers included:
    a valid archive must still walk (this failed once: a short header read was taken for a cut one)."""
    data = build_tar([member("a", size=600), member("dir/" + "l" * 90, size=700, seed=1)], fmt)
    expected = [(info["name"], content) for info, content in reference(data)]
    stream = Pipe(data, 7, seed=1) if delivery == "reads-of-1-to-7" else Writes(data, 1000)
    got = walk(stream)
    assert [(info["name"], read[1]) for info, read in got] == expected

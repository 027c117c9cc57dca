"""What the reports need from file contents, gathered while the layers stream past.

A one-pass read cannot come back for a file's bytes, so the scan asks this probe, file by file,
whether to look at the content, and keeps only small facts: an ELF's header, program headers and
section headers (parsed with pyelftools over the bytes we kept), a script's shebang, a JDK
``release`` file, the vendor string HotSpot compiles into ``libjvm.so``. Files are read in chunks;
no file is ever held whole in memory.
"""

from __future__ import annotations

import functools
import hashlib
import re
import struct
from collections.abc import Callable
from dataclasses import dataclass
from sys import intern
from typing import IO, Any

from ..fs.cache import ContentCodec
from ..fs.layer import plain_interest, reentrant
from ..fs.node import Node
from ..packages.capture import capture_codec, capture_probe

HEAD_BYTES = 64 << 10  # ELF and program headers, PT_INTERP, a shebang: all near the start
TAIL_BYTES = 64 << 10  # section headers: at the end of the file for every common linker
RELEASE_MAX = 64 << 10
CHUNK = 1 << 20
#: The file whose read-only data names the JVM's vendor (``VendorScan``).
VENDOR_FILE = "libjvm.so"
TEXT_FILES = {"release", "os-release"}  # JDK release files; the distribution's os-release
#: Kept as text (at most ``RELEASE_MAX`` bytes) for owner and group names (``reports.accounts``).
ACCOUNT_FILES = {"/etc/passwd", "/etc/group"}

#: IMPLEMENTOR values (see README, "Java runtimes"); HotSpot stores the vendor as a C string.
KNOWN_VENDORS = (
    "Eclipse Adoptium", "AdoptOpenJDK", "Amazon.com Inc.", "Azul Systems, Inc.", "Microsoft",
    "Red Hat, Inc.", "BellSoft", "SAP SE", "GraalVM Community", "Oracle Corporation",
    "International Business Machines Corporation", "IBM Corporation", "JetBrains s.r.o.", "Alibaba",
    "Tencent", "Debian", "Ubuntu", "Private Build", "N/A",
)
_VENDOR_BYTES = frozenset(v.encode() for v in KNOWN_VENDORS)


def _vendor_pattern() -> re.Pattern[bytes]:
    """One pass proposing every NUL-delimited string that could be a known vendor, checked against
    the set afterwards. A substring search per vendor scans libjvm.so once per vendor: measured on
    a 30 MB Temurin libjvm.so, 0.21 s that way against 0.08 s for this (half a distroless summary)."""
    def char_class(chars: set[str]) -> bytes:
        return b"[" + b"".join(re.escape(c.encode()) for c in sorted(chars)) + b"]"

    first = char_class({v[0] for v in KNOWN_VENDORS})
    rest = char_class({c for v in KNOWN_VENDORS for c in v[1:]})
    shortest, longest = min(map(len, KNOWN_VENDORS)), max(map(len, KNOWN_VENDORS))
    return re.compile(b"\\0(" + first + rest + b"{%d,%d})(?=\\0)" % (shortest - 1, longest - 1))


_VENDOR_PATTERN = _vendor_pattern()
_OVERLAP = max(map(len, _VENDOR_BYTES)) + 2  # a vendor and its two NULs may straddle two chunks
#: How much of a libjvm.so is searched for vendor strings. HotSpot keeps them in .rodata, which
#: linkers place after .text and before any debug sections: measured at 16 MB into Debian's
#: OpenJDK 17 libjvm.so (24 MB) and 21 MB into Temurin 25's (30 MB), so 64 MiB leaves room for
#: bigger builds while a hostile 768 MiB file costs no more than 64 MiB of it.
VENDOR_SCAN_BYTES = 64 << 20
#: Candidates per chunk before the chunk is searched for each vendor instead: the pattern costs
#: about a microsecond per candidate, and a chunk of ``\0N/A`` repeated holds 262,144 of them
#: (a 768 MiB file: 35 s), while 19 substring searches cost a fixed ~12 ms per MiB, whatever it holds.
_CANDIDATES_PER_CHUNK = 4096
_VENDOR_NEEDLES = {vendor: b"\0" + vendor + b"\0" for vendor in _VENDOR_BYTES}


def _find_vendors(window: bytes, found: set[bytes]) -> None:
    """Add to ``found`` the known vendors that stand as C strings in ``window``: linear in its size,
    with a bounded cost per byte whatever the bytes are."""
    for count, match in enumerate(_VENDOR_PATTERN.finditer(window)):
        if count == _CANDIDATES_PER_CHUNK:  # a flood of candidates: look for each vendor instead
            found.update(vendor for vendor, needle in _VENDOR_NEEDLES.items()
                         if vendor not in found and needle in window)
            return
        candidate = match.group(1)
        if candidate in _VENDOR_BYTES:
            found.add(candidate)


_PT_LOAD, _PF_X, _PF_W = 1, 1, 2
#: p_type, p_flags, p_offset, p_filesz: (format, offset in the entry) for each, and the entry's least size
_PHDR_LOAD_FIELDS = {32: ((0, "I"), (24, "I"), (4, "I"), (16, "I"), 32),
                     64: ((0, "I"), (4, "I"), (8, "Q"), (32, "Q"), 56)}
_MAX_PHNUM = 4096


def vendor_ranges(head: bytes, size: int | None) -> list[tuple[int, int]]:
    """The byte ranges of a ``libjvm.so`` of ``size`` bytes worth searching for vendor strings.

    HotSpot's vendor is a string literal, in ``.rodata``; the linkers in use since binutils 2.31
    (``-z separate-code``) and lld give it a read-only PT_LOAD segment apart from the code, so the
    segments without PF_X hold it: 7 MB of Temurin 25's 30 MB libjvm.so. Anything else (no
    read-only data segment, as gold and older linkers lay out, where ``.rodata`` shares the code's
    segment; program headers beyond ``head``; a segment beyond the file; overlapping or too many
    segments; an unknown size; not an ELF at all) is searched whole, as far as ``VENDOR_SCAN_BYTES``.
    """
    whole = [(0, VENDOR_SCAN_BYTES)]
    if size is None or len(head) < 6 or not head.startswith(b"\x7fELF"):  # a file of just the magic: no class
        return whole
    try:
        bits, order = _ELF_CLASS.get(head[4]), _ENDIAN.get(head[5])
        if bits is None or order is None:
            return whole
        fields = struct.unpack_from(order + _EHDR[bits], head, 16)
        phoff, phentsize, phnum = fields[4], fields[8], fields[9]
        (type_at, type_fmt), (flags_at, flags_fmt), (off_at, off_fmt), (len_at, len_fmt), least = \
            _PHDR_LOAD_FIELDS[bits]
        if phentsize < least or phnum > _MAX_PHNUM or phoff + phnum * phentsize > len(head):
            return whole
        segments, read_only = [], False
        for index in range(phnum):
            at = phoff + index * phentsize
            if struct.unpack_from(order + type_fmt, head, at + type_at)[0] != _PT_LOAD:
                continue
            flags = struct.unpack_from(order + flags_fmt, head, at + flags_at)[0]
            offset = struct.unpack_from(order + off_fmt, head, at + off_at)[0]
            length = struct.unpack_from(order + len_fmt, head, at + len_at)[0]
            if offset + length > size:
                return whole  # a segment beyond the file: the headers are not to be believed
            if not flags & _PF_X and length:
                segments.append((offset, offset + length))
                read_only = read_only or not flags & _PF_W
    except struct.error:
        return whole
    segments.sort()
    if not read_only or sum(end - start for start, end in segments) > VENDOR_SCAN_BYTES \
            or any(segments[i][1] > segments[i + 1][0] for i in range(len(segments) - 1)):
        return whole
    ranges: list[tuple[int, int]] = []
    for start, end in segments:  # one byte more each side: the NULs around a string at an edge
        start, end = max(0, start - 1), min(size, end + 1)
        if ranges and start <= ranges[-1][1]:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((start, end))
    return ranges


class VendorScan:
    """The vendor search over a file read chunk by chunk: only ``vendor_ranges``, decided once the
    head (ELF and program headers) has been read; chunks read before that are searched then."""

    def __init__(self, size: int | None) -> None:
        self.found: set[bytes] = set()
        self._size = size
        self._ranges: list[tuple[int, int]] | None = None
        self._head = b""
        self._pending: list[tuple[int, bytes]] = []
        self._carry = b""
        self._carry_end = -1  # the file offset just after ``_carry``

    def feed(self, offset: int, chunk: bytes) -> None:
        """Search ``chunk``, the bytes at ``offset`` of the file (chunks come in order)."""
        if self._ranges is not None:
            self._search(offset, chunk)
            return
        self._pending.append((offset, chunk))
        self._head += chunk[:HEAD_BYTES - len(self._head)]
        if len(self._head) >= HEAD_BYTES:
            self._decide()

    def vendors(self) -> list[str]:
        """The known vendors found, in ``KNOWN_VENDORS`` order."""
        if self._ranges is None:
            self._decide()
        return [name for name in KNOWN_VENDORS if name.encode() in self.found]

    def _decide(self) -> None:
        self._ranges = vendor_ranges(self._head, self._size)
        pending, self._pending = self._pending, []
        for offset, chunk in pending:
            self._search(offset, chunk)

    def _search(self, offset: int, chunk: bytes) -> None:
        end = offset + len(chunk)
        for start, stop in self._ranges or ():
            lo, hi = max(start, offset), min(stop, end)
            if lo >= hi:
                continue
            piece = chunk[lo - offset:hi - offset]
            window = self._carry + piece if lo == self._carry_end else piece
            _find_vendors(window, self.found)
            self._carry, self._carry_end = window[-_OVERLAP:], hi


@dataclass(slots=True)
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

    def __reduce__(self) -> tuple[Callable[..., ElfFacts], tuple[Any, ...]]:
        """Pickled as its fields (a helper process sends its layers' facts, ``fs.transfer``): a
        slotted dataclass's default goes through a dict of its state, 2.5x slower each way."""
        return ElfFacts, (self.elf_class, self.machine, self.type, self.interpreter, self.dynamic, self.stripped)


@dataclass(slots=True)  # one per executable and kept text of every layer: no __dict__ each
class FileFacts:
    """Facts about one file's content; shared by all hardlinks to it."""

    kind: str = "other"  # elf, script, other
    elf: ElfFacts | None = None
    shebang: str | None = None
    text: str | None = None  # a small text file kept whole (JDK release files)
    vendors: tuple[str, ...] = ()  # vendor strings found in libjvm.so (one shared empty tuple for the rest)
    #: The content's SHA-256 as 32 raw bytes, when the probe was asked to hash this file: 48 bytes
    #: less than its ``sha256:`` text for each of the 100,000 executables of a million-file image.
    digest: bytes | None = None
    sha1: str | None = None  # only for SPDX (which requires SHA-1): the ``probe_sha1`` variant

    @property
    def sha256(self) -> str | None:
        """The content digest as ``sha256:<hex>``."""
        return None if self.digest is None else "sha256:" + self.digest.hex()

    def __reduce__(self) -> tuple[Callable[..., FileFacts], tuple[Any, ...]]:
        """Pickled as its fields, as ``ElfFacts`` is (a tenth of a packed layer's time)."""
        return FileFacts, (self.kind, self.elf, self.shebang, self.text, self.vendors, self.digest, self.sha1)


#: Which regular files to hash (for diffs): ``(path, node) -> bool``.
HashFilter = Callable[[str, Node], bool]


def make_probe(hash_filter: HashFilter | None = None,
               sha1: bool = False) -> Callable[[str, Node], Callable[[IO[bytes]], FileFacts] | None]:
    """The scan's content probe: which files to read, and what to keep of them.

    Every file is read at most once, as it streams past; hashing rides on the same read.
    """

    def probe(path: str, node: Node, member: Any = None) -> Callable[[IO[bytes]], FileFacts] | None:
        # called for every regular file of every layer: the name by slicing, the filter only once needed
        name = path[path.rfind("/") + 1:]
        if node.mode & 0o111:
            digest = hash_filter is not None and hash_filter(path, node)
            return lambda stream: _read(stream, executable=True, vendor=name == VENDOR_FILE, digest=digest,
                                        sha1=sha1 and digest, size_hint=node.size)
        if _kept_as_text(path, name, node):
            digest = hash_filter is not None and hash_filter(path, node)
            return lambda stream: _read(stream, text=True, digest=digest)
        digest = hash_filter is not None and hash_filter(path, node)
        if name == VENDOR_FILE or digest:
            return lambda stream: _read(stream, vendor=name == VENDOR_FILE, digest=digest, size_hint=node.size)
        return None

    reentrant(probe)  # it keeps nothing between calls
    if hash_filter is None or hash_filter is executables_only:  # then nothing else is hashed: say what is read
        plain_interest(probe, frozenset(TEXT_FILES | {VENDOR_FILE}), tuple(ACCOUNT_FILES))
    return probe


def executables_only(path: str, node: Node) -> bool:
    """The hash filter of the reports' probe: executables only (they are read whole anyway)."""
    return bool(node.mode & 0o111)


#: The probe the reports use: executables are read whole anyway (ELF head and tail), so hashing
#: them too costs no read and lets ``diff`` compare them from the same (cacheable) scan. Package
#: databases are kept too (``packages.capture``), for ``--packages`` and the summary.
probe = capture_probe(make_probe(executables_only))
#: The same, plus SHA-1 of executables: only ``sbom --format spdx-json`` asks (SPDX requires SHA-1).
probe_sha1 = capture_probe(make_probe(executables_only, sha1=True))


def _kept_as_text(path: str, name: str, node: Node) -> bool:
    """A small file kept whole as text (a JDK ``release``, os-release, /etc/passwd and /etc/group);
    asked of non-executable files (``name`` is the last component of ``path``)."""
    return (name in TEXT_FILES or path in ACCOUNT_FILES) and node.size <= RELEASE_MAX


def _texts(path: str, node: Node, member: Any = None) -> Callable[[IO[bytes]], FileFacts] | None:
    """Only the files the standard probe keeps as text, read the same way."""
    if not node.mode & 0o111 and _kept_as_text(path, path[path.rfind("/") + 1:], node):
        return lambda stream: _read(stream, text=True)
    return None


#: What ``--files --format json`` needs to name each file's package: the package databases and the
#: text files beside them, not the ELF headers, hashes and vendor search of every executable (on the
#: bench's fat JDK those doubled the listing's time).
texts_probe = capture_probe(plain_interest(reentrant(_texts), frozenset(TEXT_FILES), tuple(ACCOUNT_FILES)))


def facts_to_json(facts: FileFacts) -> dict[str, Any]:
    elf = facts.elf
    data = {"kind": facts.kind, "shebang": facts.shebang, "text": facts.text, "vendors": facts.vendors,
            "sha256": facts.sha256,
            "elf": None if elf is None else [elf.elf_class, elf.machine, elf.type, elf.interpreter, elf.dynamic,
                                             elf.stripped]}
    if facts.sha1 is not None:  # only the probe_sha1 variant: default entries stay as they were
        data["sha1"] = facts.sha1
    return data


def facts_from_json(data: Any) -> FileFacts:
    """What ``facts_to_json`` wrote, checked value by value: it comes from a cache entry, which a
    corrupt or hostile file may fill with anything (a ValueError makes the cache read the layer)."""
    def text_or_none(value: Any) -> str | None:
        if value is not None and not isinstance(value, str):
            raise ValueError("a cached fact is not text")
        return value

    if not isinstance(data, dict) or data.get("kind") not in ("elf", "script", "other"):
        raise ValueError("not cached file facts")
    vendors = data.get("vendors")
    if not isinstance(vendors, list) or not all(isinstance(v, str) for v in vendors):
        raise ValueError("cached vendors are not a list of names")
    elf = data.get("elf")
    if elf is not None:
        if not isinstance(elf, list) or len(elf) != 6 or elf[0] not in (32, 64) or type(elf[0]) is not int \
                or not isinstance(elf[1], str) or not isinstance(elf[2], str) or type(elf[4]) is not bool \
                or (elf[5] is not None and type(elf[5]) is not bool):
            raise ValueError("cached ELF facts are malformed")
        text_or_none(elf[3])
    # the few words every executable repeats are kept once, as a scan keeps them (91,576 executables
    # of a million-file image came back from the cache with three strings of their own each)
    return FileFacts(kind=_KIND_WORDS[data["kind"]], shebang=text_or_none(data.get("shebang")),
                     text=text_or_none(data.get("text")), vendors=tuple(vendors),
                     digest=_digest_from_json(data.get("sha256")), sha1=text_or_none(data.get("sha1")),
                     elf=None if elf is None else ElfFacts(elf[0], intern(elf[1]), intern(elf[2]),
                                                           None if elf[3] is None else intern(elf[3]), elf[4], elf[5]))


_KIND_WORDS = {word: word for word in ("elf", "script", "other")}


_SHA256_TEXT = re.compile(r"sha256:[0-9a-f]{64}")


def _digest_from_json(value: Any) -> bytes | None:
    """A cached ``sha256:<hex>`` as raw bytes; anything else is a corrupt entry."""
    if value is None:
        return None
    if not isinstance(value, str) or not _SHA256_TEXT.fullmatch(value):
        raise ValueError("a cached digest is not sha256:<64 hex digits>")
    return bytes.fromhex(value[7:])


#: How the standard probe's results are cached per layer (``fs.cache``); "facts2" since /etc/passwd
#: and /etc/group are kept as text (older entries, without them, are not used).
CODEC = FACTS_CODEC = capture_codec(ContentCodec("facts2", facts_to_json, facts_from_json))
#: ``texts_probe``'s cache variant; the standard one (``CODEC``) also serves it, as a richer variant.
TEXTS_CODEC = capture_codec(ContentCodec("texts1", facts_to_json, facts_from_json))
#: ``probe_sha1``'s cache variant (its own name: entries without SHA-1 never answer for it).
CODEC_SHA1 = capture_codec(ContentCodec("facts2-sha1", facts_to_json, facts_from_json))


def _read(stream: IO[bytes], executable: bool = False, vendor: bool = False, text: bool = False,
          digest: bool = False, sha1: bool = False, size_hint: int | None = None) -> FileFacts:
    """Read the file once: keep its head and tail, look for vendor strings, hash it, as asked.
    ``size_hint`` is the size the tar header gives (the vendor search trusts program headers only
    within it)."""
    facts = FileFacts()
    hasher = hashlib.sha256() if digest else None
    hasher1 = hashlib.sha1() if sha1 else None
    head = b""
    tail = b""
    size = 0
    scan = VendorScan(size_hint) if vendor else None
    while True:
        chunk = stream.read(CHUNK)
        if not chunk:
            break
        if (executable or text) and len(head) < HEAD_BYTES:
            head += chunk[: HEAD_BYTES - len(head)]
        if executable:
            tail = chunk[-TAIL_BYTES:] if len(chunk) >= TAIL_BYTES else (tail + chunk)[-TAIL_BYTES:]
        if scan is not None:
            scan.feed(size, chunk)
        if hasher is not None:
            hasher.update(chunk)
        if hasher1 is not None:
            hasher1.update(chunk)
        size += len(chunk)
    if scan is not None:
        facts.vendors = tuple(scan.vendors())
    if hasher is not None:
        facts.digest = hasher.digest()
    if hasher1 is not None:
        facts.sha1 = hasher1.hexdigest()
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
    """Read the few ELF fields the reports need from the file's head and tail.

    pyelftools' construct-based parser costs about 4 ms per file (measured: 5 s of a 7 s summary of
    an image with 1,171 ELF files), so the fixed-layout headers are unpacked with ``struct`` here and
    pyelftools supplies what it is good at: the names of machines and types (``elftools.elf.enums``).
    """
    view = _SparseFile(head, tail, size)
    try:
        return _parse_elf(view, size)
    except (struct.error, ValueError, IndexError, UnicodeDecodeError):
        return None  # a damaged ELF is reported as an ELF we could not parse, never a crash


_ELF_CLASS = {1: 32, 2: 64}
_ENDIAN = {1: "<", 2: ">"}
#: e_type, e_machine, e_version, e_entry, e_phoff, e_shoff, e_flags, e_ehsize, e_phentsize, e_phnum,
#: e_shentsize, e_shnum, e_shstrndx (after the 16-byte e_ident)
_EHDR = {32: "HHIIIIIHHHHHH", 64: "HHIQQQIHHHHHH"}
_PHDR_TYPE_OFFSET = {32: ("I", 4, "I", 16), 64: ("Q", 8, "Q", 32)}  # p_offset format/at, p_filesz format/at


#: The gABI's fixed numbers: p_type PT_DYNAMIC, PT_INTERP and sh_type SHT_SYMTAB.
_PT_DYNAMIC, _PT_INTERP, _SHT_SYMTAB = 2, 3, 2
#: pyelftools' names of the machines and types nearly every image holds (tests/test_vendor_scan.py
#: checks them against pyelftools): importing its tables pulls in its ``construct`` package, 26 ms of
#: CPU, a twentieth of a distroless Java summary, so it is imported only for a name not listed here.
_COMMON_MACHINES = {3: "EM_386", 8: "EM_MIPS", 20: "EM_PPC", 21: "EM_PPC64", 22: "EM_S390", 40: "EM_ARM",
                    62: "EM_X86_64", 183: "EM_AARCH64", 243: "EM_RISCV"}
_COMMON_TYPES = {0: "ET_NONE", 1: "ET_REL", 2: "ET_EXEC", 3: "ET_DYN", 4: "ET_CORE"}


@functools.cache
def _elf_names() -> tuple[dict[int, str], dict[int, str]]:
    """pyelftools' tables of machine and type names, loaded on the first ELF whose machine or type
    is not one of the common ones."""
    from elftools.elf.enums import ENUM_E_MACHINE, ENUM_E_TYPE

    machines = {value: name for name, value in ENUM_E_MACHINE.items() if isinstance(value, int)}
    types = {value: name for name, value in ENUM_E_TYPE.items() if isinstance(value, int)}
    return machines, types


def _machine_name(e_machine: int) -> str:
    name = _COMMON_MACHINES.get(e_machine)
    return name if name is not None else _elf_names()[0].get(e_machine, f"EM_{e_machine}")


def _type_name(e_type: int) -> str:
    name = _COMMON_TYPES.get(e_type)
    return name if name is not None else _elf_names()[1].get(e_type, f"ET_{e_type}")


def _parse_elf(view: _SparseFile, size: int) -> ElfFacts | None:
    ident = view.pread(0, 16)
    bits, order = _ELF_CLASS.get(ident[4]), _ENDIAN.get(ident[5])
    if bits is None or order is None:
        return None
    fields = struct.unpack_from(order + _EHDR[bits], view.pread(16, struct.calcsize(order + _EHDR[bits])))
    e_type, e_machine, _, _, phoff, shoff, _, _, phentsize, phnum, shentsize, shnum, _ = fields
    interpreter, dynamic = None, False
    off_format, off_at, size_format, size_at = _PHDR_TYPE_OFFSET[bits]
    for index in range(min(phnum, 4096)):
        entry = view.pread(phoff + index * phentsize, phentsize)
        if len(entry) < phentsize:
            break
        p_type = struct.unpack_from(order + "I", entry)[0]
        if p_type == _PT_INTERP:
            offset = struct.unpack_from(order + off_format, entry, off_at)[0]
            length = struct.unpack_from(order + size_format, entry, size_at)[0]
            if length < 4096 and view.covers(offset, length):
                interpreter = view.pread(offset, length).split(b"\0", 1)[0].decode("utf-8", "replace") or None
        elif p_type == _PT_DYNAMIC:
            dynamic = True
    stripped: bool | None = True if not shoff else None
    if shoff and shentsize >= 8 and view.covers(shoff, shnum * shentsize):
        table = view.pread(shoff, shnum * shentsize)
        stripped = not any(struct.unpack_from(order + "I", table, i * shentsize + 4)[0] == _SHT_SYMTAB
                           for i in range(shnum))
    return ElfFacts(bits, _machine_name(e_machine), _type_name(e_type), interpreter, dynamic, stripped)


class _SparseFile:
    """A file of ``size`` bytes of which only the head and tail were kept (zeros elsewhere)."""

    def __init__(self, head: bytes, tail: bytes, size: int) -> None:
        self._head = head
        self._tail = tail
        self._tail_start = size - len(tail)
        self._size = size

    def covers(self, offset: int, length: int) -> bool:
        end = offset + length
        return end <= len(self._head) or (offset >= self._tail_start and end <= self._size)

    def pread(self, offset: int, length: int) -> bytes:
        """``length`` bytes at ``offset``; parts that were not kept read as zeros."""
        pos = max(0, offset)
        end = min(self._size, pos + max(0, length))
        if end <= len(self._head):  # nearly every read: headers near the start
            return self._head[pos:end]
        if pos >= self._tail_start:
            return self._tail[pos - self._tail_start:end - self._tail_start]
        out = bytearray(max(0, end - pos))
        for start, data in ((0, self._head), (self._tail_start, self._tail)):
            lo, hi = max(pos, start), min(end, start + len(data))
            if lo < hi:
                out[lo - pos: hi - pos] = data[lo - start: hi - start]
        return bytes(out)

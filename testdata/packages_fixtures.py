"""Package databases for the package tests, made by code: hand-written dpkg and apk databases
(every rule of their formats), rpm databases written by Debian's own ``rpm`` (sqlite) and
``db5.3_load`` (BerkeleyDB), an NDB file laid out as rpm's ``rpmpkg.c`` writes it, and hostile
variants of each. Nothing here is a committed binary.
"""

from __future__ import annotations

import base64
import hashlib
import os
import shutil
import sqlite3
import struct
import subprocess
import tempfile
from pathlib import Path

from testdata.imagebuilder import E

# --- dpkg ---------------------------------------------------------------------------------------

LS = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"ls binary " * 50
LIBC = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"libc " * 80
NSSWITCH = b"passwd: files\n"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def dpkg_status() -> str:
    """Every rule: multi-arch names, ``Source: x (v)``, continuation lines, a removed package."""
    return f"""Package: coreutils
Status: install ok installed
Priority: required
Architecture: amd64
Version: 9.1-1
Description: GNU core utilities
 This package contains the basic file, shell and text
 manipulation utilities.
 .
 A continuation line: with a colon.

Package: libc6
Status: install ok installed
Architecture: amd64
Multi-Arch: same
Source: glibc (2.36-9+deb12u10)
Version: 2.36-9+deb12u10
Conffiles:
 /etc/nsswitch.conf {md5(NSSWITCH)}
 /etc/old.conf 00000000000000000000000000000000 obsolete

Package: removed-thing
Status: deinstall ok config-files
Architecture: all
Version: 1.0

Package: base-files
Status: install ok installed
Architecture: amd64
Source: base-files-src
Version: 12.4+deb12u5
"""


def dpkg_files() -> dict[str, bytes]:
    """``/var/lib/dpkg`` of a small Debian 12 (merged /usr: packages say /bin, the image has /usr/bin)."""
    return {
        "/var/lib/dpkg/status": dpkg_status().encode(),
        "/var/lib/dpkg/info/coreutils.list": b"/.\n/bin\n/bin/ls\n/usr\n/usr/share/doc/coreutils\n",
        "/var/lib/dpkg/info/coreutils.md5sums": f"{md5(LS)}  bin/ls\n".encode(),
        "/var/lib/dpkg/info/libc6:amd64.list": b"/.\n/etc/nsswitch.conf\n/lib/x86_64-linux-gnu/libc.so.6\n",
        "/var/lib/dpkg/info/libc6:amd64.md5sums": f"{md5(LIBC)}  lib/x86_64-linux-gnu/libc.so.6\n".encode(),
        "/var/lib/dpkg/info/libc6:amd64.conffiles": b"/etc/nsswitch.conf\n",
        "/var/lib/dpkg/info/removed-thing.list": b"/usr/bin/gone\n",
        "/var/lib/dpkg/info/base-files.list": b"/etc/debian_version\n",
    }


OS_RELEASE = b'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nNAME="Debian GNU/Linux"\nVERSION_ID="12"\nID=debian\n'


def distroless_files() -> dict[str, bytes]:
    """status.d as distroless writes it: ``dpkg-deb --field`` output (no Status) and control md5sums."""
    return {
        "/var/lib/dpkg/status.d/libc6": b"Package: libc6\nSource: glibc (2.36-9+deb12u10)\nVersion: 2.36-9+deb12u10\n"
                                        b"Architecture: amd64\nMulti-Arch: same\n",
        "/var/lib/dpkg/status.d/libc6.md5sums": f"{md5(LIBC)}  lib/x86_64-linux-gnu/libc.so.6\n".encode(),
        "/var/lib/dpkg/status.d/base-files": b"Package: base-files\nVersion: 12.4+deb12u5\nArchitecture: amd64\n",
    }


def entries(files: dict[str, bytes], mode: int = 0o644) -> list[E]:
    """Tar entries for ``files`` (absolute paths), parents first."""
    out: list[E] = []
    made: set[str] = set()
    for path in sorted(files):
        parts = path.strip("/").split("/")
        for depth in range(1, len(parts)):
            directory = "/".join(parts[:depth])
            if directory not in made:
                made.add(directory)
                out.append(E(directory + "/", "dir"))
        out.append(E(path.strip("/"), data=files[path], mode=mode))
    return out


# --- apk ----------------------------------------------------------------------------------------

SECURETTY = b"console\n"
BUSYBOX = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"busybox " * 40


def q1(data: bytes) -> str:
    return "Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode()


def apk_installed() -> bytes:
    """Two packages as Alpine's apk writes them (C P V A S I T U L o m t c D p F M R a Z)."""
    return f"""C:Q1abcdefabcdefabcdefabcdefabcdefab=
P:musl
V:1.2.5-r0
A:x86_64
S:407657
I:663552
T:the musl c library (libc) implementation
U:https://musl.libc.org/
L:MIT
o:musl
m:Natanael Copa <ncopa@alpinelinux.org>
t:1712140233
c:1a0ad6dc8b7bd1bc8b2da5f8781c9e77ec2d4d4b
p:so:libc.musl-x86_64.so.1=1
F:lib
R:ld-musl-x86_64.so.1
a:0:0:755
Z:{q1(b"musl loader")}
R:libc.musl-x86_64.so.1
a:0:0:777
Z:{q1(b"ld-musl-x86_64.so.1")}

C:Q1abcdefabcdefabcdefabcdefabcdefab=
P:busybox-binsh
V:1.36.1-r28
A:x86_64
L:GPL-2.0-only
o:busybox
F:bin
R:busybox
a:0:0:755
Z:{q1(BUSYBOX)}
F:etc
R:securetty
Z:{q1(SECURETTY)}

""".encode()


# --- rpm ----------------------------------------------------------------------------------------

HELLO_SPEC = """Name: hello-fixture
Version: 1.2.3
Release: 4
Epoch: 1
Summary: fixture
License: MIT
Vendor: Fixture Vendor
BuildArch: noarch
%description
fixture
%install
mkdir -p %{buildroot}/usr/bin %{buildroot}/etc
printf '#!/bin/sh\\necho hi\\n' > %{buildroot}/usr/bin/hello
echo conf > %{buildroot}/etc/hello.conf
%files
%attr(4755,root,root) /usr/bin/hello
%config /etc/hello.conf
"""
HELLO_BYTES = b"#!/bin/sh\necho hi\n"
WORLD_SPEC = HELLO_SPEC.replace("hello-fixture", "world-fixture").replace("Epoch: 1\n", "") \
    .replace("/usr/bin/hello", "/usr/bin/world").replace("/etc/hello.conf", "/etc/world.conf") \
    .replace("License: MIT", "License: Apache-2.0")


def have_rpm() -> str | None:
    """Why rpm fixtures cannot be made here, or None when they can."""
    for tool in ("rpm", "rpmbuild"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (apt-get install rpm)"
    return None


def build_rpms(directory: Path, specs: tuple[str, ...] = (HELLO_SPEC, WORLD_SPEC)) -> list[Path]:
    top = directory / "rpmbuild"
    directory.mkdir(parents=True, exist_ok=True)
    for index, spec in enumerate(specs):
        path = directory / f"p{index}.spec"
        path.write_text(spec)
        subprocess.run(["rpmbuild", "-bb", "--define", f"_topdir {top}", "--define", "_binary_payload w9.gzdio",
                        str(path)], check=True, capture_output=True)
    return sorted((top / "RPMS").rglob("*.rpm"))


def rpm_sqlite_db(directory: Path, rpms: list[Path], dbpath: str = "/var/lib/rpm") -> Path:
    """Install ``rpms`` (--justdb) into a fresh root's sqlite rpmdb with Debian's rpm; the db dir."""
    root = directory / "root"
    base = ["rpm", "--root", str(root), "--dbpath", dbpath]
    subprocess.run([*base, "--initdb"], check=True, capture_output=True)
    subprocess.run([*base, "-i", "--nodeps", "--noscripts", "--justdb", *map(str, rpms)], check=True,
                   capture_output=True)
    return root / dbpath.lstrip("/")


def rpm_query(root: Path, dbpath: str, backend: str | None = None) -> set[str]:
    """``rpm -qa`` as ``NAME EPOCH:VERSION-RELEASE ARCH`` lines (epoch only when set)."""
    command = ["rpm", "--root", str(root), "--dbpath", dbpath, "-qa", "--qf",
               "%{NAME} %|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE} %{ARCH}\\n"]
    if backend:
        command[1:1] = ["--define", f"_db_backend {backend}"]
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return set(filter(None, out.splitlines()))


def header_blobs(sqlite_path: Path) -> list[tuple[int, bytes]]:
    with sqlite3.connect(sqlite_path) as connection:
        return list(connection.execute("SELECT hnum, blob FROM Packages ORDER BY hnum"))


def bdb_packages(blobs: list[tuple[int, bytes]], out: Path) -> Path:
    """A BerkeleyDB hash ``Packages`` as rpm ≤ 4.16 kept it, written by ``db5.3_load``."""
    def escape(data: bytes) -> str:
        return "".join(f"\\{b:02x}" for b in data)

    lines = []
    for number, blob in blobs:
        lines += [escape(struct.pack("<I", number)), escape(blob)]
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run(["db5.3_load", "-T", "-t", "hash", str(out)], input=("\n".join(lines) + "\n").encode(),
                   check=True, capture_output=True)
    return out


def ndb_packages(blobs: list[bytes]) -> bytes:
    """An NDB ``Packages.db`` laid out as rpm's ``lib/backend/ndb/rpmpkg.c`` does (one slot page)."""
    slot_pages = 1
    data = bytearray(struct.pack("<4sIII16x", b"RpmP", 0, 1, slot_pages))
    blocks = bytearray()
    first_block = slot_pages * 4096 // 16
    slots = bytearray()
    for index, blob in enumerate(blobs, start=1):
        offset = first_block + len(blocks) // 16
        record = struct.pack("<4sIII", b"BlbS", index, 0, len(blob)) + blob
        record += b"\0" * (-len(record) % 16)
        slots += struct.pack("<4sIII", b"Slot", index, offset, len(record) // 16)
        blocks += record
    free = (4096 - 32 - len(slots)) // 16
    slots += struct.pack("<4sIII", b"Slot", 0, 0, 0) * free
    return bytes(data + slots + blocks)


def wal_database(main: bytes, extra_blob: bytes, hnum: int) -> tuple[bytes, bytes]:
    """``rpmdb.sqlite`` plus a ``-wal`` holding one committed row that the main file lacks."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "rpmdb.sqlite")
        Path(path).write_bytes(main)
        connection = sqlite3.connect(path, isolation_level=None)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA wal_autocheckpoint=0")
        connection.execute("INSERT INTO Packages (hnum, blob) VALUES (?, ?)", (hnum, extra_blob))
        main_now = Path(path).read_bytes()
        wal = Path(path + "-wal").read_bytes()
        connection.close()
    return main_now, wal


# --- hostile databases --------------------------------------------------------------------------

def header_blob(tags: list[tuple[int, int, bytes, int]]) -> bytes:
    """A header blob from ``(tag, type, data, count)`` entries (data concatenated in order)."""
    index, store = b"", b""
    for tag, kind, data, count in tags:
        index += struct.pack(">IIII", tag, kind, len(store), count)
        store += data
    return struct.pack(">II", len(tags), len(store)) + index + store


def bdb_hash(page_size: int, pages: list[bytes], last: int | None = None) -> bytes:
    """A little-endian BerkeleyDB hash file: metadata page, then ``pages`` (each padded)."""
    meta = bytearray(page_size)
    struct.pack_into("<III", meta, 12, 0x061561, 9, page_size)
    struct.pack_into("<I", meta, 32, len(pages) if last is None else last)
    meta[25] = 8
    return bytes(meta) + b"".join(page.ljust(page_size, b"\0")[:page_size] for page in pages)


def bdb_page(kind: int, entries: int = 0, next_page: int = 0, used: int = 0, body: bytes = b"") -> bytes:
    header = bytearray(26)
    struct.pack_into("<IHH", header, 16, next_page, entries, used)
    header[25] = kind
    return bytes(header) + body


def bdb_offpage_record(page_size: int, first: int, length: int) -> bytes:
    """A hash page with one key/value pair whose value is off-page at ``first``."""
    page = bytearray(page_size)
    header = bdb_page(13, entries=2)
    page[:26] = header
    key_at, value_at = page_size - 8, page_size - 20
    struct.pack_into("<HH", page, 26, key_at, value_at)
    page[key_at] = 1
    page[value_at] = 3
    struct.pack_into("<II", page, value_at + 4, first, length)
    return bytes(page)


def bdb_overflow_loop(page_size: int = 512) -> bytes:
    """Two overflow pages pointing at each other, and a record claiming far more than they hold."""
    return bdb_hash(page_size, [bdb_offpage_record(page_size, 2, 1 << 27),
                                bdb_page(7, next_page=3, used=10), bdb_page(7, next_page=2, used=10)])


def sqlite_with_view() -> bytes:
    """An rpmdb.sqlite whose ``Packages`` is a view that would recurse forever."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "rpmdb.sqlite")
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE VIEW Packages AS WITH RECURSIVE n(x) AS "
                               "(SELECT 1 UNION ALL SELECT x + 1 FROM n) SELECT x AS hnum, zeroblob(10) AS blob FROM n")
        return Path(path).read_bytes()


def sqlite_slow_table() -> bytes:
    """A real ``Packages`` table whose reading the step bound must stop: many rows of tiny blobs."""
    with tempfile.TemporaryDirectory() as directory:
        path = os.path.join(directory, "rpmdb.sqlite")
        with sqlite3.connect(path) as connection:
            connection.execute("CREATE TABLE Packages (hnum INTEGER PRIMARY KEY, blob BLOB)")
            connection.execute("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n LIMIT 150000) "
                               "INSERT INTO Packages SELECT x, x'00' FROM n")
        return Path(path).read_bytes()


# --- images -------------------------------------------------------------------------------------

CAT = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"cat binary " * 30
DROPPED = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"dropped by hand " * 30
APP_HISTORY = [
    {"created_by": "debootstrap bookworm"},
    {"created_by": "ENV LANG=C.UTF-8", "empty_layer": True},
    {"created_by": "COPY app/ / # tampering"},
]


def debian_base_layer() -> list:
    """A merged-/usr Debian 12 base: packages say /bin/ls, the image keeps /usr/bin/ls."""
    db = dpkg_files()
    db["/var/lib/dpkg/info/coreutils.md5sums"] = f"{md5(LS)}  bin/ls\n{md5(CAT)}  bin/cat\n".encode()
    db["/var/lib/dpkg/info/coreutils.list"] += b"/bin/cat\n"
    layer = [E("bin", "symlink", target="usr/bin"), E("lib", "symlink", target="usr/lib")]
    layer += entries(db)
    layer += entries({"/usr/bin/ls": LS, "/usr/bin/cat": CAT, "/usr/lib/x86_64-linux-gnu/libc.so.6": LIBC},
                     mode=0o755)
    layer += [E("etc/", "dir"), E("etc/os-release", data=OS_RELEASE), E("etc/nsswitch.conf", data=NSSWITCH)]
    return layer


def upgraded_base_layer() -> list:
    """``debian_base_layer`` a release later: coreutils upgraded (9.1-1 → 9.1-2), base-files renamed
    base-files-ng (one package removed, one added), for the package diff."""
    layer = debian_base_layer()
    for entry in layer:
        if entry.path == "var/lib/dpkg/status":
            entry.data = entry.data.replace(b"Version: 9.1-1", b"Version: 9.1-2").replace(
                b"Package: base-files", b"Package: base-files-ng")
    return layer


def tampering_layer() -> list:
    """Patches one byte of a packaged binary, replaces a conffile, deletes a packaged file, drops an ELF."""
    patched = bytearray(LS)
    patched[40] ^= 0x01
    return [E("usr/", "dir"), E("usr/bin/", "dir"), E("usr/bin/ls", data=bytes(patched), mode=0o755),
            E("etc/", "dir"), E("etc/nsswitch.conf", data=b"passwd: files ldap\n"),
            E("usr/bin/.wh.cat"),
            E("usr/local/", "dir"), E("usr/local/bin/", "dir"), E("usr/local/bin/dropped", data=DROPPED, mode=0o755)]


# --- real Debian packages, laid out as distroless does -----------------------------------------

REAL_PACKAGES = ("base-files", "netbase", "mawk")


def download_debs(directory: Path, names: tuple[str, ...] = REAL_PACKAGES) -> list[Path] | str:
    """``apt-get download`` the packages into ``directory``; the reason as a string when apt cannot."""
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        return "apt-get or dpkg-deb is not installed"
    directory.mkdir(parents=True, exist_ok=True)
    found = sorted(directory.glob("*.deb"))
    if len(found) >= len(names):
        return found
    try:
        proc = subprocess.run(["apt-get", "download", "-q", *names], check=False, cwd=directory, capture_output=True,
                              text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"apt-get download failed: {exc}"
    found = sorted(directory.glob("*.deb"))
    if proc.returncode != 0 or len(found) < len(names):
        return f"apt-get download failed: {(proc.stderr or proc.stdout).strip()[-300:]}"
    return found


def distroless_layer(debs: list[Path], work: Path) -> list[E]:
    """One layer the way distroless builds it: each package's data (``dpkg-deb --fsys-tarfile``),
    ``dpkg-deb --field`` into ``status.d/<pkg>``, the control ``md5sums`` into ``status.d/<pkg>.md5sums``."""
    import io
    import tarfile

    files: dict[str, E] = {}
    for deb in debs:
        name = subprocess.run(["dpkg-deb", "--field", str(deb), "Package"], check=True, capture_output=True,
                              text=True).stdout.strip()
        field_text = subprocess.run(["dpkg-deb", "--field", str(deb)], check=True, capture_output=True).stdout
        control = work / f"control-{name}"
        subprocess.run(["dpkg-deb", "-e", str(deb), str(control)], check=True, capture_output=True)
        data = subprocess.run(["dpkg-deb", "--fsys-tarfile", str(deb)], check=True, capture_output=True).stdout
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            for member in tar:
                path = member.name.lstrip("./")
                if not path:
                    continue
                if member.isdir():
                    files.setdefault(path, E(path + "/", "dir", mode=member.mode))
                elif member.issym():
                    files[path] = E(path, "symlink", target=member.linkname)
                elif member.islnk():
                    files[path] = E(path, "hardlink", target=member.linkname.lstrip("./"))
                elif member.isfile():
                    handle = tar.extractfile(member)
                    files[path] = E(path, data=handle.read() if handle else b"", mode=member.mode)
        db = {f"/var/lib/dpkg/status.d/{name}": field_text}
        if (control / "md5sums").exists():
            db[f"/var/lib/dpkg/status.d/{name}.md5sums"] = (control / "md5sums").read_bytes()
        for entry in entries(db):
            files.setdefault(entry.path.rstrip("/"), entry)
    return sorted(files.values(), key=lambda e: e.path.rstrip("/"))

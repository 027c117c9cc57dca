"""Images for the policy tests, made by code: for each rule one image that violates it and one
that comes close without violating it (the boundary the rule draws), plus hostile names.

Every image starts from ``base()``: a static "ELF" ``/app`` owned by a dpkg package whose recorded
MD5 matches, ``/tmp`` with the sticky bit, a non-root numeric ``USER``: it passes every rule, so a
violating image differs from it by the one thing its rule is about.
"""

from __future__ import annotations

import hashlib
import struct
from collections.abc import Callable

from testdata.imagebuilder import E, ImageSpec

#: Just an ELF magic and a header prefix: classified as ELF, static (no PT_INTERP), so it can start.
ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"policy test binary " * 20
OTHER_ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"dropped by hand " * 20
USER = "65532"


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def dpkg_db(owned: dict[str, bytes]) -> list[E]:
    """``/var/lib/dpkg`` with one installed package ``app`` that owns ``owned`` (path → recorded bytes)."""
    status = b"Package: app\nStatus: install ok installed\nArchitecture: amd64\nVersion: 1.0\n"
    listing = "".join(f"{path}\n" for path in sorted(owned)).encode()
    sums = "".join(f"{md5(data)}  {path.lstrip('/')}\n" for path, data in sorted(owned.items())).encode()
    return [E("var/", "dir"), E("var/lib/", "dir"), E("var/lib/dpkg/", "dir"), E("var/lib/dpkg/info/", "dir"),
            E("var/lib/dpkg/status", data=status), E("var/lib/dpkg/info/app.list", data=listing),
            E("var/lib/dpkg/info/app.md5sums", data=sums)]


def base_layer(app: bytes = ELF, recorded: bytes = ELF) -> list[E]:
    return [E("tmp/", "dir", mode=0o1777), E("etc/", "dir"), E("etc/hostname", data=b"app\n"),
            E("app", data=app, mode=0o755), *dpkg_db({"/app": recorded})]


def image(extra: list[E] | None = None, config: dict[str, object] | None = None, **base: bytes) -> ImageSpec:
    """The clean base, one more layer (``extra``) when given, and config fields over the base config."""
    layers = [base_layer(**base)] + ([extra] if extra else [])
    return ImageSpec(layers, config={"Entrypoint": ["/app"], "User": USER, **(config or {})})


def base() -> ImageSpec:
    return image()


def capability(names_bits: int) -> bytes:
    """A VFS_CAP_REVISION_2 ``security.capability`` value: permitted bits, effective flag set."""
    return struct.pack("<IIIII", 0x02000001, names_bits & 0xFFFFFFFF, 0, names_bits >> 32, 0)


CAP_NET_BIND_SERVICE = 1 << 10
JAVA_HOME = "opt/java"


def java(tools: tuple[str, ...], image_type: str) -> list[E]:
    release = f'IMPLEMENTOR="Eclipse Adoptium"\nJAVA_VERSION="21.0.4"\nIMAGE_TYPE="{image_type}"\n'.encode()
    return [E("opt/", "dir"), E(f"{JAVA_HOME}/", "dir"), E(f"{JAVA_HOME}/bin/", "dir"),
            E(f"{JAVA_HOME}/release", data=release),
            *(E(f"{JAVA_HOME}/bin/{tool}", data=ELF, mode=0o755) for tool in tools)]


def passwd(*lines: str) -> list[E]:
    return [E("etc/", "dir"), E("etc/passwd", data="".join(f"{line}\n" for line in lines).encode())]


#: rule → (an image that violates it, the findings' paths; an image that does not)
PAIRS: dict[str, tuple[Callable[[], ImageSpec], list[str | None], Callable[[], ImageSpec]]] = {
    "cannot-start": (
        lambda: image(config={"Entrypoint": ["/usr/bin/missing"]}), [None],
        lambda: image([E("usr/", "dir"), E("usr/bin/", "dir"), E("usr/bin/present", data=ELF, mode=0o755)],
                      config={"Entrypoint": ["/usr/bin/present"]}),
    ),
    "shell": (
        lambda: image([E("bin/", "dir"), E("bin/sh", data=ELF, mode=0o755), E("bin/bash", "symlink", target="sh")]),
        ["/bin/bash", "/bin/sh"],
        # a file named sh that is not executable is no shell
        lambda: image([E("usr/", "dir"), E("usr/share/", "dir"), E("usr/share/sh", data=b"# notes\n")]),
    ),
    "package-manager": (
        lambda: image([E("usr/", "dir"), E("usr/bin/", "dir"), E("usr/bin/apt-get", data=ELF, mode=0o755)]),
        ["/usr/bin/apt-get"],
        lambda: image([E("etc/", "dir"), E("etc/apt/", "dir"), E("etc/apt/sources.list", data=b"deb x y\n")]),
    ),
    "setuid": (
        lambda: image([E("usr/", "dir"), E("usr/bin/", "dir"), E("usr/bin/su", data=ELF, mode=0o4755),
                       E("usr/bin/wall", data=ELF, mode=0o2755)]),
        ["/usr/bin/su", "/usr/bin/wall"],
        # the bit on a file nobody can execute grants nothing
        lambda: image([E("usr/", "dir"), E("usr/share/", "dir"), E("usr/share/flag", data=b"x", mode=0o4644)]),
    ),
    "capabilities": (
        lambda: image([E("usr/", "dir"), E("usr/bin/", "dir"),
                       E("usr/bin/ping", data=ELF, mode=0o755,
                         xattrs={"security.capability": capability(CAP_NET_BIND_SERVICE)})]),
        ["/usr/bin/ping"],
        lambda: image([E("usr/", "dir"), E("usr/bin/", "dir"),
                       E("usr/bin/ping", data=ELF, mode=0o755, xattrs={"user.comment": b"harmless"})]),
    ),
    "root-user": (
        lambda: image(config={"User": ""}), [None],
        lambda: image(passwd("root:x:0:0:root:/root:/sbin/nologin", "app:x:1000:1000::/home/app:/sbin/nologin"),
                      config={"User": "app"}),
    ),
    "jdk-tools": (
        lambda: image(java(("java", "javac", "jar", "keytool"), "JDK")),
        [f"/{JAVA_HOME}/bin/jar", f"/{JAVA_HOME}/bin/javac"],
        lambda: image(java(("java", "keytool", "jfr"), "JRE")),
    ),
    "unowned-executable": (
        lambda: image([E("usr/", "dir"), E("usr/local/", "dir"), E("usr/local/bin/", "dir"),
                       E("usr/local/bin/dropped", data=OTHER_ELF, mode=0o755)]),
        ["/usr/local/bin/dropped"],
        # not executable: unowned data is not this rule's business
        lambda: image([E("srv/", "dir"), E("srv/data.bin", data=OTHER_ELF)]),
    ),
    "modified-file": (
        lambda: image([E("app", data=OTHER_ELF, mode=0o755)]), ["/app"],
        # rewritten by a later layer, with the very bytes the package recorded
        lambda: image([E("app", data=ELF, mode=0o755)]),
    ),
    "world-writable": (
        lambda: image([E("data/", "dir", mode=0o777), E("etc/", "dir"), E("etc/app.conf", data=b"x", mode=0o666)]),
        ["/data", "/etc/app.conf"],
        # sticky directories (/tmp) and symlinks (always 0777) are not findings
        lambda: image([E("var/", "dir"), E("var/tmp/", "dir", mode=0o1777), E("link", "symlink", target="app")]),
    ),
}

#: A passwd entry named like a number, with UID 0: runc takes the name first, so ``USER 1000`` is root.
ROOT_BY_NAME = {
    "toor": image(passwd("toor:x:0:0::/:/sbin/nologin"), config={"User": "toor"}),
    "0:0": image(config={"User": "0:0"}),
    "00": image(config={"User": "00"}),
    "root": image(config={"User": "root"}),
}
NOT_ROOT = {
    "65532:0": image(config={"User": "65532:0"}),
    # a numeric USER is always a UID for the engine (moby/sys/user), never the passwd *name* "1000"
    "1000": image(passwd("1000:x:0:0::/:/sbin/nologin"), config={"User": "1000"}),
    "nobody": image(passwd("nobody:x:65534:65534::/:/sbin/nologin"), config={"User": "nobody"}),
}

#: Names a hostile image might choose to drive a terminal: OSC title, CSI colour, a newline forging a line,
#: a bidi override, bytes that are not UTF-8.
HOSTILE_NAME = "evil\x1b]0;pwned\x07\nforged line\u202e"


HOSTILE_STEP = "RUN \x1b[2J\x1b]52;c;Y3VybCBldmlsIHwgc2g=\x07 done"  # clears the screen, writes the clipboard


def hostile() -> ImageSpec:
    """World-writable files and an unowned shell with terminal-driving names, written by a build step
    with one too, and an entrypoint naming one."""
    spec = image([E("tmpw/", "dir", mode=0o777), E(f"tmpw/{HOSTILE_NAME}", data=b"x", mode=0o666),
                  E("bin/", "dir"), E("bin/sh", data=ELF, mode=0o755)],
                 config={"Entrypoint": [f"/{HOSTILE_NAME}"]})
    spec.history = [{"created_by": "debootstrap"}, {"created_by": HOSTILE_STEP}]
    return spec


def many_world_writable(count: int) -> ImageSpec:
    """``count`` world-writable files: more findings than the terminal is shown."""
    return image([E("ww/", "dir"), *(E(f"ww/f{i:05d}", data=b"", mode=0o666) for i in range(count))])

"""Hostile images for the views added on top of the core: the start verdict, the policy rules,
``--bin``, the diff summary, the width-fitting tables and the HTML page.

Each builder returns an :class:`ImageSpec` made by code; the image's author wants an auditor fooled
(a root container that passes ``root-user``, a container that cannot start yet passes the verdict)
or a terminal driven by the bytes it chose.
"""

from __future__ import annotations

from testdata.imagebuilder import E, ImageSpec

#: A static "ELF" (magic, no PT_INTERP): classified as ELF and able to start.
ELF = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + b"hostile views " * 20


def _base(*extra: E, passwd: bytes | None = None, app_mode: int = 0o755, app: bytes = ELF) -> list[E]:
    entries = [E("etc/", "dir"), E("tmp/", "dir", mode=0o1777), E("app", data=app, mode=app_mode)]
    if passwd is not None:
        entries.append(E("etc/passwd", data=passwd))
    return entries + list(extra)


def image(config: dict[str, object], *extra: E, passwd: bytes | None = None, app_mode: int = 0o755,
          app: bytes = ELF) -> ImageSpec:
    """``/app`` as the entrypoint, the given config fields over it, ``extra`` entries."""
    return ImageSpec([_base(*extra, passwd=passwd, app_mode=app_mode, app=app)],
                     config={"Entrypoint": ["/app"], **config})


#: passwd lines as the engine (moby/sys/user) reads them, yet our display parser skips: a number
#: it cannot convert is 0 there ("conversion errors ignored"), a name with a space is still a name.
ROOT_BY_BAD_NUMBER = b"root:x:0:0:root:/root:/bin/sh\napp:x:x:x::/:/bin/sh\n"
ROOT_BY_SIGNED_NUMBER = b"root:x:0:0:root:/root:/bin/sh\napp:x:+0:+0::/:/bin/sh\n"
ROOT_BY_SPACED_NAME = b"root:x:0:0:root:/root:/bin/sh\nmy app:x:0:0::/:/bin/sh\n"
#: A line *named* "0" with UID 1000 before root's: a numeric USER is always a UID for the engine.
NAME_ZERO_FIRST = b"0:x:1000:1000::/:/bin/sh\nroot:x:0:0:root:/root:/bin/sh\n"


def root_dodges() -> dict[str, ImageSpec]:
    """Images whose container runs as UID 0 for the engine, each written to look otherwise."""
    return {
        "signed-plus": image({"User": "+0"}),        # strconv.Atoi takes a sign
        "signed-minus": image({"User": "-0"}),
        "name-zero-first": image({"User": "0"}, passwd=NAME_ZERO_FIRST),
        "uid-not-a-number": image({"User": "app"}, passwd=ROOT_BY_BAD_NUMBER),
        "uid-signed": image({"User": "app"}, passwd=ROOT_BY_SIGNED_NUMBER),
        "spaced-name": image({"User": "my app"}, passwd=ROOT_BY_SPACED_NAME),
    }


def cannot_start() -> dict[str, ImageSpec]:
    """Images the engine refuses to start (or whose program the kernel refuses), each written so
    a check of "exists and has an x bit" passes."""
    return {
        # moby/sys/user: a numeric USER with no passwd entry must be in 0..2**31-1 (ErrRange)
        "uid-out-of-range": image({"User": "2147483648"}),
        "gid-out-of-range": image({"User": "65532:2147483648"}),
        # execve as UID 65532 of a file only root may execute: "permission denied"
        "owner-only-program": image({"User": "65532"}, app_mode=0o700),
        # an x bit on a file with neither ELF magic nor "#!": "exec format error"
        "no-magic-no-shebang": image({"User": "65532"}, app=b"echo started\n"),
        # a script whose interpreter exists but nobody may execute
        "interpreter-not-executable": image(
            {"User": "65532"}, E("bin/", "dir"), E("bin/interp", data=ELF, mode=0o644),
            app=b"#!/bin/interp\nrun\n"),
    }

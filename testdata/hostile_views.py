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
        "directory-not-searchable": hidden_program(),
    }


#: What a hostile string carries to a terminal: OSC title + BEL, a CSI clear, a C1 CSI, a newline
#: that forges a line, a bidi override; and to a page: markup that would run or load something.
TERMINAL = "\x1b]0;pwned\x07\x1b[2J\x9b31m\nFORGED\u202e"
MARKUP = "</script><script>alert(1)</script><img src=x onerror=alert(2)>\"'`&"


def release(version: str, implementor: str) -> bytes:
    return (f'IMPLEMENTOR="{implementor}"\nJAVA_VERSION="{version}"\n'
            f'JAVA_RUNTIME_VERSION="{version}"\nIMAGE_TYPE="JRE"\n').encode("utf-8", "surrogateescape")


def loud(text: str = TERMINAL + MARKUP) -> ImageSpec:
    """Every string the new views show, chosen by the image: file and link names (setuid, world-
    writable, a shell, a package manager), owner names, the Java release file, config fields."""
    passwd = f"root:x:0:0::/root:/bin/sh\nu{text}:x:1000:1000::/:/bin/sh\napp:x:1001:1001::/:/bin/sh\n"
    group = f"root:x:0:\ng{text}:x:1000:\n"
    entries = [
        E("etc/", "dir"), E("etc/passwd", data=passwd.encode("utf-8", "surrogateescape")),
        E("etc/group", data=group.encode("utf-8", "surrogateescape")),
        E("bin/", "dir"), E("bin/sh", data=ELF, mode=0o755),
        E(f"bin/x{text}", data=ELF, mode=0o4755, uid=1000, gid=1000),
        E(f"bin/apt{text}", "symlink", target="sh"),
        E("bin/apt-get", "symlink", target=f"x{text}"),
        E(f"w{text}", data=b"w", mode=0o666, uid=1001, gid=1000),
        E("opt/", "dir"), E("opt/java/", "dir"), E("opt/java/bin/", "dir"),
        E("opt/java/bin/java", data=ELF, mode=0o755), E("opt/java/bin/javac", data=ELF, mode=0o755),
        E("opt/java/release", data=release("17.0.1" + text, "Eclipse Adoptium" + text)),
        E("app", data=ELF, mode=0o755),
    ]
    config = {"Entrypoint": ["/opt/java/bin/java", "-jar", f"/j{text}.jar"], "Cmd": [text],
              "User": f"app:g{text}", "WorkingDir": f"/wd{text}", "Env": [f"K{text}=v{text}", "PATH=/bin"],
              "Labels": {f"l{text}": f"v{text}"}, "ExposedPorts": {f"80{text}/tcp": {}}}
    return ImageSpec([entries], config=config, history=[{"created": "2020-09-13T12:26:40Z",
                                                         "created_by": f"RUN {text}"}])


def quiet() -> ImageSpec:
    """The same image's neighbour for a diff: no Java, no setuid, a plain user."""
    return ImageSpec([[E("etc/", "dir"), E("bin/", "dir"), E("bin/sh", data=ELF, mode=0o755),
                       E("app", data=ELF, mode=0o755)]], config={"Entrypoint": ["/app"], "User": "1"})


def crowded_bin(count: int = 40_000) -> ImageSpec:
    """``count`` empty executables in /bin: the summary shows 20 of them and a count, yet each one's
    path, owner and flags are in the data behind it."""
    entries = [E("bin/", "dir")] + [E(f"bin/t{n}", data=b"", mode=0o755, uid=n % 7) for n in range(count)]
    return ImageSpec([entries], config={"Entrypoint": ["/bin/t0"]})


def laundered_setuid() -> dict[str, ImageSpec]:
    """A setuid, world-writable ``/usr/bin/su`` named through an allow-listed directory
    (``/var/spool/app/**``): with ``..``, ``//``, ``.``, non-UTF-8 bytes, a symlinked directory and
    a hardlink whose other name is in the allowed directory."""
    def spec(*entries: E) -> ImageSpec:
        dirs = [E("var/", "dir"), E("var/spool/", "dir"), E("usr/", "dir"), E("usr/bin/", "dir")]
        return ImageSpec([dirs + list(entries)], config={"Entrypoint": ["/usr/bin/su"], "User": "1"})

    app = E("var/spool/app/", "dir")
    return {
        "dotdot": spec(app, E("var/spool/app/../../../usr/bin/su", data=ELF, mode=0o4777)),
        "double-slash": spec(app, E("var/spool/app//x/../../../../usr/bin/su", data=ELF, mode=0o4777)),
        "dot": spec(app, E("/var/spool/app/./../../../usr/bin/su", data=ELF, mode=0o4777)),
        "not-utf8": spec(app, E("var/spool/app/\udcff/../../../../usr/bin/su", data=ELF, mode=0o4777)),
        "symlinked-dir": spec(E("var/spool/app", "symlink", target="/usr/bin"),
                              E("usr/bin/su", data=ELF, mode=0o4777)),
        "hardlink": spec(app, E("var/spool/app/su", data=ELF, mode=0o4777),
                         E("usr/bin/su", "hardlink", target="var/spool/app/su", mode=0o4777)),
    }


def hidden_program() -> ImageSpec:
    """``/opt/app/run`` is 0755, but ``/opt`` is 0700 root: UID 65532 cannot reach it ("permission
    denied" at execve), though the file itself looks fine."""
    return ImageSpec([[E("opt/", "dir", mode=0o700), E("opt/app/", "dir"), E("opt/app/run", data=ELF, mode=0o755)]],
                     config={"Entrypoint": ["/opt/app/run"], "User": "65532"})


def same_user_name(uid: int) -> ImageSpec:
    """``USER app`` in both images of a diff; only the image's /etc/passwd says who ``app`` is."""
    passwd = f"root:x:0:0::/root:/bin/sh\napp:x:{uid}:{uid}::/:/bin/sh\n".encode()
    return image({"User": "app"}, passwd=passwd)

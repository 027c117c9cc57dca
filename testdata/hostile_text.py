"""Images whose every string tries to take over the terminal, or to make a row lie.

Why: forensic users run inspect-image on images they do not trust, in a terminal. Whoever built the
image chooses the file names, link targets, config strings and tags; each hostile string below is a
real terminal attack (OSC 52 writes the clipboard, OSC 0 sets the window title, CSI clears the
screen, CR and LF forge a row, C1 CSI is ESC[ on some terminals, bidi overrides reorder what is
shown, invalid UTF-8 reaches us surrogate-escaped). ``hostile_image`` puts one or more of them in
every field a view prints; ``huge_config_image`` is the "16 MB label / 100k env" size attack.
"""

from __future__ import annotations

from testdata.imagebuilder import E, ImageSpec
from testdata.make_sample import tiny_elf

OSC52 = "\x1b]52;c;cm0gLXJmIH4K\x07"          # clipboard write: "rm -rf ~"
TITLE = "\x1b]0;pwned\x07"                     # window title change
CLEAR = "\x1b[2J\x1b[H"                         # clear the screen, cursor home
FORGE_LF = "\n-rwxr-xr-x     0     0        10  /bin/forged"  # a fake ls row
FORGE_CR = "\rok  "                             # overwrite the start of the line
C1_CSI = "\x9b31m"                              # C1 CSI: ESC [ on 8-bit terminals
DEL = "\x7f"
BIDI = "\u202egnp.exe\u202c\u2066x\u2069"      # right-to-left override, isolates
BAD_UTF8 = "\udcff\udcfe"                       # bytes ff fe, surrogate-escaped
ALL = (OSC52, TITLE, CLEAR, FORGE_LF, FORGE_CR, C1_CSI, DEL, BIDI, BAD_UTF8)


def _names() -> list[str]:
    return [f"n{i}{text}" for i, text in enumerate(ALL)]


def hostile_spec(tags: list[str] | None = None, extra_bin: str = "") -> ImageSpec:
    """One image with hostile text in names, link targets, a script's shebang, a Java home and
    ``release`` file, and every config field a table prints."""
    home = f"usr/lib/jvm/j{TITLE}{BIDI}"
    layer = [
        E("bin", "dir"), E("usr", "dir"), E("usr/lib", "dir"), E("usr/lib/jvm", "dir"), E(home, "dir"),
        E(f"{home}/bin", "dir"),
        E(f"{home}/bin/java", data=tiny_elf(), mode=0o755),
        E(f"{home}/release", data=(f'IMPLEMENTOR="V{OSC52}"\nJAVA_VERSION="21{FORGE_LF}"\n'
                                   f'IMPLEMENTOR_VERSION="x{C1_CSI}"\n').encode("utf-8", "surrogateescape")),
        E("bin/java", "symlink", target=f"/{home}/bin/java"),
        E("bin/sh", data=tiny_elf(), mode=0o755),
        E(f"bin/script{TITLE}", data=f"#!/bin/sh{OSC52}\necho\n".encode("utf-8", "surrogateescape"), mode=0o755),
        E(f"bin/suid{CLEAR}", data=tiny_elf(), mode=0o4755),
    ]
    for name in _names() + ([extra_bin] if extra_bin else []):
        layer.append(E(f"bin/{name}", data=tiny_elf(), mode=0o755))
        layer.append(E(f"bin/l{name}", "symlink", target=f"t{name}"))
    # a hardlink to a name no layer holds: the merge warns on stderr, naming it
    second = [E("bin/hl", "hardlink", target=f"bin/missing{OSC52}{FORGE_LF}")]
    config = {
        "Entrypoint": [f"/bin/sh{TITLE}", f"-c{FORGE_LF}"],
        "Cmd": [f"x{OSC52}", BIDI],
        "User": f"evil{TITLE}{FORGE_CR}",
        "WorkingDir": f"/w{CLEAR}",
        "Env": [f"A={OSC52}", f"B=1{FORGE_LF}", f"C={C1_CSI}{DEL}", f"D={BAD_UTF8}", f"E={BIDI}"],
        "Labels": {f"k{TITLE}": f"v{OSC52}", "bidi": BIDI, f"nl{FORGE_LF}": f"cr{FORGE_CR}"},
        "ExposedPorts": {f"80/tcp{CLEAR}": {}},
        "Volumes": {f"/v{C1_CSI}": {}},
        "StopSignal": f"SIG{DEL}TERM",
        "Shell": [f"/bin/sh{TITLE}"],
    }
    return ImageSpec([layer, second], config=config,
                     tags=tags if tags is not None else [f"evil/img:t{TITLE}", f"evil/img:u{OSC52}"])


def second_spec() -> ImageSpec:
    """The other side of a diff: different hostile names and config, so every diff line shows some."""
    spec = hostile_spec(tags=["evil/img:two"], extra_bin=f"added{OSC52}{FORGE_LF}")
    assert spec.config is not None
    spec.config = {**spec.config, "User": f"other{C1_CSI}", "Env": [f"Z={TITLE}", f"B=2{FORGE_CR}"],
                   "Labels": {f"new{OSC52}": BIDI}}
    return spec


def huge_config_spec(label_bytes: int = 16 << 20, env_count: int = 100_000, label_count: int = 100_000) -> ImageSpec:
    """A config whose label value is ``label_bytes`` long, with ``env_count`` env entries and
    ``label_count`` labels: the table views must stay fast, JSON keeps all of it."""
    labels = {"big": "word " * (label_bytes // 5)}  # first: shown, and cut
    labels.update((f"l{i}", "v") for i in range(label_count))
    config = {
        "Entrypoint": ["/bin/sh"],
        "Env": [f"E{i}=value{i}" for i in range(env_count)],
        "Labels": labels,
    }
    return ImageSpec([[E("bin", "dir"), E("bin/sh", data=tiny_elf(), mode=0o755)]], config=config)

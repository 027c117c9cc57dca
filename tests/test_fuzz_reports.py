"""A time-bounded fuzzing run of the reports that read package databases, over hostile layer trees.

``tests/test_fuzz.py`` damages archives and feeds the core views; the package readers have their
own unit fuzzing (``tests/test_packages_hostile.py``). What neither reaches is the whole way from
a hostile *tree* to what a user reads: a dpkg, distroless or apk database whose recorded paths are
symlinks (to themselves, up and out, through directory links), directories, devices, hardlinks,
whited out in a later layer, hidden by an opaque directory, or files whose bytes match or do not
match the digest recorded; names with markup and terminal escapes; conffiles with junk digests.

Each example builds one to three layers from such a database and such paths (plus the hostile
entries of ``test_fuzz``), then runs one of: ``--packages`` (table or JSON), the HTML report,
``--fail-on`` every rule (with or without ``--packages``), ``sbom`` (CycloneDX or SPDX), or
``diff`` against the fuzzer's valid image. The promise is ``test_fuzz``'s: exit 0, 2 or 3 (1 too
when a rule is enforced), an empty stderr or warnings or one error line, never a traceback nor the
"internal error" reserved for bugs, valid JSON where JSON was asked for, HTML with no markup of the
image's, and the same outcome again over the per-layer cache the first run filled.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tempfile
from pathlib import Path
from typing import Any

from hypothesis import event, given
from hypothesis import strategies as st

from inspector.policy import RULES
from testdata.imagebuilder import E, opaque, whiteout

from .test_fuzz import (
    CONFIG,
    ERROR_PREFIX,
    LAYER_TARS,
    LAYOUTS,
    WARNING_PREFIX,
    assemble,
    crash_class,
    fuzz_settings,
    hostile_entries,
    layer_or_none,
    materialize,
    run_cli,
    tiny_elf,
    traceback_of,
)

#: Markup and escapes an image may put in a package's name, version or path.
MARKUP = "<script>alert(1)</script>"
NAMES = ("openjdk-17-jre", "libc6", "a", MARKUP, "\x1b]52;c;aGk=\x07", "x" * 300, "é", "pkg:with:colons", "")
#: Paths the databases record and the layers write, so the two meet often.
PATHS = ("/usr/bin/java", "/bin/sh", "/usr/lib/libx.so", "/etc/conf", "/opt/app/run", "/usr/bin", "/bin",
         "/lib", "/usr/lib", "/loop", "/etc/" + MARKUP, "/usr/share/doc/\udcff", "/a/../b", "relative/path",
         "/" + "d/" * 40 + "deep")
CONTENT = (b"", b"hello\n", tiny_elf(), b"#!/bin/sh\nexec java\n", b"\0" * 300)

paths = st.sampled_from(PATHS)
contents = st.sampled_from(CONTENT)


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


digests = st.one_of(st.sampled_from(CONTENT).map(md5), st.sampled_from(("", "zz", "0" * 31, "0" * 32, "0" * 64,
                                                                          "D41D8CD98F00B204E9800998ECF8427E")))


@st.composite
def recorded_entries(draw: Any) -> list[E]:
    """What the layers write at recorded paths: files, links, directories, devices, whiteouts."""
    entries = []
    for path in draw(st.lists(paths, max_size=6)):
        name = path.lstrip("/")
        kind = draw(st.sampled_from(("file", "file", "file", "symlink", "hardlink", "dir", "char", "whiteout",
                                     "opaque")))
        if kind == "whiteout":
            entries.append(whiteout(name))
        elif kind == "opaque":
            entries.append(opaque(name))
        elif kind == "file":
            entries.append(E(name, data=draw(contents), mode=draw(st.sampled_from((0o644, 0o755, 0o4755, 0o777)))))
        elif kind in ("symlink", "hardlink"):
            target = draw(st.one_of(paths, st.sampled_from((name, ".", "..", "../..", "usr/bin", "/loop"))))
            entries.append(E(name, kind, target=target if kind == "symlink" else target.lstrip("/")))
        elif kind == "dir":
            entries.append(E(name, "dir", mode=draw(st.sampled_from((0o755, 0o777, 0o1777)))))
        else:
            entries.append(E(name, "char", devmajor=1, devminor=3))
    return entries


def _field(value: str) -> str:
    return value.replace("\n", " ")


@st.composite
def dpkg_database(draw: Any, distroless: bool) -> list[E]:
    """``/var/lib/dpkg/status`` and ``info/``, or distroless's ``status.d/``: a few packages."""
    entries = [E("var/lib/dpkg/", "dir"), E("var/lib/dpkg/status.d/" if distroless else "var/lib/dpkg/info/", "dir")]
    stanzas = []
    for index in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(NAMES)) or f"p{index}"
        recorded = draw(st.lists(paths, max_size=5))
        status = draw(st.sampled_from(("install ok installed", "deinstall ok config-files", "junk", "")))
        stanza = [f"Package: {_field(name)}", f"Version: {draw(st.sampled_from(('1.0', '', MARKUP, '2:3-4')))}",
                  f"Architecture: {draw(st.sampled_from(('amd64', 'all', '')))}"]
        if status:
            stanza.append(f"Status: {status}")
        if draw(st.booleans()):
            stanza.append(f"Source: {draw(st.sampled_from(('src', 'src (1.2)', '(', MARKUP)))}")
        if draw(st.booleans()):
            stanza.append("Conffiles:")
            stanza += [f" {path} {draw(digests)}{draw(st.sampled_from(('', ' obsolete', ' x y')))}"
                       for path in draw(st.lists(paths, max_size=2))]
        text = "\n".join(stanza) + "\n"
        md5sums = "".join(f"{draw(digests)}  {path.lstrip('/') if draw(st.booleans()) else path}\n"
                          for path in recorded)
        md5sums += draw(st.sampled_from(("", "junk\n", "  \n", "0" * 32 + "\n")))
        safe = name.replace("/", "_") or "p"
        if distroless:
            entries.append(E(f"var/lib/dpkg/status.d/{safe}", data=text.encode("utf-8", "surrogateescape")))
            entries.append(E(f"var/lib/dpkg/status.d/{safe}.md5sums",
                             data=md5sums.encode("utf-8", "surrogateescape")))
        else:
            stanzas.append(text)
            listing = "".join(f"{path}\n" for path in recorded)
            entries.append(E(f"var/lib/dpkg/info/{safe}.list", data=listing.encode("utf-8", "surrogateescape")))
            entries.append(E(f"var/lib/dpkg/info/{safe}.md5sums", data=md5sums.encode("utf-8", "surrogateescape")))
    if not distroless:
        entries.append(E("var/lib/dpkg/status", data="\n".join(stanzas).encode("utf-8", "surrogateescape")))
    return entries


@st.composite
def apk_database(draw: Any) -> list[E]:
    """``/lib/apk/db/installed``: ``P:``/``V:`` per package, ``F:`` a directory, ``R:`` a file in it,
    ``Z:`` its SHA-1 (``Q1`` and base64)."""
    import base64

    lines = []
    for index in range(draw(st.integers(0, 3))):
        lines += [f"P:{_field(draw(st.sampled_from(NAMES)) or f'p{index}')}",
                  f"V:{draw(st.sampled_from(('1.0-r0', '', MARKUP)))}", "A:x86_64"]
        for path in draw(st.lists(paths, max_size=4)):
            head, _, tail = path.strip("/").rpartition("/")
            lines += [f"F:{head}", f"R:{tail}"]
            data = draw(contents)
            lines.append(draw(st.sampled_from((
                "Z:Q1" + base64.b64encode(hashlib.sha1(data).digest()).decode(), "Z:Q1zzz", "Z:", "Z:Q1" + "A" * 40))))
        lines.append("")
    text = "\n".join(lines).encode("utf-8", "surrogateescape")
    return [E("lib/apk/db/", "dir"), E("lib/apk/db/installed", data=text)]


databases = st.one_of(dpkg_database(False), dpkg_database(True), apk_database())
os_release = st.sampled_from((b'ID=debian\nVERSION_ID="12"\nPRETTY_NAME="Debian GNU/Linux 12"\n',
                              b'ID=alpine\nVERSION_ID=3.19.0\n', b"ID=" + MARKUP.encode() + b"\n", b"\xff\xfe", b""))

ALL_RULES = ",".join(RULES)
POLICY_PREFIX = "inspect-image: policy: "
#: (the arguments after IMAGE, or a subcommand with IMAGE in place of "{}"; whether exit 1 is allowed)
RUNS = (
    (["--packages", "--format", "json"], False),
    (["--packages"], False),
    (["--format", "html"], False),
    (["--fail-on", ALL_RULES, "--format", "json"], True),
    (["--packages", "--fail-on", ALL_RULES], True),
    (["sbom", "{}"], False),
    (["sbom", "{}", "--format", "spdx-json", "--files"], False),
    (["diff", "{valid}", "{}", "--format", "json"], False),
)


def check(args: list[str], may_fail: bool, cache: Path, what: str) -> tuple[int, str, str]:
    """``test_fuzz.check_outcome`` for these runs: exit 1 is a finding where a rule is enforced,
    ``diff`` exits 0 whatever differs, and HTML must show no markup of the image's."""
    code, out, err = run_cli(args, None, cache)
    where = f"{what}\ninspect-image {' '.join(args)}"
    if "internal error" in err or "Traceback" in err + out:
        trace = traceback_of(args, None)
        raise crash_class(trace)(f"{where}\nexit {code}, stderr: {err.strip()}\n\n{trace}")
    assert code in ((0, 1, 2, 3) if may_fail else (0, 2, 3)), f"{where}\nexit {code}, stderr: {err!r}"
    lines = err.splitlines()
    errors = [line for line in lines if line.startswith(ERROR_PREFIX)]
    findings = [line for line in lines if may_fail and line.startswith(POLICY_PREFIX)]
    others = [line for line in lines if not line.startswith((ERROR_PREFIX, WARNING_PREFIX)) and line not in findings]
    assert not others, f"{where}\nstray stderr lines: {others!r}"
    assert (code == 1) == bool(findings) or code in (2, 3), f"{where}\nexit {code} with findings {findings!r}"
    if code in (0, 1):
        assert not errors, f"{where}\nexit {code} with an error line: {errors!r}"
        if "json" in args or args[0] == "sbom":
            json.loads(out)
        if "html" in args:
            assert MARKUP not in out and "\x1b" not in out, f"{where}\nthe image's markup reached the page"
    else:
        assert len(errors) == 1 and lines[-1] == errors[0], f"{where}\nexit {code}, stderr: {err!r}"
        assert out == "", f"{where}\nexit {code} but stdout was written: {out[:200]!r}"
    for line in err.splitlines():
        assert "\x1b" not in line, f"{where}\nan escape reached the terminal: {line!r}"
    return code, out, err


def outcome_without_timing(run: tuple[int, str, str], args: list[str]) -> tuple[int, Any, str]:
    """What must not depend on the cache: exit, output (less what says what was verified), stderr."""
    code, out, err = run
    if out and ("json" in args or args[0] == "sbom"):
        data = json.loads(out)
        if isinstance(data, dict):
            for volatile in ("verification", "serialNumber", "metadata", "creationInfo", "documentNamespace"):
                data.pop(volatile, None)
            for side in ("a", "b"):
                if isinstance(data.get(side), dict):
                    data[side].pop("verification", None)
        return code, data, err
    if "html" in args:
        return code, None, err  # the page names what was verified and when
    return code, out if args[0] != "diff" else None, err


@fuzz_settings(300)
@given(database=databases, release=os_release, recorded=st.lists(recorded_entries(), min_size=1, max_size=3),
       noise=st.lists(hostile_entries(), max_size=4), run=st.sampled_from(RUNS),
       layout=st.sampled_from(("oci-none-dir", "docker25", "oci-gzip-dir")))
def test_fuzz_package_reports(database: list[E], release: bytes, recorded: list[list[E]], noise: list[E],
                              run: tuple[list[str], bool], layout: str) -> None:
    first = [E("etc/", "dir"), E("etc/os-release", data=release), *recorded[0], *database]
    layers = [first, *recorded[1:]]
    layers[-1] = [*layers[-1], *noise]
    tars = [layer_or_none(entries) for entries in layers]
    if any(t is None for t in tars):
        event("a layer tarfile cannot write")
        return
    config = copy.deepcopy(CONFIG)
    config["history"] = [{"created_by": f"RUN apt-get install {i}"} for i in range(len(tars))]
    chosen = LAYOUTS[layout]
    files = assemble(chosen, layers=tars, config=config)  # type: ignore[arg-type]
    view, may_fail = run
    with tempfile.TemporaryDirectory() as tmp:
        for part in ("image", "valid"):
            (Path(tmp) / part).mkdir()
        ref, _ = materialize(chosen, files, Path(tmp) / "image")
        valid_ref, _ = materialize(LAYOUTS["oci-none-dir"], assemble(LAYOUTS["oci-none-dir"], layers=LAYER_TARS),
                                   Path(tmp) / "valid")
        args = [a.replace("{valid}", valid_ref).replace("{}", ref) for a in view]
        if view[0] not in ("sbom", "diff"):
            args = [ref, *args]
        cache = Path(tmp) / "cache"
        what = f"{layout}: layers {layers!r}"
        first_run = check(args, may_fail, cache, what)
        event(f"exit {first_run[0]}")
        again = check(args, may_fail, cache, what + " (second run, over the cache)")
        assert outcome_without_timing(again, args) == outcome_without_timing(first_run, args), \
            f"{what}\ninspect-image {' '.join(args)}\nthe cache changed the outcome"

"""``inspect-image diff A B`` as people read it: the answer first, then the evidence.

Why this order: the question behind a diff is nearly always "what did I gain or lose?" (the size,
the Java runtime, the shells, the setuid files). On two real images the per-file lists run to
hundreds of lines, so a summary printed after them is off the screen. Here the first screen is a
summary block (A → B for each headline fact), then the JDK tools per Java home (tool names, not
the same directory spelled out 27 times), then the config changes, then the file lists:
``-`` removed, ``+`` added, ``~`` changed.

Every string here is the image's: the data is passed through ``escape.clean`` first (escaped,
each string cut), lists are cut with ``escape.head``, and nothing is ever split inside a token
(``fit``). Argument lists are shown as a shell would read them (``shlex.join``), so
``/bin/sh -c 'java -jar /app.jar'`` keeps its argument boundaries.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterable, Sequence
from typing import Any, TextIO

from ..reports.jre import java_version
from . import fit, human
from .escape import ITEM_LIMIT, PATH_LIMIT, clean, head
from .table_format import filemode

ARROW = "→"
#: Items of one summary list (shells, setuid files) shown before "… and N more".
SUMMARY_ITEMS = 20


def diff(data: dict[str, Any], out: TextIO) -> None:
    """The whole diff table, fit to ``fit.width()`` (the terminal's; nothing wraps into a pipe)."""
    data = clean(data, PATH_LIMIT)
    width = fit.width()
    out.write(f"--- {data['a']}\n+++ {data['b']}\n\n")
    summary = data["summary"]
    all_entries = summary.get("compared") == "entries"
    out.write(fit.pairs(summary_rows(summary, all_entries), width))
    _jdk_tools(summary, out, width)
    _config(data["config"], out, width)
    _packages(data.get("packages"), out, width)
    _entries("removed", "-", data["removed"], out, width, all_entries)
    _entries("added", "+", data["added"], out, width, all_entries)
    _changed(data["changed"], out, width)


def summary_rows(summary: dict[str, Any], all_entries: bool = False) -> list[tuple[str, str]]:
    """The summary block: one ``(label, text)`` per headline fact, A → B."""
    rows: list[tuple[str, str]] = []
    size = summary.get("size")
    if isinstance(size, dict):
        change = size["change"]
        sign = "+" if change > 0 else "-" if change < 0 else "±"
        rows.append(("size", f"{_size(size['a'])} {ARROW} {_size(size['b'])} ({sign}{_size(abs(change))})"))
    for key, label, show in (("layers", "layers", str), ("platform", "platform", _or_unknown),
                             ("user", "user", _user), ("entrypoint", "entrypoint", _argv)):
        pair = summary.get(key)
        if isinstance(pair, dict):
            a, b = show(pair["a"]), show(pair["b"])
            uid = summary.get("uid")
            if key == "user" and a == b and isinstance(uid, dict) and uid.get("a") != uid.get("b"):
                # the same USER, another UID in each image's /etc/passwd: otherwise it reads "(both)"
                a, b = f"{a} (UID {_uid(uid.get('a'))})", f"{b} (UID {_uid(uid.get('b'))})"
            rows.append((label, _before_after(a, b)))
    starts = summary.get("can_start")
    if isinstance(starts, dict) and starts["a"] != starts["b"]:
        rows.append(("can start", _before_after(_yes(starts["a"]), _yes(starts["b"]))))
    java = summary.get("java")
    if isinstance(java, dict):
        rows.append(("java", _before_after(_runtimes(java["a"]), _runtimes(java["b"]))))
    for key, label in (("shells", "shells"), ("package_managers", "package managers"), ("setuid", "setuid files"),
                       ("setgid", "setgid files")):
        rows.append((label, _delta(summary[key])))
    noun = "entries" if all_entries else "executables"
    rows.append((noun, f"{summary['removed']:,} removed, {summary['added']:,} added, {summary['changed']:,} changed"))
    packages = summary.get("packages")
    if isinstance(packages, dict) and any(packages.get(k) for k in ("added", "removed", "upgraded")):
        rows.append(("packages", ", ".join(f"{len(packages.get(k) or []):,} {k}"
                                           for k in ("removed", "added", "upgraded"))))
    return rows


def _before_after(a: str, b: str) -> str:
    return f"{a} (both)" if a == b else f"{a} {ARROW} {b}"


def _uid(value: Any) -> str:
    """A UID (0 included), or ``unknown`` when the engine would refuse the USER."""
    return "unknown" if value is None else str(value)


def _or_unknown(value: Any) -> str:
    return str(value) if value else "unknown"


def _yes(value: Any) -> str:
    return "yes" if value else "NO"


def _user(value: Any) -> str:
    return str(value) if value else "0 (root, by default)"


def _workdir(value: Any) -> str:
    return str(value) if value else "/ (by default)"


def _argv(value: Any, limit: int = SUMMARY_ITEMS) -> str:
    """An argument list as a shell would read it (``shlex.join``), its first ``limit`` arguments;
    ``(none)`` when nothing is set."""
    if not value:
        return "(none)"
    shown = shlex.join(str(v) for v in value[:limit])
    return shown + (f" … and {len(value) - limit:,} more arguments" if len(value) > limit else "")


def _runtimes(runtimes: list[dict[str, Any]]) -> str:
    """``Debian JDK 17.0.21 (27 tools)``, one per home, or ``none``."""
    if not runtimes:
        return "none"
    return ", ".join(f"{runtime_name(r)} ({human.plural(len(r['tools']), 'tool')})" for r in head(runtimes, 10)
                     if isinstance(r, dict)) + (" …" if len(runtimes) > 10 else "")


def runtime_name(runtime: dict[str, Any]) -> str:
    """``Temurin JRE 25.0.4``: who built it, JRE or JDK, and the version ``java -version`` prints."""
    who = runtime.get("distribution") or runtime.get("vendor") or "unknown"
    who = who.removesuffix(" OpenJDK") or who  # "Debian OpenJDK JDK" says JDK twice
    return f"{who} {runtime.get('type') or 'JRE'} {short_version(runtime.get('version'))}"


def short_version(version: Any) -> str:
    """The version ``java -version`` prints (``17.0.19+10-1-deb12u2-Debian`` → ``17.0.19``); ``?``."""
    return java_version(str(version)) or "?" if version else "?"


def _delta(change: dict[str, Any]) -> str:
    """``removed 3: /bin/sh /bin/bash …; added none`` (only the sides that are not empty)."""
    parts = []
    for side in ("removed", "added"):
        items = change.get(side) or []
        if items:
            parts.append(f"{side} {len(items):,}: " + " ".join(str(i) for i in head(items, SUMMARY_ITEMS)))
    return "; ".join(parts) or "no change"


def _size(value: Any) -> str:
    return human.size(value) if isinstance(value, int) else "?"


def _jdk_tools(summary: dict[str, Any], out: TextIO, width: int | None) -> None:
    """The JDK tools each side's Java homes hold, by name per home (``jdk_tools`` has full paths)."""
    java = summary.get("java")
    if not isinstance(java, dict) or not (java["a"] or java["b"]):
        return
    homes_b = {r["home"] for r in java["b"] if isinstance(r, dict)}
    homes_a = {r["home"] for r in java["a"] if isinstance(r, dict)}
    lines: list[str] = []
    for sign, runtimes, other in (("-", java["a"], homes_b), ("+", java["b"], homes_a)):
        for runtime in head(runtimes, 10):
            if not isinstance(runtime, dict):
                continue
            if runtime["home"] in other:
                continue  # the same home on both sides: its tool changes are in the lists below
            tools = " ".join(str(t) for t in head(runtime["tools"]))
            lines.append(fit.paragraph(f"{sign} {runtime['home']} ({runtime_name(runtime)}): {tools or '(none)'}",
                                       width))
    if lines:
        out.write("\nJava homes and their tools\n")
        out.writelines(lines)


def _config(config: dict[str, Any], out: TextIO, width: int | None) -> None:
    if not config:
        return
    out.write("\nconfig\n")
    for key, change in config.items():
        if key == "env":
            out.writelines(fit.paragraph(f"- env {value}", width) for value in head(change["removed"]))
            out.writelines(fit.paragraph(f"+ env {value}", width) for value in head(change["added"]))
        elif key in ("entrypoint", "cmd"):
            before, after = _argv(change["a"], ITEM_LIMIT), _argv(change["b"], ITEM_LIMIT)
            out.write(fit.paragraph(f"~ {key}: {before} {ARROW} {after}", width))
        elif key in ("user", "workdir"):
            show = _user if key == "user" else _workdir
            out.write(fit.paragraph(f"~ {key}: {show(change['a'])} {ARROW} {show(change['b'])}", width))
        else:
            out.write(fit.paragraph(f"~ {key}: {_text(change['a'])} {ARROW} {_text(change['b'])}", width))


def _packages(delta: Any, out: TextIO, width: int | None) -> None:
    """Packages removed (``-``), added (``+``) and upgraded (``~``, A → B), one per line, as
    ``manager/name version (arch)``: the diff JSON's ``packages``, at most ``ITEM_LIMIT`` of each."""
    if not isinstance(delta, dict):
        return
    sides = [(key, sign, delta.get(key) or []) for key, sign in (("removed", "-"), ("added", "+"), ("upgraded", "~"))]
    if not any(items for _key, _sign, items in sides):
        return
    out.write("\npackages (" + ", ".join(f"{len(items):,} {key}" for key, _sign, items in sides) + ")\n")
    for _key, sign, items in sides:
        for item in head(items):
            if not isinstance(item, dict):  # "… and N more"
                out.write(f"{sign} {item}\n")
                continue
            version = f"{item.get('a')} {ARROW} {item.get('b')}" if sign == "~" else str(item.get("version"))
            arch = f" ({item['arch']})" if item.get("arch") else ""
            out.write(fit.paragraph(f"{sign} {item.get('manager')}/{item.get('name')} {version}{arch}", width))


def _text(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "(none)"
    if isinstance(value, list):
        return " ".join(str(v) for v in head(value))
    if isinstance(value, dict):
        return ", ".join(head(f"{k}={v}" for k, v in value.items()))
    return str(value)


def mode_string(entry: dict[str, Any]) -> str:
    """``-rwxr-xr-x``, ``lrwxrwxrwx``: ``ls -l``'s mode, whose first letter is the type."""
    try:
        bits = int(str(entry.get("mode")), 8)
    except ValueError:
        bits = 0
    return filemode(str(entry.get("type")), bits & 0o7777)


def _entry_cells(sign: str, entry: dict[str, Any]) -> list[str]:
    size = _size(entry["size"]) if entry.get("type") == "file" else "-"
    name = str(entry["path"])
    if entry.get("target") is not None:
        name += f" -> {entry['target']}"
    elif entry.get("resolves_to"):
        name += f" -> {entry['resolves_to']}"
    elif entry.get("hardlink_to") is not None:
        name += f" link to {entry['hardlink_to']}"
    return [f"{sign} {mode_string(entry)}", f"{entry.get('uid')}:{entry.get('gid')}", size, name]


_COLUMNS = (fit.Column("mode"), fit.Column("owner"), fit.Column("size", right=True), fit.Column("path", spill=True))


def _entries(what: str, sign: str, items: Sequence[dict[str, Any]], out: TextIO, width: int | None,
             all_entries: bool) -> None:
    if not items:
        return
    noun = "entries" if all_entries else "executables"
    out.write(f"\n{noun} {what} ({len(items):,})\n")
    out.write(fit.table(_COLUMNS, (_entry_cells(sign, e) for e in items), width, headers=False))


def _changed(items: Iterable[dict[str, Any]], out: TextIO, width: int | None) -> None:
    lines = [fit.paragraph(f"~ {item['path']}: " + ", ".join(_change(k, item["a"], item["b"])
                                                               for k in item["differences"]), width)
             for item in items]
    if lines:
        out.write(f"\nchanged ({len(lines):,})\n")
        out.writelines(lines)


def _change(key: str, a: dict[str, Any], b: dict[str, Any]) -> str:
    if key == "content":
        return "content"
    if key == "size":
        return f"size {_size(a.get('size'))} {ARROW} {_size(b.get('size'))}"
    if key == "mode":
        return f"mode {mode_string(a)} {ARROW} {mode_string(b)}"
    return f"{key} {_text(a.get(key))} {ARROW} {_text(b.get(key))}"

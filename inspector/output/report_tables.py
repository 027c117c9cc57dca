"""Tables for the reports, sized for a 100-column terminal (``tabulate``).

Every public function here receives report data whose strings are the image's: ``_table`` passes
it through ``escape.clean`` first (escaped, each string cut), so no renderer can forget to, and
``_text`` cuts what it joins into one cell, so a 100k-entry env or a 16 MB label costs milliseconds.
"""

from __future__ import annotations

import functools
import textwrap
from collections.abc import Callable, Iterable
from typing import Any, TextIO, TypeVar

from ..fs.entry import Entry
from .escape import clean, escape, head
from .table_format import TableRenderer

WIDTH = 100
#: Characters of one joined cell (a list or mapping shown as text) before "… N more characters".
TEXT_LIMIT = 20_000

_Render = TypeVar("_Render", bound=Callable[..., None])


def _table(render: _Render) -> _Render:
    """Hand ``render`` its data escaped and cut: the one place table cells are made safe."""

    @functools.wraps(render)
    def safe(data: Any, *args: Any, **kwargs: Any) -> None:
        render(clean(data), *args, **kwargs)

    return safe  # type: ignore[return-value]


def _wrap(text: str, width: int) -> str:
    return "\n".join(textwrap.wrap(text, width, break_long_words=True, break_on_hyphens=False)) or text


def _pairs(rows: list[tuple[str, Any]], out: TextIO) -> None:
    cells = [(key, _wrap(_text(value), WIDTH - 20)) for key, value in rows]
    out.write(_tabulate(cells, tablefmt="plain") + "\n")


def _text(value: Any) -> str:
    """One cell's text; lists and mappings joined, at most ``ITEM_LIMIT`` items, ``TEXT_LIMIT`` characters."""
    if value is None:
        return "-"
    if isinstance(value, list):
        text = " ".join(str(v) for v in head(value)) if value else "-"
    elif isinstance(value, dict):
        text = ", ".join(head(f"{k}={v}" for k, v in value.items())) if value else "-"
    elif isinstance(value, bool):
        return "yes" if value else "no"
    else:
        text = str(value)
    return escape(text, TEXT_LIMIT)


def _lines(values: list[Any]) -> str:
    """One indented line per value (env), at most ``ITEM_LIMIT`` of them."""
    return "".join(f"  {v}\n" for v in head(values))


@_table
def summary(data: dict[str, Any], out: TextIO) -> None:
    image, config, entry = data["image"], data["config"], data["entrypoint"]
    _pairs([
        ("image", image["reference"]), ("id", image["id"]), ("tags", image["repo_tags"]),
        ("platform", "/".join(p for p in (image["os"], image["architecture"], image["variant"]) if p)),
        ("size", f"{image['size']:,} bytes in {image['layers']} layers, {image['entries']:,} entries"),
        ("user", config["user"] or "0 (root, by default)"), ("workdir", config["workdir"] or "/"),
        ("entrypoint", config["entrypoint"]), ("cmd", config["cmd"]), ("runs", entry["argv"]),
        ("exposed ports", config["exposed_ports"]), ("labels", config["labels"]),
    ], out)
    out.write("\nenv\n" + _lines(config["env"]))
    out.write("\n")
    entrypoint(entry, out)
    verdict = "shell-less: no shell found" if data["shell_less"] else "shells: " + " ".join(data["shells"])
    managers = " ".join(data["package_managers"]) or "none"
    out.write(f"\n{verdict}\npackage managers: {managers}\n")
    counts = data["executables"]
    out.write(f"executables: {counts['count']} ({counts['elf']} ELF, {counts['scripts']} scripts), "
              f"setuid {counts['setuid']}, setgid {counts['setgid']}, with capabilities {counts['capabilities']}\n\n")
    jre(data["jre"], out)
    out.write("\n")
    bin_listing(data["bin"], [], out, limit=SUMMARY_BIN_ROWS)
    checked = data.get("verification")
    if checked:
        total = checked["layers_checked"] + checked["layers_unchecked"]
        text = (f"verified: {checked['layers_checked']} of {total} layers against their diff_id, "
                f"{checked['blobs_checked']} blobs, {checked['documents_checked']} configs and manifests"
                + ("" if checked["full"] else " (--verify checks everything)"))
        out.write("\n" + _wrap(text, WIDTH) + "\n")


@_table
def entrypoint(entry: dict[str, Any], out: TextIO) -> None:
    if not entry["argv"]:
        out.write("entrypoint: none\n")
    else:
        chain = " -> ".join(entry["chain"]) if entry["chain"] else entry["path"] or entry["argv"][0]
        state = "can start" if not entry["problems"] else "CANNOT START"
        out.write(_wrap(f"entrypoint {state}: {chain}", WIDTH) + "\n")
        if entry["interpreter"]:
            found = "present" if entry["interpreter_exists"] else "MISSING"
            out.write(f"  interpreter {entry['interpreter']} ({found})\n")
    out.writelines(_wrap(f"  problem: {problem}", WIDTH) + "\n" for problem in entry["problems"])


@_table
def jre(runtimes: list[dict[str, Any]], out: TextIO) -> None:
    if not runtimes:
        out.write("java: no Java runtime found\n")
        return
    rows = [(r["type"], r["distribution"] or r["vendor"] or "unknown vendor", r["version"] or "?", r["home"],
             len(r["tools"]), " ".join(r["reached_by"]) or "-") for r in runtimes]
    out.write(_tabulate(rows, headers=["java", "distribution", "version", "home", "tools", "used via"],
                       tablefmt="simple", maxcolwidths=[None, 22, 16, 34, None, 14]) + "\n")


@_table
def jre_details(runtimes: list[dict[str, Any]], out: TextIO) -> None:
    jre(runtimes, out)
    for runtime in runtimes:
        out.write(f"\n{runtime['home']}\n")
        _pairs([("vendor", runtime["vendor"]), ("tools", runtime["tools"]), ("evidence", "; ".join(runtime["evidence"]))], out)


SUMMARY_BIN_ROWS = 20  # the summary shows the start of /bin; --bin shows all of it


@_table
def bin_listing(data: dict[str, Any], entries: Iterable[Entry], out: TextIO, limit: int | None = None) -> None:
    if not data["exists"]:
        out.write(f"{data['path']}: does not exist in this image\n")
        return
    header = data["path"]
    if data["symlink_to"] is not None:
        header += f" is a symlink to {data['symlink_to']}; listing {data['resolved']}"
    listed = list(entries) or [Entry(**_entry_args(e)) for e in data["entries"]]
    out.write(f"{header}: {len(listed)} entries" + (" (empty)" if not listed else "") + "\n")
    TableRenderer().files(listed[:limit] if limit else listed, out)
    if limit and len(listed) > limit:
        out.write(f"… and {len(listed) - limit} more (inspect-image IMAGE --bin lists them all)\n")


def _entry_args(e: dict[str, Any]) -> dict[str, Any]:
    return {"path": e["path"], "type": e["type"], "mode": int(e["mode"], 8), "uid": e["uid"], "gid": e["gid"],
            "size": e["size"], "mtime": e["mtime"], "target": e["target"], "hardlink_to": e["hardlink_to"],
            "layer": e["layer"], "xattrs": {},  # not shown (and its hex may have been cut)
            "device": tuple(e["device"]) if e["device"] else None}


@_table
def executables(items: list[dict[str, Any]], out: TextIO) -> None:
    rows = []
    for item in items:
        flags = [f for f, on in (("setuid", item["setuid"]), ("setgid", item["setgid"]),
                                 ("world-writable", item["world_writable"])) if on]
        if item["capabilities"]:
            flags.append(item["capabilities"]["text"])
        elf = item["elf"]
        if item["resolves_to"]:
            what = "link"
        elif elf:
            what = f"ELF{elf['class']} {elf['machine'].lower()} {elf['linkage']}" + (" stripped" if elf["stripped"] else "")
        elif item["kind"] == "script":
            what = f"script #!{item['shebang']}"
        else:
            what = item["kind"]
        path = item["path"] + (f" -> {item['resolves_to']}" if item["resolves_to"] else "")
        rows.append((item["mode"], f"{item['uid']}:{item['gid']}", item["size"], what, " ".join(flags) or "-", path))
    out.write(_tabulate(rows, headers=["mode", "owner", "size", "kind", "flags", "path"], tablefmt="simple",
                       disable_numparse=True) + "\n")
    out.write(f"{sum(1 for i in items if not i['resolves_to'])} executables, "
              f"{sum(1 for i in items if i['resolves_to'])} links to them\n")


@_table
def config(data: dict[str, Any], out: TextIO) -> None:
    cfg = data["config"]
    _pairs([(key.replace("_", " "), cfg[key]) for key in ("entrypoint", "cmd", "user", "workdir", "exposed_ports",
                                                            "volumes", "labels", "stop_signal", "shell")], out)
    out.write("\nenv\n" + _lines(cfg["env"]) + "\n")
    entrypoint(data["entrypoint"], out)


@_table
def diff(data: dict[str, Any], out: TextIO) -> None:
    """Grouped ``+`` added, ``-`` removed, ``~`` changed, then config and the per-category summary."""
    out.write(f"--- {data['a']}\n+++ {data['b']}\n")
    for sign, items in (("+", data["added"]), ("-", data["removed"])):
        out.writelines(f"{sign} {item['mode']} {item['uid']}:{item['gid']} {item['size']:>10}  {item['path']}\n" for item in items)
    for item in data["changed"]:
        a, b = item["a"], item["b"]
        details = ", ".join(_change(key, a, b) for key in item["differences"])
        out.write(f"~ {item['path']}: {details}\n")
    for key, change in data["config"].items():
        if key == "env":
            out.writelines(f"- env {value}\n" for value in head(change["removed"]))
            out.writelines(f"+ env {value}\n" for value in head(change["added"]))
        else:
            out.write(f"~ {key}: {_text(change['a'])} -> {_text(change['b'])}\n")
    summary = data["summary"]
    out.write(f"\n{summary['added']} added, {summary['removed']} removed, {summary['changed']} changed\n")
    rows = []
    for category in ("shells", "package_managers", "setuid", "setgid", "jdk_tools"):
        change = summary[category]
        rows.append((category.replace("_", " "), _text(change["removed"]), _text(change["added"])))
    out.write(_tabulate(rows, headers=["", "removed", "added"], tablefmt="simple",
                       maxcolwidths=[None, 44, 44]) + "\n")


def _change(key: str, a: dict[str, Any], b: dict[str, Any]) -> str:
    field = {"content": "sha256", "elf_kind": "elf_kind"}.get(key, key)
    left, right = a.get(field), b.get(field)
    if key == "content":
        return "content"
    return f"{key} {left} -> {right}"


def _tabulate(rows: Any, **options: Any) -> str:
    """tabulate, imported on first use: JSON output never needs it, and it costs a tenth of a
    repeat inspection answered from the cache."""
    from tabulate import tabulate  # type: ignore[import-untyped]

    return tabulate(rows, **options)

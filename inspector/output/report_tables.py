"""Tables for the reports, fitted to the terminal (``fit``), numbers for people (``human``).

Every public function here receives report data whose strings are the image's: ``_table`` passes
it through ``escape.clean`` first (escaped, each string cut), so no renderer can forget to, and
``_text`` cuts what it joins into one cell, so a 100k-entry env or a 16 MB label costs milliseconds.
Layout never cuts a path, a version or a word in two (``fit``): prose wraps at spaces, a long path
goes on its own line, and piped output is never wrapped. Argument vectors are shown as a shell
would read them (``shlex.join``), so ``/bin/sh -c 'java -jar /app.jar'`` keeps its boundaries.
"""

from __future__ import annotations

import datetime
import functools
import shlex
from collections.abc import Callable, Iterable
from typing import Any, TextIO, TypeVar

from ..fs.entry import Entry
from . import fit, human
from .diff_tables import short_version
from .escape import PATH_LIMIT, clean, escape, head
from .table_format import filemode, mode_string

#: Characters of one joined cell (a list or mapping shown as text) before "… N more characters".
TEXT_LIMIT = 20_000

_Render = TypeVar("_Render", bound=Callable[..., None])


def _table(render: _Render) -> _Render:
    """Hand ``render`` its data escaped and cut: the one place table cells are made safe."""

    @functools.wraps(render)
    def safe(data: Any, *args: Any, **kwargs: Any) -> None:
        render(clean(data), *args, **kwargs)

    return safe  # type: ignore[return-value]


def _text(value: Any) -> str:
    """One cell's text; lists and mappings joined, at most ``ITEM_LIMIT`` items, ``TEXT_LIMIT`` characters."""
    if value is None or value == "":
        return human.EMPTY
    if isinstance(value, list):
        text = " ".join(str(v) for v in head(value)) if value else human.EMPTY
    elif isinstance(value, dict):
        text = ", ".join(head(f"{k}={v}" for k, v in value.items())) if value else human.EMPTY
    elif isinstance(value, bool):
        return "yes" if value else "no"
    else:
        text = str(value)
    return escape(text, TEXT_LIMIT)


def _argv(value: Any) -> str:
    """An argument vector as a shell reads it (``shlex.join``); ``-`` when absent."""
    if not value:
        return human.EMPTY
    if not isinstance(value, list):
        return _text(value)
    return escape(shlex.join(str(v) for v in head(value)), TEXT_LIMIT)


def user_text(user: str | None, name: str | None, uid: Any = None) -> str:
    """``0 (root, by default)`` when unset, ``65532 (nonroot)`` when /etc/passwd names a numeric
    User, the User itself otherwise: the same in the summary and ``--config``. When the engine runs
    it as UID 0 (``uid``) and the text does not say root (``app`` with UID 0 in the image's passwd,
    ``+0``), ``(UID 0)`` is added: the name alone would hide it."""
    if not user:
        return f"0 ({name or 'root'}, by default)"
    text = f"{user} ({name})" if name and name != user.partition(":")[0] else user
    hidden = uid == 0 and not isinstance(uid, bool) and user.partition(":")[0] not in ("0", "root") and name != "root"
    return f"{text} (UID 0)" if hidden else text


def _env(values: list[Any], width: int | None) -> str:
    """One indented line per variable (wrapped at spaces), at most ``ITEM_LIMIT`` of them."""
    return "".join(fit.paragraph(str(v), width, "  ") for v in head(values))


def summary(data: dict[str, Any], out: TextIO) -> None:
    """The summary table, from only the data it shows (``_shown``): escaping every entry of a
    crowded /bin and every unowned executable behind 20 rows and a count cost seconds per 10^5."""
    _summary_table(_shown(data), out)


#: Key of the summary's trimmed /bin listing that carries how many entries the listing had.
_BIN_COUNT = "_entries_listed"


def _shown(data: dict[str, Any]) -> dict[str, Any]:
    shown = {key: value for key, value in data.items() if key != "unowned_executables"}
    listing = data.get("bin")
    if isinstance(listing, dict) and isinstance(listing.get("entries"), list):
        entries = listing["entries"]
        shown["bin"] = {**listing, "entries": entries[:SUMMARY_BIN_ROWS], _BIN_COUNT: len(entries)}
    return shown


@_table
def _summary_table(data: dict[str, Any], out: TextIO) -> None:
    width = fit.width()
    image, config, entry = data["image"], data["config"], data["entrypoint"]
    size = (f"{human.size(image['size'])} in {human.plural(image['layers'], 'layer')}, "
            f"{human.plural(image['entries'], 'entry')}")
    out.write(fit.pairs([
        ("image", _text(image["reference"])), ("id", _text(image["id"])), ("tags", _text(image["repo_tags"])),
        ("platform", "/".join(p for p in (image["os"], image["architecture"], image["variant"]) if p) or human.EMPTY),
        ("size", size),
        ("user", user_text(config["user"], data.get("user_name"), data.get("uid"))),
        ("workdir", config["workdir"] or "/"),
        ("entrypoint", _argv(config["entrypoint"])), ("cmd", _argv(config["cmd"])), ("runs", _argv(entry["argv"])),
        ("exposed ports", _text(config["exposed_ports"])), ("labels", _text(config["labels"])),
    ], width))
    out.write("\nenv\n" + (_env(config["env"], width) or f"  {human.EMPTY}\n"))
    out.write("\n")
    entrypoint(entry, out)
    verdict = "shell-less: no shell found" if data["shell_less"] else "shells: " + " ".join(data["shells"])
    out.write("\n" + fit.paragraph(verdict, width))
    out.write(fit.paragraph("package managers: " + _managers(data), width))
    out.write(fit.paragraph("packages: " + _package_counts(data), width))
    counts = data["executables"]
    scripts = human.plural(counts["scripts"], "script")
    out.write(fit.paragraph(
        f"executables: {human.count(counts['count'])} ({counts['elf']:,} ELF, {scripts}), "
        f"setuid {counts['setuid']:,}, setgid {counts['setgid']:,}, with capabilities {counts['capabilities']:,}",
        width) + "\n")
    jre(data["jre"], out)
    out.write("\n")
    bin_listing(data["bin"], [], out, limit=SUMMARY_BIN_ROWS)
    checked = data.get("verification")
    if checked:
        out.write("\n" + fit.paragraph(verification_text(checked, image["layers"]), width))


def _managers(data: dict[str, Any]) -> str:
    applets = set(data.get("package_manager_applets") or ())
    names = [f"{m} (busybox applet)" if m in applets else str(m) for m in data["package_managers"]]
    return ", ".join(names) or human.EMPTY


def _package_counts(data: dict[str, Any]) -> str:
    """``dpkg 12 (debian 12)``: the summary JSON's counts per manager and its OS (no extra work)."""
    counts: Any = data.get("packages")
    counts = counts if isinstance(counts, dict) else {}
    text = ", ".join(f"{manager} {count:,}" for manager, count in counts.items() if isinstance(count, int))
    os_info: Any = data.get("os")
    os_info = os_info if isinstance(os_info, dict) else {}
    release = " ".join(str(os_info[k]) for k in ("id", "version_id") if os_info.get(k))
    return (text or human.EMPTY) + (f" ({release})" if text and release else "")


def verification_text(checked: dict[str, Any], layers: int) -> str:
    """What was checked: layers hashed in this run, and layers answered from the cache (checked
    when their entry was made, see README "The cache"), never "verified: 0 of 0 layers"."""
    read = checked["layers_checked"] + checked["layers_unchecked"]
    cached = max(layers - read, 0)
    parts = []
    if read:
        parts.append(f"verified: {checked['layers_checked']:,} of {human.plural(read, 'layer')} against their diff_id")
    if cached:
        parts.append(f"from cache: {human.plural(cached, 'layer')} (checked when cached)")
    if read or checked["blobs_checked"] or checked["documents_checked"]:
        documents = human.plural(checked["documents_checked"], "config and manifest", "configs and manifests")
        parts.append(f"{human.plural(checked['blobs_checked'], 'blob')}, {documents} checked")
    text = "; ".join(parts)
    return text + ("" if checked["full"] else " (--verify checks everything)")


@_table
def entrypoint(entry: dict[str, Any], out: TextIO) -> None:
    width = fit.width()
    if not entry["argv"]:
        out.write("entrypoint: none\n")
    else:
        chain = " -> ".join(entry["chain"]) if entry["chain"] else entry["path"] or entry["argv"][0]
        state = "can start" if not entry["problems"] else "CANNOT START"
        out.write(fit.paragraph(f"entrypoint {state}: {chain}", width))
        if entry["interpreter"]:
            found = "present" if entry["interpreter_exists"] else "MISSING"
            out.write(fit.paragraph(f"interpreter {entry['interpreter']} ({found})", width, "  "))
    for problem in entry["problems"]:
        out.write(fit.paragraph(f"problem: {problem}", width, "  "))
    for note in entry.get("notes") or ():
        out.write(fit.paragraph(f"note: {note}", width, "  "))


_JRE_COLUMNS = (fit.Column("type"), fit.Column("distribution", prose=True), fit.Column("version"),
                fit.Column("tools", right=True), fit.Column("used via", prose=True), fit.Column("home", spill=True))


@_table
def jre(runtimes: list[dict[str, Any]], out: TextIO) -> None:
    if not runtimes:
        out.write("java: no Java runtime found\n")
        return
    rows = [(r["type"], r["distribution"] or r["vendor"] or "unknown vendor", short_version(r["version"]),
             str(len(r["tools"])), " ".join(r["reached_by"]) or human.EMPTY, r["home"]) for r in runtimes]
    out.write(fit.table(_JRE_COLUMNS, rows, fit.width()))


@_table
def jre_details(runtimes: list[dict[str, Any]], out: TextIO) -> None:
    jre(runtimes, out)
    width = fit.width()
    for runtime in runtimes:
        out.write(f"\n{runtime['home']}\n")
        out.write(fit.pairs([
            ("vendor", _text(runtime["vendor"])),
            ("version", _text(runtime.get("runtime_version") or runtime["version"])),
            ("tools", _text(runtime["tools"])), ("evidence", "; ".join(runtime["evidence"]) or human.EMPTY)], width))


SUMMARY_BIN_ROWS = 20  # the summary shows the start of /bin; --bin shows all of it
_LS_COLUMNS = (fit.Column("mode"), fit.Column("user"), fit.Column("group"), fit.Column("size", right=True),
               fit.Column("date"), fit.Column("name", spill=True))


@_table
def bin_listing(data: dict[str, Any], entries: Iterable[Entry], out: TextIO, limit: int | None = None) -> None:
    """``ls -l`` of the listed directory: owners named from the image's own /etc/passwd and
    /etc/group (numbers when it names none), sizes as docker prints them, names relative to it."""
    width = fit.width()
    if data["symlink_to"] is not None:
        merged = data["resolved"] is not None and data["resolved"] == "/usr" + data["path"]
        out.write(f"{data['path']} -> {data['symlink_to']}" + (" (merged /usr)" if merged else "") + "\n")
    if not data["exists"]:
        out.write(f"{data['path']}: does not exist in this image\n")
        return
    listed = list(entries) or [Entry(**_entry_args(e)) for e in data["entries"]]
    shown = listed[:limit] if limit else listed
    count = data.get(_BIN_COUNT)
    total = count if isinstance(count, int) and not entries else len(listed)
    out.write(f"{data['resolved'] or data['path']}: {human.plural(total, 'entry')}\n")
    users, groups = data.get("user_names") or {}, data.get("group_names") or {}
    base = (data["resolved"] or data["path"]).rstrip("/") + "/"
    rows = [(mode_string(e), users.get(str(e.uid), str(e.uid)), groups.get(str(e.gid), str(e.gid)), _ls_size(e),
             _date(e.mtime), _ls_name(e, base)) for e in shown]
    out.write(fit.table(_LS_COLUMNS, rows, width, headers=False))
    if limit and total > limit:
        out.write(f"… and {total - limit:,} more (inspect-image IMAGE --bin lists them all)\n")


def _ls_size(entry: Entry) -> str:
    return f"{entry.device[0]},{entry.device[1]}" if entry.device else human.size(entry.size)


def _ls_name(entry: Entry, base: str) -> str:
    name = escape(entry.path.removeprefix(base), PATH_LIMIT)
    if entry.target is not None:
        return f"{name} -> {escape(entry.target, PATH_LIMIT)}"
    if entry.hardlink_to is not None:
        return f"{name} (hardlink of {escape(entry.hardlink_to, PATH_LIMIT)})"
    return name


def _date(mtime: int | None) -> str:
    """The modification date, UTC, as ``2024-05-01`` (one token; ``-`` when unknown or out of range)."""
    if mtime is None:
        return human.EMPTY
    try:
        return datetime.datetime.fromtimestamp(mtime, datetime.UTC).strftime("%Y-%m-%d")
    except (OverflowError, OSError, ValueError):
        return human.EMPTY


def _entry_args(e: dict[str, Any]) -> dict[str, Any]:
    return {"path": e["path"], "type": e["type"], "mode": int(e["mode"], 8), "uid": e["uid"], "gid": e["gid"],
            "size": e["size"], "mtime": e["mtime"], "target": e["target"], "hardlink_to": e["hardlink_to"],
            "layer": e["layer"], "xattrs": {},  # not shown (and its hex may have been cut)
            "device": tuple(e["device"]) if e["device"] else None}


_EXECUTABLE_COLUMNS = (fit.Column("mode"), fit.Column("owner"), fit.Column("size", right=True), fit.Column("type"),
                       fit.Column("kind", prose=True), fit.Column("flags", prose=True), fit.Column("path", spill=True))


def _kind(item: dict[str, Any]) -> str:
    """What the file (for a link: the executable it reaches) is, in the words of JSON's ``kind``."""
    elf = item["elf"]
    if elf:
        return f"ELF{elf['class']} {elf['machine'].lower()} {elf['linkage']}" + (" stripped" if elf["stripped"] else "")
    if item["kind"] == "script":
        return f"script #!{item['shebang']}"
    return str(item["kind"])


def executables(items: Iterable[dict[str, Any]], out: TextIO) -> None:
    """One row per executable; ``type`` is the entry's (``file`` or ``symlink``, as JSON's), ``kind``
    what it runs (for a link: its target's, as JSON's ``kind``). ``items`` is read once, each made
    safe by ``clean`` as it comes (as ``_table`` does for a whole report): only the rows are kept,
    not every executable's JSON twice over (810 MB at peak for the 91,576 of a million-file image)."""
    rows = []
    count = links = 0
    for raw in items:
        item = clean(raw)
        count += 1
        links += bool(item["resolves_to"])
        flags = [f for f, on in (("setuid", item["setuid"]), ("setgid", item["setgid"]),
                                 ("world-writable", item["world_writable"])) if on]
        if item["capabilities"]:
            flags.append(item["capabilities"]["text"])
        link = item["resolves_to"] is not None
        path = item["path"] + (f" -> {item['resolves_to']}" if link else "")
        rows.append((filemode(item["type"], int(item["mode"], 8)), f"{item['uid']}:{item['gid']}",
                     human.EMPTY if link else human.size(item["size"]), item["type"], _kind(item),
                     " ".join(flags) or human.EMPTY, path))
    out.write(fit.table(_EXECUTABLE_COLUMNS, rows, fit.width()))
    out.write(f"{human.plural(count - links, 'executable')}, {human.plural(links, 'link')} to them\n")


@_table
def config(data: dict[str, Any], out: TextIO, user_name: str | None = None) -> None:
    """``--config``: the fields, with the summary's defaults for user and workdir; ``user_name`` is
    the /etc/passwd name of a numeric User (``reports.user_name``: printable, escaped here too)."""
    width = fit.width()
    cfg = data["config"]
    name = escape(user_name) if user_name is not None else data.get("user_name")
    rows = [("entrypoint", _argv(cfg["entrypoint"])), ("cmd", _argv(cfg["cmd"])),
            ("user", user_text(cfg["user"], name)), ("workdir", cfg["workdir"] or "/")]
    rows += [(key.replace("_", " "), _text(cfg[key]))
             for key in ("exposed_ports", "volumes", "labels", "stop_signal")]
    rows.append(("shell", _argv(cfg["shell"])))
    out.write(fit.pairs(rows, width))
    out.write("\nenv\n" + (_env(cfg["env"], width) or f"  {human.EMPTY}\n") + "\n")
    entrypoint(data["entrypoint"], out)

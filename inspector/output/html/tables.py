"""Tables: a generic sortable table, and the rows of the page's listings.

Every cell is built with ``cell``/``num``/``path_cell``, which escape; the only raw HTML a row may
hold is what those return. Each listing keeps at most ``limit`` rows and says how many it left out.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..human import size as human_size
from .page import text

#: Rows of one listing (executables, /bin, added/removed/changed executables).
MAX_ROWS = 500


NUMERIC_TH = "<th class=\"n\">"


class Cell(str):
    """A ``<td>`` already built (escaped)."""


def cell(value: Any, limit: int = 300) -> Cell:
    return Cell(f"<td>{'-' if value is None or value == '' else text(value, limit)}</td>")


def num(value: int | None, shown: str | None = None) -> Cell:
    """A number, right-aligned, sorted by its value (``shown`` is what is displayed)."""
    if value is None:
        return Cell("<td class=\"n\" data-v=\"-1\">-</td>")
    return Cell(f"<td class=\"n\" data-v=\"{int(value)}\">{text(shown if shown is not None else f'{value:,}')}</td>")


def size_cell(value: int | None) -> Cell:
    if value is None:
        return num(None)
    return Cell(f"<td class=\"n\" data-v=\"{int(value)}\" title=\"{int(value):,} bytes\">{human_size(value)}</td>")


def path_cell(value: Any) -> Cell:
    return Cell(f"<td class=\"p\">{text(value, 4096)}</td>")


def table(headers: Sequence[str], rows: Iterable[tuple[str, Sequence[Cell]]], numeric: Sequence[int] = ()) -> str:
    """A sortable table. ``rows`` are ``(css class, cells)``; ``headers`` are our own words."""
    head = "".join((NUMERIC_TH if i in numeric else "<th>") + f"{text(h)}</th>" for i, h in enumerate(headers))
    body = "".join((f"<tr class=\"{text(kind)}\">" if kind else "<tr>") + "".join(cells) + "</tr>"
                   for kind, cells in rows)
    return f"<table class=\"sortable\"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def cut_note(shown: int, total: int, what: str) -> str:
    return f"Showing {shown:,} of {total:,} {what} (the page keeps at most {shown:,})." if total > shown else ""


def mode_text(entry: dict[str, Any]) -> str:
    mode = entry.get("mode")
    return str(mode) if mode is not None else "-"


def executable_rows(items: Sequence[dict[str, Any]], kind: str = "",
                    limit: int = MAX_ROWS) -> list[tuple[str, list[Cell]]]:
    """``--executables`` JSON objects as rows: path, kind, ELF, mode, bits, capabilities, size, layer, package."""
    rows: list[tuple[str, list[Cell]]] = []
    for item in items[:limit]:
        elf = item.get("elf") or {}
        elf_text = " ".join(str(elf.get(k)) for k in ("class", "machine", "linkage") if elf.get(k)) if elf else ""
        caps = item.get("capabilities")
        caps_text = caps.get("text") if isinstance(caps, dict) else None
        bits = " ".join(b for b in ("setuid", "setgid", "world_writable") if item.get(b))
        shown_path = item.get("path")
        if item.get("resolves_to"):
            shown_path = f"{shown_path} -> {item.get('resolves_to')}"
        rows.append((kind, [path_cell(shown_path), cell(item.get("kind")), cell(elf_text or item.get("shebang")),
                            cell(mode_text(item)), cell(bits), cell(caps_text),
                            size_cell(item.get("size")), num(item.get("layer")), cell(item.get("package"))]))
    return rows


EXECUTABLE_HEADERS = ("path", "kind", "ELF / shebang", "mode", "bits", "capabilities", "size", "layer", "package")
EXECUTABLE_NUMERIC = (6, 7)


def entry_rows(entries: Sequence[dict[str, Any]], limit: int = MAX_ROWS) -> list[tuple[str, list[Cell]]]:
    """``--files`` JSON objects as ``ls -l``-like rows."""
    return [("", [path_cell(e.get("path")), cell(e.get("type")), cell(mode_text(e)),
                  cell(f"{e.get('uid')}:{e.get('gid')}"), size_cell(e.get("size")),
                  cell(e.get("target")), num(e.get("layer"))]) for e in entries[:limit]]


ENTRY_HEADERS = ("path", "type", "mode", "owner", "size", "link target", "layer")
ENTRY_NUMERIC = (4, 6)

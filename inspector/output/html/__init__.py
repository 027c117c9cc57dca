"""``--format html``: one self-contained page per image or per diff, safe to save and share.

Nothing on the page is fetched (no fonts, scripts, images: a CSP of ``default-src 'none'`` says
so to the browser), nothing comes from a plotting library: the HTML, CSS and SVG are written
here. Every string from an image goes through ``page.text``. Every listing is bounded (boxes of
the treemap, rows of each table), so a million-file image still gives a page of a few megabytes
at most; the page says what it left out.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, TextIO

from ...reports.page import DiffPage, ImagePage
from ...reports.treemap import MAX_BOXES, MAX_CHILDREN, MIN_SHARE
from ...reports.wasted import MAX_ROWS as MAX_WASTED_ROWS
from ..human import size as human_size
from . import cards, layers, tables, treemap
from .page import document, section

__all__ = ["diff_html", "image_html", "write_diff", "write_image"]


def image_html(page: ImagePage) -> str:
    summary = page.summary
    image = summary["image"]
    layer_rows = page.layers
    names = {int(layer["index"]): layer.get("created_by") for layer in layer_rows}

    def describe_layer(index: int | None) -> str:
        if index is None:
            return "several layers (grouped)"
        return f"layer {index}: {names.get(index) or 'build step unknown'}"

    parts = [cards.image_cards(summary, page.packages, page.wasted.total)]
    parts.append(section("Layers", layers.layer_bar(layer_rows) + layers.legend(layer_rows) + layers.layer_table(
        layer_rows), "Each segment's width is the layer's share of the image's bytes (uncompressed tar); "
                     "hover for its size, its entries added (+), changed (~) and removed (-), and its build step."))
    shown_files = page.treemap.files
    parts.append(section(
        "Where the bytes are",
        "<button id=\"treemap-reset\" hidden>back to the whole image</button>"
        + treemap.render(page.treemap, describe_layer),
        f"Area = bytes of the merged filesystem ({human_size(page.treemap.bytes)} in {shown_files:,} files), "
        f"colour = the layer that wrote them (a directory: most of its bytes). At most {MAX_BOXES:,} boxes, "
        f"{MAX_CHILDREN} per directory, none under 1/{MIN_SHARE:,} of the whole: the rest is grouped as "
        "\"N more\". Click a directory to zoom in."))
    wasted = page.wasted
    parts.append(section(
        "Wasted space",
        layers.wasted_table(wasted) if wasted.rows else "<p>No layer overwrote or deleted what a lower one wrote.</p>",
        f"{human_size(wasted.total)} ({wasted.total:,} bytes) in {wasted.copies:,} file copies under "
        f"{wasted.paths:,} paths: bytes a layer wrote that a later layer overwrote or deleted, each discarded copy "
        f"counted once, the copy that is kept never. The {MAX_WASTED_ROWS} largest paths are listed."))
    parts.append(_bin_section(summary))
    exes = page.executables
    parts.append(section(
        "Executables",
        table_of(exes, tables.executable_rows(exes), tables.EXECUTABLE_HEADERS, tables.EXECUTABLE_NUMERIC),
        tables.cut_note(min(len(exes), tables.MAX_ROWS), len(exes), "executables") + " Click a heading to sort."))
    parts.append(_config_section(summary))
    return document(f"inspect-image: {image.get('reference')}", f"{image.get('id') or ''}", "\n".join(parts))


def table_of(items: Sequence[Any], rows: list[tuple[str, list[tables.Cell]]], headers: Sequence[str],
             numeric: Sequence[int]) -> str:
    return tables.table(headers, rows, numeric) if items else "<p>None.</p>"


def _bin_section(summary: dict[str, Any]) -> str:
    listing = summary.get("bin") or {}
    entries = listing.get("entries") or []
    where = "/bin"
    if listing.get("symlink_to"):
        where = f"/bin -> {listing.get('symlink_to')} (listing {listing.get('resolved')})"
    if not listing.get("exists"):
        return section("/bin", "<p>The image has no /bin.</p>")
    return section("/bin", table_of(entries, tables.entry_rows(entries), tables.ENTRY_HEADERS, tables.ENTRY_NUMERIC),
                   f"{where}. {tables.cut_note(min(len(entries), tables.MAX_ROWS), len(entries), 'entries')}")


def _config_section(summary: dict[str, Any]) -> str:
    config = summary.get("config") or {}
    labels = config.get("labels") or {}
    rows: list[tuple[str, Any]] = [
        ("workdir", config.get("workdir")), ("entrypoint", cards.argv(config.get("entrypoint"))),
        ("cmd", cards.argv(config.get("cmd"))), ("exposed ports", config.get("exposed_ports") or []),
        ("env", cards.lines(config.get("env") or [])),
        ("labels", cards.lines([f"{k}={v}" for k, v in labels.items()] if isinstance(labels, dict) else [])),
    ]
    return section("Config", "<div class=\"cards\">" + cards.card("Config", rows, "config") + "</div>")


def diff_html(page: DiffPage) -> str:
    diff = page.diff
    parts = [cards.diff_cards(diff, page.all_entries)]
    for key, kind, heading in (("added", "added", "Added (+)"), ("removed", "removed", "Removed (-)")):
        items = diff.get(key) or []
        parts.append(section(heading, table_of(items, tables.executable_rows(items, kind),
                                               tables.EXECUTABLE_HEADERS, tables.EXECUTABLE_NUMERIC),
                             tables.cut_note(min(len(items), tables.MAX_ROWS), len(items), "entries")))
    changed = diff.get("changed") or []
    rows = [("changed", [tables.path_cell(c.get("path")), tables.cell(", ".join(map(str, c.get("differences") or []))),
                         tables.cell(_side(c.get("a"))), tables.cell(_side(c.get("b")))])
            for c in changed[:tables.MAX_ROWS]]
    parts.append(section("Changed (~)", table_of(changed, rows, ("path", "what differs", "A", "B"), ()),
                         tables.cut_note(len(rows), len(changed), "entries")))
    parts.append(section("Size by top-level directory", _top_dirs(page.top_dirs),
                         "Bytes of regular files in the merged filesystem of A and B, largest first "
                         "(the 40 largest of each)."))
    return document(f"inspect-image diff: {diff.get('a')} → {diff.get('b')}", "A → B", "\n".join(parts))


def _side(record: Any) -> str:
    if not isinstance(record, dict):
        return "-"
    facts = [f"{record.get('mode')}", f"{record.get('uid')}:{record.get('gid')}", f"{record.get('size')} bytes"]
    if record.get("elf_kind"):
        facts.append(str(record.get("elf_kind")))
    if record.get("target"):
        facts.append(f"-> {record.get('target')}")
    if record.get("sha256"):
        facts.append(f"sha256 {str(record.get('sha256'))[:12]}")
    return " ".join(facts)


def _top_dirs(top: dict[str, list[tuple[str, int]]]) -> str:
    a, b = dict(top.get("a", [])), dict(top.get("b", []))
    names = list(dict.fromkeys([n for n, _ in top.get("a", [])] + [n for n, _ in top.get("b", [])]))
    largest = max([*a.values(), *b.values(), 1])
    rows = []
    for name in names:
        left, right = a.get(name), b.get(name)
        change = (right or 0) - (left or 0)
        kind = "added" if left is None else "removed" if right is None else "changed" if change else ""
        if name.startswith("…"):
            kind = ""
        sign = "+" if change > 0 else "-" if change < 0 else ""
        rows.append((kind, [tables.path_cell(name), tables.size_cell(left), _mini_bar(left, largest),
                            tables.size_cell(right), _mini_bar(right, largest),
                            tables.num(change, sign + human_size(abs(change)))]))
    return tables.table(("directory", "A", "", "B", "", "B − A"), rows, numeric=(1, 3, 5))


def _mini_bar(value: int | None, largest: int) -> tables.Cell:
    width = 0.0 if not value else max(1.0, 200 * value / largest)
    return tables.Cell("<td><svg width=\"200\" height=\"10\" xmlns=\"http://www.w3.org/2000/svg\" aria-hidden=\"true\">"
                       f"<rect width=\"{width:.1f}\" height=\"10\" fill=\"#57606a\"></rect></svg></td>")


def write_image(page: ImagePage, out: TextIO) -> None:
    out.write(image_html(page))


def write_diff(page: DiffPage, out: TextIO) -> None:
    out.write(diff_html(page))

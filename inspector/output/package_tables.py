"""Tables for ``--packages`` and ``--layers``. Every string in them is the image's: it goes through
``escape.clean`` (escaped, cut) before anything is laid out, as in ``report_tables``; tables fit
the terminal without splitting a token (``fit``), sizes are docker's (``human``)."""

from __future__ import annotations

from typing import Any, TextIO

from . import fit, human
from .escape import clean

_PACKAGE_COLUMNS = (fit.Column("manager"), fit.Column("name"), fit.Column("version"), fit.Column("arch"),
                    fit.Column("source"), fit.Column("license", prose=True, spill=True))
_LAYER_COLUMNS = (fit.Column("#", right=True), fit.Column("diff id"), fit.Column("size", right=True),
                  fit.Column("added", right=True), fit.Column("changed", right=True),
                  fit.Column("removed", right=True), fit.Column("created by", prose=True, spill=True))
#: Characters of a layer's ``created by`` shown (cut at a space; ``--format json`` has it all).
CREATED_BY_LIMIT = 200


def _shorten(text: str, limit: int) -> str:
    """``text`` cut at the last space before ``limit`` characters, with "…" (never inside a word)."""
    if len(text) <= limit:
        return text
    cut = text.rfind(" ", 0, limit)
    return (text[:cut] if cut > 0 else text.split(" ", 1)[0]) + " …"


def packages(report: dict[str, Any], out: TextIO) -> None:
    """One row per package; then what the integrity check found, one line per modified file, and a count."""
    report = clean(report)
    os_info = report.get("os") or {}
    out.write(f"OS: {os_info.get('pretty_name') or os_info.get('id') or 'unknown'}\n\n")
    width = fit.width()
    rows = [[p["manager"], p["name"], p["version"], human.text(p["arch"]), human.text(p["source_name"]),
             human.text(p["license"])] for p in report["packages"]]
    if rows:
        out.write(fit.table(_PACKAGE_COLUMNS, rows, width))
    out.write(f"\n{human.plural(len(rows), 'package')}\n")
    unowned = report["unowned_executables"]
    if unowned:
        out.write(f"\nExecutables no package owns ({len(unowned):,}):\n")
        for item in unowned:
            step = _shorten(item["layer_created_by"] or "unknown step", CREATED_BY_LIMIT)
            out.write(fit.paragraph(f"{item['path']}  (layer {item['layer']}: {step})", width, "  "))
    integrity = report["integrity"]
    if not integrity["available"]:
        out.write(f"\nIntegrity: not checked ({integrity['note']})\n")
        return
    out.writelines(f"missing   {item['path']}  ({item['package']})\n" for item in integrity["missing"])
    out.writelines(f"config    {item['path']}  ({item['package']})\n" for item in integrity["config_changed"])
    for item in integrity["modified"]:
        step = _shorten(item["layer_created_by"] or "unknown step", CREATED_BY_LIMIT)
        out.write(fit.paragraph(f"MODIFIED  {item['path']}  ({item['package']}; layer {item['layer']}: {step})",
                                width))
    out.write(f"\nIntegrity: {integrity['checked']} files checked, {integrity['ok']} ok, "
              f"{len(integrity['modified'])} modified, {len(integrity['missing'])} missing, "
              f"{len(integrity['config_changed'])} conffiles changed\n")


def layers(rows: list[dict[str, Any]], out: TextIO) -> None:
    rows = clean(rows)
    table = [[str(r["index"]), (r["diff_id"] or human.EMPTY)[:19], human.size(r["size"]), f"{r['added']:,}",
              f"{r['changed']:,}", f"{r['removed']:,}", _shorten(r["created_by"] or human.EMPTY, CREATED_BY_LIMIT)]
             for r in rows]
    out.write(fit.table(_LAYER_COLUMNS, table, fit.width()))

"""Tables for ``--packages`` and ``--layers``. Every string in them is the image's: it goes through
``escape.clean`` (escaped, cut) before anything is laid out, as in ``report_tables``."""

from __future__ import annotations

from typing import Any, TextIO

from .escape import clean


def _tabulate(rows: list[list[Any]], headers: list[str]) -> str:
    from tabulate import tabulate  # on first use, as report_tables does

    return str(tabulate(rows, headers=headers, disable_numparse=True))


def packages(report: dict[str, Any], out: TextIO) -> None:
    """One row per package; then what the integrity check found, one line per modified file, and a count."""
    report = clean(report)
    os_info = report.get("os") or {}
    out.write(f"OS: {os_info.get('pretty_name') or os_info.get('id') or 'unknown'}\n\n")
    rows = [[p["manager"], p["name"], p["version"], p["arch"] or "", p["source_name"] or "", p["license"] or ""]
            for p in report["packages"]]
    if rows:
        out.write(_tabulate(rows, ["manager", "name", "version", "arch", "source", "license"]) + "\n")
    out.write(f"\n{len(rows)} packages\n")
    unowned = report["unowned_executables"]
    if unowned:
        out.write(f"\nExecutables no package owns ({len(unowned)}):\n")
        out.writelines(f"  {item['path']}  (layer {item['layer']}: {item['layer_created_by'] or 'unknown step'})\n"
                       for item in unowned)
    integrity = report["integrity"]
    if not integrity["available"]:
        out.write(f"\nIntegrity: not checked ({integrity['note']})\n")
        return
    out.writelines(f"missing   {item['path']}  ({item['package']})\n" for item in integrity["missing"])
    out.writelines(f"config    {item['path']}  ({item['package']})\n" for item in integrity["config_changed"])
    out.writelines(f"MODIFIED  {item['path']}  ({item['package']}; layer {item['layer']}: "
                  f"{item['layer_created_by'] or 'unknown step'})\n" for item in integrity["modified"])
    out.write(f"\nIntegrity: {integrity['checked']} files checked, {integrity['ok']} ok, "
              f"{len(integrity['modified'])} modified, {len(integrity['missing'])} missing, "
              f"{len(integrity['config_changed'])} conffiles changed\n")


def layers(rows: list[dict[str, Any]], out: TextIO) -> None:
    rows = clean(rows)
    table = [[r["index"], (r["diff_id"] or "")[:19], f"{r['size']:,}", r["added"], r["changed"], r["removed"],
              (r["created_by"] or "")[:60]] for r in rows]
    out.write(_tabulate(table, ["#", "diff id", "size", "added", "changed", "removed", "created by"]) + "\n")

"""The page skeleton, and the one way image text enters it.

Why the Content-Security-Policy: a report is saved, attached to tickets and opened by people who
never ran us, so even if some string escaped our escaping, the browser must refuse to run or
fetch anything. ``default-src 'none'`` allows nothing; the page's own ``<style>`` and ``<script>``
are allowed by their SHA-256 hashes, computed here from the exact text we emit, so no other inline
script or style (and no ``style=`` attribute) can run. Colours and sizes live in SVG presentation
attributes (``fill``, ``width``), which CSP does not govern and which cannot run code.

Why two escapes in ``text``: ``output.escape`` first shows control, bidi and format characters as
visible escapes (a name holding ESC or U+202E reads as ``\\x1b``/``\\u202e``, as in the tables),
then ``html.escape`` turns ``& < > " '`` into entities, so no name can open an element or leave an
attribute. Everything from an image passes through ``text``; nothing else writes image text.
"""

from __future__ import annotations

import base64
import hashlib
import html
from typing import Any

from ..escape import CELL_LIMIT, escape

STYLE = """
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#1f2328;background:#f6f8fa}
header{background:#24292f;color:#fff;padding:14px 24px}header h1{margin:0;font-size:20px;word-break:break-all}
header p{margin:4px 0 0;color:#c9d1d9;word-break:break-all}
main{padding:16px 24px;max-width:1400px}
h2{font-size:17px;margin:26px 0 8px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(300px,1fr));gap:12px}
.card{background:#fff;border:1px solid #d0d7de;border-radius:6px;padding:10px 14px}.card.wide{grid-column:1/-1}
.card h3{margin:0 0 6px;font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#57606a}
.card dl{margin:0;display:grid;grid-template-columns:max-content 1fr;gap:2px 10px}
.card dt{color:#57606a}.card dd{margin:0;word-break:break-all}
.good{color:#1a7f37;font-weight:600}.bad{color:#cf222e;font-weight:600}.warn{color:#9a6700;font-weight:600}
code{font:12px/1.4 ui-monospace,SFMono-Regular,Menlo,monospace;background:#eff1f3;padding:1px 4px;border-radius:4px}
.argv code{display:inline-block;margin:1px 2px}
table{border-collapse:collapse;background:#fff;border:1px solid #d0d7de;font-size:13px;margin:4px 0}
th,td{padding:3px 8px;border-bottom:1px solid #eaeef2;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
td.p{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;font-size:12px;word-break:break-all;max-width:640px}
table.sortable th{cursor:pointer;user-select:none}table.sortable th:hover{background:#eaeef2}
tr.added td{background:#dafbe1}tr.removed td{background:#ffebe9}tr.changed td{background:#fff8c5}
.note{color:#57606a;font-size:12px;margin:4px 0}
svg{display:block}svg text{font:11px system-ui,sans-serif;pointer-events:none}
#treemap{background:#fff;border:1px solid #d0d7de;width:100%;height:auto}
#treemap g.d{cursor:zoom-in}#treemap rect{stroke:#fff;stroke-width:.6}
.bar{width:100%;height:46px;background:#fff;border:1px solid #d0d7de}.bar rect{stroke:#fff;stroke-width:1}
.legend{display:flex;flex-wrap:wrap;gap:4px 14px;font-size:12px;margin:6px 0}
.legend span{display:inline-flex;align-items:center;gap:4px}
button{font:inherit;margin:4px 0}
"""

#: Sorting tables and zooming the treemap. The page reads the same without it.
SCRIPT = """
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var body = th.closest("table").tBodies[0], i = th.cellIndex, up = th.dataset.dir !== "up";
    th.dataset.dir = up ? "up" : "down";
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (x, y) {
      var a = x.cells[i], b = y.cells[i], r;
      if (a.dataset.v !== undefined && b.dataset.v !== undefined) { r = Number(a.dataset.v) - Number(b.dataset.v); }
      else { r = a.textContent.localeCompare(b.textContent); }
      return up ? r : -r;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
var map = document.getElementById("treemap"), reset = document.getElementById("treemap-reset");
if (map && reset) {
  var whole = map.getAttribute("viewBox");
  map.addEventListener("click", function (event) {
    var box = event.target.closest("g.d");
    if (box) { map.setAttribute("viewBox", box.dataset.box); reset.hidden = false; }
  });
  reset.addEventListener("click", function () { map.setAttribute("viewBox", whole); reset.hidden = true; });
}
"""


def text(value: Any, limit: int | None = CELL_LIMIT) -> str:
    """Any value as HTML text, safe inside an element and inside a double-quoted attribute."""
    return html.escape(escape(str(value), limit), quote=True)


def csp_hash(source: str) -> str:
    """The CSP source expression that allows exactly this inline script or style."""
    return "'sha256-" + base64.b64encode(hashlib.sha256(source.encode("utf-8")).digest()).decode("ascii") + "'"


def content_security_policy() -> str:
    return (f"default-src 'none'; style-src {csp_hash(STYLE)}; script-src {csp_hash(SCRIPT)}; "
            "img-src 'none'; base-uri 'none'; form-action 'none'")


def document(title: str, subtitle: str, body: str) -> str:
    """One self-contained page: ``title`` and ``subtitle`` are raw (escaped here), ``body`` is HTML."""
    return (
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
        f"<meta http-equiv=\"Content-Security-Policy\" content=\"{content_security_policy()}\">\n"
        "<meta name=\"referrer\" content=\"no-referrer\">\n"
        "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
        f"<title>{text(title, 200)}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n"
        f"<header><h1>{text(title, 300)}</h1><p>{text(subtitle, 300)}</p></header>\n<main>\n{body}\n</main>\n"
        f"<script>{SCRIPT}</script>\n</body>\n</html>\n"
    )


def layer_colour(layer: int | None) -> str:
    """A colour per layer index, neighbours far apart on the colour wheel (golden angle)."""
    if layer is None or layer < 0:
        return "#b8bec6"
    return f"hsl({(layer * 137.508 + 200) % 360:.0f},58%,{62 if layer % 2 else 52}%)"


def section(heading: str, content: str, note: str = "") -> str:
    """A titled part of the page. ``heading`` and ``note`` are escaped; ``content`` is HTML."""
    note_html = f"<p class=\"note\">{text(note, None)}</p>" if note else ""
    return f"<section><h2>{text(heading, None)}</h2>{note_html}{content}</section>\n"

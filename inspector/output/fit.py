"""Tables and text that fit the terminal, without ever cutting a path, a version or a word in two.

Why: a table laid out for a fixed width wraps every row on a narrower terminal, and a wrapper
that breaks long words turns ``/usr/lib/jvm/java-17-openjdk-amd64/bin/jarsigner`` into two
half-paths nobody can copy. Here a cell is only ever broken at a space, and only in a column the
caller marked ``prose``; a cell that still does not fit (a long path) goes on a line of its own
instead, and a single token longer than the whole width is printed whole (the terminal folds it;
it stays one copyable string).

The width (``width()``) is the terminal's; ``COLUMNS`` overrides it (``shutil.get_terminal_size``
honours it too; tests use it to render at fixed widths, even into a pipe). When stdout is not a
terminal and ``COLUMNS`` is unset, ``width()`` is ``None``: nothing wraps, so ``grep`` and ``cut``
see one row per line.

API (every function returns text whose lines each end with ``\\n``):

- ``width() -> int | None``: the columns to fit; ``None``: never wrap.
- ``table(columns, rows, width, headers=True)``: columns of ``Column(header, right=False,
  prose=False, spill=False)``; ``rows`` are sequences of strings (already escaped). Columns are
  separated by two spaces. If the table is too wide, ``prose`` cells are wrapped at spaces; then a
  ``spill`` column (the last one, a path) moves to its own indented line in the rows where it
  does not fit; if the other columns alone are still too wide, each row is printed as
  ``header: value`` lines (a record per row), which always fits.
- ``pairs(rows, width)``: a two-column ``key  value`` list (the summary, ``--config``); the value
  wraps at spaces, and a value too long for its column goes on its own line under the key.
- ``paragraph(text, width, indent="")``: prose wrapped at spaces, continuation lines indented
  two more than ``indent``.
"""

from __future__ import annotations

import os
import shutil
import sys
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

#: Columns assumed when stdout is a terminal whose size cannot be read.
DEFAULT_WIDTH = 80
#: Narrowest width honoured: below it every layout degrades to records, which is still readable.
MIN_WIDTH = 20
#: Between two columns.
GAP = "  "
#: Indent of a spilled cell (a long path on its own line).
SPILL_INDENT = "    "


@dataclass(frozen=True)
class Column:
    """One column: ``right`` aligns numbers; ``prose`` may wrap at spaces; ``spill`` (last column
    only) may move to a line of its own when it does not fit beside the others."""

    header: str
    right: bool = False
    prose: bool = False
    spill: bool = False


def width() -> int | None:
    """The width to fit: ``COLUMNS`` when set to a number, else the terminal's (80 when it cannot
    be read), else ``None`` (stdout is a pipe or a file: never wrap)."""
    value = os.environ.get("COLUMNS", "")
    if value.strip().isdigit():
        return max(MIN_WIDTH, min(int(value), 10_000))
    try:
        interactive = os.isatty(sys.stdout.fileno())
    except (AttributeError, OSError, ValueError):
        interactive = False
    if not interactive:
        return None
    columns = shutil.get_terminal_size((DEFAULT_WIDTH, 24)).columns
    return max(MIN_WIDTH, columns) if columns > 0 else DEFAULT_WIDTH


def _wrap(text: str, limit: int) -> list[str]:
    """``text`` in lines of at most ``limit`` characters, broken at spaces only (a longer token
    stays whole on its own line)."""
    if len(text) <= limit:
        return [text]
    return textwrap.wrap(text, max(1, limit), break_long_words=False, break_on_hyphens=False) or [text]


def _longest_token(text: str) -> int:
    return max((len(t) for t in text.split()), default=0)


def paragraph(text: str, width: int | None, indent: str = "") -> str:
    """``text`` wrapped at spaces to ``width`` (``None``: one line); continuation lines are
    indented two more than the first."""
    if width is None or len(indent) + len(text) <= width:
        return indent + text + "\n"
    lines = textwrap.wrap(text, width, initial_indent=indent, subsequent_indent=indent + "  ",
                          break_long_words=False, break_on_hyphens=False)
    return "".join(line + "\n" for line in lines) or indent + text + "\n"


def _widths(columns: Sequence[Column], rows: Sequence[Sequence[str]], headers: bool) -> tuple[list[int], list[int]]:
    """Natural width (longest cell) and narrowest width (longest token of a prose column, the
    whole cell otherwise) of each column."""
    natural = [len(c.header) if headers else 0 for c in columns]
    narrowest = list(natural)
    for row in rows:
        for i, cell in enumerate(row):
            natural[i] = max(natural[i], len(cell))
            narrowest[i] = max(narrowest[i], _longest_token(cell) if columns[i].prose else len(cell))
    if headers:
        for i, c in enumerate(columns):
            narrowest[i] = max(narrowest[i], _longest_token(c.header) if c.prose else len(c.header))
    return natural, narrowest


def _shrink(sizes: list[int], narrowest: list[int], prose: list[bool], over: int) -> int:
    """Narrow the widest prose columns (never below their longest token) until ``over`` columns
    are saved; return what is still over."""
    while over > 0:
        candidates = [i for i, p in enumerate(prose) if p and sizes[i] > narrowest[i]]
        if not candidates:
            break
        widest = max(candidates, key=lambda i: sizes[i])
        others = [sizes[i] for i in candidates if i != widest]
        floor = max([narrowest[widest], *[s for s in others if s < sizes[widest]]], default=narrowest[widest])
        step = min(over, sizes[widest] - floor) or 1
        sizes[widest] -= step
        over -= step
    return max(0, over)


def _line(cells: Sequence[str], sizes: Sequence[int], columns: Sequence[Column]) -> str:
    parts = [cell.rjust(size) if col.right else cell.ljust(size)
             for cell, size, col in zip(cells, sizes, columns, strict=True)]
    return GAP.join(parts).rstrip()


def _row_lines(row: Sequence[str], sizes: Sequence[int], columns: Sequence[Column]) -> list[str]:
    """One row as lines: prose cells wrapped to their column, the others whole."""
    wrapped = [_wrap(cell, size) if col.prose else [cell] for cell, size, col in zip(row, sizes, columns, strict=True)]
    height = max((len(w) for w in wrapped), default=1)
    return [_line([w[k] if k < len(w) else "" for w in wrapped], sizes, columns) for k in range(height)]


def _spilled(cell: str, column: Column, width: int) -> list[str]:
    """A cell on lines of its own, indented when the indent leaves its tokens whole; broken at
    spaces only if it is still too long (``path -> target``)."""
    indent = SPILL_INDENT if len(SPILL_INDENT) + _longest_token(cell) <= width else ""
    return [indent + line for line in _wrap(cell, width - len(indent))]


def _records(columns: Sequence[Column], rows: Sequence[Sequence[str]], width: int) -> str:
    """The fallback when even the narrowest columns do not fit: ``header: value`` per cell."""
    out: list[str] = []
    for n, row in enumerate(rows):
        if n:
            out.append("")
        for col, cell in zip(columns, row, strict=True):
            label = f"{col.header}: " if col.header else ""
            if len(label) + len(cell) <= width:
                out.append(label + cell)
            elif col.prose and len(label) + _longest_token(cell) <= width:
                lines = _wrap(cell, width - len(label))
                out.append(label + lines[0])
                out.extend(" " * len(label) + line for line in lines[1:])
            else:
                if label:
                    out.append(label.rstrip())
                out.extend(_spilled(cell, col, width))
    return "".join(line + "\n" for line in out)


def table(columns: Sequence[Column], rows: Iterable[Sequence[str]], width: int | None,
          headers: bool = True) -> str:
    """``rows`` laid out under ``columns`` to fit ``width`` (``None``: natural widths, no wrapping).
    See the module docstring for how a table that is too wide is folded."""
    rows = [list(r) for r in rows]
    if not columns:
        return ""
    natural, narrowest = _widths(columns, rows, headers)
    sizes = list(natural)
    gaps = len(GAP) * (len(columns) - 1)
    spill = columns[-1].spill
    head = [c.header for c in columns]
    if width is None or sum(sizes) + gaps <= width:
        return _render(columns, rows, sizes, head if headers else None, width, spill_from=None)
    prose = [c.prose for c in columns]
    over = _shrink(sizes, narrowest, prose, sum(sizes) + gaps - width)
    if over == 0:
        return _render(columns, rows, sizes, head if headers else None, width, spill_from=None)
    if spill and len(columns) > 1:
        # Keep the last column at the room left; the rows whose cell needs more spill it.
        sizes = list(natural)
        fixed = sum(sizes[:-1]) + gaps
        room = width - fixed
        if room < max(narrowest[-1] if columns[-1].prose else 0, 1):
            over = _shrink(sizes, narrowest, prose[:-1] + [False], fixed + len(GAP) + len(columns[-1].header)
                           - width)
            fixed = sum(sizes[:-1]) + gaps
            room = width - fixed
        if fixed < width:
            sizes[-1] = max(room, 0)
            return _render(columns, rows, sizes, head if headers else None, width, spill_from=len(columns) - 1)
    return _records(columns, rows, width)


def _render(columns: Sequence[Column], rows: Sequence[Sequence[str]], sizes: list[int],
            head: Sequence[str] | None, width: int | None, spill_from: int | None) -> str:
    out: list[str] = []
    if head is not None:
        shown = list(head)
        if spill_from is not None and len(shown[-1]) > sizes[-1]:
            shown[-1] = ""  # the column's cells are on lines of their own; its header would not fit
        out.append(_line(shown, sizes, columns))
        out.append(_line(["-" * len(h) if h else "" for h in shown], sizes, columns))
    for row in rows:
        if spill_from is None or width is None:
            out.extend(_row_lines(row, sizes, columns))
            continue
        last = row[-1]
        fits = len(last) <= sizes[-1] or (columns[-1].prose and _longest_token(last) <= sizes[-1])
        if fits and sizes[-1] > 0:
            out.extend(_row_lines(row, sizes, columns))
        else:
            out.extend(_row_lines([*row[:-1], ""], sizes, columns))
            out.extend(_spilled(last, columns[-1], width))
    return "".join(line + "\n" for line in out)


def pairs(rows: Iterable[tuple[str, str]], width: int | None) -> str:
    """``key  value`` lines: keys in a column, values wrapped at spaces beside them; a value with a
    token too long for the room beside its key goes on its own indented line."""
    rows = list(rows)
    key_size = max((len(k) for k, _ in rows), default=0)
    out: list[str] = []
    for key, value in rows:
        lead = key.ljust(key_size) + GAP
        if width is None or len(lead) + len(value) <= width:
            out.append((lead + value).rstrip())
        elif len(lead) + _longest_token(value) <= width:
            lines = _wrap(value, width - len(lead))
            out.append(lead + lines[0])
            out.extend(" " * len(lead) + line for line in lines[1:])
        else:
            out.append(key)
            out.extend(_spilled(value, Column(key, prose=True), width))
    return "".join(line + "\n" for line in out)

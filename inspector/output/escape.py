"""The one function every image string passes through before it reaches a terminal.

Why: whoever built the image chose its file names, link targets, config strings and tags. Printed
raw, ``ESC ] 52`` writes the user's clipboard, ``ESC ] 0`` retitles the window, a CR or LF forges a
row of a listing, C1 ``0x9b`` is CSI on 8-bit terminals, and bidi overrides make a row read
differently from what it holds. ``escape`` shows every such character as a visible escape
(``\\x1b``, ``\\n``, ``\\u202e``), and bytes that were not UTF-8 (surrogate-escaped) as ``\\xNN``.
Backslashes are left alone: they cannot move the cursor, and names with them stay readable.

It also bounds what one value costs: a 16 MB label would take minutes to wrap into a table cell,
so text is cut at ``limit`` characters with "… N more characters" (JSON output keeps everything;
it escapes controls by itself and never comes here).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

#: Characters of a table cell shown before "… N more characters".
CELL_LIMIT = 1000
#: Characters of a path in a listing (Linux's PATH_MAX): a real path is never cut.
PATH_LIMIT = 4096
#: Items of a list (env) or keys of a mapping (labels) a table shows before "… and N more".
ITEM_LIMIT = 1000

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
#: Unicode categories that move the cursor, control the terminal or reorder text: controls (C0,
#: DEL, C1), format characters (bidi overrides and isolates, zero-width characters), surrogates
#: (bytes that were not UTF-8), and the line and paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})
_NOT_ASCII_PRINTABLE = re.compile(r"[^\x20-\x7e]")  # the characters that get a closer look
#: The same in ``json.dumps`` output, where a raw C0 control is only ever whitespace between tokens.
_NOT_ASCII_OR_DEL = re.compile(r"[^\x00-\x7e]")


class Safe(str):
    """Text ``clean`` escaped and cut: ``escape`` returns it unchanged, so a renderer that passes
    cleaned data to another never cuts a value twice."""


def escape(text: str, limit: int | None = CELL_LIMIT) -> str:
    """``text`` safe for a terminal: one line, no control or format character, at most ``limit``
    characters of it (``None``: no cut). Text ``clean`` made (``Safe``) is returned as it is."""
    if text.isprintable() and (limit is None or len(text) <= limit):  # the common case: two C calls
        return text
    if isinstance(text, Safe):
        return text
    more = 0
    if limit is not None and len(text) > limit:
        more = len(text) - limit
        text = text[:limit]
    if not text.isprintable():  # tab and LF are not printable either
        text = _NOT_ASCII_PRINTABLE.sub(_visible, text)
    return f"{text}… {more:,} more characters" if more else text


def unsafe(char: str) -> bool:
    """Whether a terminal could act on ``char`` instead of showing it."""
    return unicodedata.category(char) in _UNSAFE_CATEGORIES


def _visible(match: re.Match[str]) -> str:
    char = match.group()
    if not unsafe(char):
        return char
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    if 0xDC80 <= code <= 0xDCFF:  # a byte that was not UTF-8, surrogate-escaped when decoded
        return f"\\x{code - 0xDC00:02x}"
    if code < 0x100:  # C0, DEL, C1
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def json_text(document: str) -> str:
    """JSON text from ``json.dumps(..., ensure_ascii=False)`` with the characters a terminal acts on
    written as ``\\uXXXX`` escapes: the same JSON value, byte-identical when there are none.
    (``json.dumps`` escapes C0 controls itself, but passes DEL, C1 and bidi controls raw.)"""
    if document.isascii() and "\x7f" not in document:  # indented JSON has newlines: not isprintable()
        return document
    return _NOT_ASCII_OR_DEL.sub(_json_escape, document)


def _json_escape(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    if not unsafe(char):
        return char
    if code > 0xFFFF:  # JSON spells it as a UTF-16 surrogate pair
        code -= 0x10000
        return f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}"
    return f"\\u{code:04x}"


class More(Safe):
    """The "… and N more" marker that stands for the items of a list or mapping left out."""


#: How deep ``clean`` copies nested lists and mappings; deeper values show as ``NESTED`` in a table
#: (JSON keeps them whole). A config may nest a label's value 960 levels deep, as deep as the JSON
#: parser accepts: copied level by level, that exhausted the stack while drawing the summary.
CLEAN_DEPTH = 32
NESTED = "…"


def clean(value: Any, limit: int = CELL_LIMIT, depth: int = CLEAN_DEPTH) -> Any:
    """A copy of a report's JSON-shaped data fit for a table: every string (keys too) escaped and
    cut to ``limit``. Lists keep every item: where items are joined into one cell, ``head`` cuts."""
    if isinstance(value, str):
        return Safe(escape(value, limit))
    if isinstance(value, (dict, list, tuple)) and depth <= 0:
        return Safe(NESTED)
    if isinstance(value, dict):
        return {Safe(escape(k, limit)) if isinstance(k, str) else k: clean(v, limit, depth - 1)
                for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean(v, limit, depth - 1) for v in value]
    return value


def head(values: Iterable[Any], count: int = ITEM_LIMIT) -> list[Any]:
    """The first ``count`` of ``values`` and, when there were more, a ``More`` marker."""
    result: list[Any] = []
    left = 0
    for value in values:
        if len(result) < count:
            result.append(value)
        else:
            left += 1
    if left:
        result.append(More(f"… and {left:,} more"))
    return result

"""``--format json``: documented, stable shapes for scripts (see README, "JSON schema").

Strict JSON only: ``allow_nan=False`` (a config holding NaN or Infinity is refused when it is read,
so reaching it here is an error, never a bare ``NaN`` a strict parser rejects). Characters a
terminal would act on (DEL, C1, bidi controls) are written as ``\\uXXXX`` escapes: the same value
for a parser, harmless on a screen, and byte-identical output for every ordinary name.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from itertools import chain
from json.encoder import c_make_encoder, encode_basestring  # type: ignore[attr-defined]
from typing import IO, Any, TextIO

from ..errors import ImageFormatError
from ..fs.entry import Entry, OwnedEntry
from .escape import json_text


class JsonRenderer:
    def files(self, entries: Iterable[Entry], out: TextIO) -> None:
        """Stream the array entry by entry, so a million entries never sit in memory as text."""
        out.write("[")
        wrote = write_entries(entries, out, True)
        out.write("\n]\n" if wrote else "]\n")

    def files_from(self, listing: Callable[[int], Iterable[Entry]], total: Callable[[], int], out: TextIO,
                   jobs: int) -> None:
        """``files(listing(0), out)``, the entries written by two processes when there are many
        (``parallel.listing``: ``listing(n)`` gives them from the ``n``-th on; ``total()`` about how many)."""
        from ..parallel.listing import write_listing

        out.write("[")
        wrote = write_listing(listing, total, write_entries, out, jobs)
        out.write("\n]\n" if wrote else "]\n")


def write_entries(entries: Iterable[Entry], out: TextIO, first: bool) -> bool:
    """The array's elements, each after its separator (``first``: none is written before them).
    True if any was written."""
    wrote = False
    write, text = out.write, entry_text
    for entry in entries:
        write(("\n  " if first else ",\n  ") + text(entry))  # one write an entry, not two
        first = False
        wrote = True
    return wrote


def entry_text(entry: Entry) -> str:
    """``dumps(entry.to_json())``, byte for byte, without the dict and the encoder's walk of it.

    ``--files`` writes one object per entry of the image: building each dict and encoding it cost
    5.7 µs an entry, this 1.2 µs. Strings go through the encoder's own C escaping
    (``encode_basestring``) and the whole line through ``json_text``, as ``dumps`` does; numbers are
    the node's ints. ``tests/test_files_json.py`` holds both spellings equal for hostile names.
    """
    kind = type(entry)
    mtime = entry.mtime
    if (kind is not Entry and kind is not OwnedEntry) or (mtime is not None and type(mtime) is not int):
        # a subclass may say more (its own to_json); a time that is not an int (a float NaN set by a
        # library caller) goes through the encoder's checks: strict JSON or an error, never "nan"
        return dumps(entry.to_json())
    xattrs = entry.xattrs
    device = entry.device
    text = (f'{{"path": {encode_basestring(entry.path)}, "type": {_quoted(entry.type)}, '
            f'"mode": "{entry.mode:04o}", "uid": {entry.uid}, "gid": {entry.gid}, "size": {entry.size}, '
            f'"target": {_string_or_null(entry.target)}, "hardlink_to": {_string_or_null(entry.hardlink_to)}, '
            f'"layer": {entry.layer}, "mtime": {"null" if mtime is None else mtime}, '
            f'"xattrs": {_xattrs_text(xattrs) if xattrs else "{}"}, '
            f'"device": {f"[{device[0]}, {device[1]}]" if device else "null"}')
    if isinstance(entry, OwnedEntry):
        text += (f', "package": {_string_or_null(entry.package)}, '
                 f'"layer_created_by": {_string_or_null(entry.layer_created_by)}')
    return json_text(text + "}")


_KINDS = {kind: encode_basestring(kind) for kind in ("file", "dir", "symlink", "char", "block", "fifo")}


def _quoted(text: str) -> str:
    return _KINDS.get(text) or encode_basestring(text)


def _string_or_null(text: str | None) -> str:
    return "null" if text is None else encode_basestring(text)


def _xattrs_text(xattrs: dict[str, bytes]) -> str:
    pairs = (f'{encode_basestring(name)}: "{value.hex()}"' for name, value in sorted(xattrs.items()))
    return "{" + ", ".join(pairs) + "}"


def dumps(value: Any) -> str:
    """One canonical spelling, so identical images give identical bytes whatever the source."""
    try:
        return json_text(_CANONICAL.encode(value))
    except ValueError as exc:
        raise _inexpressible(exc) from exc


#: ``dumps``'s encoder, made once: ``--files`` writes one object per entry of the image.
_CANONICAL = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(", ", ": "))


def document(value: Any) -> str:
    """A whole report, indented for people who read it too."""
    return "".join(_document_pieces(value))


def write_document(value: Any, out: IO[str]) -> None:
    """``document(value)`` and a newline written to ``out``, all or nothing: a value JSON cannot
    express raises before the first byte is written."""
    pieces = _document_pieces(value)
    pieces.append("\n")
    out.writelines(pieces)


def write_array(items: Iterable[Any], out: IO[str]) -> None:
    """``write_document(list(items), out)``, byte for byte, holding one item at a time: a view of
    every executable of a million-file image held them all as dicts, then as text (313 MB at peak).
    Each item is encoded as the document's encoder would at the array's depth (its lines two
    spaces in: a JSON string holds no raw newline); an item JSON cannot express raises before
    that item is written."""
    first = True
    for item in items:
        text = "".join(_document_pieces(item)).replace("\n", "\n  ")
        out.write(("[\n  " if first else ",\n  ") + text)
        first = False
    out.write("[]\n" if first else "\n]\n")


#: Parts joined into one piece of ``document``. ``json.dumps`` with an indent holds every token
#: (about four per value) in one list before joining them: 170 MB for the summary of an image of a
#: million files, against 12 MB of text.
_PARTS_PER_PIECE = 4096
def _boolean(value: bool) -> str:
    return "true" if value else "false"


def _null(value: None) -> str:
    return "null"


#: How the encoder spells a scalar of each exact type laid out here (``int.__repr__`` raises the
#: encoder's own ValueError for an int of more digits than Python prints). Not ``float``: the C and
#: the indenting encoder word a NaN's error differently. Not subclasses: they may encode otherwise.
_SPELLING: dict[type, Callable[[Any], str]] = {str: encode_basestring, int: int.__repr__, bool: _boolean,
                                               type(None): _null}
#: The same types: a flat container of them is one call of the C encoder, which spells them alike.
_SCALARS = frozenset(_SPELLING)
#: Containers nested deeper than this are left whole to the standard encoder (a config's label
#: may nest 960 levels deep: its recursion, its errors).
_FAST_DEPTH = 32


def _document_pieces(value: Any) -> list[str]:
    """``json.dumps(value, ensure_ascii=False, allow_nan=False, indent=2)`` through ``json_text``,
    byte for byte, as pieces of text.

    The standard encoder indents in Python, a generator step per token: 0.31 s for the summary of a
    million-file image (0.23 s this way), whose 91,576 unowned executables are each a small mapping
    of strings and numbers. A mapping or list of such scalars is one call of the C encoder here,
    given the indent as its item separator (a JSON string holds no raw newline, so the layout cannot
    differ); the containers around them are walked here, a scalar among them spelled where it
    stands, and anything else (a float, a subclass, a key that is not a string, deep nesting) is the
    standard encoder's, indented to its place.
    """
    parts: list[str] = []
    pieces: list[str] = []
    try:
        _encode(value, 0, parts, pieces)
        if parts:
            pieces.append(json_text("".join(parts)))
    except ValueError as exc:
        raise _inexpressible(exc) from exc
    return pieces


#: A newline and the indent of each level ``_encode`` reaches (it lays out nothing deeper).
_PADS = ["\n" + "  " * level for level in range(_FAST_DEPTH + 2)]


def _flat_encoder(level: int) -> Callable[[Any], str]:
    """The C encoder for a flat container whose items stand at ``level``: its text, or a ValueError."""
    encoder = _FLAT.get(level)
    if encoder is None:
        items = _items_encoder(level)
        encoder = _FLAT[level] = lambda value: "".join(items(value, False))
    return encoder


def _items_encoder(level: int) -> Callable[[Any, bool], Iterable[str]]:
    """The C encoder whose item separator is a comma and the indent of ``level``: its text in parts."""
    encoder = _ITEMS.get(level)
    if encoder is None:
        separator = "," + _PADS[level]
        if c_make_encoder is None:  # pragma: no cover - CPython always has _json
            encoder = json.JSONEncoder(ensure_ascii=False, allow_nan=False, separators=(separator, ": ")).iterencode
        else:
            encoder = c_make_encoder(None, None, encode_basestring, None, ": ", separator, False, False, False)
        _ITEMS[level] = encoder
    return encoder


_ITEMS: dict[int, Callable[[Any, bool], Iterable[str]]] = {}
_FLAT: dict[int, Callable[[Any], str]] = {}
_STR = frozenset({str})
_DICT = frozenset({dict})


def _encode(value: Any, level: int, parts: list[str], pieces: list[str]) -> None:
    kind = type(value)
    spell = _SPELLING.get(kind)
    if spell is not None:
        parts.append(spell(value))
    elif kind is dict and level < _FAST_DEPTH and _STR.issuperset(map(type, value)):
        if not value:
            parts.append("{}")
        elif _SCALARS.issuperset(map(type, value.values())):
            parts.append("{" + _PADS[level + 1] + _flat_encoder(level + 1)(value)[1:-1] + _PADS[level] + "}")
        else:
            inner, opening = _PADS[level + 1], "{"
            for key, item in value.items():
                spell = _SPELLING.get(type(item))
                if spell is not None:  # a scalar among containers: spelled here, no call
                    parts.append(opening + inner + encode_basestring(key) + ": " + spell(item))
                else:
                    parts.append(opening + inner + encode_basestring(key) + ": ")
                    _encode(item, level + 1, parts, pieces)
                opening = ","
            parts.append(_PADS[level] + "}")
    elif (kind is list or kind is tuple) and level < _FAST_DEPTH:
        if not value:
            parts.append("[]")
        elif _SCALARS.issuperset(map(type, value)):
            parts.append("[" + _PADS[level + 1] + _flat_encoder(level + 1)(value)[1:-1] + _PADS[level] + "]")
        elif len(value) > 1 and _flat_mappings(value):  # _PADS reaches level + 2: level < _FAST_DEPTH here
            _rows(value, level, parts, pieces)
        else:
            inner, opening = _PADS[level + 1], "["
            for item in value:
                spell = _SPELLING.get(type(item))
                if spell is not None:
                    parts.append(opening + inner + spell(item))
                else:
                    parts.append(opening + inner)
                    _encode(item, level + 1, parts, pieces)
                opening = ","
            parts.append(_PADS[level] + "]")
    else:
        text = "".join(_INDENTED.iterencode(value))
        parts.append(text.replace("\n", _PADS[level]) if level else text)
    if len(parts) >= _PARTS_PER_PIECE:
        pieces.append(json_text("".join(parts)))
        parts.clear()


def _flat_mappings(value: list[Any] | tuple[Any, ...]) -> bool:
    """Every item a non-empty dict of string keys and scalar values (``_rows`` lays them out):
    checked by C loops over the items, their keys and their values, no call per item."""
    return _DICT.issuperset(map(type, value)) and all(value) \
        and _STR.issuperset(map(type, chain.from_iterable(value))) \
        and _SCALARS.issuperset(map(type, chain.from_iterable(map(dict.values, value))))


def _rows(value: list[Any] | tuple[Any, ...], level: int, parts: list[str], pieces: list[str]) -> None:
    """A list (at ``level``) of non-empty flat mappings, laid out as ``_encode`` lays out each, into
    ``pieces``: one call of the C encoder per ``_ROWS_PER_CALL`` of them, its item separator the
    mappings' own (a comma, a newline, their keys' indent), then the separators between two
    mappings laid out as the list's. A string holds no raw newline, and only a separator between
    two mappings follows a ``}`` (between keys, it follows a scalar). The summary's 91,576 unowned
    executables of a million-file image: 0.21 -> 0.12 s; in parts of a few hundred kilobytes, so
    the text is never copied whole."""
    if parts:
        pieces.append(json_text("".join(parts)))
        parts.clear()
    outer, inner = _PADS[level + 1], _PADS[level + 2]
    between = outer + "}," + outer + "{" + inner
    encode = _items_encoder(level + 2)
    opening = "[" + outer + "{" + inner
    for start in range(0, len(value), _ROWS_PER_CALL):
        text = "".join(encode(value[start:start + _ROWS_PER_CALL], False))
        pieces.append(json_text(opening + text[2:-2].replace("}," + inner + "{", between)))
        opening = between
    parts.append(outer + "}" + _PADS[level] + "]")


#: Mappings per call of the C encoder in ``_rows``: about 200 KB of text.
_ROWS_PER_CALL = 2048


#: The standard, indenting encoder, for what ``_encode`` does not lay out itself.
_INDENTED = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=2)


def _inexpressible(exc: ValueError) -> ImageFormatError:
    """NaN or Infinity got past the readers: refused, never emitted as a bare ``NaN``."""
    return ImageFormatError(f"the image holds a number JSON cannot express ({exc})")

"""``--format json``: documented, stable shapes for scripts (see README, "JSON schema").

Strict JSON only: ``allow_nan=False`` (a config holding NaN or Infinity is refused when it is read,
so reaching it here is an error, never a bare ``NaN`` a strict parser rejects). Characters a
terminal would act on (DEL, C1, bidi controls) are written as ``\\uXXXX`` escapes: the same value
for a parser, harmless on a screen, and byte-identical output for every ordinary name.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from itertools import islice
from typing import IO, Any, TextIO

from ..errors import ImageFormatError
from ..fs.entry import Entry
from .escape import json_text


class JsonRenderer:
    def files(self, entries: Iterable[Entry], out: TextIO) -> None:
        """Stream the array entry by entry, so a million entries never sit in memory as text."""
        out.write("[")
        first = True
        for entry in entries:
            out.write("\n  " if first else ",\n  ")
            out.write(dumps(entry.to_json()))
            first = False
        out.write("\n]\n" if not first else "]\n")


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


#: Tokens joined into one piece of ``document``. ``json.dumps`` with an indent holds every token
#: (about four per value) in one list before joining them: 170 MB for the summary of an image of a
#: million files, against 12 MB of text.
_TOKENS_PER_PIECE = 8192


def _document_pieces(value: Any) -> list[str]:
    tokens = json.JSONEncoder(ensure_ascii=False, allow_nan=False, indent=2).iterencode(value)
    pieces = []
    try:
        while piece := "".join(islice(tokens, _TOKENS_PER_PIECE)):
            pieces.append(json_text(piece))
    except ValueError as exc:
        raise _inexpressible(exc) from exc
    return pieces


def _inexpressible(exc: ValueError) -> ImageFormatError:
    """NaN or Infinity got past the readers: refused, never emitted as a bare ``NaN``."""
    return ImageFormatError(f"the image holds a number JSON cannot express ({exc})")

"""``--format json``: documented, stable shapes for scripts (see README, "JSON schema")."""

from __future__ import annotations

import json
from typing import Any, Iterable, TextIO

from ..fs.entry import Entry


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
    return json.dumps(value, ensure_ascii=False, sort_keys=False, separators=(", ", ": "))

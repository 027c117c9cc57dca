"""What every output format can render. The CLI picks a renderer; renderers only format."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol, TextIO

from ..fs.entry import Entry


class Renderer(Protocol):
    """One output format (``table`` or ``json``)."""

    def files(self, entries: Iterable[Entry], out: TextIO) -> None:
        """The ``--files`` listing, entries already sorted by path."""

"""What every output format can render. The CLI picks a renderer; renderers only format."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, TextIO

from ..fs.entry import Entry


class Renderer(Protocol):
    """One output format (``table`` or ``json``)."""

    def files(self, entries: Iterable[Entry], out: TextIO) -> None:
        """The ``--files`` listing, entries already sorted by path."""

    def files_from(self, listing: Callable[[int], Iterable[Entry]], total: Callable[[], int], out: TextIO,
                   jobs: int) -> None:
        """``files(listing(0), out)``; ``listing(n)`` gives the entries from the ``n``-th on and
        ``total()`` counts about how many there are, so that up to ``jobs`` processes may write it."""

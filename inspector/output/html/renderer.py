"""``html`` among the output formats: a page for the summary and for ``diff``, nothing else.

The ``--files`` listing is not a page: a million names on one page would help nobody, and a
bounded one would hide what was asked for. The CLI refuses ``--format html`` with any view (exit
2) before it reads the image; this renderer only keeps that promise if it is ever reached.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TextIO

from ...errors import InspectorError
from ...fs.entry import Entry


class HtmlRenderer:
    def files(self, entries: Iterable[Entry], out: TextIO) -> None:
        raise InspectorError("--format html is a page for the whole image (or a diff): "
                             "use --format table or json for --files")

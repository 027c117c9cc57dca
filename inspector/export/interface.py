"""Where an export goes: a directory or a tar. The exporter calls these in a safe order:
every directory, link and special file first, then file contents as the layers stream past,
then ``finish`` (which applies directory modes last, so read-only directories can be filled)."""

from __future__ import annotations

from typing import IO, Protocol

from ..fs.entry import Entry


class ExportWriter(Protocol):
    def directory(self, relative: str, entry: Entry) -> None: ...

    def symlink(self, relative: str, entry: Entry) -> None: ...

    def special(self, relative: str, entry: Entry) -> None:
        """A device node or FIFO."""

    def file(self, relative: str, entry: Entry, content: IO[bytes] | None) -> None:
        """A regular file; ``content`` None means empty."""

    def hardlink(self, relative: str, entry: Entry, first: str) -> None:
        """Another name for the file already written at ``first``."""

    def finish(self) -> None: ...

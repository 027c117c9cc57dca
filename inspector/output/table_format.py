"""``--format table``: what people read in a terminal."""

from __future__ import annotations

import stat
from collections.abc import Callable, Iterable
from typing import TextIO

from ..fs.entry import Entry
from .escape import PATH_LIMIT, escape

_TYPE_BITS = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK, "char": stat.S_IFCHR,
              "block": stat.S_IFBLK, "fifo": stat.S_IFIFO}


class TableRenderer:
    def files(self, entries: Iterable[Entry], out: TextIO) -> None:
        """An ``ls -l``-like listing, written line by line (tabulate would hold every row in memory).
        Names and link targets are the image's: escaped, so none can forge a row or drive the terminal."""
        write_lines(entries, out, True)

    def files_from(self, listing: Callable[[int], Iterable[Entry]], total: Callable[[], int], out: TextIO,
                   jobs: int) -> None:
        """``files(listing(0), out)``, written by two processes when long (``parallel.listing``)."""
        from ..parallel.listing import write_listing

        write_listing(listing, total, write_lines, out, jobs)


def write_lines(entries: Iterable[Entry], out: TextIO, first: bool = True) -> bool:
    """One line per entry (``first`` changes nothing: lines need no separator). True if any."""
    wrote = False
    for entry in entries:
        size = f"{entry.device[0]}, {entry.device[1]}" if entry.device else str(entry.size)
        line = f"{mode_string(entry)} {entry.uid:>5} {entry.gid:>5} {size:>10}  {escape(entry.path, PATH_LIMIT)}"
        if entry.target is not None:
            line += f" -> {escape(entry.target, PATH_LIMIT)}"
        elif entry.hardlink_to is not None:
            line += f" link to {escape(entry.hardlink_to, PATH_LIMIT)}"
        out.write(line + "\n")
        wrote = True
    return wrote


def mode_string(entry: Entry) -> str:
    """``drwxr-xr-x``, ``-rwsr-xr-x``: the permission string ``ls -l`` prints."""
    return filemode(entry.type, entry.mode)


def filemode(kind: str, bits: int) -> str:
    """``ls -l``'s mode string for an entry type (``file``, ``symlink``, …) and its permission bits;
    for reports that carry an entry as JSON data, not as an ``Entry``."""
    return stat.filemode(_TYPE_BITS.get(kind, 0) | bits)

"""``--format table``: what people read in a terminal."""

from __future__ import annotations

import stat
from typing import Iterable, TextIO

from ..fs.entry import Entry

_TYPE_BITS = {"file": stat.S_IFREG, "dir": stat.S_IFDIR, "symlink": stat.S_IFLNK, "char": stat.S_IFCHR,
              "block": stat.S_IFBLK, "fifo": stat.S_IFIFO}


class TableRenderer:
    def files(self, entries: Iterable[Entry], out: TextIO) -> None:
        """An ``ls -l``-like listing, written line by line (tabulate would hold every row in memory)."""
        for entry in entries:
            size = f"{entry.device[0]}, {entry.device[1]}" if entry.device else str(entry.size)
            line = f"{mode_string(entry)} {entry.uid:>5} {entry.gid:>5} {size:>10}  {entry.path}"
            if entry.target is not None:
                line += f" -> {entry.target}"
            elif entry.hardlink_to is not None:
                line += f" link to {entry.hardlink_to}"
            out.write(line + "\n")


def mode_string(entry: Entry) -> str:
    """``drwxr-xr-x``, ``-rwsr-xr-x``: the permission string ``ls -l`` prints."""
    return stat.filemode(_TYPE_BITS.get(entry.type, 0) | entry.mode)

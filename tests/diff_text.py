"""Reading the diff's table output back: the summary block that opens it (issue 13)."""

from __future__ import annotations

import re


def summary_block(lines: list[str]) -> dict[str, str]:
    """``label -> text`` of the block between the ``---``/``+++`` header and the first blank line
    (continuation lines, indented, joined to their label's text)."""
    assert lines[0].startswith("--- ") and lines[1].startswith("+++ ") and lines[2] == ""
    block: dict[str, str] = {}
    label = ""
    for line in lines[3:]:
        if not line:
            break
        match = re.match(r"(\S+(?: \S+)?)\s{2,}(.*)", line)
        if re.fullmatch(r"[a-z]+(?: [a-z]+)?", line):  # a label whose value is spilled to lines below
            label = line
            block[label] = ""
        elif line.startswith(" ") or not match:
            block[label] = (block[label] + " " + line.strip()).strip()
        else:
            label = match.group(1)
            block[label] = match.group(2)
    return block

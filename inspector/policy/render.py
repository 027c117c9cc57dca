"""Findings as the terminal sees them: one escaped line each, bounded in number.

Why escaped: a finding's path and evidence quote file names, link targets, config strings and
build steps the image chose; printed raw, a name could forge a line or drive the terminal
(``output.escape``). JSON output (``Finding.to_json``) keeps them exact.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from ..output.escape import PATH_LIMIT, escape
from .rules import Finding

#: Lines printed before "… and N more findings": a hostile image can cause one per entry.
MAX_LINES = 1000
PREFIX = "inspect-image: policy: "


def finding_line(finding: Finding) -> str:
    """``RULE PATH: EVIDENCE`` (``RULE: EVIDENCE`` without a path), every image string escaped."""
    where = f" {escape(finding.path, PATH_LIMIT)}" if finding.path is not None else ""
    return f"{finding.rule}{where}: {escape(finding.evidence)}"


def finding_lines(findings: Iterable[Finding], limit: int = MAX_LINES) -> Iterator[str]:
    """Each finding's line with ``PREFIX``, at most ``limit`` of them, then one line counting the rest."""
    shown = more = 0
    for finding in findings:
        if shown < limit:
            shown += 1
            yield PREFIX + finding_line(finding)
        else:
            more += 1
    if more:
        yield f"{PREFIX}… and {more:,} more findings (--format json lists them all)"


def attach(data: Any, findings: list[Finding]) -> Any:
    """``data`` with a ``findings`` list when it is a JSON object; a list or other value unchanged."""
    if isinstance(data, dict):
        return {**data, "findings": [finding.to_json() for finding in findings]}
    return data

"""``--shard I/N``: which images this process audits, so N processes share a list with no coordinator.

An image belongs to shard ``sha256(reference) mod N``: every shard decides alone, from the reference
only, so the shards of one list never overlap and together cover it, even when each shard expanded
a registry's tag list itself. A Kubernetes Indexed Job gives each pod ``JOB_COMPLETION_INDEX``; the
Job's manifest passes its completion count as ``JOB_COMPLETIONS`` (README, "Auditing many images").
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass

from ..errors import InspectorError

MAX_SHARDS = 1_000_000
_SHARD = re.compile(r"([0-9]{1,7})/([0-9]{1,7})\Z")


@dataclass(frozen=True)
class Shard:
    index: int
    count: int

    def holds(self, reference: str) -> bool:
        digest = hashlib.sha256(reference.encode("utf-8", "surrogateescape")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index


def parse_shard(text: str, what: str = "--shard") -> Shard:
    match = _SHARD.match(text.strip())
    if not match:
        raise InspectorError(f"{what} {text[:40]!r}: expected I/N, e.g. 0/4")
    index, count = int(match[1]), int(match[2])
    if not 0 < count <= MAX_SHARDS or not 0 <= index < count:
        raise InspectorError(f"{what} {text[:40]!r}: I must be at least 0 and less than N (N from 1 to {MAX_SHARDS:,})")
    return Shard(index, count)


def choose_shard(option: str | None, environ: Mapping[str, str]) -> Shard | None:
    """``--shard`` if given, else ``JOB_COMPLETION_INDEX``/``JOB_COMPLETIONS`` if set, else None."""
    if option is not None:
        return parse_shard(option)
    index, count = environ.get("JOB_COMPLETION_INDEX"), environ.get("JOB_COMPLETIONS")
    if index is None and count is None:
        return None
    if index is None or count is None:
        raise InspectorError("JOB_COMPLETION_INDEX and JOB_COMPLETIONS go together: set both "
                             "(JOB_COMPLETIONS to the Job's completions), or pass --shard I/N")
    return parse_shard(f"{index}/{count}", "JOB_COMPLETION_INDEX/JOB_COMPLETIONS")

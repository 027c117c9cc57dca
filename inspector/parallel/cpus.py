"""How many processes to run at once by default: the CPUs this process may use."""

from __future__ import annotations

import os


def default_jobs() -> int:
    """The CPUs this process may use (a container's CPU set, not the host's count)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)

"""Scanning one image's layers on two CPUs: a helper process scans layers from the top of the stack
down while this process scans from the base up, and this process merges them all in stack order.

``start_helper`` decides whether a helper is worth starting (several CPUs, a source that can hand
out any layer alone, enough bytes above the base) and returns an ``fs.LayerHelper`` or None.
"""

from __future__ import annotations

from .helper import ProcessHelper, start_helper
from .job import Job, NamedProbe

__all__ = ["Job", "NamedProbe", "ProcessHelper", "start_helper"]

"""Scanning one image's layers on two CPUs: a helper process scans layers from the top of the stack
down while this process scans from the base up, and this process merges them all in stack order.

``start_helper`` decides whether a helper is worth starting (several CPUs, a source that can hand
out any layer alone, enough bytes above the base) and returns an ``fs.LayerHelper`` or None.
"""

from __future__ import annotations

from ..lazy import lazy_exports

__getattr__ = lazy_exports(__name__, {"ProcessHelper": ".helper", "start_helper": ".helper",
                                      "Job": ".job", "NamedProbe": ".job", "default_jobs": ".cpus"})

__all__ = ["Job", "NamedProbe", "ProcessHelper", "default_jobs", "start_helper"]

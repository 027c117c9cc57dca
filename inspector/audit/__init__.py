"""``inspect-image audit``: many images, each shared layer read once, one JSON line per image.

A fleet is mostly shared bases, so the audit runs in three phases (``run.audit``): read every
image's manifest and config (kilobytes), scan each unique layer once into the per-layer cache
(in parallel), then merge each image from that cache and write its line. The same task functions
(``tasks``) run on a local process pool or a Dask cluster (``executors``).
"""

from __future__ import annotations

from .run import AuditOptions, AuditTotals, audit

__all__ = ["AuditOptions", "AuditTotals", "audit"]

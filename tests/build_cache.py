"""Where slow-to-build test and benchmark inputs are kept between runs, and how a finished one is marked.

A build writes its output, then a ``.done`` marker beside it (holding a note, e.g. the recipe version):
an output without its marker is a build that was interrupted, and is built again.
"""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir(variable: str, default_name: str) -> Path:
    """``$variable`` if set, else ``~/.cache/default_name``; created if missing."""
    root = os.environ.get(variable)
    path = Path(root) if root else Path.home() / ".cache" / default_name
    path.mkdir(parents=True, exist_ok=True)
    return path


def marker(path: Path) -> Path:
    return path.with_name(path.name + ".done")


def is_built(path: Path) -> bool:
    return path.exists() and marker(path).exists()


def mark_built(path: Path, note: str = "") -> None:
    marker(path).write_text(note + "\n")

"""Which build step wrote which layer: the config's ``history``, aligned with the layers.

Each ``RUN``/``COPY`` that changed the filesystem has a history entry and a layer; steps that did
not (``ENV``, ``CMD``, ...) have an entry marked ``empty_layer`` and no layer. So the i-th entry
that is not ``empty_layer`` describes layer i. The config is untrusted: anything that is not a
list of objects with string ``created_by`` values reads as unknown (None), never as an error.
"""

from __future__ import annotations

from typing import Any

MAX_CREATED_BY = 4096  # characters kept of one step's command


def layer_created_by(config: dict[str, Any], layers: int) -> list[str | None]:
    """``created_by`` for each of ``layers`` layers, None where the history does not say."""
    history = config.get("history")
    aligned: list[str | None] = []
    if isinstance(history, list):
        for item in history:
            if len(aligned) >= layers:
                break
            if not isinstance(item, dict) or item.get("empty_layer") is True:
                continue
            created_by = item.get("created_by")
            aligned.append(created_by[:MAX_CREATED_BY] if isinstance(created_by, str) else None)
    return aligned + [None] * (layers - len(aligned))

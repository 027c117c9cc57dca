"""Output formats. Each renders the same objects; none computes anything."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .interface import Renderer

#: Each format's renderer class, as ``module:Class`` under this package: imported only when used.
_RENDERERS: dict[str, str] = {"table": ".table_format:TableRenderer", "json": ".json_format:JsonRenderer"}
#: The ``--format`` choices. ``html`` is a page for the summary and diff (``output/html``), not a
#: renderer: the CLI writes those pages itself and refuses ``html`` with any other view.
FORMATS: tuple[str, ...] = (*_RENDERERS, "html")


def renderer(name: str) -> Renderer:
    module, _, cls = _RENDERERS[name].partition(":")
    made: Renderer = getattr(importlib.import_module(module, __name__), cls)()
    return made

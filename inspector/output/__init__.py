"""Output formats. Each renders the same objects; none computes anything."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .interface import Renderer

#: Each format's renderer class, as ``module:Class`` under this package: imported only when used.
#: ``html`` renders the summary and diff as one page each (``output/html``); the CLI refuses it for other views.
FORMATS: dict[str, str] = {"table": ".table_format:TableRenderer", "json": ".json_format:JsonRenderer",
                           "html": ".html.renderer:HtmlRenderer"}


def renderer(name: str) -> Renderer:
    module, _, cls = FORMATS[name].partition(":")
    made: Renderer = getattr(importlib.import_module(module, __name__), cls)()
    return made

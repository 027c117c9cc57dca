"""Output formats. Each renders the same objects; none computes anything."""

from __future__ import annotations

from collections.abc import Callable

from .html.renderer import HtmlRenderer
from .interface import Renderer
from .json_format import JsonRenderer
from .table_format import TableRenderer

#: ``html`` renders the summary and diff as one page each (``output/html``); the CLI refuses it for other views.
FORMATS: dict[str, Callable[[], Renderer]] = {"table": TableRenderer, "json": JsonRenderer, "html": HtmlRenderer}


def renderer(name: str) -> Renderer:
    return FORMATS[name]()

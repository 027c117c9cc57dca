"""Output formats. Each renders the same objects; none computes anything."""

from __future__ import annotations

from collections.abc import Callable

from .interface import Renderer
from .json_format import JsonRenderer
from .table_format import TableRenderer

FORMATS: dict[str, Callable[[], Renderer]] = {"table": TableRenderer, "json": JsonRenderer}


def renderer(name: str) -> Renderer:
    return FORMATS[name]()

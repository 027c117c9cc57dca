"""Where images come from. ``open_image`` turns anything the user may type into an ``Image``.

The names below are imported when first used (``inspector.lazy``): the engine client, the archive
readers and the registry client cost nothing to a command that does not open an image.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports

if TYPE_CHECKING:
    from .engine_options import EngineOptions
    from .interface import Image, ImageMeta, LayerInfo, LayerScanner
    from .opener import open_image
    from .platforms import Platform
    from .reference import Reference, parse

__all__ = ["EngineOptions", "Image", "ImageMeta", "LayerInfo", "LayerScanner", "Platform", "Reference", "open_image",
           "parse"]

__getattr__ = lazy_exports(__name__, {
    "EngineOptions": ".engine_options", "Image": ".interface", "ImageMeta": ".interface", "LayerInfo": ".interface",
    "LayerScanner": ".interface", "open_image": ".opener", "Platform": ".platforms", "Reference": ".reference",
    "parse": ".reference",
})

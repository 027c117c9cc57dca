"""inspect-image: show what is inside a container image without running it.

The Python API, over the same objects the command line uses::

    import inspector

    with inspector.open_image("docker-archive:app.tar") as image:
        fs = inspector.build_filesystem(image)
        print(image.meta.config["config"].get("Entrypoint"))
        for entry in fs.entries("/usr/bin"):
            print(entry.path, entry.type, entry.mode_octal)
"""

from __future__ import annotations

__version__ = "0.1.0"

TYPE_CHECKING = False  # not imported from typing: ``inspect-image --version`` should not pay for it

from .errors import ImageFormatError, InspectorError, VerificationError  # noqa: E402
from .lazy import lazy_exports  # noqa: E402

if TYPE_CHECKING:
    from .fs import Entry, MergedFS, build_filesystem
    from .sources import Image, ImageMeta, LayerInfo, open_image

__all__ = [
    "Entry", "Image", "ImageFormatError", "ImageMeta", "InspectorError", "LayerInfo", "MergedFS",
    "VerificationError", "__version__", "build_filesystem", "open_image",
]

# Imported on first use: ``inspect-image --version`` reads only this file and the command line's.
__getattr__ = lazy_exports(__name__, {
    "Entry": ".fs", "MergedFS": ".fs", "build_filesystem": ".fs",
    "Image": ".sources", "ImageMeta": ".sources", "LayerInfo": ".sources", "open_image": ".sources",
})

"""``inspect-image cat IMAGE PATH``: one file of the merged view, to stdout."""

from __future__ import annotations

import shutil
from typing import IO

from ..errors import BadReferenceError
from ..fs import build_filesystem
from ..fs.links import follow
from ..fs.node import FILE
from ..limits import DEFAULT, Limits
from ..sources.interface import Image, LayerInfo
from .origins import Origin, copy_members, origin_probe
from .topdown import merged_for_path


def cat_file(image: Image, path: str, out: IO[bytes], limits: Limits = DEFAULT) -> str:
    """Write the content of ``path`` (symlinks followed inside the image only); return its real path."""
    fs = merged_for_path(image, path, limits)  # the top layers first, when each can be read alone
    if fs is None:
        fs = build_filesystem(image, probe=origin_probe, limits=limits)
    resolution = follow(fs, path)
    node = resolution.node
    if node is None or resolution.path is None:
        raise BadReferenceError(resolution.problem or f"{path} does not exist in the image")
    if node.kind != FILE:
        raise BadReferenceError(f"{resolution.path} is a {node.kind}, not a file")
    origin = node.content
    if not isinstance(origin, Origin):
        return resolution.path  # an empty stand-in for a hardlink to nothing: no bytes to write

    def consume(_info: LayerInfo, stream: IO[bytes]) -> None:
        copy_members(stream, {origin.offset}, lambda _offset, handle: shutil.copyfileobj(handle, out, 1 << 20))

    image.read_layers({origin.layer}, consume)
    return resolution.path

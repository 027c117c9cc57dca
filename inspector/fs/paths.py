"""Member names as tar writers spell them, reduced to one canonical form."""

from __future__ import annotations

import posixpath

from ..errors import ImageFormatError

_UNCLEAN_FIRST = frozenset("/.")  #: a name starting so may need cleaning


def normalize(name: str) -> tuple[str, ...]:
    """Split a member name into path components below the root.

    ``./a``, ``a/``, ``/a`` and ``a//b/../a`` all name the same file: strip leading slashes, clean
    the path as the engine does, and return ``()`` for the root itself. A name that climbs out of
    the root is refused, as the engine refuses it ("breakout").

    The usual name has nothing to clean (no leading ``/`` or ``.``, no ``//``, no ``/.`` so no ``.``
    or ``..`` component, no NUL) and is split directly: the layer scan calls this once per member.
    """
    if name and name[0] not in _UNCLEAN_FIRST and "//" not in name and "/." not in name and "\x00" not in name:
        return tuple(name.rstrip("/").split("/"))
    if "\x00" in name:
        raise ImageFormatError(f"member name contains a NUL byte: {name!r}")
    cleaned = posixpath.normpath("/" + name.lstrip("/"))
    if cleaned == "/":
        return ()
    parts = tuple(cleaned[1:].split("/"))
    if ".." in parts:  # pragma: no cover - normpath of an absolute path removes them
        raise ImageFormatError(f"member name escapes the image root: {name!r}")
    if _climbs_out(name):
        raise ImageFormatError(f"member name escapes the image root: {name!r}")
    return parts


def _climbs_out(name: str) -> bool:
    """True when a relative name goes above its root (``a/../../b``), which normpath would hide."""
    depth = 0
    for part in name.split("/"):
        if part == "..":
            depth -= 1
            if depth < 0:
                return True
        elif part not in ("", "."):
            depth += 1
    return False


def to_absolute(parts: tuple[str, ...]) -> str:
    """The path users read: ``/usr/bin/java``."""
    return "/" + "/".join(parts)

"""Following symlinks inside the image, step by step, so reports can show the chain and its faults."""

from __future__ import annotations

import posixpath
from dataclasses import dataclass, field

from .merge import MAX_SYMLINK_HOPS, PATH_MAX, MergedFS
from .node import SYMLINK, Node


@dataclass
class Resolution:
    """Where a path leads: every link on the way, the final path and node, or what went wrong."""

    chain: list[str] = field(default_factory=list)  # each path visited, the first one included
    path: str | None = None
    node: Node | None = None
    problem: str | None = None


def follow(fs: MergedFS, path: str) -> Resolution:
    """Follow ``path`` through symlinks inside the image; loops and dangling links are reported."""
    result = Resolution(chain=[path])
    current = path
    seen = {path}
    for _ in range(MAX_SYMLINK_HOPS + 1):
        found = fs.resolve(current, follow_last=False)
        if found is None:
            result.problem = f"{current} does not exist in the image"
            return result
        real, node = found
        if node.kind != SYMLINK:
            result.path, result.node = real, node
            return result
        target = node.target or ""
        if "\x00" in target or len(target) >= PATH_MAX:  # no kernel holds such a link, no engine extracts it
            why = "a NUL byte" if "\x00" in target else f"{len(target):,} bytes, past PATH_MAX"
            result.problem = f"{real} is a symlink whose target has {why}"
            return result
        current = posixpath.normpath(target if target.startswith("/")
                                     else posixpath.join(posixpath.dirname(real), target))
        if current.startswith("//"):
            current = current[1:]
        if current in seen:
            result.chain.append(current)
            result.problem = f"symlink loop: {' -> '.join(result.chain)}"
            return result
        seen.add(current)
        result.chain.append(current)
    result.problem = f"more than {MAX_SYMLINK_HOPS} symlinks from {path}"
    return result

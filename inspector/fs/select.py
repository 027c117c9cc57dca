"""What ``--files PATH`` lists: the entries ``ls -l PATH`` would show, in the merged view.

Why its own module: ``MergedFS`` answers for real paths; people type paths the way their shell
resolves them. Symlinks in the directories leading to PATH are followed inside the image
(``/bin/ls`` where ``/bin -> usr/bin``), the last component is not (``ls -l /bin`` shows the link;
``/bin/`` the directory), and entries are shown under the name asked for. Shell-style patterns
(``*``, ``?``, ``[...]`` within one name; ``**`` for any number of directories, symlinked ones not
entered, as bash's globstar) are matched against the merged view, never the host. A pattern
through looping links can name endlessly many paths, so the paths it may reach are bounded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from fnmatch import fnmatchcase
from itertools import islice, starmap
from typing import TypeVar

from ..errors import BadReferenceError
from .entry import Entry
from .merge import MergedFS
from .node import DIR, Node
from .paths import normalize, to_absolute

#: Paths a pattern may reach while it is expanded (30 links to "." and six ``*`` reach 30^6).
MAX_CANDIDATES = 1_000_000
#: What a listing is made of: ``Entry`` by default, ``OwnedEntry`` for ``--files --format json``.
E = TypeVar("E", bound=Entry)
_MAGIC = re.compile(r"[*?[]")


def select_entries(fs: MergedFS, spec: str,
                   make: Callable[[str, Node], E] = Entry.of,  # type: ignore[assignment]
                   start: int = 0) -> Iterator[E]:
    """The entries ``spec`` (a path or a pattern) names, each followed by its subtree, sorted by path;
    from the ``start``-th on (those before it are passed over without being made: see
    ``parallel.listing``).

    Checked before the first entry is returned, so a missing path or an empty match is an error
    before anything is written: ``BadReferenceError`` (exit 2).
    """
    paths, follow_last, _ = _named(fs, spec)
    return _made(_listing(fs, paths, follow_last), make, start)


def listing(fs: MergedFS, spec: str,
            make: Callable[[str, Node], E] = Entry.of,  # type: ignore[assignment]
            ) -> tuple[Callable[[int], Iterator[E]], Callable[[], int]]:
    """``select_entries`` from any entry on (``parallel.listing`` writes a long listing in two
    parts), and what counts about how many entries it holds, when asked: a path's, or 0 (unknown)
    for a pattern. Checked now, as ``select_entries`` is: a missing path fails before anything is
    written, and a pattern is expanded once."""
    paths, follow_last, pattern = _named(fs, spec)

    def from_entry(start: int) -> Iterator[E]:
        return _made(_listing(fs, paths, follow_last), make, start)

    def size() -> int:
        found = None if pattern else fs.resolve(paths[0], follow_last=follow_last)
        if found is None:
            return 0
        return fs.count() if found[0] == "/" else 1 + fs.count(found[1])

    return from_entry, size


def _named(fs: MergedFS, spec: str) -> tuple[list[str], bool, bool]:
    """The paths ``spec`` names (each checked to exist), whether their last link is followed (``ls -l
    /bin/`` lists what the link points to, ``ls -l /bin`` the link itself), and whether it was a pattern."""
    if not normalize(spec):
        return ["/"], False, False
    if _MAGIC.search(spec) and fs.resolve(spec, follow_last=False) is None:  # a literal name wins
        matches = _expand(fs, spec)
        if not matches:
            raise BadReferenceError(f"{spec}: the pattern matches nothing in the image")
        return _outermost(matches), False, True
    follow_last = spec.endswith("/") or spec.rstrip("/").endswith(("/.", "/.."))
    if fs.resolve(spec, follow_last=follow_last) is None:
        raise BadReferenceError(f"{spec} does not exist in the image")
    return [to_absolute(normalize(spec))], follow_last, False


def _made(listing: Iterator[tuple[str, Node]], make: Callable[[str, Node], E], start: int) -> Iterator[E]:
    return starmap(make, islice(listing, start, None) if start else listing)  # in C: no generator of ours


def _listing(fs: MergedFS, paths: list[str], follow_last: bool) -> Iterator[tuple[str, Node]]:
    """Each path and what is below it, under the name asked for (the real path may differ)."""
    for shown in paths:
        found = fs.resolve(shown, follow_last=follow_last)
        if found is None:  # pragma: no cover - every path was resolved before
            continue
        real = found[0]
        base, shown_base = real.rstrip("/"), shown.rstrip("/")
        if real == "/":  # "/bin/.." is the root: list what is below it, not the root itself
            yield from fs.walk("/") if not shown_base else ((shown_base + path, node) for path, node in fs.walk("/"))
            continue
        for path, node in fs.walk(real):
            yield shown_base + path[len(base):], node


def _expand(fs: MergedFS, pattern: str) -> list[str]:
    """Every existing path ``pattern`` matches, as spelled through the pattern; sorted."""
    parts = [part for part in pattern.split("/") if part not in ("", ".")]
    current = ["/"]
    reached = 0
    for index, part in enumerate(parts):
        last = index == len(parts) - 1
        following: list[str] = []
        for path in current:
            if part == "**":
                following.append(path)  # zero directories
                following.extend(_below(fs, path, dirs_only=not last))
            elif _MAGIC.search(part):
                found = fs.resolve(path)
                if found is not None and found[1].kind == DIR and found[1].children:
                    following.extend(_join(path, name) for name in found[1].children if fnmatchcase(name, part))
            else:
                following.append(_join(path, part))
            reached += len(following)
            if reached > MAX_CANDIDATES:
                raise BadReferenceError(f"{pattern}: the pattern reaches more than {MAX_CANDIDATES:,} paths "
                                        "(links that loop?); name a narrower one")
            following = following if len(following) < 2 else list(dict.fromkeys(following))
        current = following
    existing = {path for path in current if fs.resolve(path, follow_last=False) is not None}
    return sorted(existing, key=lambda path: path.split("/"))


def _below(fs: MergedFS, path: str, dirs_only: bool) -> Iterator[str]:
    """What is below ``path`` (its directories only, to continue a pattern from), not entering links."""
    found = fs.resolve(path)
    if found is None or found[1].kind != DIR:
        return
    real = found[0]
    base = real.rstrip("/")
    for below, node in fs.walk(real):
        if below != real and (not dirs_only or node.kind == DIR):
            yield _join(path, below[len(base) + 1:])


def _join(path: str, name: str) -> str:
    return f"{path.rstrip('/')}/{name}"


def _outermost(paths: list[str]) -> list[str]:
    """Leave out paths inside another match: its subtree lists them already (``/usr/**``)."""
    kept: list[str] = []
    for path in paths:
        if not kept or not path.startswith(kept[-1].rstrip("/") + "/"):
            kept.append(path)
    return kept

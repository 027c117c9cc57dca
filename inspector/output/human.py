"""Numbers as people read them in a table; JSON keeps the exact values.

Why: "494,528,000 bytes" has to be counted, "1 layers" reads as a bug, and a blank cell cannot be
told from a missing column. Sizes are printed as ``docker images`` prints them (decimal units,
three significant digits: ``489MB``, ``87.3MB``, ``12kB``), so the two can be compared at a
glance; unlike docker's, a value that rounds to 1000 moves to the next unit (``1MB``, never
``1e+03kB``).
"""

from __future__ import annotations

#: What every table shows for an empty or absent value.
EMPTY = "-"

_UNITS = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB")


def size(n: int) -> str:
    """``n`` bytes as docker prints them: ``0B``, ``512B``, ``12kB``, ``87.3MB``, ``489MB``, ``1.2GB``."""
    value = float(max(n, 0))
    unit = 0
    while unit < len(_UNITS) - 1 and float(f"{value:.3g}") >= 1000:
        value /= 1000
        unit += 1
    return f"{value:.3g}{_UNITS[unit]}"


def count(n: int) -> str:
    """An integer with thousands separators: ``1,234``."""
    return f"{n:,}"


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """``1 layer``, ``2 layers``, ``1,234 entries`` (``plural_form`` when adding "s" is wrong)."""
    word = singular if n == 1 else (plural_form or _plural(singular))
    return f"{n:,} {word}"


def _plural(word: str) -> str:
    if word.endswith("y") and word[-2:-1] not in ("a", "e", "o", "u"):
        return word[:-1] + "ies"
    if word.endswith(("s", "x", "sh", "ch")):
        return word + "es"
    return word + "s"


def text(value: str | None) -> str:
    """``value``, or ``EMPTY`` when it is absent or blank."""
    return value if value else EMPTY

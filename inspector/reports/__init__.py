"""Reports: pure functions of an ``Inspection`` (the merged filesystem plus the config).

Each name is imported from its module when first used (PEP 562): the listing (``--files``) needs the
scan and the package view, not the summary's readers of ELF headers, accounts and Java runtimes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy import lazy_exports
from .interface import Inspection

if TYPE_CHECKING:
    from .bin import BinListing, bin_listing
    from .diff import DiffOptions, DiffResult, compare, diff_images
    from .entrypoint import EntrypointResolution, config_fields, resolve_entrypoint
    from .executables import Executable, counts, find_executables
    from .facts import FACTS_CODEC
    from .jre import JavaRuntime, find_runtimes
    from .shells import ShellVerdict, shell_verdict
    from .summary import image_fields, inspect_image, user_name

#: ``FACTS_CODEC.name``, the cache variant every view's entries are stored under: a warm summary looks its
#: report up by this name without importing the readers behind the codec (tests/test_report_cache_name.py).
FACTS_VARIANT = "facts2+packages1"

__getattr__ = lazy_exports(__name__, {
    "BinListing": ".bin", "bin_listing": ".bin",
    "DiffOptions": ".diff", "DiffResult": ".diff", "compare": ".diff", "diff_images": ".diff",
    "EntrypointResolution": ".entrypoint", "config_fields": ".entrypoint", "resolve_entrypoint": ".entrypoint",
    "Executable": ".executables", "counts": ".executables", "find_executables": ".executables",
    "FACTS_CODEC": ".facts",
    "JavaRuntime": ".jre", "find_runtimes": ".jre",
    "ShellVerdict": ".shells", "shell_verdict": ".shells",
    "image_fields": ".summary", "inspect_image": ".summary", "user_name": ".summary",
})
# The summary itself is ``reports.summary.summary``: a lazy ``summary`` here would be shadowed by the
# submodule of that name, which the import system sets on this package when it first loads it.

__all__ = [
    "FACTS_CODEC", "FACTS_VARIANT", "BinListing", "DiffOptions", "DiffResult", "EntrypointResolution", "Executable",
    "Inspection", "JavaRuntime", "ShellVerdict", "bin_listing", "compare", "config_fields", "counts", "diff_images",
    "find_executables", "find_runtimes", "image_fields", "inspect_image", "resolve_entrypoint", "shell_verdict",
    "user_name",
]

"""Reports: pure functions of an ``Inspection`` (the merged filesystem plus the config)."""

from __future__ import annotations

from .bin import BinListing, bin_listing
from .entrypoint import EntrypointResolution, config_fields, resolve_entrypoint
from .executables import Executable, counts, find_executables
from .facts import CODEC as FACTS_CODEC
from .interface import Inspection
from .jre import JavaRuntime, find_runtimes
from .shells import ShellVerdict, shell_verdict
from .summary import image_fields, inspect_image, summary, user_name

__all__ = [
    "FACTS_CODEC", "BinListing", "EntrypointResolution", "Executable", "Inspection", "JavaRuntime", "ShellVerdict",
    "bin_listing", "config_fields", "counts", "find_executables", "find_runtimes", "image_fields",
    "inspect_image", "resolve_entrypoint", "shell_verdict", "summary", "user_name",
]

from .diff import DiffOptions, DiffResult, compare, diff_images  # noqa: E402

__all__ += ["DiffOptions", "DiffResult", "compare", "diff_images"]

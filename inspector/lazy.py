"""Package attributes imported on first use (PEP 562), so that starting the command line costs only
what the command asks for: ``--version`` and ``--help`` import no parser, no report, no renderer."""

from __future__ import annotations

import importlib

TYPE_CHECKING = False  # not ``typing.TYPE_CHECKING``: importing typing is a third of ``--version``'s time
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping
    from typing import Any


def lazy_exports(package: str, exports: Mapping[str, str]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package`` that imports ``exports[name]`` (a module relative to the
    package) when ``name`` is first read, and keeps the value in the package's namespace."""

    def __getattr__(name: str) -> Any:
        module = exports.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module, package), name)
        setattr(importlib.import_module(package), name, value)
        return value

    return __getattr__

"""The ``inspect-image`` command's entry point.

``inspect-image --version`` is answered here, before the command line (and click, two thirds of its
start-up) is imported; every other invocation goes to ``cli.main``. The line is click's own
``version_option`` format, which ``tests/test_startup.py`` compares with click's answer.
"""

from __future__ import annotations

import sys


def main() -> None:
    if sys.argv[1:] == ["--version"]:
        from . import __version__

        sys.stdout.write(f"inspect-image, version {__version__}\n")
        sys.stdout.flush()
        return
    from .cli import main as command_line
    from .fs import collector

    collector.freeze_built = True  # one command, one process: its trees need no cyclic collection
    command_line()

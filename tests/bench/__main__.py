"""``python -m tests.bench [--quick] [--only real|synthetic] [--runs N] [--profile]``: see ``tests/bench/run.py``."""

import sys

from .run import main

sys.exit(main())

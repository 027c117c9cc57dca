"""Benchmarks of inspect-image against baselines measured in the same run (``python -m tests.bench``).

Not a test suite: pytest skips this folder (``norecursedirs``), and nothing here is named ``test_*``.
"""

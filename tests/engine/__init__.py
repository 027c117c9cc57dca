"""Engine-parity tests: what inspect-image lists must equal ``docker export`` of a created container.

A package (not a bare directory) so that its modules (``engine.helpers``, ``engine.test_parity``)
never clash with same-named test modules elsewhere under ``tests/``.
"""

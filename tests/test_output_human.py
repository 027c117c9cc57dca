"""``output.human``: sizes as docker prints them, plurals, the one empty marker."""

from __future__ import annotations

import pytest

from inspector.output import human


@pytest.mark.parametrize(("n", "text"), [
    (0, "0B"), (1, "1B"), (999, "999B"), (1000, "1kB"), (12_000, "12kB"), (12_345, "12.3kB"),
    (87_300_000, "87.3MB"), (489_123_456, "489MB"), (494_528_000, "495MB"), (999_999, "1MB"),
    (999_499, "999kB"), (1_234_567_890, "1.23GB"), (10**30, "1e+06YB"), (-5, "0B"),
])
def test_size_as_docker_prints_it(n: int, text: str) -> None:
    assert human.size(n) == text


@pytest.mark.parametrize(("n", "word", "text"), [
    (0, "layer", "0 layers"), (1, "layer", "1 layer"), (2, "layer", "2 layers"), (1, "entry", "1 entry"),
    (1234, "entry", "1,234 entries"), (1, "script", "1 script"), (3, "script", "3 scripts"),
    (2, "key", "2 keys"), (2, "box", "2 boxes"),
])
def test_plural(n: int, word: str, text: str) -> None:
    assert human.plural(n, word) == text


def test_plural_explicit_form_and_empty() -> None:
    assert human.plural(2, "config and manifest", "configs and manifests") == "2 configs and manifests"
    assert human.text(None) == human.text("") == "-"
    assert human.text("x") == "x"

"""``sbom.interface.clean_text``: every string of an SBOM as valid Unicode, surrogate-escaped bytes
shown as ``\\xNN``. It searches in C now (a generator over every character took 4.2 s of a
million-file image's SBOM); the text must be what the character-by-character definition gives."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.sbom.interface import clean_text


def by_character(value: Any) -> Any:
    """The definition, one character at a time."""
    if isinstance(value, str):
        return "".join(ch if not "\ud800" <= ch <= "\udfff" else
                       f"\\x{ord(ch) - 0xdc00:02x}" if "\udc80" <= ch <= "\udcff" else f"\\u{ord(ch):04x}"
                       for ch in value)
    if isinstance(value, dict):
        return {by_character(k): by_character(v) for k, v in value.items()}
    if isinstance(value, list):
        return [by_character(v) for v in value]
    return value


texts = st.text(alphabet=st.one_of(st.characters(), st.sampled_from(["\udcff", "\udc80", "\udc7f", "\ud800",
                                                                    "\udfff", "\x1b", "é", "\U0001f600"])))
documents = st.recursive(st.one_of(texts, st.integers(), st.none(), st.booleans()),
                         lambda children: st.one_of(st.lists(children, max_size=4),
                                                    st.dictionaries(texts, children, max_size=4)),
                         max_leaves=30)


@settings(max_examples=500, deadline=None)
@given(documents)
def test_clean_text_is_the_character_by_character_definition(value: Any) -> None:
    want = by_character(value)
    got = clean_text(copy.deepcopy(value))
    assert got == want
    if isinstance(want, dict):
        assert list(got) == list(want)  # the keys in their order


def test_a_document_is_cleaned_in_place_and_deep_nesting_needs_no_recursion() -> None:
    """Its own containers are cleaned where they are (no second document), iteratively."""
    inner = ["caf\udce9"]
    document = {"a\udcff": inner, "plain": {"k": "v"}}
    assert clean_text(document) is document
    assert document == {"a\\xff": ["caf\\xe9"], "plain": {"k": "v"}} and document["a\\xff"] is inner
    deep: Any = "\udcfe"
    for _ in range(50_000):
        deep = [deep]
    cleaned = clean_text(deep)
    for _ in range(50_000):
        cleaned = cleaned[0]
    assert cleaned == "\\xfe"


def test_a_name_of_bytes_that_were_not_utf8_is_shown_byte_by_byte() -> None:
    name = b"/usr/bin/caf\xe9-\xff\xfe ok".decode("utf-8", "surrogateescape")
    assert clean_text({"name": name, "list": [name]}) == {"name": "/usr/bin/caf\\xe9-\\xff\\xfe ok",
                                                          "list": ["/usr/bin/caf\\xe9-\\xff\\xfe ok"]}
    assert clean_text("\ud800lone") == "\\ud800lone"
    plain = "/usr/lib/jvm/temurin/bin/java"
    assert clean_text(plain) is plain

"""The indented JSON documents (``output.json_format.document``) are the standard encoder's, byte for byte.

``document`` lays out flat mappings and lists with one call of the C encoder each, and walks the
containers around them itself (the indenting encoder's generator cost 1.5 s on the summary of a
million-file image). What a script reads must not change by a byte: every value here is compared
with ``json.dumps(..., ensure_ascii=False, allow_nan=False, indent=2)`` passed through the
terminal-safe ``json_text``, and every error with the error that gave.
"""

from __future__ import annotations

import collections
import io
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.errors import ImageFormatError
from inspector.output import json_format
from inspector.output.escape import json_text

HOSTILE = ["\x1b[31mred\x1b[0m", "\u202eevil", "\x85c1", "\x7fdel", "quote\"back\\slash", "new\nline",
           "\ud800lone", "日本語", "\U0001f600", "", " ", "\t", "\u2028"]


def expected(value: Any) -> str:
    return json_text(json.dumps(value, ensure_ascii=False, allow_nan=False, indent=2))


def written(value: Any) -> str:
    out = io.StringIO()
    json_format.write_document(value, out)
    return out.getvalue()


class Label(str):
    """A str subclass: the encoders treat it as a string; the fast path must not assume so."""


class Ordered(collections.OrderedDict):  # type: ignore[type-arg]
    pass


scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.sampled_from(HOSTILE), st.text(max_size=8),
                    st.floats(allow_nan=False, allow_infinity=False))
values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.lists(children, max_size=3).map(tuple),
        st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(HOSTILE)), children, max_size=5),
        st.dictionaries(st.one_of(st.integers(), st.booleans(), st.none()), children, max_size=3),
    ),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(values)
def test_any_value_is_the_standard_encoders_text(value: Any) -> None:
    assert json_format.document(value) == expected(value)
    assert written(value) == expected(value) + "\n"


@pytest.mark.parametrize("value", [
    {}, [], (), "", 0, None, True, {"a": {}}, {"a": []}, [[], {}], [[[]]],
    {"path": "/usr/bin/java", "layer": 3, "setuid": False, "owner": None},
    [1, 2, 3], ["a", None, True, -5], ("x", "y"),
    {"k": [1, {"a": "b"}, [2, [3, {}]]], "e": {"x": []}},
    {"ratio": 0.5, "n": 1}, [0.25, 1], 1.5,
    {Label("key"): Label("\x1b[2Jvalue")}, [Label("a"), Label("b")],
    Ordered(a=1, b=[1, 2]), {"x": Ordered(a="b")},
    {1: "one", 2.5: "two", None: "three", False: "four"},
    {"big": 10 ** 300, "neg": -(10 ** 200)},
    {"unowned_executables": [{"path": h, "layer": i, "layer_created_by": h} for i, h in enumerate(HOSTILE)]},
], ids=repr)
def test_chosen_values_are_the_standard_encoders_text(value: Any) -> None:
    assert json_format.document(value) == expected(value)


def test_deep_nesting_is_laid_out_as_the_standard_encoder_does() -> None:
    """Past the depth this module lays out itself, the rest is the standard encoder's, indented to its place."""
    value: Any = {"leaf": "x"}
    for depth in range(200):
        value = [value, {"d": depth}] if depth % 2 else {"in": value, "n": [depth]}
    assert json_format.document(value) == expected(value)


def test_a_long_document_in_pieces_is_one_text() -> None:
    """Many parts make many pieces: what they join to is still the whole, once."""
    value = {"items": [{"path": f"/f{i}", "layer": i % 7, "mode": "0755"} for i in range(20_000)],
             "nested": [[i, [i]] for i in range(5_000)]}
    pieces = json_format._document_pieces(value)
    assert len(pieces) > 2
    assert "".join(pieces) == expected(value)


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), float("-inf")], ids=["nan", "inf", "-inf"])
@pytest.mark.parametrize("where", ["flat", "nested", "list", "top"])
def test_a_number_json_cannot_express_is_the_same_error_and_nothing_written(bad: float, where: str) -> None:
    value: Any = {"flat": {"a": bad}, "nested": {"a": [{"b": bad}]}, "list": [1, bad], "top": bad}[where]
    with pytest.raises(ValueError) as standard:
        expected(value)
    out = io.StringIO()
    with pytest.raises(ImageFormatError) as ours:
        json_format.write_document({"before": "text", "value": value}, out)
    assert str(ours.value) == f"the image holds a number JSON cannot express ({standard.value})"
    assert out.getvalue() == ""


def test_a_key_json_cannot_take_is_the_standard_error() -> None:
    value = {"ok": {("tuple", "key"): 1}}
    with pytest.raises(TypeError) as standard:
        expected(value)
    with pytest.raises(TypeError) as ours:
        json_format.document(value)
    assert str(ours.value) == str(standard.value)


def test_a_cycle_is_the_standard_error() -> None:
    value: dict[str, Any] = {"a": [1]}
    value["a"].append(value)
    with pytest.raises(ValueError) as standard:
        expected(value)
    with pytest.raises(ImageFormatError) as ours:
        json_format.document(value)
    assert str(standard.value) in str(ours.value)


def test_write_array_is_the_document_of_the_list() -> None:
    items = [{"path": h, "n": i, "sub": {"x": [h]}} for i, h in enumerate(HOSTILE)]
    out = io.StringIO()
    json_format.write_array(iter(items), out)
    assert out.getvalue() == expected(items) + "\n"


@pytest.mark.parametrize("where", ["flat", "among containers", "in a list among containers", "top"])
def test_an_integer_too_long_to_print_is_the_standard_error(where: str) -> None:
    huge = 10 ** 5000
    value: Any = {"flat": {"a": huge}, "among containers": {"a": [1, {"b": 2}], "c": huge},
                  "in a list among containers": [[1], huge], "top": huge}[where]
    with pytest.raises(ValueError) as standard:
        expected(value)
    with pytest.raises(ImageFormatError) as ours:
        json_format.document(value)
    assert str(ours.value) == f"the image holds a number JSON cannot express ({standard.value})"


flat_rows = st.lists(st.dictionaries(st.one_of(st.text(max_size=6), st.sampled_from(HOSTILE + ["}", "},", "{"])),
                                     st.one_of(st.none(), st.booleans(), st.integers(),
                                               st.sampled_from(HOSTILE + ["},\n    {", "}", "{", ","]),
                                               st.text(max_size=8)),
                                     min_size=0, max_size=4),
                     min_size=0, max_size=6)


@settings(max_examples=400, deadline=None)
@given(flat_rows, st.integers(0, json_format._FAST_DEPTH + 2))
def test_lists_of_flat_mappings_are_the_standard_encoders_text(rows: list[dict[str, Any]], depth: int) -> None:
    """A list of flat mappings is one call of the C encoder (issue 20: the summary's unowned
    executables), its separators laid out after: at every depth about the fast path's limit, with
    empty mappings among them, and strings that spell the separators it lays out."""
    from unittest import mock

    value: Any = rows
    for _ in range(depth):
        value = {"in": value}
    for per_call in (json_format._ROWS_PER_CALL, 1, 2):  # and the calls' boundaries between any two rows
        with mock.patch.object(json_format, "_ROWS_PER_CALL", per_call):
            assert json_format.document(value) == expected(value)
            assert json_format.document([rows, {"x": rows}]) == expected([rows, {"x": rows}])


def test_a_long_list_of_mappings_in_many_calls_is_one_text() -> None:
    rows = [{"path": f"/usr/bin/tool-{number}", "layer": number % 7, "by": HOSTILE[number % len(HOSTILE)]}
            for number in range(2 * json_format._ROWS_PER_CALL + 3)]
    value = {"before": [1, {"a": 2}], "rows": rows, "after": "end"}
    assert written(value) == expected(value) + "\n"


@pytest.mark.parametrize("where", ["first", "last"])
def test_an_integer_too_long_to_print_in_a_list_of_mappings_is_the_standard_error(where: str) -> None:
    rows: list[dict[str, Any]] = [{"a": 1}, {"b": 2}, {"c": 3}]
    rows[0 if where == "first" else -1]["z"] = 10 ** 5000
    with pytest.raises(ValueError) as standard:
        expected(rows)
    with pytest.raises(ImageFormatError) as ours:
        json_format.document(rows)
    assert str(ours.value) == f"the image holds a number JSON cannot express ({standard.value})"

"""``--files --format json`` writes each entry without building its dict (``output.json_format.entry_text``).

The fast spelling must be the documented object, byte for byte, for every name an image can hold:
quotes, backslashes, C0 and C1 controls, DEL, bidi controls, bytes that are not UTF-8 (surrogate
escaped), characters beyond the BMP, extended attributes, devices, a missing mtime. Each case is
compared with ``dumps(entry.to_json())``, the generic encoder, and parsed back.
"""

from __future__ import annotations

import io
import json
from dataclasses import dataclass
from typing import Any

import pytest

from inspector.errors import ImageFormatError
from inspector.fs.entry import Entry, OwnedEntry
from inspector.output.json_format import JsonRenderer, dumps, entry_text

NAMES = [
    "/usr/bin/java",
    '/tmp/quote"back\\slash',
    "/tmp/\x00nul\x01\x1f\x7f",
    "/tmp/c1\x85\x9b[31m",
    "/tmp/bidi\u202e\u2066gnp.exe",
    "/tmp/not-utf8-\udcff\udc80",
    "/tmp/astral-\U0001f600-\U000e0041",
    "/tmp/tab\tnew\nline\rcr",
    "/tmp/ünïcödé/日本語",
    "",
]


def _entry(path: str, **changes: Any) -> Entry:
    values: dict[str, Any] = dict(path=path, type="file", mode=0o4755, uid=0, gid=65534, size=2**40, mtime=1600000000,
                                  target=None, hardlink_to=None, layer=3, xattrs={}, device=None)
    values.update(changes)
    return Entry(**values)


def _owned(entry: Entry, package: str | None, created_by: str | None) -> OwnedEntry:
    return OwnedEntry(*(getattr(entry, name) for name in Entry.__dataclass_fields__), package, created_by)


def _cases() -> list[Entry]:
    cases: list[Entry] = []
    for name in NAMES:
        cases.append(_entry(name))
        cases.append(_entry(name, type="symlink", mode=0o777, target=name + "\x1b]0;title\x07", size=0))
        cases.append(_entry(name, hardlink_to=name[::-1], mtime=None))
        cases.append(_entry(name, type="char", device=(4, 2**31), size=0, mode=0))
        cases.append(_entry(name, xattrs={"security.capability": b"\x01\x00\x00\x02", "user.\x1b[2J" + name: b"",
                                          "trusted.\"q\"": bytes(range(256))}))
        cases.append(_owned(_entry(name), "deb/" + name, "RUN apt-get \u202e install \x9b"))
        cases.append(_owned(_entry(name, type="dir", size=0), None, None))
    return cases


@pytest.mark.parametrize("entry", _cases(), ids=lambda entry: f"{type(entry).__name__}-{entry.type}")
def test_the_fast_spelling_is_the_documented_object_byte_for_byte(entry: Entry) -> None:
    text = entry_text(entry)
    assert text == dumps(entry.to_json())
    assert json.loads(text) == json.loads(json.dumps(entry.to_json()))
    assert text.isascii() or not any(char in text for char in "\x7f\x85\x9b\u202e\u2066"), text  # escaped


@dataclass(slots=True)
class _Richer(Entry):
    extra: str = "more"

    def to_json(self) -> dict[str, Any]:
        return {**Entry.to_json(self), "extra": self.extra}


def test_an_entry_type_that_says_more_keeps_its_own_json() -> None:
    richer = _Richer(*(getattr(_entry("/x"), name) for name in Entry.__dataclass_fields__))
    assert json.loads(entry_text(richer))["extra"] == "more"


def test_a_time_json_cannot_express_is_an_error_never_nan() -> None:
    """Entries are plain objects a library caller may change: the fast path must not print ``nan``."""
    for value in (float("nan"), float("inf")):
        with pytest.raises(ImageFormatError):
            entry_text(_entry("/x", mtime=value))
    assert entry_text(_entry("/x", mtime=1.5)) == dumps(_entry("/x", mtime=1.5).to_json())


def test_the_listing_is_the_generic_encoding_of_each_entry() -> None:
    entries = _cases()
    out = io.StringIO()
    JsonRenderer().files(entries, out)
    expected = "[" + ",".join(f"\n  {dumps(entry.to_json())}" for entry in entries) + "\n]\n"
    assert out.getvalue() == expected
    assert len(json.loads(out.getvalue())) == len(entries)


@pytest.mark.parametrize("rare", [{}, {"target": "../lib/x"}, {"hardlink_to": "/usr/bin/a"},
                                  {"xattrs": {"security.capability": b"\x01\x02", "user.a": b""}},
                                  {"rdev": (4, 64)}, {"opaque": True},
                                  {"target": "t", "hardlink_to": "/h", "xattrs": {"user.z": b"z"}, "rdev": (1, 3)}])
def test_an_entry_reads_its_node_as_its_attributes_say(rare: dict[str, Any]) -> None:
    """``Entry.of`` reads a node's shared owner tuple and rare attributes directly (issue 20): each
    field is what the node's attributes say, and the entry's xattrs are its own copy."""
    from inspector.fs.node import LayerSlot, Node

    node = Node("file", 0o4755, 1000, 50, 12, 1_600_000_000, LayerSlot(3))
    for name, value in rare.items():
        setattr(node, name, value)
    entry = Entry.of("/usr/bin/a", node)
    assert (entry.type, entry.mode, entry.uid, entry.gid, entry.size, entry.mtime, entry.layer) == \
        ("file", 0o4755, 1000, 50, 12, 1_600_000_000, 3)
    assert (entry.target, entry.hardlink_to, entry.xattrs, entry.device) == \
        (node.target, node.hardlink_to, node.xattrs or {}, node.rdev)
    if node.xattrs:
        assert entry.xattrs is not node.xattrs

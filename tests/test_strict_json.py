"""Strict JSON in, strict JSON out (issue 11.8).

Python's ``json`` reads ``NaN``, ``Infinity``, ``-Infinity`` (and ``1e999`` as infinity) and would
write them back as bare ``NaN``, which no strict parser accepts. The engine's Go decoder refuses
such a config, so we refuse it too: exit 2, one line, whatever the layout. And every JSON view of
an image, including hostile text and integers too big for a double, parses with a strict parser.
Big integers are passed through exactly as the config holds them (README, "JSON schema").
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from testdata.hostile_text import hostile_spec, second_spec
from testdata.imagebuilder import E, ImageSpec

from .conftest import run_cli, write_image


def strict_loads(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise ValueError(f"non-standard JSON constant {name}")

    return json.loads(text, parse_constant=refuse)


def _spec(value: Any, where: str) -> ImageSpec:
    config: dict[str, Any] = {"Entrypoint": ["/bin/sh"]}
    if where == "labels":
        config["Labels"] = {"x": value}
    elif where == "healthcheck":
        config["Healthcheck"] = {"Test": ["CMD", "true"], "Interval": value}
    else:  # an unknown top-level config field
        config["X-Tuning"] = [1, {"ratio": value}]
    return ImageSpec([[E("bin", "dir"), E("bin/sh", data=b"#!/bin/sh\n", mode=0o755)]], config=config)


@pytest.mark.parametrize("where", ["labels", "healthcheck", "unknown"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")], ids=["NaN", "Infinity", "-Infinity"])
@pytest.mark.parametrize("layout", ["legacy", "oci-gzip", "stdin"])
def test_non_finite_numbers_in_a_config_are_refused(tmp_path: Path, value: float, where: str, layout: str) -> None:
    ref = write_image(tmp_path, _spec(value, where), "legacy" if layout == "stdin" else layout, "img")
    if layout == "stdin":
        code, out, err = run_cli("-", "--json", input=Path(ref).read_bytes())
    else:
        code, out, err = run_cli(ref, "--json")
    assert code == 2, (out, err)
    assert out == ""
    assert err.count("\n") == 1 and err.startswith("inspect-image: error:") and "Traceback" not in err, err
    assert "not valid JSON" in err and ("NaN" in err or "Infinity" in err), err


def test_a_number_too_big_for_a_double_is_refused(tmp_path: Path) -> None:
    """``1e999`` is infinity to Python's reader, an error to Go's: refused the same way."""
    ref = write_image(tmp_path, _spec(0.5, "labels"), "oci-none", "img")
    blobs = Path(ref) / "blobs" / "sha256"
    # rewrite the config with 1e999 in place of 0.5: then its digest, the manifest, and the index

    def put(data: bytes) -> str:
        digest = hashlib.sha256(data).hexdigest()
        (blobs / digest).write_bytes(data)
        return digest

    index = json.loads((Path(ref) / "index.json").read_bytes())
    manifest_digest = index["manifests"][0]["digest"].split(":")[1]
    manifest = json.loads((blobs / manifest_digest).read_bytes())
    config = (blobs / manifest["config"]["digest"].split(":")[1]).read_bytes().replace(b"0.5", b"1e999")
    manifest["config"]["digest"], manifest["config"]["size"] = f"sha256:{put(config)}", len(config)
    new_manifest = json.dumps(manifest).encode()
    index["manifests"][0]["digest"], index["manifests"][0]["size"] = f"sha256:{put(new_manifest)}", len(new_manifest)
    (Path(ref) / "index.json").write_text(json.dumps(index))
    code, out, err = run_cli(ref, "--config", "--json")
    assert code == 2, (out, err)
    assert err.count("\n") == 1 and "not valid JSON" in err and "1e999" in err, err


def test_big_integers_pass_through_exactly(tmp_path: Path) -> None:
    """An integer no double holds is shown as the config holds it: strict JSON, every digit kept."""
    big = 10**30
    ref = write_image(tmp_path, _spec(big, "unknown"), "legacy", "img")
    spec = _spec(big, "labels")
    ref_label = write_image(tmp_path, spec, "legacy", "label")
    code, out, err = run_cli(ref, "--config", "--json")
    assert code == 0, err
    strict_loads(out)
    code, out, err = run_cli(ref_label, "--config", "--json")
    assert code == 0, err
    body = strict_loads(out)
    assert body["config"]["labels"] == {"x": big}
    assert "1000000000000000000000000000000" in out  # every digit, not 1e+30


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    where = tmp_path_factory.mktemp("strict")
    return (write_image(where, hostile_spec(tags=[]), "legacy", "a"),
            write_image(where, second_spec(), "oci-gzip", "b"))


@pytest.mark.parametrize("args", [
    ["{a}"], ["{a}", "--files"], ["{a}", "--bin"], ["{a}", "--executables"], ["{a}", "--jre"], ["{a}", "--config"],
    ["diff", "{a}", "{b}"], ["diff", "{a}", "{b}", "--all"],
])
def test_every_json_view_is_strict_json(hostile: tuple[str, str], args: list[str]) -> None:
    a, b = hostile
    code, out, err = run_cli(*(x.format(a=a, b=b) for x in args), "--format", "json")
    assert code == 0, err
    strict_loads(out)
    # DEL, C1 and bidi controls are JSON escapes, never raw characters: the same value, inert on a screen
    assert not any(0x7F <= ord(c) <= 0x9F or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in out)


def test_ordinary_json_is_unchanged(tmp_path: Path) -> None:
    """Non-ASCII names stay as they are (``ensure_ascii=False``): only characters a terminal acts on change."""
    spec = ImageSpec([[E("opt", "dir"), E("opt/café-日本", data=b"x")]])
    code, out, err = run_cli(write_image(tmp_path, spec, "legacy", "img"), "--files", "--json")
    assert code == 0, err
    assert '"path": "/opt/café-日本"' in out


def test_a_large_document_is_written_in_pieces_with_the_same_bytes() -> None:
    """The summary of a million files is written from pieces (issue 20: no list of every token):
    the same bytes as one ``json.dumps``, with terminal controls escaped in every piece, printable
    characters left as they are, and a newline at the end."""
    import io

    from inspector.output.json_format import document, write_document

    hostile = "\u202ename\x7f\x9b\U0001F600é"
    value = {"items": [{"path": f"/f{i}", "name": hostile, "n": i, "ok": i % 2 == 0, "none": None}
                       for i in range(20_000)]}  # about 200,000 tokens: many pieces
    out = io.StringIO()
    write_document(value, out)
    text = out.getvalue()
    assert text == document(value) + "\n"
    assert strict_loads(text) == value
    assert json.loads(text) == json.loads(json.dumps(value, indent=2))
    raw = json.dumps(value, indent=2, ensure_ascii=False)
    assert len(text) == len(raw) + 1 + 20_000 * (len("\\u202e\\u007f\\u009b") - 3)
    assert "\u202e" not in text and "\x7f" not in text and "\x9b" not in text
    assert "\U0001F600é" in text  # printable: left as it is


def test_a_document_json_cannot_express_writes_nothing() -> None:
    import io

    from inspector.errors import ImageFormatError
    from inspector.output.json_format import write_document

    out = io.StringIO()
    with pytest.raises(ImageFormatError, match="cannot express"):
        write_document({"items": [{"n": i} for i in range(20_000)] + [{"n": float("nan")}]}, out)
    assert out.getvalue() == ""

"""A warm summary, answered from the image-level report cache (README, "The cache").

What a user sees: the repeat prints what a warm run printed before this cache existed (stdout and
stderr, byte for byte, table and JSON), with this run's own reference, tags and verification; a
damaged or hostile entry is refused and the summary computed again, never shown; another config
(entrypoint, user) or another layer blob is never answered with the old summary; ``--verify``,
``--no-cache`` and a policy never look at the entry.
"""

from __future__ import annotations

import gzip
import json
import os
import shutil
from pathlib import Path

import pytest

from testdata import packages_fixtures as fx
from testdata.imagebuilder import ImageSpec
from tests.test_packages_warm import cache, report_entries, reseal, run, unsealed

__all__ = ["cache"]  # the fixture, shared with the --packages tests

CONFIG = {"Entrypoint": ["/bin/ls"], "User": "0"}


def summary(ref: str, *extra: str) -> tuple[str, str]:
    code, out, err = run(ref, "--format", "json", *extra)
    assert code == 0, err
    assert "Traceback" not in err and "internal error" not in err
    return out, err


@pytest.fixture
def image(image_writer) -> str:
    return image_writer(ImageSpec([fx.debian_base_layer(), fx.tampering_layer()], config=CONFIG,
                                  history=fx.APP_HISTORY), "legacy")


def summary_entries(cache: Path) -> list[Path]:
    return [entry for entry in report_entries(cache) if "-summary-" in entry.name]


@pytest.mark.parametrize("layout", ["legacy", "oci-gzip"])
def test_the_repeat_prints_what_a_warm_run_printed(image_writer, cache: Path, layout: str) -> None:
    ref = image_writer(ImageSpec([fx.debian_base_layer(), fx.tampering_layer()], config=CONFIG,
                                 history=fx.APP_HISTORY), layout)
    cold = summary(ref)
    [entry] = summary_entries(cache)
    entry.unlink()
    warm_json, warm_table = summary(ref), run(ref)  # the layer cache answers; the entry is made again
    assert len(summary_entries(cache)) == 1
    assert summary(ref) == warm_json and run(ref) == warm_table
    assert warm_table[0] == 0 and "from cache: 2 layers" in warm_table[1]
    no_cache = json.loads(summary(ref, "--no-cache")[0])
    served = json.loads(warm_json[0])
    assert served["verification"]["layers_checked"] == 0 and no_cache["verification"]["layers_checked"] == 2
    assert {**served, "verification": None} == {**no_cache, "verification": None}
    assert json.loads(cold[0])["image"] == served["image"]


def test_the_entry_answers_with_this_runs_names(image, cache: Path, tmp_path: Path) -> None:
    """Proof that the entry answers (a marker someone with write access to the cache put there), that
    the reference and verification are this run's, and that --verify, --no-cache and a policy never
    look at it."""
    cold, _ = summary(image)
    [entry] = summary_entries(cache)
    document = unsealed(entry)
    assert document["report"]["verification"] is None and "reference" not in document["report"]["image"]
    document["report"]["shells"] = ["MARKER"]
    reseal(entry, document)
    copy = tmp_path / "elsewhere.tar"
    shutil.copyfile(image, copy)
    served = json.loads(summary(str(copy))[0])
    assert served["shells"] == ["MARKER"]
    assert served["image"]["reference"] == str(copy) != json.loads(cold)["image"]["reference"]
    for extra in (["--verify"], ["--no-cache"]):
        assert "MARKER" not in summary(image, *extra)[0]
    code, out, _ = run(image, "--format", "json", "--fail-on", "shell")
    assert "MARKER" not in out


@pytest.mark.parametrize("damage", ["shape", "image-fields", "verification", "float", "warnings"])
def test_a_damaged_summary_entry_is_refused_never_shown(image, cache: Path, damage: str) -> None:
    summary(image)
    [entry] = summary_entries(cache)
    entry.unlink()
    expected = summary(image)  # a warm run's answer, and its entry
    [entry] = summary_entries(cache)
    original, document = unsealed(entry), unsealed(entry)
    if damage == "shape":
        document["report"]["jre"] = "MARKER"
    elif damage == "image-fields":
        document["report"]["image"]["reference"] = "MARKER"
    elif damage == "verification":
        document["report"]["verification"] = {"full": True, "MARKER": 1}
    elif damage == "float":
        document["report"]["image"]["size"] = 1e300
    else:
        document["warnings"] = ["MARKER", 5]
    reseal(entry, document)
    assert summary(image) == expected
    [rebuilt] = summary_entries(cache)
    assert unsealed(rebuilt) == original


def test_another_config_or_layer_is_never_answered_with_the_old_summary(image_writer, cache: Path) -> None:
    layers = [fx.debian_base_layer(), fx.tampering_layer()]
    first = image_writer(ImageSpec(layers, config=CONFIG, history=fx.APP_HISTORY), "legacy")
    other_user = image_writer(ImageSpec(layers, config={**CONFIG, "User": "65532"}, history=fx.APP_HISTORY),
                              "legacy")
    other_entrypoint = image_writer(ImageSpec(layers, config={**CONFIG, "Entrypoint": ["/bin/cat"]},
                                              history=fx.APP_HISTORY), "legacy")
    fewer_layers = image_writer(ImageSpec(layers[:1], config=CONFIG, history=fx.APP_HISTORY[:1]), "legacy")
    answers = {ref: json.loads(summary(ref)[0]) for ref in (first, other_user, other_entrypoint, fewer_layers)}
    assert len(summary_entries(cache)) == 4
    assert answers[other_user]["uid"] == 65532 and answers[first]["uid"] == 0
    assert answers[other_entrypoint]["entrypoint"] != answers[first]["entrypoint"]
    assert answers[fewer_layers]["image"]["layers"] == 1
    for ref, cold in answers.items():
        assert json.loads(summary(ref)[0]) == {**cold, "verification": json.loads(summary(ref)[0])["verification"]}


def test_a_changed_layer_blob_is_read_and_refused(image_writer, cache: Path) -> None:
    """Same config (same claimed diff IDs), another app layer blob: never answered, read and refused."""
    ref = image_writer(ImageSpec([fx.debian_base_layer(), fx.tampering_layer()], config=CONFIG,
                                 history=fx.APP_HISTORY), "oci-gzip")
    summary(ref)
    index = json.loads((Path(ref) / "index.json").read_text())
    manifest = json.loads((Path(ref) / "blobs" / "sha256" / index["manifests"][0]["digest"].split(":")[1]).read_text())
    app = Path(ref) / "blobs" / "sha256" / manifest["layers"][1]["digest"].split(":")[1]
    os.chmod(app, 0o644)
    app.write_bytes(gzip.compress(b"\0" * 1024))  # an empty tar: not the layer the config names
    code, out, err = run(ref, "--format", "json")
    assert code == 3 and out == "", err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1


@pytest.mark.parametrize("case", ["deep", "nan"])
def test_a_hostile_config_is_kept_or_computed_never_a_crash(image_writer, cache: Path, case: str) -> None:
    """The key holds the whole config: one nested as deep as the parser allows is drawn and kept, one
    holding a number JSON cannot spell is refused in every cache state; never an internal error."""
    import sys

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(limit + 4000)  # the builder's json.dumps of 960 levels, inside pytest's stack
    try:
        value: object = float("nan")
        if case == "deep":
            value = "x"
            for _ in range(960):
                value = [value]
        ref = image_writer(ImageSpec([fx.debian_base_layer()], config={**CONFIG, "Labels": {"hostile": value}},
                                     history=fx.APP_HISTORY[:1]), "legacy")
    finally:
        sys.setrecursionlimit(limit)
    cold = run(ref)
    assert "Traceback" not in cold[2] and "internal error" not in cold[2], cold[2]
    assert cold[0] == (0 if case == "deep" else 2), cold[2]  # NaN: the config is refused as malformed (README)
    warm = run(ref)  # answered by the layer cache, or by a kept summary: the same either way
    assert warm[0] == cold[0] and run(ref) == warm
    assert run(ref, "--no-cache") == cold

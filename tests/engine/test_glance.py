"""Golden STRUCTURE of the table views on the two realistic engine images, at 80 and 200 columns
(issue 13): every line fits unless it is one unbreakable token, no path, version or word is split
(every token the JSON names appears whole), and the counts agree with the JSON. Wording may still
improve: nothing here compares text byte for byte.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from typing import Any

import pytest

from . import realistic_images as realistic
from .helpers import REPO_ROOT, inspector_env

pytestmark = pytest.mark.engine

WIDTHS = (80, 200)
VIEWS = ("summary", "--bin", "--executables", "--jre", "--config")
MODE = re.compile(r"^[-dlcbps][rwxsStT-]{9}$")


class Glance:
    """One realistic image: its views as tables (per width) and as JSON, each run once."""

    def __init__(self, tag: str) -> None:
        self.ref = f"docker:{tag}"
        self._memo: dict[tuple[str, int | None], Any] = {}

    def _run(self, args: list[str], columns: int | None) -> str:
        env = inspector_env()
        env.pop("COLUMNS", None)
        if columns is not None:
            env["COLUMNS"] = str(columns)
        proc = subprocess.run([sys.executable, "-m", "inspector", self.ref, *args], capture_output=True,
                              cwd=REPO_ROOT, env=env, timeout=300)
        stderr = proc.stderr.decode("utf-8", "replace")
        assert proc.returncode == 0 and "Traceback" not in stderr, stderr
        return proc.stdout.decode("utf-8")

    def table(self, view: str, width: int) -> str:
        key = (view, width)
        if key not in self._memo:
            self._memo[key] = self._run([] if view == "summary" else [view], width)
        return str(self._memo[key])

    def json(self, view: str) -> Any:
        key = (view, None)
        if key not in self._memo:
            args = ([] if view == "summary" else [view]) + ["--format", "json"]
            self._memo[key] = json.loads(self._run(args, None))
        return self._memo[key]


@pytest.fixture(scope="module")
def fat(docker_client: Any) -> Glance:
    return Glance(realistic.ensure_or_skip(lambda: realistic.ensure_fat(docker_client)))


@pytest.fixture(scope="module")
def distroless(docker_client: Any) -> Glance:
    return Glance(realistic.ensure_or_skip(lambda: realistic.ensure_distroless(docker_client))[0])


@pytest.fixture(scope="module", params=["fat", "distroless"])
def either(request: pytest.FixtureRequest) -> Glance:
    return request.getfixturevalue(request.param)  # type: ignore[no-any-return]


def assert_fits(text: str, width: int) -> None:
    too_wide = [line for line in text.splitlines() if len(line) > width and len(line.split()) > 1]
    assert not too_wide, f"lines wider than {width} columns that are not one token:\n" + "\n".join(too_wide)


def assert_whole(text: str, expected: set[str], what: str) -> None:
    printed = set(text.split())
    missing = sorted(expected - printed)
    assert not missing, f"{what}: tokens split or missing: {missing[:10]}"


def mode_rows(text: str) -> list[list[str]]:
    return [line.split() for line in text.splitlines() if line.split() and MODE.match(line.split()[0])]


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("view", VIEWS)
def test_every_view_fits(either: Glance, view: str, width: int) -> None:
    assert_fits(either.table(view, width), width)


@pytest.mark.parametrize("width", WIDTHS)
def test_executables_rows_agree_with_json(either: Glance, width: int) -> None:
    items = either.json("--executables")
    text = either.table("--executables", width)
    header = text.splitlines()[0].split()
    assert header[:5] == ["mode", "owner", "size", "type", "kind"]
    rows = mode_rows(text)
    assert len(rows) == len(items)
    assert [row[3] for row in rows] == [item["type"] for item in items]  # file / symlink, as JSON's
    expected = {item["path"] for item in items} | {item["resolves_to"] for item in items if item["resolves_to"]}
    assert_whole(text, expected, "executables")
    links = sum(1 for item in items if item["resolves_to"])
    assert f"{len(items) - links:,} executable" in text and f"{links:,} link" in text
    if width == 200:  # wide enough: one line per row
        assert len(text.splitlines()) == len(items) + 3


@pytest.mark.parametrize("width", WIDTHS)
def test_jre_type_first_version_as_java_prints_it(either: Glance, width: int) -> None:
    runtimes = either.json("--jre")
    text = either.table("--jre", width)
    assert text.splitlines()[0].split()[:3] == ["type", "distribution", "version"]
    rows = [line.split() for line in text.splitlines() if line.split()[:1] in (["JRE"], ["JDK"])]
    assert len(rows) == len(runtimes) >= 1
    for runtime in runtimes:
        assert runtime["runtime_version"], runtime  # the full string, kept in JSON
        short = re.match(r"\d+(?:[._]\d+)*", runtime["runtime_version"])
        assert short is not None
        assert runtime["runtime_version"].startswith(short.group(0))
        assert short.group(0) in text.split(), f"version {short.group(0)} not shown whole:\n{text}"
        assert_whole(text, {runtime["home"], *runtime["tools"]}, "jre")


def test_jre_versions_of_the_two_images(fat: Glance, distroless: Glance) -> None:
    fat_row = fat.table("--jre", 200).splitlines()[2].split()
    assert fat_row[0] == "JDK" and re.fullmatch(r"17\.0\.\d+", fat_row[3]), fat_row  # Debian OpenJDK 17.0.x
    dl_row = distroless.table("--jre", 200).splitlines()[2].split()
    assert dl_row[:2] == ["JRE", "Temurin"] and dl_row[2].startswith("25.0.4"), dl_row


@pytest.mark.parametrize("width", WIDTHS)
def test_bin_is_ls_l(either: Glance, width: int) -> None:
    listing = either.json("summary")["bin"]
    entries = either.json("--bin")
    text = either.table("--bin", width)
    lines = text.splitlines()
    if listing["symlink_to"] is not None:  # fat: merged /usr
        assert lines[0] == f"/bin -> {listing['symlink_to']} (merged /usr)"
    rows = mode_rows(text)
    assert len(rows) == len(entries)
    names = {e["path"].rsplit("/", 1)[-1] for e in entries}
    assert_whole(text, names, "bin")
    for row in rows:
        assert re.fullmatch(r"\d{4}-\d\d-\d\d|-", row[4]), row
        assert re.fullmatch(r"[\d.]+[kMGT]?B|\d+,\d+", row[3]), row
    if rows:
        assert {row[1] for row in rows} <= set(listing["user_names"].values()) | {str(e["uid"]) for e in entries}


@pytest.mark.parametrize("width", WIDTHS)
def test_summary_and_config_show_the_same_user_and_workdir(either: Glance, width: int) -> None:
    summary = either.json("summary")

    def pairs(text: str) -> dict[str, str]:
        return {line.split(None, 1)[0]: line.split(None, 1)[1].strip() for line in text.splitlines()
                if line.startswith(("user ", "workdir ")) and len(line.split(None, 1)) == 2}

    shown = pairs(either.table("summary", width))
    assert shown == pairs(either.table("--config", width))
    user = summary["config"]["user"]
    if user == "65532":  # distroless: /etc/passwd names it
        assert shown["user"] == "65532 (nonroot)"
    elif not user:
        assert shown["user"] == "0 (root, by default)"
    assert shown["workdir"] == (summary["config"]["workdir"] or "/")


@pytest.mark.parametrize("width", WIDTHS)
def test_summary_structure(either: Glance, width: int) -> None:
    summary = either.json("summary")
    text = either.table("summary", width)
    image = summary["image"]
    layers = image["layers"]
    size_line = next(line for line in text.splitlines() if line.startswith("size "))
    assert re.search(r"\b[\d.]+[kMG]B in \d+ layers?, [\d,]+ entr(y|ies)$", size_line), size_line
    assert f"{layers} layer{'s' if layers != 1 else ''}" in size_line
    assert " bytes" not in size_line
    env_tokens = {token for value in summary["config"]["env"] for token in value.split()}
    argv_tokens = {token for token in summary["entrypoint"]["argv"] if " " not in token}
    assert_whole(text, env_tokens | argv_tokens | {r["home"] for r in summary["jre"]}, "summary")
    assert "verified: 0 of 0" not in text
    assert " 1 layers" not in text and " 1 scripts" not in text
    cached = re.search(r"from cache: (\d+) layers? \(checked when cached\)", text.replace("\n  ", " "))
    if cached:
        assert int(cached.group(1)) <= layers


def test_answered_from_cache_says_so(distroless: Glance) -> None:
    distroless.table("summary", 200)  # fills the cache if it was not yet
    again = Glance(distroless.ref.removeprefix("docker:")).table("summary", 200)
    layers = distroless.json("summary")["image"]["layers"]
    assert f"from cache: {layers} layers (checked when cached)" in again

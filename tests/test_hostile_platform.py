"""The diff summary's platform row (``os/architecture/variant``, straight from each image's config)
against a config that puts terminal controls and a huge string there: escaped, bounded, no crash."""

from __future__ import annotations

import json
import re
from pathlib import Path

from testdata.imagebuilder import E, ImageSpec

from .conftest import run_cli_limited, write_image

_RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_LOUD = "\x1b]0;FORGED\x07\x1b[2J\u202e\r\nFORGED"


def test_a_hostile_platform_is_escaped_in_the_diff_summary(tmp_path: Path) -> None:
    files = [[E("app", data=b"#!/bin/true\n", mode=0o755)]]
    loud = ImageSpec(files, config={"Entrypoint": ["/app"]}, architecture=_LOUD + "x" * 100_000,
                     variant=_LOUD)
    quiet = ImageSpec(files, config={"Entrypoint": ["/app"]})
    a, b = write_image(tmp_path, quiet, "legacy", "quiet"), write_image(tmp_path, loud, "legacy", "loud")
    proc = run_cli_limited("diff", a, b, env={"COLUMNS": "60"}, timeout=60)
    text = (proc.stdout + proc.stderr).decode("utf-8", "surrogateescape")
    assert proc.returncode == 0 and "Traceback" not in text and "platform" in text
    assert not _RAW.findall(text), _RAW.findall(text)[:5]
    assert not any(line.startswith("FORGED") for line in text.splitlines())
    assert len(text) < 50_000  # the 100,000-character architecture is cut on the terminal
    proc = run_cli_limited("diff", a, b, "--format", "json", timeout=60)
    platform = json.loads(proc.stdout)["summary"]["platform"]
    assert platform["b"].startswith("linux/" + _LOUD)  # JSON keeps it exactly

"""What the views of many entries hold at peak: ``--executables`` one executable's JSON at a time,
as JSON and as a table; ``diff --all`` no record of an entry that did not change.

Before, the view made every executable's JSON object first (and the table a cleaned copy of all of
them): on the bench's million-file image, 91,576 executables took the JSON view to 314 MB at peak
and the table to 811 MB, against 194 MB for the summary of the same image. Now 182 MB and 271 MB
(the table keeps its rows: column widths need them all), with the same bytes out.
"""

from __future__ import annotations

import io
import json
import math
import subprocess
import sys
import tarfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.errors import ImageFormatError
from inspector.output.json_format import write_array, write_document
from inspector.output.report_tables import executables as executables_table
from testdata.hostile_tar import docker_archive

from .conftest import cli_env, cli_peak

#: Executables in the image: enough that holding each one's JSON shows in the peak.
COUNT = 20_000

def _image(path: Path) -> Path:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for number in range(COUNT):
            script = f"#!/bin/sh\necho {number}\n".encode()
            info = tarfile.TarInfo(f"usr/bin/tool-{number:05d}")
            info.mode, info.size = 0o755, len(script)
            tar.addfile(info, io.BytesIO(script))
    path.write_bytes(docker_archive([buffer.getvalue()], "tools:1"))
    return path


def test_the_executables_view_holds_no_more_than_the_summary(tmp_path: Path) -> None:
    image = _image(tmp_path / "tools.tar")
    summary = cli_peak(image, "--format", "json", "--no-cache")
    as_json = cli_peak(image, "--executables", "--format", "json", "--no-cache")
    as_table = cli_peak(image, "--executables", "--no-cache")
    # 2026-12-04: the summary 49 MB; the JSON view 63 MB before, 49 MB now; the table 173 MB before,
    # 56 MB now (its rows)
    assert as_json - summary < 5 << 20, (summary, as_json)
    assert as_table - summary < 25 << 20, (summary, as_table)


def test_the_executables_view_lists_every_one(tmp_path: Path) -> None:
    image = _image(tmp_path / "tools.tar")
    proc = subprocess.run([sys.executable, "-m", "inspector", str(image), "--executables", "--format", "json",
                           "--no-cache"], capture_output=True, env=cli_env(), timeout=120, check=False)
    items = json.loads(proc.stdout)
    assert len(items) == COUNT and items[0]["path"] == "/usr/bin/tool-00000" and items[0]["kind"] == "script"


_HOSTILE_TEXT = st.lists(st.characters(blacklist_categories=("Cs",)) | st.sampled_from(
    ["\x1b[31m", "\u202e", "\x85", "\x7f", "\n", '"', "\\", "\udce9"]), max_size=8).map("".join)
_JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-(2 ** 70), 2 ** 70) | _HOSTILE_TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_HOSTILE_TEXT, inner, max_size=4),
    max_leaves=20)


@settings(max_examples=300, deadline=None)
@given(st.lists(_JSON, max_size=5))
def test_an_array_written_item_by_item_is_the_document_of_the_whole_list(items: list[Any]) -> None:
    whole, streamed = io.StringIO(), io.StringIO()
    write_document(items, whole)
    write_array(iter(items), streamed)
    assert streamed.getvalue() == whole.getvalue()


def test_each_item_is_written_before_the_next_is_made() -> None:
    out = io.StringIO()

    def items() -> Any:
        yield {"path": "/a"}
        assert '"/a"' in out.getvalue(), "the first item was held until the second came"
        yield {"path": "/b"}

    write_array(items(), out)
    assert json.loads(out.getvalue()) == [{"path": "/a"}, {"path": "/b"}]


def test_an_item_json_cannot_express_is_refused_as_the_document_refuses_it() -> None:
    with pytest.raises(ImageFormatError) as whole:
        write_document([{"x": math.nan}], io.StringIO())
    with pytest.raises(ImageFormatError) as streamed:
        write_array(iter([{"x": math.nan}]), io.StringIO())
    assert str(streamed.value) == str(whole.value)


def _executable(path: str, resolves_to: str | None = None) -> dict[str, Any]:
    return {"path": path, "type": "symlink" if resolves_to else "file", "mode": "0755", "uid": 0, "gid": 0,
            "size": 10, "kind": "script", "elf": None, "shebang": "/bin/sh", "setuid": False, "setgid": False,
            "world_writable": False, "capabilities": None, "resolves_to": resolves_to}


def test_the_table_reads_its_executables_once_and_escapes_each() -> None:
    listed = [_executable("/usr/bin/\x1b[2Jclear"), _executable("/bin/sh", "/usr/bin/\x1b[2Jclear"),
              _executable("/usr/bin/b")]
    from_list, from_once = io.StringIO(), io.StringIO()
    executables_table(listed, from_list)
    executables_table(iter(listed), from_once)
    assert from_once.getvalue() == from_list.getvalue()
    text = from_once.getvalue()
    assert "\x1b" not in text and "\\x1b[2Jclear" in text
    assert text.endswith("2 executables, 1 link to them\n")


def test_diff_of_every_entry_holds_no_record_of_what_did_not_change(tmp_path: Path) -> None:
    """``diff --all`` made a record of every entry of both images and kept them by path: 1.96 GB at
    peak for an image of a million entries against itself. Now a record is made for each pair as
    it is compared, and kept only if it is shown."""
    image = _image(tmp_path / "tools.tar")
    summary = cli_peak(image, "--format", "json", "--no-cache")
    diff = cli_peak("diff", image, image, "--all", "--format", "json", "--no-cache")
    # 2026-12-04: the summary 49 MB; this diff 71 MB before (a record of each entry of both), 51 MB now
    assert diff - summary < 10 << 20, (summary, diff)

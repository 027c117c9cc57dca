"""What an audit worker reuses from one image to the next must never change a line.

A worker audits image after image of the same base: the package database is parsed once per
identical bytes (``reports.memo``), the executables and Java runtimes once per inspection
(``Inspection.once``). The audit of a fleet in one worker (``--jobs 1``: every image after the
first finds the memo filled) must print, line for line, what each image audited alone in its own
process prints (nothing to reuse there), and an image whose own layer changes the database must
get its own packages, not its base's.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from inspector.reports import memo
from testdata.imagebuilder import E, ImageSpec
from testdata.packages_fixtures import debian_base_layer, dpkg_files, dpkg_status, entries, tampering_layer
from tests.conftest import run_cli, write_image

NEW_PACKAGE = "Package: newpkg\nStatus: install ok installed\nArchitecture: amd64\nVersion: 2.0-1\n"


def _app(number: int) -> list[E]:
    return [E("app/", "dir"), E(f"app/run{number}", data=b"#!/bin/sh\necho app\n", mode=0o755)]


def _installs_a_package() -> list[E]:
    """The top layer rewrites dpkg's status (one package more) and adds that package's file list."""
    status = (dpkg_status() + "\n" + NEW_PACKAGE).encode()
    return entries({"/var/lib/dpkg/status": status, "/var/lib/dpkg/info/newpkg.list": b"/usr/bin/newtool\n",
                    "/usr/bin/newtool": b"#!/bin/sh\n"})


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    """Four images on one Debian base: the database untouched, changed, untouched, files tampered."""
    directory = tmp_path_factory.mktemp("memo-fleet")
    tops = [_app(0), _installs_a_package(), _app(2), tampering_layer()]
    return [write_image(directory, ImageSpec([debian_base_layer(), top], config={"Entrypoint": ["/app/run0"]}),
                        "docker25", f"img{n}") for n, top in enumerate(tops)]


def _audit(references: list[str], cache: Path, *options: str) -> dict[str, str]:
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    try:
        code, out, err = run_cli("audit", "--jobs", "1", *options, *references)
    finally:
        if saved is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = saved
    assert code == 0, err
    assert "Traceback" not in err
    by_reference = {json.loads(line)["reference"]: line for line in out.splitlines()}
    assert len(by_reference) == len(references)
    return by_reference


def _names(line: str) -> list[str]:
    record: dict[str, Any] = json.loads(line)
    return [p["name"] for p in record["packages"]["packages"]]


def test_an_image_that_changes_the_database_gets_its_own_packages(fleet: list[str], tmp_path: Path) -> None:
    lines = _audit(fleet, tmp_path / "cache")
    base_names = _names(lines[fleet[0]])
    assert "newpkg" not in base_names and "coreutils" in base_names
    assert _names(lines[fleet[1]]) == sorted([*base_names, "newpkg"])  # not the base's memoized list
    assert _names(lines[fleet[2]]) == base_names
    changed = json.loads(lines[fleet[1]])["packages"]["unowned_executables"]
    assert "/usr/bin/newtool" not in {item["path"] for item in changed}  # owned by newpkg in this image
    tampered = json.loads(lines[fleet[3]])
    assert any(f["rule"] == "modified-file" for f in tampered["findings"])
    assert not any(f["rule"] == "modified-file" for f in json.loads(lines[fleet[0]])["findings"])


def test_a_worker_that_reuses_prints_what_each_image_alone_prints(fleet: list[str], tmp_path: Path) -> None:
    together = _audit(fleet, tmp_path / "together")  # one worker: images 2..4 find the memo filled
    alone: dict[str, str] = {}
    for number, reference in enumerate(fleet):  # a process (and an empty cache) per image: nothing to reuse
        alone.update(_audit([reference], tmp_path / f"alone{number}"))
    for reference in fleet:
        assert together[reference] == alone[reference], reference
    # and each line's summary is what `inspect-image IMAGE --format json` prints for it (but for what was
    # hashed in this very process: the audit's phase 2 hashed the layers, this run hashes them again)
    code, out, err = run_cli(fleet[1], "--format", "json", "--no-cache")
    assert code == 0, err
    summary, printed = json.loads(together[fleet[1]])["summary"], json.loads(out)
    assert summary.pop("verification")["layers_checked"] == 0 and printed.pop("verification")["layers_checked"] == 2
    assert summary == printed


def test_the_memo_answers_only_for_the_same_bytes() -> None:
    memo.forget()
    files = dpkg_files()
    first = memo.read_packages(files)
    again = memo.read_packages(dict(files))
    assert [id(p) for p in again.packages] == [id(p) for p in first.packages]  # parsed once
    again.warnings.append("a caller's own warning")
    assert "a caller's own warning" not in memo.read_packages(files).warnings  # each caller its own lists
    changed = dict(files)
    changed["/var/lib/dpkg/status"] = files["/var/lib/dpkg/status"] + b"\n" + NEW_PACKAGE.encode()
    names = [p.name for p in memo.read_packages(changed).packages]
    assert "newpkg" in names and "newpkg" not in [p.name for p in first.packages]
    one_byte = dict(files)
    one_byte["/var/lib/dpkg/status"] = files["/var/lib/dpkg/status"].replace(b"9.1-1", b"9.1-2")
    assert [p.version for p in memo.read_packages(one_byte).packages if p.name == "coreutils"] == ["9.1-2"]


def test_the_memo_is_bounded() -> None:
    memo.forget()
    files = dpkg_files()
    first = memo.read_packages(files)
    for number in range(memo.MAX_KEPT):
        memo.read_packages({**files, "/etc/os-release": f"ID=other{number}\n".encode()})
    assert [id(p) for p in memo.read_packages(files).packages] != [id(p) for p in first.packages]  # dropped


def test_digests_kept_by_the_layer_scan_give_what_a_full_read_gives(fleet: list[str], tmp_path: Path) -> None:
    """Phase 2 keeps each layer's file digests for integrity; --no-cache has no phase 2 and reads every
    layer of every image itself: the packages (integrity, modified files) and findings must agree."""
    kept = _audit(fleet, tmp_path / "kept")
    read = _audit(fleet, tmp_path / "unused", "--no-cache")
    assert not (tmp_path / "unused").exists()
    for reference in fleet:
        one, other = json.loads(kept[reference]), json.loads(read[reference])
        assert one["packages"] == other["packages"], reference
        assert one["findings"] == other["findings"], reference
    modified = json.loads(kept[fleet[3]])["packages"]["integrity"]["modified"]
    assert {item["path"] for item in modified} >= {"/bin/ls"}, modified

"""``audit --shard I/N``: N processes split one list with no coordinator (a Kubernetes Indexed Job).

The union of the shards is the unsharded audit, line for line, with no image twice; the shard
defaults from ``JOB_COMPLETION_INDEX``/``JOB_COMPLETIONS``.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from testdata.audit_fleet import write_fleet
from tests.conftest import cli_env


def audit(*args: str, cache: Path, env: dict[str, str] | None = None) -> tuple[int, list[dict[str, Any]], str]:
    environment = {**cli_env(), "XDG_CACHE_HOME": str(cache), **(env or {})}
    for name in ("JOB_COMPLETION_INDEX", "JOB_COMPLETIONS"):
        if env is None or name not in env:
            environment.pop(name, None)
    proc = subprocess.run([sys.executable, "-m", "inspector", "audit", *args], env=environment,
                          capture_output=True, timeout=120)
    return proc.returncode, [json.loads(line) for line in proc.stdout.splitlines()], proc.stderr.decode()


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> list[str]:
    return write_fleet(tmp_path_factory.mktemp("fleet"), 7)


def by_reference(found: list[dict[str, Any]]) -> dict[str, str]:
    return {line["reference"]: json.dumps(line, sort_keys=True) for line in found}


def test_the_shards_together_are_the_whole_audit(fleet: list[str], tmp_path: Path) -> None:
    code, whole, err = audit(*fleet, cache=tmp_path / "whole")
    assert code == 0 and len(whole) == len(fleet), err
    union: list[dict[str, Any]] = []
    sizes = []
    for index in range(3):
        code, part, err = audit(*fleet, "--shard", f"{index}/3", cache=tmp_path / f"shard{index}")
        assert code == 0, err
        union += part
        sizes.append(len(part))
    references = [line["reference"] for line in union]
    assert len(references) == len(set(references))  # no image in two shards
    assert by_reference(union) == by_reference(whole)
    assert sum(sizes) == len(fleet) and max(sizes) < len(fleet)  # each shard did only part of it


def test_the_shard_defaults_from_an_indexed_job(fleet: list[str], tmp_path: Path) -> None:
    _, expected, _ = audit(*fleet, "--shard", "1/3", cache=tmp_path / "a")
    code, found, err = audit(*fleet, cache=tmp_path / "b", env={"JOB_COMPLETION_INDEX": "1", "JOB_COMPLETIONS": "3"})
    assert code == 0, err
    assert sorted(line["reference"] for line in found) == sorted(line["reference"] for line in expected)
    code, found, _ = audit(*fleet, "--shard", "0/1", cache=tmp_path / "b",
                           env={"JOB_COMPLETION_INDEX": "1", "JOB_COMPLETIONS": "3"})
    assert code == 0 and len(found) == len(fleet)  # --shard wins over the environment


@pytest.mark.parametrize(("args", "env", "words"), [
    (["--shard", "3/3"], None, "--shard"),
    (["--shard", "one/two"], None, "I/N"),
    ([], {"JOB_COMPLETION_INDEX": "0"}, "JOB_COMPLETIONS"),
    ([], {"JOB_COMPLETION_INDEX": "5", "JOB_COMPLETIONS": "2"}, "JOB_COMPLETION_INDEX"),
])
def test_a_bad_shard_is_one_error_line(fleet: list[str], tmp_path: Path, args: list[str],
                                       env: dict[str, str] | None, words: str) -> None:
    code, found, err = audit(fleet[0], *args, cache=tmp_path, env=env)
    assert code == 2 and found == []
    assert len(err.strip().splitlines()) == 1 and words in err and "Traceback" not in err

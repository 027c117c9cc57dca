"""``audit --scheduler``: the same tasks on a real Dask cluster give the same NDJSON as the process pool.

The cluster is a real ``distributed.LocalCluster`` (two worker processes on the loopback), started
by a fixture and closed after; without the ``[dask]`` extra the test is skipped, saying so.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from testdata.audit_fleet import write_fleet
from tests.conftest import cli_env

distributed = pytest.importorskip("distributed", reason="the [dask] extra is not installed "
                                  "(pip install 'inspect-image[dask]'); .ci/run installs it")


@pytest.fixture(scope="module")
def scheduler(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Workers use their own $XDG_CACHE_HOME (a shared volume on a real cluster): a fresh one here."""
    saved = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(tmp_path_factory.mktemp("workers-cache"))
    try:
        cluster = distributed.LocalCluster(host="127.0.0.1", n_workers=2, threads_per_worker=1, processes=True,
                                           dashboard_address=None)
    finally:
        if saved is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = saved
    try:
        yield cluster.scheduler_address
    finally:
        cluster.close()


def audit(*args: str, cache: Path) -> tuple[int, list[str], str]:
    proc = subprocess.run([sys.executable, "-m", "inspector", "audit", *args],
                          env={**cli_env(), "XDG_CACHE_HOME": str(cache)}, capture_output=True, timeout=180)
    return proc.returncode, proc.stdout.decode().splitlines(), proc.stderr.decode()


def test_a_dask_cluster_writes_what_the_process_pool_writes(scheduler: str, tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path / "fleet", 4)
    missing = str(tmp_path / "missing.tar")
    code, pooled, err = audit(*fleet, missing, "--jobs", "2", "--fail-on", "shell", cache=tmp_path / "pool")
    assert code == 2, err  # an unreadable image outranks the findings
    code, clustered, err = audit(*fleet, missing, "--scheduler", scheduler, "--fail-on", "shell",
                                 cache=tmp_path / "dask")
    assert code == 2, err
    assert len(clustered) == len(fleet) + 1
    assert sorted(clustered) == sorted(pooled)  # byte for byte, order aside
    assert "6 unique layers (6 scanned, 0 from the cache)" in err and "Traceback" not in err
    assert any(json.loads(line)["reference"] == missing and "error" in json.loads(line) for line in clustered)


def test_an_unreachable_scheduler_is_one_error_line(tmp_path: Path) -> None:
    fleet = write_fleet(tmp_path / "fleet", 1)
    code, lines, err = audit(*fleet, "--scheduler", "tcp://127.0.0.1:9", cache=tmp_path / "cache")
    assert code == 2 and lines == []
    assert len(err.strip().splitlines()) == 1 and "Dask scheduler" in err
    code, _, err = audit(*fleet, "--scheduler", "http://x/?", cache=tmp_path / "cache")
    assert code == 2 and "tcp://HOST:PORT" in err

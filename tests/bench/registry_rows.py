"""Registry rows of ``python -m tests.bench``: the fat image read from a loopback ``docker-registry``.

The image is pushed once (``skopeo copy docker-archive:… docker://127.0.0.1:PORT/…``, which gzips
its layers) into a registry started for the run and stopped by its pid at the end. Rows:

* ``skopeo copy docker://… oci:DIR``: skopeo downloading the same image to disk (the baseline: the
  bytes cross the same loopback; skopeo only writes them, it neither inflates nor parses them);
* ``ours summary, registry``: ``registry:HOST/NAME --no-cache`` (goal: <= 1.2x the baseline);
* ``ours summary, registry, warm cache``: the same again with the layer cache filled by one untimed
  run first: the manifest and nothing else crosses the network (goal: < 0.3 s).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from testdata.registry_bed import Registry, missing_tools

PY = sys.executable


def unavailable() -> str | None:
    """Why the rows cannot run here, or None."""
    missing = missing_tools()
    return f"no registry rows: {', '.join(missing)} missing (apt-get install docker-registry)" if missing else None


@contextmanager
def loopback_registry(docker_archive: Path) -> Iterator[str]:
    """A registry holding the image of ``docker_archive``; yields ``HOST/NAME:TAG``."""
    root = Path(tempfile.mkdtemp(prefix="inspect-image-bench-registry-"))
    registry = Registry(root).start()
    try:
        yield registry.push(f"docker-archive:{docker_archive}", "bench/image:1")
    finally:
        registry.stop()
        shutil.rmtree(root, ignore_errors=True)


def rows(bench: Any, key: str, label: str, name: str, cold: Path, warm: Path) -> list[Any]:
    """``bench`` is ``run.Bench`` (passed in: run.py imports this module, not the other way round)."""
    script = ('d=$(mktemp -d) && skopeo --insecure-policy copy -q --src-tls-verify=false "docker://$1" "oci:$d/image" '
              '&& rm -rf "$d"')
    skopeo = ["sh", "-c", script, "sh", name]
    no_credentials = str(cold.parent / "no-docker-config")  # the user's docker config plays no part
    ours = [PY, "-m", "inspector", f"registry:{name}", "--format", "json"]
    return [
        bench(f"{key}.skopeo", f"{label}: skopeo copy docker://… oci:DIR, loopback registry", skopeo,
              cpu_comparable=False),
        bench(f"{key}.registry", f"{label}: ours summary, registry", [*ours, "--no-cache"],
              baseline=f"{key}.skopeo", goal_ratio=1.2, cpu_comparable=False,
              env={"XDG_CACHE_HOME": str(cold), "DOCKER_CONFIG": no_credentials}),
        bench(f"{key}.registry_warm", f"{label}: ours summary, registry, warm cache", ours, goal_seconds=0.3,
              env={"XDG_CACHE_HOME": str(warm), "DOCKER_CONFIG": no_credentials}),
    ]


def warm(name: str, env: dict[str, str]) -> None:
    """One untimed run that fills the warm cache."""
    subprocess.run([PY, "-m", "inspector", f"registry:{name}", "--format", "json"], stdout=subprocess.DEVNULL,
                   check=True, env=env)

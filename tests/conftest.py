"""Generic fixtures for the offline tests: run the CLI, write fixture images in any layout.

Engine-free on purpose: Docker-engine fixtures live in ``tests/engine/conftest.py``.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testdata.imagebuilder import ImageSpec, write_docker_archive, write_oci_layout

REPO_ROOT = Path(__file__).resolve().parent.parent

# Every CLI run of the suite (ours and the engine tests') shares one fresh layer cache, so results
# never depend on what an earlier run or the user's own inspections left in ~/.cache/inspect-image.
os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="inspect-image-test-cache-")

#: Every on-disk layout a fixture image can be written in (see ``write_image``).
LAYOUTS = (
    "legacy",          # docker save, Docker <= 24
    "docker25",        # docker save, Docker >= 25
    "docker25-gzip",   # containerd image store export
    "oci-none",        # skopeo copy oci:DIR, uncompressed layers
    "oci-gzip",
    "oci-zstd",
    "oci-archive",     # skopeo copy oci-archive:FILE (gzip layers)
)


def cli_env() -> dict[str, str]:
    """The environment the CLI runs in: this checkout first on the path, no debug tracebacks."""
    env = dict(os.environ)
    env.pop("INSPECTOR_DEBUG", None)  # tracebacks must never be shown by default
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    return env


def run_cli(*args: str, input: bytes | None = None, stdin: Any = None,
            cwd: str | os.PathLike[str] | None = None, timeout: float = 60) -> tuple[int, str, str]:
    """Run ``python -m inspector ARGS`` in a subprocess: ``(exit code, stdout, stderr)``."""
    proc = subprocess.run(
        [sys.executable, "-m", "inspector", *map(str, args)],
        input=input, stdin=stdin if input is None else None,
        capture_output=True,
        cwd=cwd, env=cli_env(), timeout=timeout,
    )
    return (proc.returncode, proc.stdout.decode("utf-8", "surrogateescape"),
            proc.stderr.decode("utf-8", "surrogateescape"))


#: Runs the CLI with stdout to /dev/null and prints the process's own peak (``VmHWM``: it starts
#: afresh at exec, unlike ``wait4``'s figure, which starts from this big pytest process's).
_PEAK = """
import sys
from inspector.cli import main
try:
    main(sys.argv[1:])
finally:
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            print("peak_kb=" + line.split()[1], file=sys.stderr)
"""


def cli_peak(*args: object, timeout: float = 120) -> int:
    """The peak resident memory, in bytes, of ``inspect-image ARGS`` (which must succeed)."""
    with open(os.devnull, "wb") as sink:
        proc = subprocess.run([sys.executable, "-c", _PEAK, *map(str, args)], stdout=sink, stderr=subprocess.PIPE,
                              env=cli_env(), timeout=timeout, check=False)
    text = proc.stderr.decode("utf-8", "replace")
    assert proc.returncode == 0, text
    return int(text.rsplit("peak_kb=", 1)[1].split()[0]) * 1024


LIMITED_MEMORY = 1 << 30  #: the address space the hostile-input tests give the CLI


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (LIMITED_MEMORY, LIMITED_MEMORY))


def run_cli_limited(*args: object, timeout: float = 20, env: dict[str, str] | None = None,
                    input: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    """``python -m inspector ARGS`` as the hostile-input tests run it: under LIMITED_MEMORY of address
    space and ``timeout``, stdin ``input`` (else closed), ``env`` added to ``cli_env()``; output as bytes."""
    return subprocess.run([sys.executable, "-m", "inspector", *map(str, args)], input=input,
                          stdin=subprocess.DEVNULL if input is None else None, capture_output=True,
                          env={**cli_env(), **(env or {})}, timeout=timeout,
                          preexec_fn=_limit_memory, check=False)


@pytest.fixture(name="run_cli", scope="session")
def run_cli_fixture() -> Callable[..., tuple[int, str, str]]:
    return run_cli


def write_image(directory: Path, specs: ImageSpec | list[ImageSpec], layout: str = "legacy",
                name: str | None = None, **kwargs: Any) -> str:
    """Write ``specs`` in ``layout`` (one of ``LAYOUTS``) under ``directory``; return the path string.

    Extra keyword arguments go to the imagebuilder writer (``layer_bytes_hook``, ``index_platforms``...).
    """
    stem = name or layout
    if layout in ("legacy", "docker25", "docker25-gzip"):
        path = directory / f"{stem}.tar"
        write_docker_archive(path, specs, layout, **kwargs)
    elif layout.startswith("oci-") and layout != "oci-archive":
        path = directory / stem
        write_oci_layout(path, specs, compression=layout[len("oci-"):], **kwargs)
    elif layout == "oci-archive":
        path = directory / f"{stem}.tar"
        kwargs.setdefault("compression", "gzip")
        write_oci_layout(path, specs, as_tar=True, **kwargs)
    else:
        raise ValueError(f"unknown layout {layout!r}")
    return str(path)


@pytest.fixture
def image_writer(tmp_path: Path) -> Callable[..., str]:
    """``image_writer(specs, layout="legacy", name=None, **kw)`` → reference string in ``tmp_path``."""
    counter = iter(range(1_000_000))

    def write(specs: ImageSpec | list[ImageSpec], layout: str = "legacy", name: str | None = None,
              **kwargs: Any) -> str:
        return write_image(tmp_path, specs, layout, name or f"{layout}-{next(counter)}", **kwargs)

    return write


def list_files(ref: str, *extra: str) -> list[dict[str, Any]]:
    """``inspect-image REF --files --format json``, parsed; fails the test on a non-zero exit."""
    code, out, err = run_cli(ref, "--files", *extra, "--format", "json")
    assert code == 0, f"exit {code}: {err}"
    assert "Traceback" not in err
    return json.loads(out)


@pytest.fixture
def files_of(image_writer: Callable[..., str]) -> Callable[..., dict[str, dict[str, Any]]]:
    """``files_of(layers_or_spec, layout="legacy", *cli_args)`` → ``{path: entry}`` of the merged listing."""

    def files(layers: ImageSpec | list, layout: str = "legacy", *extra: str) -> dict[str, dict[str, Any]]:
        spec = layers if isinstance(layers, ImageSpec) else ImageSpec(layers)
        entries = list_files(image_writer(spec, layout), *extra)
        paths = [e["path"] for e in entries]
        assert len(paths) == len(set(paths)), f"duplicate paths in listing: {paths}"
        return {e["path"]: e for e in entries}

    return files


@pytest.fixture(name="cli_env", scope="session")
def cli_env_fixture() -> dict[str, str]:
    return cli_env()


@pytest.fixture(name="list_files", scope="session")
def list_files_fixture() -> Callable[..., list[dict[str, Any]]]:
    return list_files


@pytest.fixture(name="write_image", scope="session")
def write_image_fixture() -> Callable[..., str]:
    """The plain ``write_image(directory, specs, layout, name, **kw)``, for module-scoped images."""
    return write_image

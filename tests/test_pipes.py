"""A closed stdout is the reader's choice, not a broken image (issue 12.7).

``inspect-image … | head`` closes our stdout early. Each case runs in a real shell pipeline
(``bash -c 'set -o pipefail; … | head -c 10'``) and takes our own exit code from PIPESTATUS: it
must be 0, with nothing at all on stderr. Then the same with a pipe we close ourselves before the
CLI has written anything, and one closed in the middle of a large write.
"""

from __future__ import annotations

import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from testdata.imagebuilder import E, ImageSpec
from testdata.make_sample import tiny_elf

from .conftest import cli_env, write_image

BIG = bytes(range(256)) * 4096  # 1 MiB: larger than any pipe buffer


def _spec(tag: str) -> ImageSpec:
    layer = [E("bin", "dir"), E("bin/sh", data=tiny_elf(), mode=0o755), E("data", "dir"), E("data/big", data=BIG)]
    layer += [E(f"bin/tool{i:04d}", data=tiny_elf(), mode=0o755) for i in range(400)]
    layer += [E("etc", "dir")] + [E(f"etc/f{i:05d}", data=b"x") for i in range(3000)]
    return ImageSpec([layer], config={"Entrypoint": ["/bin/sh"], "Env": [f"E{i}=v" for i in range(50)]},
                     tags=[tag])


@pytest.fixture(scope="module")
def images(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    where = tmp_path_factory.mktemp("pipes")
    a = write_image(where, _spec("app:1"), "legacy", "a")
    second = _spec("app:2")
    second.layers[0] = second.layers[0] + [E(f"bin/new{i:04d}", data=tiny_elf(), mode=0o755) for i in range(400)]
    b = write_image(where, second, "oci-gzip", "b")
    return a, b


def pipeline(args: list[str], reader: str) -> tuple[int, int, str]:
    """``inspect-image ARGS | READER`` in bash: (our exit code, the reader's, our stderr)."""
    ours = " ".join(shlex.quote(a) for a in [sys.executable, "-m", "inspector", *args])
    script = f"set -o pipefail; {ours} | {reader} >/dev/null; echo ${{PIPESTATUS[*]}}"
    proc = subprocess.run(["bash", "-c", script], env=cli_env(), capture_output=True, timeout=60, check=False)
    codes = proc.stdout.decode().split()
    return int(codes[0]), int(codes[1]), proc.stderr.decode("utf-8", "replace")


CASES = [
    (["cat", "{a}", "/data/big"], "head -c 10"),
    (["{a}", "--bin"], "head -3"),
    (["{a}", "--files", "--format", "json"], "head -c 10"),
    (["{a}", "--files"], "head -1"),
    (["{a}", "--executables", "--json"], "head -c 10"),
    (["{a}", "--config"], "head -1"),
    (["{a}"], "head -1"),
    (["export", "{a}", "-"], "head -c 100"),
    (["diff", "{a}", "{b}"], "head -1"),
    (["diff", "{a}", "{b}", "--all", "--json"], "head -c 10"),
    (["cat", "{a}", "/data/big"], "true"),  # closed before the first byte
    (["{a}", "--files"], "true"),
]


@pytest.mark.parametrize("args, reader", CASES, ids=[" ".join(a) + " | " + r for a, r in CASES])
def test_a_closed_stdout_is_not_an_error(images: tuple[str, str], args: list[str], reader: str) -> None:
    a, b = images
    ours, theirs, err = pipeline([x.format(a=a, b=b) for x in args], reader)
    assert (ours, err) == (0, ""), f"exit {ours}, stderr: {err!r}"
    assert theirs == 0


def test_closed_before_start_with_popen(images: tuple[str, str]) -> None:
    """The reading end closed before we run at all: every write fails at once."""
    proc = subprocess.Popen([sys.executable, "-m", "inspector", "export", images[0], "-"], env=cli_env(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, b"")


def test_an_unwritable_stdout_that_is_not_a_pipe_is_still_reported(images: tuple[str, str], tmp_path: Path) -> None:
    """Only EPIPE is the reader's choice: a full disk (ENOSPC on /dev/full) is an error, exit 2."""
    with open("/dev/full", "wb") as full:
        proc = subprocess.run([sys.executable, "-m", "inspector", "cat", images[0], "/data/big"], env=cli_env(),
                              stdout=full, stderr=subprocess.PIPE, timeout=60, check=False)
    err = proc.stderr.decode()
    assert proc.returncode == 2, err
    assert err.count("\n") == 1 and err.startswith("inspect-image: error:") and "Traceback" not in err

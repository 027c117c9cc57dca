"""Reading layers leaves no holes in the C heap (issue 20's memory goal): the large, short-lived
buffers of the layer reader, its hash and the tar walk are mapped on their own (``inspector.scratch``).

Taken from the heap (glibc does that for a large buffer once a first one was freed), each layer's
buffers left holes between the tree's blocks that the process could not give back: 9 MB free in a
13 MB heap after a 20,000-entry image, 19 MB of 184 MB resident after a million entries.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import io
import os
import subprocess
import sys
import tarfile

import pytest

from inspector.scratch import scratch
from testdata.hostile_tar import docker_archive

from .conftest import cli_env

LAYERS = 10

PROBE = """
import ctypes, sys
from inspector.sources.opener import open_image
from inspector.reports.summary import inspect_image, summary

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
with open_image(sys.argv[1]) as image:
    inspection = inspect_image(image)
    summary(inspection)
print(libc.mallinfo2().fordblks)
"""


def _glibc_with_mallinfo2() -> bool:
    try:
        return hasattr(ctypes.CDLL(ctypes.util.find_library("c")), "mallinfo2")
    except OSError:
        return False


def _layer(index: int) -> bytes:
    """3,000 small files in 30 directories (the tree's dicts grow between the buffers) and a 9 MB
    file (the reader goes round its 4 MiB buffers)."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for number in range(3000):
            info = tarfile.TarInfo(f"l{index}/d{number % 30:02d}/f{number:04d}")
            info.mode, info.size = 0o644, 1
            tar.addfile(info, io.BytesIO(b"x"))
        info = tarfile.TarInfo(f"l{index}/big")
        info.size = 9 << 20
        tar.addfile(info, io.BytesIO(bytes([index]) * info.size))
    return buffer.getvalue()


@pytest.mark.skipif(not sys.platform.startswith("linux") or not _glibc_with_mallinfo2(),
                    reason="the heap's free bytes are read with glibc's mallinfo2")
def test_reading_ten_layers_leaves_under_4_mb_free_in_the_heap(tmp_path):
    archive = tmp_path / "image.tar"
    archive.write_bytes(docker_archive([_layer(index) for index in range(LAYERS)], "holes:1"))
    env = cli_env()
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    done = subprocess.run([sys.executable, "-c", PROBE, f"docker-archive:{archive}"], capture_output=True,
                          text=True, env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    free = int(done.stdout.split()[-1])
    assert free < 4 << 20, f"{free / 2**20:.1f} MB free in the heap after the layers were read"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_scratch_buffer_is_not_shared_with_a_forked_process():
    """The audit's pool may fork while a layer's buffers exist: the child's writes stay its own."""
    buffer = scratch(1 << 20)
    buffer[:6] = b"parent"
    child = os.fork()
    if child == 0:  # pragma: no cover - the child only writes and exits
        buffer[:6] = b"child!"
        os._exit(0)
    os.waitpid(child, 0)
    assert bytes(buffer[:6]) == b"parent"


def test_no_memory_for_a_scratch_buffer_is_a_memory_error_not_a_broken_stream():
    """An ``OSError`` from a layer's reader means a broken stream (reported as a truncated layer);
    running out of memory must not read as that."""
    script = ("import resource\n"
              "resource.setrlimit(resource.RLIMIT_AS, (1 << 30, 1 << 30))\n"
              "from inspector.scratch import scratch\n"
              "try:\n    scratch(4 << 30)\nexcept MemoryError:\n    print('MemoryError')\n")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=cli_env(),
                          timeout=60, check=False)
    assert done.stdout.strip() == "MemoryError", done.stderr

"""The layer scan's process-wide and per-layer shortcuts stay harmless on hostile layers: the cyclic
collector it pauses is running again whatever way the scan ends, and the table that shares mode and
mtime objects stops growing at its bound without changing any value a node reports."""

from __future__ import annotations

import gc
import io
import tarfile
import threading

import pytest

from inspector.errors import ImageFormatError
from inspector.fs.layer import _MAX_SHARED_INTS, scan_layer
from testdata.imagebuilder import E, layer_tar


def _layer(count: int, keep: int = 0) -> bytes:
    """``count`` empty files, each with its own mtime; only the first ``keep`` bytes when given."""
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for i in range(count):
            info = tarfile.TarInfo(f"d/f{i}")
            info.mtime, info.mode = 1_000_000 + i, 0o600 + i % 64
            tar.addfile(info, io.BytesIO(b""))
    return out.getvalue()[:keep or None]


@pytest.mark.parametrize("keep", [0, 512 * 5 + 100], ids=["whole", "truncated"])
def test_the_collector_runs_again_after_the_scan(keep: int) -> None:
    assert gc.isenabled()
    if keep:
        with pytest.raises(ImageFormatError, match="truncated"):
            scan_layer(io.BytesIO(_layer(10, keep)))
    else:
        scan_layer(io.BytesIO(_layer(10)))
    assert gc.isenabled()


def test_past_the_shared_table_bound_every_node_keeps_its_own_mode_and_mtime() -> None:
    count = _MAX_SHARED_INTS + 500  # more distinct mtimes than the table holds
    tree = scan_layer(io.BytesIO(_layer(count)))
    for i in (0, _MAX_SHARED_INTS - 1, _MAX_SHARED_INTS, count - 1):
        node = tree.lookup(("d", f"f{i}"))
        assert node is not None and (node.mtime, node.mode) == (1_000_000 + i, 0o600 + i % 64)
    assert tree.ints == {}  # the table lives only while the layer is read


class _HeldTar(io.RawIOBase):
    """A layer tar whose first read waits until the test lets it go on (``started`` says it began)."""

    def __init__(self, data: bytes) -> None:
        self._inner = io.BytesIO(data)
        self.started = threading.Event()
        self.go = threading.Event()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:  # type: ignore[no-untyped-def]
        self.started.set()
        assert self.go.wait(10)
        return self._inner.readinto(buffer)


def test_the_collector_stays_paused_until_the_last_of_two_overlapping_scans_ends() -> None:
    """The registry scans two layers at once: the first scan to end must not enable gc under the other."""
    data = layer_tar([E("a/", "dir"), E("a/f", data=b"x")])
    first, second = _HeldTar(data), _HeldTar(data)
    threads = [threading.Thread(target=scan_layer, args=(stream,)) for stream in (first, second)]
    assert gc.isenabled()
    threads[0].start()
    assert first.started.wait(10)
    threads[1].start()
    assert second.started.wait(10)
    first.go.set()
    threads[0].join(10)
    assert not gc.isenabled()  # the second scan still runs
    second.go.set()
    threads[1].join(10)
    assert gc.isenabled()

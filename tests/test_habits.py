"""Loop closures bind their own iteration (ruff B023, issue 19).

``StoredImage.read_layers`` and ``DirWriter.finish`` hand a callable per loop iteration to a helper
(``_guarded``, ``_at``). Both helpers call it at once, so a closure over the loop variables was right
only by accident of *when* it runs: a helper that kept the callable (a retry, a deferred chmod)
would have applied the last iteration's layer or mode to every one. The first test is what a user
sees (several layers read for ``export``, each directory with its own mode); the two after it hold
each callable back until the loop has ended, which only a per-iteration binding survives.
"""

from __future__ import annotations

import io
import os
import stat
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any, TypeVar

import pytest

from inspector.export.dir_writer import DirWriter
from inspector.fs.entry import Entry
from inspector.sources import stored
from inspector.sources.interface import ImageMeta, LayerInfo
from inspector.sources.layout import Resolved
from inspector.sources.store import MemoryStore
from inspector.sources.verify import Verification
from testdata.imagebuilder import E, ImageSpec, layer_tar

T = TypeVar("T")

#: directory → mode, spread over three layers, deepest last in each
MODES = {"a": 0o750, "a/b": 0o711, "c": 0o700, "c/d": 0o755, "e": 0o751}


def _layers() -> list[list[E]]:
    return [
        [E("a/", "dir", mode=MODES["a"]), E("a/b/", "dir", mode=MODES["a/b"]), E("a/b/one", data=b"layer 0\n")],
        [E("c/", "dir", mode=MODES["c"]), E("c/d/", "dir", mode=MODES["c/d"]), E("c/d/two", data=b"layer 1\n")],
        [E("e/", "dir", mode=MODES["e"]), E("e/three", data=b"layer 2\n"),
         E("e/link", "hardlink", target="a/b/one")],
    ]


@pytest.mark.parametrize("layout", ["oci-gzip", "legacy"])
def test_export_reads_each_layer_and_gives_each_directory_its_own_mode(image_writer: Callable[..., str],
                                                                       run_cli: Callable[..., tuple[int, str, str]],
                                                                       tmp_path: Path, layout: str) -> None:
    ref = image_writer(ImageSpec(_layers()), layout)
    dest = tmp_path / "out"
    code, out, err = run_cli("export", ref, str(dest))
    assert code == 0, err
    assert {d: stat.S_IMODE(os.lstat(dest / d).st_mode) for d in MODES} == MODES
    assert [(dest / p).read_bytes() for p in ("a/b/one", "c/d/two", "e/three", "e/link")] == \
        [b"layer 0\n", b"layer 1\n", b"layer 2\n", b"layer 0\n"]
    assert os.lstat(dest / "e/link").st_ino == os.lstat(dest / "a/b/one").st_ino


class _LateWriter(DirWriter):
    """Runs the chmods of ``finish`` only after its loop has ended, as a deferring helper would."""

    def __init__(self, dest: str) -> None:
        super().__init__(dest)
        self.late: list[tuple[str, Callable[[int, str], object]]] | None = None

    def _at(self, relative: str, action: Callable[[int, str], object]) -> None:
        if self.late is None:
            super()._at(relative, action)
        else:
            self.late.append((relative, action))

    def finish(self) -> None:
        self.late = []
        super().finish()

    def _close_all(self) -> None:  # called by finish after the loop, while DEST is still open
        late, self.late = self.late or [], None
        for relative, action in late:
            super()._at(relative, action)
        super()._close_all()


def _dir_entry(path: str, mode: int) -> Entry:
    return Entry(path, "dir", mode, 0, 0, 0, None, None, None, 0, {}, None)


def test_dir_writer_chmod_actions_keep_their_own_mode(tmp_path: Path) -> None:
    dest = tmp_path / "out"
    writer = _LateWriter(str(dest))
    for path in sorted(MODES):
        writer.directory(path, _dir_entry(path, MODES[path]))
    writer.finish()
    assert {d: stat.S_IMODE(os.lstat(dest / d).st_mode) for d in MODES} == MODES


class _KeptOpen(io.BytesIO):
    def close(self) -> None:  # the deferred read comes after the ``with`` that would close it
        pass


class _Blobs(MemoryStore):
    def open(self, name: str) -> IO[bytes]:
        return _KeptOpen(self.files[name])


def test_stored_image_layer_reads_keep_their_own_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    blobs = {f"layer{i}": layer_tar(entries) for i, entries in enumerate(_layers())}
    infos = [LayerInfo(i, None, None, None, None) for i in range(len(blobs))]
    meta = ImageMeta(reference="test", id="sha256:" + "0" * 64, config={}, layers=infos)
    image = stored.StoredImage(_Blobs("test", blobs, {}), Resolved(meta, list(blobs)), Verification())
    late: list[Callable[[], Any]] = []

    def deferred(action: Callable[[], T], where: str) -> T | None:
        late.append(action)
        return None

    monkeypatch.setattr(stored, "_guarded", deferred)
    seen: list[tuple[int, bytes]] = []
    image.read_layers({0, 1, 2}, lambda info, stream: seen.append((info.index, stream.read())))
    for action in late:
        action()
    assert seen == [(i, blobs[f"layer{i}"]) for i in range(3)]

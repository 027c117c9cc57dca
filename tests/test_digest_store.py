"""The per-layer store of packaged files' digests that integrity reads (``reports.integrity.DigestStore``).

A process that reads the same record again (an audit worker, image after image of one base) reuses
what it parsed, but only for the very bytes it parsed: the record is read and its checksum checked
every time, and a caller that adds digests never changes what an earlier reader holds.
"""

from __future__ import annotations

from pathlib import Path

from inspector.lru import BoundedLru
from inspector.reports import integrity
from inspector.reports.integrity import DigestStore

DIFF_ID = "sha256:" + "cd" * 32


def test_a_record_read_again_is_the_same_and_added_digests_change_no_earlier_answer(tmp_path: Path) -> None:
    store = DigestStore(tmp_path)
    store.put(DIFF_ID, {"/bin/ls": {"md5": "a" * 32}})
    first = store.get(DIFF_ID)
    assert first == {"/bin/ls": {"md5": "a" * 32}}
    assert store.get(DIFF_ID) == first
    store.add(DIFF_ID, {"/bin/ls": {"sha256": "b" * 64}, "/bin/cat": {"md5": "c" * 32}})
    assert first == {"/bin/ls": {"md5": "a" * 32}}, "what an earlier reader holds did not change"
    assert DigestStore(tmp_path).get(DIFF_ID) == {"/bin/ls": {"md5": "a" * 32, "sha256": "b" * 64},
                                                   "/bin/cat": {"md5": "c" * 32}}


def test_a_damaged_record_is_refused_even_after_it_was_read(tmp_path: Path) -> None:
    store = DigestStore(tmp_path)
    store.put(DIFF_ID, {"/bin/ls": {"md5": "a" * 32}})
    assert store.get(DIFF_ID) is not None
    path = next((tmp_path / "package-digests").iterdir())
    path.write_bytes(path.read_bytes().replace(b"a" * 32, b"e" * 32))  # a forged digest, old checksum
    assert store.get(DIFF_ID) is None
    assert not path.exists(), "the damaged record is deleted"


def test_records_kept_in_memory_are_bounded(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(integrity, "_PARSED", BoundedLru(200))
    store = DigestStore(tmp_path)
    for number in range(10):
        diff_id = f"sha256:{number:064x}"
        store.put(diff_id, {f"/f{number}": {"md5": "a" * 32}})
        assert store.get(diff_id) is not None
    kept = integrity._PARSED
    assert 0 < len(kept) < 10 and kept.weight <= 200

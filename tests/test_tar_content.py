"""What a content probe reads of each member is that member's bytes, exactly (issue 20: a member of
at most ``tarwalk.SMALL`` bytes is handed over as its bytes, read ahead with the headers around it,
not through an ``io`` reader): every size about the cut-offs, members straddling the walk's
read-ahead, random-access and one-pass streams, reads of odd sizes, and a cut member's error."""

from __future__ import annotations

import hashlib
import io
import random
from typing import IO, Any

import pytest

from inspector.errors import ImageFormatError
from inspector.fs.layer import scan_layer
from inspector.fs.node import Node
from inspector.tarwalk import CHUNK_MIN, SMALL
from testdata import hostile_tar as H

SIZES = [0, 1, 511, 512, 513, CHUNK_MIN - 1, CHUNK_MIN, CHUNK_MIN + 1, SMALL - 1, SMALL, SMALL + 1, 3 * SMALL + 7]


class _OnePass(io.RawIOBase):
    """A stream that can only be read forward: no seek, no tell."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        return self._data.readinto(buffer)


def _files(rng: random.Random) -> list[tuple[str, bytes]]:
    files = [(f"f{index}-{size}", rng.randbytes(size)) for index, size in enumerate(SIZES)]
    files += [(f"small{index}", rng.randbytes(rng.randrange(0, 3000))) for index in range(300)]  # across the read-ahead
    rng.shuffle(files)
    return files


def _recording(seen: dict[str, str], rng: random.Random) -> Any:
    def probe(path: str, node: Node, member: Any = None) -> Any:
        def read(stream: IO[bytes]) -> str:
            digest = hashlib.sha256()
            while chunk := stream.read(rng.choice([1, 7, 512, 4096, 1 << 20])):
                digest.update(chunk)
            seen[path] = digest.hexdigest()
            return seen[path]
        return read
    return probe


@pytest.mark.parametrize("one_pass", [False, True], ids=["random-access", "one-pass"])
def test_a_probe_reads_every_member_exactly(one_pass: bool) -> None:
    rng = random.Random(20)
    files = _files(rng)
    data = H.layer(*(H.regular(name, body, mode=0o755) for name, body in files))
    seen: dict[str, str] = {}
    tree = scan_layer(_OnePass(data) if one_pass else io.BytesIO(data), _recording(seen, rng))
    assert seen == {f"/{name}": hashlib.sha256(body).hexdigest() for name, body in files}
    node = tree.lookup((files[0][0],))
    assert node is not None and node.content == seen[f"/{files[0][0]}"]


@pytest.mark.parametrize("size", [100, SMALL, SMALL + 1])
@pytest.mark.parametrize("one_pass", [False, True], ids=["random-access", "one-pass"])
def test_a_member_cut_short_is_an_error_not_short_content(size: int, one_pass: bool) -> None:
    whole = H.layer(H.regular("first", b"x" * 10, mode=0o755), H.regular("cut", b"y" * size, mode=0o755))
    cut = whole[:1024 + 512 + size // 2]  # inside the second member's data
    seen: dict[str, str] = {}
    with pytest.raises(ImageFormatError, match="truncated"):
        scan_layer(_OnePass(cut) if one_pass else io.BytesIO(cut), _recording(seen, random.Random(1)))
    assert "/cut" not in seen

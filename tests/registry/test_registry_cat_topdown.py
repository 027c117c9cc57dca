"""``cat`` from a registry reads the stack from the top (``export.topdown``): whatever a hostile stack
holds, it answers exactly as the full merge of the same image from a local archive does.

Six layers, so a file in the bottom one is found only after the whole-stack merge (past ``TRIES``);
an upper whiteout, an opaque directory, a symlink loop and a 1,000-level deep path (the limit: 1,024).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from testdata.imagebuilder import E, ImageSpec, opaque, whiteout, write_docker_archive, write_oci_layout

from .conftest import Bed, Runner

DEEP = "/".join(f"d{i}" for i in range(1000))
LAYERS = [
    [E("bottom/", "dir"), E("bottom/file", data=b"bottom\n"), E("gone", data=b"hidden\n"),
     E("dir/", "dir"), E("dir/old", data=b"old\n")],
    [E("l1", data=b"1\n")],
    [E("l2", data=b"2\n")],
    [E("l3", data=b"3\n")],
    [E("dir/", "dir"), opaque("dir"), E("dir/new", data=b"new\n"), whiteout("gone")],
    [E("loop", "symlink", target="loop"), E("up", "symlink", target="bottom/file"),
     *[E("/".join(f"d{i}" for i in range(n + 1)) + "/", "dir") for n in range(1000)],
     E(f"{DEEP}/leaf", data=b"deep\n")],
]


@pytest.fixture(scope="module")
def stack(bed: Bed, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    root: Path = tmp_path_factory.mktemp("topdown")
    spec = ImageSpec(LAYERS)
    write_oci_layout(root / "oci", spec, compression="gzip")
    write_docker_archive(root / "image.tar", spec)
    bed.anon.push(f"oci:{root / 'oci'}", "test/topdown:1")
    yield f"registry:{bed.anon.host}/test/topdown:1", f"docker-archive:{root / 'image.tar'}"


@pytest.mark.parametrize("path", ["/bottom/file", "/up", "/l2", "/dir/new", f"/{DEEP}/leaf",
                                  "/gone", "/dir/old", "/loop", "/nowhere", "/bottom"])
def test_cat_from_the_top_answers_as_the_full_merge(stack: tuple[str, str], run: Runner, path: str) -> None:
    remote, local = stack
    got = run("cat", remote, path)
    want = run("cat", local, path)
    assert (got.code, got.out) == (want.code, want.out), (got.err, want.err)
    assert (got.code, got.out) == EXPECTED.get(path, (2, "")), got.err
    if want.code:
        got.one_error(want.code)


#: What a user sees (the others are one error line, exit 2).
EXPECTED = {"/bottom/file": (0, "bottom\n"), "/up": (0, "bottom\n"), "/l2": (0, "2\n"),
            "/dir/new": (0, "new\n"), f"/{DEEP}/leaf": (0, "deep\n")}

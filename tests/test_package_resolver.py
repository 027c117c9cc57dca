"""``reports.packages.DirectoryResolver`` answers exactly as resolving each path the plain way does.

It looks each directory up once and builds paths by concatenation; the plain way splits, resolves
and joins every path. Both must agree on every kind of path a package database may list: through
a usrmerge link, a link to a link, a dangling link, a file where a directory is expected, doubled
and trailing slashes, the root, relative and empty paths.
"""

from __future__ import annotations

import posixpath

import pytest

from inspector.fs.node import DIR, SYMLINK
from inspector.reports.packages import DirectoryResolver
from inspector.reports.summary import inspect_image
from inspector.sources.opener import open_image
from testdata.imagebuilder import E, ImageSpec, write_docker_archive

LAYERS = [
    [E("usr/", "dir"), E("usr/bin/", "dir"), E("usr/bin/ls", data=b"\x7fELF", mode=0o755),
     E("usr/bin/sh", "symlink", target="dash"), E("usr/bin/dash", data=b"\x7fELF", mode=0o755),
     E("usr/lib/", "dir"), E("usr/lib/x86_64-linux-gnu/", "dir"), E("usr/lib/x86_64-linux-gnu/libc.so.6", data=b"c"),
     E("bin", "symlink", target="usr/bin"), E("lib", "symlink", target="usr/lib"),
     E("lib64", "symlink", target="lib"), E("gone", "symlink", target="/nowhere"),
     E("etc/", "dir"), E("etc/passwd", data=b"root:x:0:0::/root:/bin/sh\n"), E("etc/file", data=b"f"),
     E("usr/lib/jvm/", "dir"), E("usr/lib/jvm/x/", "dir"), E("usr/lib/jvm/x/bin/", "dir"),
     E("usr/lib/jvm/x/bin/java", data=b"\x7fELF", mode=0o755), E("usr/lib/jvm/current", "symlink", target="x"),
     E("usr/lib/jvm/up", "symlink", target="../../bin"), E("usr/lib/jvm/loop", "symlink", target="loop"),
     E("opt/", "dir"), E("opt/jdk", "symlink", target="/usr/lib/jvm/current")],
]

PATHS = ["/bin/ls", "/bin/sh", "/usr/bin/ls", "/usr/bin/sh", "/lib/x86_64-linux-gnu/libc.so.6",
         "/lib64/x86_64-linux-gnu/libc.so.6", "/lib64/x86_64-linux-gnu", "/gone/x", "/gone",
         "/etc/file/x", "/etc/passwd", "/etc//passwd", "//etc/passwd", "/etc/", "/bin/", "/", "",
         "etc/passwd", "/bin/missing", "/missing/x", "/usr/bin/../bin/ls", "/./etc/passwd", "/bin//ls",
         "/usr/lib/jvm/x/bin/java", "/usr/lib/jvm/current/bin/java", "/opt/jdk/bin/java", "/lib/jvm/current/bin/java",
         "/usr/lib/jvm/up/ls", "/usr/lib/jvm/loop/x", "/usr/lib/jvm/x/../x/bin/java", "/opt/jdk/../jvm/x/bin/java"]




@pytest.fixture(scope="module")
def inspection(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    archive = tmp_path_factory.mktemp("resolver") / "image.tar"
    write_docker_archive(archive, ImageSpec(LAYERS))
    with open_image(str(archive)) as image:
        return inspect_image(image)


def _plain_directory(inspection, path):  # type: ignore[no-untyped-def]
    found = inspection.fs.resolve(path, follow_last=True)
    return found if found is not None and found[1].kind == DIR else None


def _reference(inspection, path):  # type: ignore[no-untyped-def]
    """The plain way: split, resolve the directory (a directory or nothing), join, for each path."""
    head, name = posixpath.split(path)
    found = _plain_directory(inspection, head)
    children = found[1].children if found is not None else None
    child = children.get(name) if children is not None and name else None
    entry = None if child is None else (posixpath.join(found[0], name), child)
    real = None if found is None or not name or children is None or name not in children \
        else posixpath.join(found[0], name)
    if child is None:
        lookup = None if found is not None or not name else inspection.fs.resolve(path, follow_last=True)
    elif child.kind == SYMLINK:
        lookup = inspection.fs.resolve(path, follow_last=True)
    else:
        lookup = (posixpath.join(found[0], name), child)
    return entry, real, lookup


def test_every_kind_of_path_resolves_as_the_plain_way(inspection) -> None:  # type: ignore[no-untyped-def]
    resolver = DirectoryResolver(inspection)
    for path in PATHS * 2:  # the second round is served from what the first looked up
        entry, real, lookup = _reference(inspection, path)
        assert resolver.entry(path) == entry, path
        assert resolver.real_path(path) == real, path
        assert resolver.lookup(path) == lookup, path
        if real is not None and real != path:  # what analyze() relies on to skip real_path
            assert resolver.moves(path), path


def test_paths_through_links_land_on_the_real_files(inspection) -> None:  # type: ignore[no-untyped-def]
    resolver = DirectoryResolver(inspection)
    assert resolver.real_path("/bin/ls") == "/usr/bin/ls"
    assert resolver.real_path("/lib64/x86_64-linux-gnu/libc.so.6") == "/usr/lib/x86_64-linux-gnu/libc.so.6"
    assert resolver.moves("/bin/ls") and not resolver.moves("/usr/bin/ls")
    assert resolver.real_path("/gone/x") is None and resolver.real_path("/etc/file/x") is None


def _directories(path: str) -> list[str]:
    """``path``'s directories from the root down, as ``posixpath.split`` gives them."""
    heads = []
    while True:
        head = posixpath.split(path)[0]
        if head == path or not head:
            return heads[::-1]
        heads.append(head)
        path = head


@pytest.mark.parametrize("order", ["parents-first", "children-first"])
def test_directories_resolve_as_the_whole_path_does(inspection, order: str) -> None:  # type: ignore[no-untyped-def]
    """A directory whose parent was looked up before is one step from it (issue 17): through links,
    ``.`` and ``..``, a loop and a file on the way it answers as resolving the whole path does."""
    asked = [head for path in PATHS for head in _directories(path)] + [path for path in PATHS]
    if order == "children-first":
        asked.reverse()
    resolver = DirectoryResolver(inspection)
    for path in asked * 2:
        assert resolver.directory(path) == _plain_directory(inspection, path), path
    assert resolver.directory("/opt/jdk/bin") == ("/usr/lib/jvm/x/bin", inspection.fs.lookup("/usr/lib/jvm/x/bin"))

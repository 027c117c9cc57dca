"""Two processes scan one image (``inspector.parallel``): a helper takes layers from the top of the
stack down while this process takes them from the base up, and this process merges them in order.

What a user sees must not change: the same summary and listing, byte for byte, the same
verification counts, the same error line and exit code for a bad layer or an image over the entry
limit. And the helper's work must be checked, not trusted: a layer it could not do, or one whose
file changed under it, is read by the merging process itself.
"""

from __future__ import annotations

import functools
import io
import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from inspector.errors import InspectorError
from inspector.fs import Scanned, build_filesystem
from inspector.fs.layer import LayerTree, scan_layer
from inspector.fs.node import Node
from inspector.fs.transfer import CHUNK, pack, unpack
from inspector.limits import DEFAULT, Limits
from inspector.parallel.helper import ProcessHelper
from inspector.parallel.job import Job
from inspector.reports.facts import probe
from inspector.sources import open_image
from testdata.imagebuilder import E, ImageSpec, layer_tar, opaque, whiteout
from tests.conftest import write_image

SCRIPT = b"#!/bin/sh\necho hi\n"


def _layers() -> list[list[E]]:
    """Six layers that exercise what a merge must get right across layers."""
    return [
        [E("etc/", "dir"), E("etc/os-release", data=b'ID=debian\nVERSION_ID="12"\n'),
         E("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532::/home:/sbin/nologin\n"),
         E("usr/", "dir"), E("usr/bin/", "dir"), E("usr/bin/tool", data=SCRIPT, mode=0o755),
         E("usr/bin/gone", data=SCRIPT, mode=0o755), E("opt/", "dir"), E("opt/keep", data=b"k")],
        [E("usr/bin/linked", "hardlink", target="usr/bin/tool"), whiteout("usr/bin/gone"),
         E("dev/", "dir"), E("dev/null", "char", devmajor=1, devminor=3), E("run/fifo", "fifo")],
        [opaque("opt"), E("opt/new", data=b"n", uid=1000, gid=1000, mtime=0),
         E("usr/bin/sh", "symlink", target="/bin/busybox"),
         E("usr/bin/cap", data=SCRIPT, mode=0o755, xattrs={"security.capability": b"\x01\x00\x00\x02"})],
        [E("usr/lib/jvm/java-21/release", data=b'JAVA_VERSION="21.0.2"\nIMPLEMENTOR="Eclipse Adoptium"\n'),
         E("usr/lib/jvm/java-21/bin/java", data=SCRIPT, mode=0o755)],
        [E("srv/" + "d/" * 40 + "deep", data=SCRIPT, mode=0o755),
         E("usr/bin/setuid", data=SCRIPT, mode=0o4755)],
        [E("app/", "dir"), E("app/run", data=SCRIPT, mode=0o755), E("app/twin", "hardlink", target="app/run"),
         whiteout("etc/os-release")],
    ]


SPEC = ImageSpec(_layers(), {"Entrypoint": ["/usr/lib/jvm/java-21/bin/java", "-jar"], "User": "65532"}, ["app:1"])


# --- the tree as bytes and back -------------------------------------------------------------------

def _dump(tree: LayerTree) -> dict[str, Any]:
    """Every node's attributes by path, and which paths share one content object."""
    shown: dict[str, Any] = {}
    owners: dict[int, list[str]] = {}
    stack: list[tuple[str, Node]] = [("", tree.root)]
    while stack:
        path, node = stack.pop()
        shown[path or "/"] = (node.kind, node.mode, node.uid, node.gid, node.size, node.mtime, node.target,
                              node.hardlink_to, node.xattrs, node.rdev, node.opaque, repr(node.content),
                              node.layer is tree.slot)
        if node.content is not None:
            owners.setdefault(id(node.content), []).append(path)
        for name, child in (node.children or {}).items():
            stack.append((f"{path}/{name}", child))
    shown["(shared contents)"] = sorted(sorted(paths) for paths in owners.values())
    shown["(entries, size)"] = (tree.entries, tree.size)
    return shown


@pytest.mark.parametrize("index", range(6))
def test_a_scanned_layer_comes_back_from_bytes_the_same(index: int) -> None:
    tree = scan_layer(io.BytesIO(layer_tar(_layers()[index])), probe)
    back = unpack(pack(tree))
    assert _dump(back) == _dump(tree)
    assert back.slot is not tree.slot


def test_hardlinks_keep_sharing_one_content_and_implied_directories_keep_no_time() -> None:
    tree = scan_layer(io.BytesIO(layer_tar(_layers()[5] + _layers()[0])), probe)
    back = unpack(pack(tree))
    run, twin = back.lookup(("app", "run")), back.lookup(("app", "twin"))
    assert run is not None and twin is not None and run.content is not None and run.content is twin.content
    implied = back.lookup(("usr", "bin"))  # declared in its own layer; /app's parents are not
    assert implied is not None and back.root.children is not None
    assert _dump(back) == _dump(tree)


def test_a_tree_ten_thousand_levels_deep_and_several_chunks_wide() -> None:
    tree = LayerTree()
    node = tree.root
    for level in range(10_000):
        child = Node("dir", 0o755, level, level, 0, level, tree.slot)
        assert node.children is not None
        node.children[f"d{level}"] = child
        node = child
    assert node.children is not None
    for number in range(CHUNK * 2 + 7):
        node.children[f"f{number}"] = Node("file", 0o644, 0, 0, number, None if number % 3 else 5, tree.slot)
    assert _dump(unpack(pack(tree))) == _dump(tree)


def test_a_layer_of_all_different_times_and_owners_comes_back_the_same() -> None:
    """Past the bounded tables of shared times and owners (4,096 each), nodes keep their own."""
    tree = LayerTree()
    assert tree.root.children is not None
    for number in range(10_000):
        tree.root.children[f"f{number}"] = Node("file", 0o644 | (number % 8), number, number + 1, number,
                                                1_600_000_000 + number, tree.slot)
    assert _dump(unpack(pack(tree))) == _dump(tree)


def test_a_size_an_array_cannot_hold_fails_to_pack_and_is_left_to_the_merging_process() -> None:
    tree = LayerTree()
    assert tree.root.children is not None
    tree.root.children["big"] = Node("file", 0o644, 0, 0, 1 << 64, 0, tree.slot)
    with pytest.raises(OverflowError):
        pack(tree)


def test_owners_modes_and_times_past_64_bits_come_back_the_same() -> None:
    """They travel in each chunk's table of shapes, as Python numbers, not in a 64-bit array."""
    tree = LayerTree()
    assert tree.root.children is not None
    for number, big in enumerate([1 << 64, -(1 << 70), 1 << 100]):
        tree.root.children[f"f{number}"] = Node("file", big, big, big + 1, number, big, tree.slot)
    assert _dump(unpack(pack(tree))) == _dump(tree)


def test_every_field_of_a_files_facts_comes_back_from_a_helper() -> None:
    """``FileFacts`` and ``ElfFacts`` are pickled as their fields: a field added to either and left
    out of its ``__reduce__`` fails here."""
    import dataclasses

    from inspector.reports.facts import ElfFacts, FileFacts

    def filled(cls: type, nested: Any = None) -> Any:
        values = {field.name: f"{cls.__name__}.{field.name}" for field in dataclasses.fields(cls)}
        if nested is not None:
            values["elf"] = nested
        return cls(**values)

    facts = filled(FileFacts, filled(ElfFacts))
    tree = LayerTree()
    assert tree.root.children is not None
    node = tree.root.children["run"] = Node("file", 0o755, 0, 0, 5, 0, tree.slot)
    node.content = facts
    back = unpack(pack(tree)).lookup(("run",))
    assert back is not None and back.content == facts and back.content is not facts


_NAMES = st.sampled_from(["a", "b", "a/b", "a/c", "b/c", "a/b/c", "d"])


@st.composite
def _members(draw: st.DrawFn) -> list[E]:
    found: list[E] = []
    for _ in range(draw(st.integers(1, 14))):
        name = draw(_NAMES)
        kind = draw(st.sampled_from(["file", "dir", "symlink", "hardlink", "whiteout", "opaque", "fifo"]))
        mode = draw(st.sampled_from([0o644, 0o755, 0o4755]))
        uid = draw(st.sampled_from([0, 1, 65532, 1 << 40]))
        mtime = draw(st.sampled_from([0, 1_600_000_000, -5]))
        if kind == "whiteout":
            found.append(whiteout(name))
        elif kind == "opaque":
            found.append(opaque(name))
        elif kind in ("symlink", "hardlink"):
            found.append(E(name, kind, target=draw(_NAMES), uid=uid, mtime=mtime))
        else:
            found.append(E(name, kind, data=SCRIPT if kind == "file" else b"", mode=mode, uid=uid, mtime=mtime))
    return found


@settings(max_examples=300, deadline=None)
@given(_members())
def test_any_scanned_layer_comes_back_the_same(members: list[E]) -> None:
    try:
        tree = scan_layer(io.BytesIO(layer_tar(members)), probe)
    except InspectorError:
        return  # the scan refused it: nothing to send
    assert _dump(unpack(pack(tree))) == _dump(tree)


# --- the helper, driven directly ------------------------------------------------------------------

def _job(reference: str, limits: Limits = DEFAULT) -> Job:
    """What ``start_helper`` gives a helper for ``reference``'s summary (the reports' probe, no cache)."""
    return Job(functools.partial(open_image, reference, limits=limits), probe, None, limits)


class Recording(ProcessHelper):
    """A helper that remembers which layers it answered for."""

    def __init__(self, job: Job, layers: int, count: int = 1) -> None:
        super().__init__(job, layers, count)
        self.layers = layers
        self.answered: list[int] = []

    def wait_for_claims(self, count: int = 1) -> None:
        """Let the helper claim ``count`` layers from the top before this process starts: on an image
        this small, the merging process could otherwise reach the top before the helper opened it."""
        deadline = time.monotonic() + 30
        while self.claimed() < count:
            assert time.monotonic() < deadline, "the helper never claimed its layers"
            time.sleep(0.005)

    def take(self, info: Any) -> Scanned | None:
        got = super().take(info)
        if got is not None:
            self.answered.append(info.index)
        return got


def _merged(reference: str, helper: ProcessHelper | None = None, limits: Limits = DEFAULT) -> tuple[str, dict]:
    """The merged view as the listing shows it, and the verification counts."""
    from inspector.fs.select import select_entries

    with open_image(reference, limits=limits) as image:
        merged = build_filesystem(image, probe, limits, helpers=None if helper is None else lambda *_: helper)
        listing = "\n".join(repr(e) for e in select_entries(merged, "/"))
        return listing, image.verification.to_json() | {"verified": sorted(image.verification.verified)}


def _recording(reference: str, job_reference: str | None = None, limits: Limits = DEFAULT,
               count: int = 1) -> Recording:
    with open_image(reference) as image:
        total = len(image.meta.layers)
    return Recording(_job(job_reference or reference, limits), total, count)


@pytest.mark.parametrize("layout", ["legacy", "docker25", "oci-none", "oci-gzip", "oci-archive"])
def test_layers_the_helper_scanned_merge_to_what_one_process_makes(tmp_path: Path, layout: str) -> None:
    reference = write_image(tmp_path, SPEC, layout)
    alone = _merged(reference)
    helper = _recording(reference)
    helper.wait_for_claims()
    together = _merged(reference, helper)
    assert 5 in helper.answered  # the top layer, claimed before this process started
    assert together == alone


def test_three_helpers_take_the_top_three_layers_and_the_merge_is_the_same(tmp_path: Path) -> None:
    reference = write_image(tmp_path, SPEC, "oci-gzip")
    alone = _merged(reference)
    helper = _recording(reference, count=3)
    helper.wait_for_claims(3)
    assert _merged(reference, helper) == alone
    assert {5, 4, 3} <= set(helper.answered)


def test_no_helper_is_given_a_layer_once_they_sent_more_entries_than_the_limit(tmp_path: Path) -> None:
    """Each helper counts only its own layers against the limit; this process counts what they all
    sent, and gives no more layers out past it (what it holds stays bounded with many helpers)."""
    reference = write_image(tmp_path, SPEC, "legacy")
    alone = _merged(reference)
    helper = _recording(reference, count=2)
    helper.wait_for_claims(1)
    child = helper._children[0]
    with helper._changed:
        before = helper.claimed()
        helper._received = helper._limit + 1
        assert helper._claim(child) is None
        assert helper.claimed() == before
        helper._received = 0
        assert helper._claim(child) == helper._layers - before - 1  # the next one down, under the limit
    assert _merged(reference, helper) == alone


def test_a_layer_the_helper_could_not_verify_fails_here_with_the_same_error(tmp_path: Path) -> None:
    def flip(index: int, data: bytes) -> bytes:
        at = data.find(b"echo hi") if index == 5 else -1
        return data if at < 0 else data[:at] + b"X" + data[at + 1:]

    reference = write_image(tmp_path, SPEC, "legacy", layer_bytes_hook=flip)
    with pytest.raises(InspectorError) as alone:
        _merged(reference)
    helper = _recording(reference)
    helper.wait_for_claims()
    with pytest.raises(InspectorError) as together:
        _merged(reference, helper)
    assert str(together.value) == str(alone.value) and "layer 5" in str(alone.value)
    assert helper.answered == []


def test_a_helper_that_opened_another_image_is_not_believed(tmp_path: Path) -> None:
    """The archive replaced between the two opens: the helper's layers carry other diff IDs."""
    reference = write_image(tmp_path, SPEC, "legacy", name="genuine")
    changed = _layers()
    changed[5] = [E("app/", "dir"), E("app/run", data=b"#!/bin/sh\necho forged\n", mode=0o755)]
    forged = write_image(tmp_path, ImageSpec(changed, SPEC.config, ["app:1"]), "legacy", name="forged")
    alone = _merged(reference)
    helper = _recording(reference, job_reference=forged)
    helper.wait_for_claims(2)
    assert _merged(reference, helper) == alone
    assert 5 not in helper.answered  # its top layer is not this image's top layer
    assert 4 in helper.answered  # the same bytes under the same diff ID: those are believed


def test_a_helper_that_cannot_open_the_image_leaves_every_layer_here(tmp_path: Path) -> None:
    reference = write_image(tmp_path, SPEC, "legacy")
    alone = _merged(reference)
    with open_image(reference) as image:
        total = len(image.meta.layers)
    helper = Recording(_job(str(tmp_path / "missing.tar")), total)
    assert _merged(reference, helper) == alone
    assert helper.answered == []


@pytest.mark.parametrize("count", [1, 3])
def test_the_helpers_stop_at_the_entry_limit_and_the_error_is_the_same(tmp_path: Path, count: int) -> None:
    entries = sum(len(layer) for layer in _layers())
    limits = Limits(max_entries=entries - 3)
    reference = write_image(tmp_path, SPEC, "legacy")
    with pytest.raises(InspectorError) as alone:
        _merged(reference, limits=limits)
    helper = _recording(reference, limits=limits, count=count)
    helper.wait_for_claims()
    with pytest.raises(InspectorError) as together:
        _merged(reference, helper, limits=limits)
    assert str(together.value) == str(alone.value) and "entries" in str(alone.value)


# --- what a user sees -----------------------------------------------------------------------------

@pytest.mark.parametrize("layout", ["legacy", "oci-gzip", "oci-archive"])
@pytest.mark.parametrize("view", [(), ("--files",), ("--files", "/usr/bin"), ("--executables",)])
def test_the_summary_and_the_listing_are_the_same_with_one_process_or_two(
        tmp_path: Path, run_cli: Any, layout: str, view: tuple[str, ...]) -> None:
    reference = write_image(tmp_path, SPEC, layout)
    outputs = [run_cli(reference, *view, "--format", "json", "--no-cache", "--jobs", jobs) for jobs in ("1", "2", "4")]
    assert outputs[0][0] == 0, outputs[0][2]
    assert outputs[1] == outputs[0] and outputs[2] == outputs[0]
    if not view:
        assert json.loads(outputs[0][1])["verification"]["layers_checked"] == 6


def test_a_cold_run_with_two_processes_fills_the_cache_that_answers_the_next(
        tmp_path: Path, run_cli: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    reference = write_image(tmp_path, SPEC, "oci-gzip")
    cold = run_cli(reference, "--files", "--format", "json", "--jobs", "2")
    layers = [p for p in (tmp_path / "cache" / "inspect-image" / "layers").rglob("*") if p.is_file()]
    warm = run_cli(reference, "--files", "--format", "json", "--jobs", "1")
    alone = run_cli(reference, "--files", "--format", "json", "--no-cache", "--jobs", "1")
    assert cold[0] == 0, cold[2]
    assert cold == warm == alone
    assert len(layers) == 6  # one entry per layer, whichever process scanned it


def test_the_listing_as_a_table_is_the_same_with_one_process_or_two(tmp_path: Path, run_cli: Any) -> None:
    reference = write_image(tmp_path, SPEC, "oci-gzip")
    outputs = [run_cli(reference, "--files", "--no-cache", "--jobs", jobs) for jobs in ("1", "2")]
    assert outputs[0][0] == 0 and "/usr/bin/linked" in outputs[0][1], outputs[0][2]
    assert outputs[1] == outputs[0]


def test_a_helper_killed_midway_leaves_its_layers_to_this_process(tmp_path: Path) -> None:
    import os
    import signal

    reference = write_image(tmp_path, SPEC, "oci-gzip")
    alone = _merged(reference)
    helper = _recording(reference)
    helper.wait_for_claims()
    os.kill(helper._children[0].pid, signal.SIGKILL)
    assert _merged(reference, helper) == alone


def test_an_image_refused_before_its_first_layer_still_stops_its_helpers(tmp_path: Path) -> None:
    import os

    reference = write_image(tmp_path, SPEC, "legacy")
    limits = Limits(max_layers=3)  # six layers: refused before any is read
    helper = _recording(reference, limits=limits, count=2)
    pids = [child.pid for child in helper._children]
    with pytest.raises(InspectorError, match="more than 3 layers"):
        _merged(reference, helper, limits=limits)
    for pid in pids:
        with pytest.raises(ChildProcessError):  # reaped by close(): nothing left running
            os.waitpid(pid, os.WNOHANG)


def test_diff_is_the_same_with_one_process_or_two(tmp_path: Path, run_cli: Any,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    changed = _layers()
    changed[5] = [E("app/", "dir"), E("app/run", data=b"#!/bin/sh\necho changed\n", mode=0o755),
                  E("app/new", data=SCRIPT, mode=0o755)]
    first = write_image(tmp_path, SPEC, "oci-gzip", name="first")
    second = write_image(tmp_path, ImageSpec(changed, SPEC.config, ["app:2"]), "legacy", name="second")
    outputs = []
    for jobs in ("1", "2"):  # each with a cold cache of its own: the second image's base comes from it
        monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / f"cache-{jobs}"))
        outputs.append(run_cli("diff", first, second, "--format", "json", "--jobs", jobs))
    assert outputs[0][0] == 0, outputs[0][2]
    assert outputs[1] == outputs[0]
    result = json.loads(outputs[0][1])
    # in the first image the hardlink app/twin (mode 0644) made app/run's inode 0644: not executable
    assert [e["path"] for e in result["added"]] == ["/app/new", "/app/run"]
    assert result["removed"] == [] and result["changed"] == []


@pytest.mark.filterwarnings("error::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_helper_that_sends_garbage_is_ignored_without_a_traceback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                                  capfd: pytest.CaptureFixture[str]) -> None:
    from inspector.parallel import channel
    from inspector.parallel import helper as helper_module

    def garbled(job: Job, link: channel.HelperEnd) -> None:
        index = link.claim()
        assert index is not None
        channel.send(link.results, channel.RESULT, b"not a pickle at all")

    monkeypatch.setattr(helper_module, "serve", garbled)  # what the forked helper runs
    reference = write_image(tmp_path, SPEC, "legacy")
    alone = _merged(reference)
    helper = _recording(reference)
    helper.wait_for_claims()
    assert _merged(reference, helper) == alone
    assert helper.answered == []
    assert "Traceback" not in capfd.readouterr().err


def test_helpers_are_started_with_the_very_probe_cache_and_limits_of_the_scan(tmp_path: Path) -> None:
    from inspector.fs.cache import CacheUse, LayerCache
    from inspector.reports.facts import FACTS_CODEC

    reference = write_image(tmp_path, SPEC, "legacy")
    use = CacheUse(LayerCache(tmp_path / "cache"), FACTS_CODEC)
    limits = Limits(max_entries=1000)
    asked: list[tuple[Any, ...]] = []
    for verify in (False, True):
        with open_image(reference, verify=verify) as image:
            build_filesystem(image, probe, limits, use, helpers=lambda *args: asked.append(args))
            assert image.reopen is not None  # an archive on disk can be opened again
    assert [args[1:] for args in asked] == [(probe, use, limits), (probe, None, limits)]  # --verify: no cache
    with open_image(reference) as image:
        build_filesystem(image, probe, limits, helpers=lambda *args: asked.append(args), observe=lambda *_: None)
    assert len(asked) == 2  # a scan with an observer starts none


def test_hostile_names_and_targets_come_back_unchanged() -> None:
    """Escape sequences, newlines, bytes that are not UTF-8 (surrogate-escaped), bidi controls, long
    and astral names travel as they were scanned: escaping them is the renderers' job, after."""
    tree = LayerTree()
    assert tree.root.children is not None
    names = ["\x1b]0;pwned\x07", "a\nb", "bad\udcff\udcfe", "\u202eevil", "x" * 4000, "\U0001f600"]
    for name in names:
        link = Node("symlink", 0o777, 0, 0, 0, 0, tree.slot)
        link.target = "\x1b[2J" + name
        tree.root.children[name] = link
    back = unpack(pack(tree))
    assert back.root.children is not None and sorted(back.root.children) == sorted(names)
    assert _dump(back) == _dump(tree)


def test_a_helper_sends_its_trees_through_a_pipe_of_a_mebibyte(tmp_path: Path) -> None:
    """A 64 KiB pipe made each 7 MB tree a hundred hand-overs to the receiving thread, the helper
    standing still at each (0.07-0.18 s a layer of 100,000 entries, against 0.02-0.03 s)."""
    import fcntl

    ceiling = int(Path("/proc/sys/fs/pipe-max-size").read_text())
    reference = write_image(tmp_path, SPEC, "oci-gzip")
    helper = _recording(reference)
    try:
        sizes = [fcntl.fcntl(child.results, fcntl.F_GETPIPE_SZ) for child in helper._children]
    finally:
        helper.close()
    assert sizes == [min(1 << 20, ceiling) if ceiling >= 1 << 18 else 65536]


#: The CLI, reporting on stderr how many helpers the scan forked (``helpers=N``).
_COUNTING_HELPERS = """
import os, sys
import inspector.parallel.helper as helper
forks = []
real_fork = os.fork
def fork():
    pid = real_fork()
    if pid and sys._getframe(1).f_globals["__name__"] == helper.__name__:
        forks.append(pid)
    return pid
os.fork = fork
from inspector.cli import main
try:
    main(sys.argv[1:])
finally:
    print(f"helpers={len(forks)}", file=sys.stderr)
"""


@pytest.mark.parametrize("fmt", ["cyclonedx-json", "spdx-json"])
def test_the_sbom_is_the_same_with_one_process_or_two(tmp_path: Path, fmt: str) -> None:
    """The SBOM's scan takes no packaged file's digest (integrity reads again what it needs), so
    its layers may be scanned by helpers too; the document is the same, byte for byte."""
    import subprocess
    import sys

    from tests.conftest import cli_env

    reference = write_image(tmp_path, SPEC, "oci-gzip")
    env = {**cli_env(), "SOURCE_DATE_EPOCH": "1700000000"}
    runs = [subprocess.run([sys.executable, "-c", _COUNTING_HELPERS, "sbom", reference, "--format", fmt, "--files",
                            "--no-cache", "--jobs", jobs], capture_output=True, env=env, timeout=60, check=False)
            for jobs in ("1", "2")]
    assert runs[0].returncode == 0 and runs[0].stdout, runs[0].stderr
    assert b"helpers=0" in runs[0].stderr and b"helpers=1" in runs[1].stderr
    assert runs[1].stdout == runs[0].stdout and runs[1].returncode == 0


def test_helpers_are_forked_with_the_collector_paused(tmp_path: Path) -> None:
    """A helper inherits the collector's state at its fork: started before the build paused it, each
    helper walked every tree it scanned and packed once more (0.01-0.015 s a 100,000-entry layer)."""
    import gc

    reference = write_image(tmp_path, SPEC, "legacy")
    enabled: list[bool] = []
    assert gc.isenabled()
    with open_image(reference) as image:
        build_filesystem(image, probe, helpers=lambda *args: enabled.append(gc.isenabled()))
    assert enabled == [False]
    assert gc.isenabled()


def test_while_waiting_for_a_helper_layer_the_ones_above_it_are_unpacked() -> None:
    """The merging process waits for the lowest layer a helper claimed; the helper's layers above
    it that already arrived are unpacked meanwhile, not after it (issue 20: on a million entries,
    0.25 s of idle wait became work). Then each is taken as it would have been."""
    import threading

    from inspector.parallel.helper import Packed, _Child
    from inspector.scratch import scratch
    from inspector.sources.interface import LayerInfo

    trees = {index: scan_layer(io.BytesIO(layer_tar(_layers()[index])), probe) for index in (1, 2, 3)}

    def packed(index: int) -> Packed:
        data = pack(trees[index])
        mapping = scratch(len(data))
        mapping[:] = data
        return Packed(mapping, f"sha256:{index}", True, 1, 0, 0, False)

    helper = ProcessHelper.__new__(ProcessHelper)  # its bookkeeping only: no process behind it
    helper._changed = threading.Condition()
    helper._layers, helper._front, helper._back = 4, 0, 1
    child = _Child(pid=0, results=-1, answers=-1)
    helper._owner = {index: child for index in (1, 2, 3)}
    helper._ready = {2: packed(2), 3: packed(3)}
    ahead: list[bool] = []

    def unpacked() -> bool:
        return all(getattr(got, "unpacked", None) is not None for got in helper._ready.values())

    def deliver() -> None:  # layer 1 arrives once 2 and 3 are unpacked (or after 5 s, when nothing was)
        deadline = time.monotonic() + 5
        try:
            while time.monotonic() < deadline:
                with helper._changed:
                    if unpacked():
                        break
                time.sleep(0.01)
        finally:
            with helper._changed:
                ahead.append(unpacked())
                helper._ready[1] = packed(1)
                helper._changed.notify_all()

    thread = threading.Thread(target=deliver)
    thread.start()
    taken = [helper.take(LayerInfo(index, None, f"sha256:{index}", None, None)) for index in (1, 2, 3)]
    thread.join()
    assert ahead == [True]
    assert [_dump(got.tree) if got else None for got in taken] == [_dump(trees[index]) for index in (1, 2, 3)]

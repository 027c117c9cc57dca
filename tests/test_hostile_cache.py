"""A corrupt or hostile layer-cache entry is never trusted and never an error.

Each case replaces every layer entry of a warm cache with something the cache did not write: a
FIFO (would block a plain open), a link to ``/dev/zero`` (would never end), a directory, a zlib
bomb, ``1e999``, JSON nested 100,000 deep, a wrong type at each position, absurd counts. The CLI
runs under a memory and a time limit; it must answer exactly as with a sound cache (the layers
are read again), say nothing on stderr, and leave a sound entry behind.
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from testdata import hostile_pairs as hp

from .conftest import cli_env

MEMORY_LIMIT = 1 << 30
TIMEOUT = 30
VIEWS = (("--files",), ("--executables",))  # in JSON: the listing's variant (package texts), the facts variant


def _limited() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))


def _run(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = subprocess.run([sys.executable, "-m", "inspector", *args], capture_output=True, env=env,
                          timeout=TIMEOUT, preexec_fn=_limited, check=False)
    return proc.returncode, proc.stdout.decode(), proc.stderr.decode()


@pytest.fixture(scope="module")
def image(tmp_path_factory) -> str:
    genuine, _ = hp.write_pair(tmp_path_factory.mktemp("hostile-cache"), "legacy")
    return genuine


@pytest.fixture(scope="module")
def template(image, tmp_path_factory) -> tuple[Path, dict[tuple[str, ...], str]]:
    """A cache filled once by the views, and their sound answers."""
    home = tmp_path_factory.mktemp("warm-template")
    env = cli_env()
    env["XDG_CACHE_HOME"] = str(home)
    answers = {}
    for view in VIEWS:
        code, out, err = _run(image, *view, "--format", "json", env=env)
        assert code == 0 and err == "", err
        answers[view] = out
    assert len(list((home / "inspect-image" / "layers").iterdir())) >= 2, "an entry per layer (and variant)"
    return home, answers


@pytest.fixture
def warm(template, tmp_path) -> tuple[dict[str, str], Path, dict[tuple[str, ...], str]]:
    """A private copy of the warm cache (each test spoils its own)."""
    home, answers = template
    shutil.copytree(home, tmp_path / "cache-home")
    env = cli_env()
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache-home")
    return env, tmp_path / "cache-home" / "inspect-image" / "layers", answers


def _check_served_soundly(image: str, env: dict[str, str], layers: Path, answers: dict) -> None:
    """The answer of a sound cache, nothing on stderr; the entries of both variants rebuilt."""
    for view in VIEWS:
        code, out, err = _run(image, *view, "--format", "json", env=env)
        assert "Traceback" not in err and "internal error" not in err, err
        assert code == 0 and err == "", err
        assert out == answers[view]
    for entry in layers.iterdir():  # rebuilt: each entry is a sound regular file again
        assert entry.is_file() and not entry.is_symlink(), entry
        meta, body = hp.read_entry(entry)
        assert isinstance(body["entries"], list) and meta["count"] == body["count"]


def _every_entry(layers: Path, spoil: Callable[[Path], None]) -> None:
    for entry in sorted(layers.iterdir()):
        spoil(entry)


# --- the file itself ---------------------------------------------------------------------------
FILE_KINDS: dict[str, Callable[[Path], None]] = {
    "fifo": hp.write_fifo,
    "link to /dev/zero": lambda p: hp.write_symlink(p, "/dev/zero"),
    "dangling link": lambda p: hp.write_symlink(p, "/nonexistent/entry"),
    "directory": hp.write_directory,
    "empty": lambda p: p.write_bytes(b""),
    "truncated": lambda p: p.write_bytes(p.read_bytes()[: len(p.read_bytes()) // 2]),
    "header only": lambda p: p.write_bytes(p.read_bytes().split(b"\n", 1)[0] + b"\n"),
    "not ours": lambda p: p.write_bytes(b"#!/bin/sh\nrm -rf /\n"),
    "huge sparse file": lambda p: (p.write_bytes(b""), os.truncate(p, 600 << 20)),
}


@pytest.mark.parametrize("kind", FILE_KINDS)
def test_an_entry_that_is_not_a_sound_file(image, warm, kind):
    env, layers, answers = warm
    _every_entry(layers, FILE_KINDS[kind])
    _check_served_soundly(image, env, layers, answers)


# --- sealed with a valid self-hash, hostile inside --------------------------------------------
def _reseal(mutate: Callable[[dict[str, Any], dict[str, Any]], Any]) -> Callable[[Path], None]:
    """Decode an entry, let ``mutate(meta, body)`` change it in place (or return new body text),
    then write it back sealed with a valid hash and the true body length."""

    def spoil(path: Path) -> None:
        meta, body = hp.read_entry(path)
        text = mutate(meta, body)
        data = text if isinstance(text, bytes) else json.dumps(body).encode()
        if "raw" in meta and isinstance(meta["raw"], int) and meta["raw"] >= 0 and not isinstance(text, bytes):
            meta["raw"] = len(data)
        elif isinstance(text, bytes):
            meta["raw"] = len(text)
        hp.seal(path, meta, data)

    return spoil


def _set(container_key: str, key: Any, value: Any) -> Callable[[dict, dict], None]:
    def mutate(meta: dict, body: dict) -> None:
        target = meta if container_key == "meta" else body
        target[key] = value

    return mutate


def _record(position: int, value: Any) -> Callable[[dict, dict], None]:
    def mutate(meta: dict, body: dict) -> None:
        body["entries"][-1][position] = value

    return mutate


def _content(change: Callable[[Any], Any]) -> Callable[[dict, dict], None]:
    """``change`` applied to each file's facts: inside the ``{"facts": ...}`` record of the packages
    codec (``packages.capture``), where the decoder looks; a key beside it would be ignored."""
    def inner(record: Any) -> Any:
        if isinstance(record, dict) and "facts" in record:
            return {**record, "facts": change(record["facts"])}
        return change(record)

    def mutate(meta: dict, body: dict) -> None:
        body["contents"] = [inner(c) for c in body["contents"]]

    return mutate


SEALED_KINDS: dict[str, Callable[[dict, dict], Any]] = {
    "1e999 in the body's count": lambda m, b: json.dumps(b).encode().replace(b'"count": ', b'"count": 1e999, "c": '),
    "1e999 in a record": lambda m, b: json.dumps(b).encode().replace(b'"/app/run", "file", 493',
                                                                    b'"/app/run", "file", 1e999'),
    "NaN in a record": lambda m, b: json.dumps(b).encode().replace(b'"/app/run", "file", 493',
                                                                  b'"/app/run", "file", NaN'),
    "100k-deep body": lambda m, b: hp.deep_json(100_000),
    "a list for a body": lambda m, b: b"[]",
    "absurd count": _set("meta", "count", 10**15),
    "absurd node count": _set("meta", "nodes", 10**15),
    "negative count": _set("meta", "count", -1),
    "count that lies": _set("meta", "count", 1),
    "size that lies": _set("meta", "size", 3),
    "forms not a list": _set("meta", "forms", {"size": 1}),
    "forms absurd": _set("meta", "forms", [[i, None] for i in range(10_000)]),
    "entries not a list": _set("body", "entries", {"a": 1}),
    "contents not a list": _set("body", "contents", "x"),
    "size a string": _set("body", "size", "10240"),
    "root_opaque a number": _set("body", "root_opaque", 7),
    "a record too short": lambda m, b: b["entries"].append(["/x", "file"]),
    "a record with no parent": lambda m, b: b["entries"].append(
        ["/nowhere/x", "file", 420, 0, 0, 0, 0, None, None, None, None, False, -1]),
    "a record named ..": lambda m, b: b["entries"].append(
        ["/..", "file", 420, 0, 0, 0, 0, None, None, None, None, False, -1]),
    **{f"record field {i} wrong": _record(i, value) for i, value in enumerate(
        [7, "socket", "755", -1, 2.5, "big", {"t": 1}, 5, ["x"], {"k": "zz"}, [1], "yes", 99])},
    "xattrs not hex": _record(9, {"user.x": "not hex"}),
    "rdev of three": _record(10, [1, 2, 3]),
    "content kind a list": _content(lambda c: {**c, "kind": ["elf"]}),
    "content elf a dict": _content(lambda c: {**c, "kind": "elf", "elf": {"class": 64}}),
    "content elf class a string": _content(lambda c: {**c, "kind": "elf",
                                                      "elf": ["64", "EM_X86_64", "ET_DYN", None, True, False]}),
    "content vendors a string": _content(lambda c: {**c, "vendors": "Oracle"}),
    "content sha256 a number": _content(lambda c: {**c, "sha256": 12}),
    "content not an object": _content(lambda c: [c]),
}


@pytest.mark.parametrize("kind", SEALED_KINDS)
def test_a_sealed_entry_with_hostile_content(image, warm, kind):
    env, layers, answers = warm
    _every_entry(layers, _reseal(SEALED_KINDS[kind]))
    _check_served_soundly(image, env, layers, answers)


def test_hostile_metadata_lines(image, warm):
    env, layers, answers = warm
    for meta in (b"1e999", b'{"count": 1e999, "nodes": 1, "size": 1, "raw": 1, "forms": []}',
                 hp.deep_json(100_000), b"[" * 30_000, b'{"count": NaN}', b'"text"', b"\xff\xfe"):
        for entry in layers.iterdir():
            _, body = hp.read_entry(entry) if entry.is_file() else (None, {"entries": []})
            hp.seal(entry, meta, json.dumps(body).encode())
        _check_served_soundly(image, env, layers, answers)


def test_zlib_bombs(image, warm):
    env, layers, answers = warm
    bomb = hp.zlib_bomb(1536)  # 1.5 GiB of zeros from 1.5 MB: more than the memory limit
    for claimed in ("true length", "small", "huge"):
        for entry in layers.iterdir():
            meta, _ = hp.read_entry(entry)
            meta["raw"] = {"true length": 1536 << 20, "small": 100, "huge": 1 << 40}[claimed]
            hp.seal(entry, meta, bomb, compressed=True)
        _check_served_soundly(image, env, layers, answers)


def test_concurrent_writers_of_one_entry_leave_a_sound_entry(image, tmp_path):
    """Several processes fill the same entries at once (atomic renames), then a reader is served."""
    env = cli_env()
    env["XDG_CACHE_HOME"] = str(tmp_path / "shared-cache")
    writers = [subprocess.Popen([sys.executable, "-m", "inspector", image, "--executables", "--format", "json"],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env) for _ in range(4)]
    outputs = [w.communicate(timeout=TIMEOUT) for w in writers]
    assert all(w.returncode == 0 for w in writers), [o[1] for o in outputs]
    assert len({o[0] for o in outputs}) == 1
    layers = tmp_path / "shared-cache" / "inspect-image" / "layers"
    assert not [p for p in layers.iterdir() if p.name.startswith(".tmp-")], "no temporary file left behind"
    code, out, err = _run(image, "--executables", "--format", "json", env=env)
    assert code == 0 and err == "" and out.encode() == outputs[0][0]


DIGEST_LIES = {
    "not hex": "sha256:" + "z" * 64,
    "too short": "sha256:abc",
    "another algorithm": "md5:" + "0" * 32,
    "a terminal escape": "\x1b[31m" + "0" * 64,
}


@pytest.mark.parametrize("lie", DIGEST_LIES)
def test_a_cached_digest_that_lies_is_never_served(image, tmp_path, lie):
    """A sealed entry whose file digest is not a SHA-256 digest: the SBOM (which prints executables'
    digests) shows what the image holds, from a fresh read, as before the entry was spoiled."""
    env = cli_env()
    env["XDG_CACHE_HOME"] = str(tmp_path / "home")
    env["SOURCE_DATE_EPOCH"] = "1700000000"
    view = ("sbom", image, "--files")
    code, sound, err = _run(*view, env=env)
    assert code == 0 and err == "", err
    assert "sha256" in sound.lower() or "SHA-256" in sound
    layers = tmp_path / "home" / "inspect-image" / "layers"
    spoiled = []

    def spoil(facts: Any) -> Any:
        if isinstance(facts, dict) and facts.get("sha256"):
            spoiled.append(facts["sha256"])
            return {**facts, "sha256": DIGEST_LIES[lie]}
        return facts

    _every_entry(layers, _reseal(_content(spoil)))
    assert spoiled, "the entry holds the executable's digest"
    code, out, err = _run(*view, env=env)
    assert code == 0 and err == "", err
    assert out == sound

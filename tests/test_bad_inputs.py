"""Every input of the bad-input corpus (``testdata/make_bad_inputs.py``), through every view it names.

Each run must end with an outcome the case accepts: exit 0 with the promised output, or exit 2
(3 for a digest mismatch) with exactly one stderr line naming the problem and where it is. Always:
no traceback, no "internal error", done within the case's time bound (the child is killed after
it), peak resident memory under 1 GiB (the child's ``VmHWM``), and an address-space limit of
2 GiB set on the child, so a memory blow-up fails fast instead of eating the machine.

The light corpus is written once per session; the bombs and million-entry layers only when one of
their tests is selected. The runs are started in the background as soon as their corpus exists
(as many at a time as there are cores), so the whole file takes a few minutes at most on two cores.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from testdata.make_bad_inputs import Case, Outcome, case_names, write_corpus

from .conftest import cli_env

MEMORY_LIMIT = 2 << 30  # RLIMIT_AS of every child
PEAK_RSS_LIMIT = 1 << 30  # what a run may really use
LIGHT = case_names(heavy=False)
HEAVY = case_names(heavy=True)
WORKERS = max(2, os.cpu_count() or 2)


@dataclass
class Run:
    """One finished (or killed) run of the CLI."""

    command: list[str]
    code: int | None  # None: killed at the time bound
    stdout: bytes
    stderr: str
    seconds: float
    peak_rss: int  # bytes


def run_view(case: Case, view: str, scratch: Path) -> Run:
    """Run one view of one case in a child: time-bounded, address-space limited, peak RSS measured.

    The views of a case share a layer cache of their own (``XDG_CACHE_HOME``), so a later view may
    read what an earlier one stored, and no case sees another's: cases share layers by design.
    """
    command = [sys.executable, "-m", "inspector", *case.command(view)]
    out_path = scratch / f"{case.name}.{view}.out"
    err_path = scratch / f"{case.name}.{view}.err"
    env = {**cli_env(), "XDG_CACHE_HOME": str(scratch / "cache" / case.name)}
    stdin = open(case.stdin, "rb") if case.stdin else subprocess.DEVNULL
    started = time.monotonic()
    try:
        with open(out_path, "wb") as out, open(err_path, "wb") as err:
            proc = subprocess.Popen(command, stdin=stdin, stdout=out, stderr=err, env=env)
            _limit_memory(proc.pid)
            code, peak = _wait(proc, started + case.timeout)
    finally:
        if case.stdin:
            stdin.close()  # type: ignore[union-attr]
    seconds = time.monotonic() - started
    stdout = out_path.read_bytes()
    stderr = err_path.read_bytes().decode("utf-8", "backslashreplace")
    out_path.unlink()
    err_path.unlink()
    shown = ["inspect-image", *case.command(view)] + ([f"< {case.stdin}"] if case.stdin else [])
    return Run(shown, code, stdout, stderr, seconds, peak)


def _limit_memory(pid: int) -> None:
    """RLIMIT_AS on the running child (Linux). Set after exec: the interpreter has not allocated much
    yet, and ``preexec_fn`` is not safe from the runner's threads."""
    prlimit = getattr(resource, "prlimit", None)
    if prlimit is None:
        return
    try:
        prlimit(pid, resource.RLIMIT_AS, (MEMORY_LIMIT, MEMORY_LIMIT))
    except (ProcessLookupError, PermissionError, ValueError):
        pass


def run_case(case: Case, scratch: Path) -> dict[str, Run | None]:
    """Every view of ``case``, one after the other; after a view was killed at the time bound, the
    others (the same code path, mostly) are not run, so one hang costs one time bound, not four."""
    runs: dict[str, Run | None] = {}
    hung = False
    for view in case.expect:
        runs[view] = None if hung else run_view(case, view, scratch)
        hung = hung or runs[view].code is None  # type: ignore[union-attr]
    return runs


def _wait(proc: subprocess.Popen, deadline: float) -> tuple[int | None, int]:
    """Wait for the child, killing it at ``deadline``: ``(exit code or None, peak RSS in bytes)``.

    The peak is the kernel's high-water mark of the child's own address space (``VmHWM``), read
    while it runs. ``wait4``'s ``ru_maxrss`` is only the fallback: on Linux it starts from the
    parent's high-water mark (the child was forked from this big pytest process), so it overstates.
    """
    peak = 0
    status_file = f"/proc/{proc.pid}/status"
    while True:
        peak = max(peak, _vm_hwm(status_file))
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        if time.monotonic() > deadline:
            proc.kill()
            _pid, status, usage = os.wait4(proc.pid, 0)
            proc.returncode = os.waitstatus_to_exitcode(status)
            return None, peak or usage.ru_maxrss * 1024
        time.sleep(0.01)
    proc.returncode = os.waitstatus_to_exitcode(status)
    return proc.returncode, peak or usage.ru_maxrss * 1024


def _vm_hwm(status_file: str) -> int:
    try:
        with open(status_file, "rb") as handle:
            for line in handle:
                if line.startswith(b"VmHWM:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


# --- what a run must show ---------------------------------------------------------------------------

def judge(case: Case, view: str, run: Run) -> list[str]:
    """Why ``run`` is not acceptable for ``view`` of ``case`` (empty: it is)."""
    always = []
    if run.code is None:
        always.append(f"did not finish within {case.timeout:.0f} s (killed)")
    if "Traceback" in run.stderr:
        always.append("a traceback on stderr")
    if "internal error" in run.stderr:
        always.append("'internal error' on stderr")
    if run.peak_rss >= PEAK_RSS_LIMIT:
        always.append(f"peak RSS {run.peak_rss >> 20} MiB >= {PEAK_RSS_LIMIT >> 20} MiB")
    if always:
        return always
    reasons = []
    for outcome in case.expect[view]:
        failed = _mismatch(outcome, run, case.workdir)
        if not failed:
            return []
        reasons.append(f"not [{_describe(outcome)}]: {failed}")
    return reasons


def _describe(outcome: Outcome) -> str:
    if outcome.code:
        return f"exit {outcome.code} naming one of {list(outcome.problem)}"
    return "exit 0 with the expected output"


def _mismatch(outcome: Outcome, run: Run, workdir: str) -> str | None:
    if run.code != outcome.code:
        return f"exit {run.code}"
    lines = run.stderr.splitlines()
    if outcome.code:
        if run.stdout:
            return f"stdout not empty: {run.stdout[:200]!r}"
        if len(lines) != 1 or not lines[0].strip():
            return f"{len(lines)} lines on stderr, not one"
        line = lines[0]
        # the problem must be named by the message, not by the words in the case's folder name
        message = line.removeprefix("inspect-image: error:").replace(workdir, "<case>") if workdir else line
        if not any(p.lower() in message.lower() for p in outcome.problem):
            return f"the line names none of {list(outcome.problem)}"
        if outcome.where and not any(w in line for w in outcome.where):
            return f"the line does not say where: none of {list(outcome.where)}"
        missing = [a for a in outcome.also if a not in line]
        if missing:
            return f"the line lacks {missing}"
        return None
    stray = [line for line in lines if not line.startswith("inspect-image: warning:")]
    if stray:
        return f"stderr has lines that are not warnings: {stray[:3]}"
    if outcome.warning and not any(w in line for line in lines for w in outcome.warning):
        return f"no warning names any of {list(outcome.warning)}"
    try:
        data = json.loads(run.stdout.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        return f"stdout is not valid UTF-8 JSON: {exc}"
    if outcome.files or outcome.absent:
        problem = _check_listing(data, outcome)
        if problem:
            return problem
    for keys, op, value in outcome.checks:
        problem = _check(data, keys, op, value)
        if problem:
            return problem
    return None


def _check_listing(data: Any, outcome: Outcome) -> str | None:
    if not isinstance(data, list):
        return "the listing is not a JSON array"
    by_path: dict[str, dict[str, Any]] = {}
    for entry in data:
        if entry.get("path") in by_path:
            return f"{entry.get('path')!r} is listed twice"
        by_path[entry.get("path")] = entry
    for path, fields in outcome.files.items():
        if path not in by_path:
            return f"{path[:120]!r} is not listed"
        wrong = {k: by_path[path].get(k) for k, v in fields.items() if by_path[path].get(k) != v}
        if wrong:
            return f"{path[:120]!r} has {wrong}, expected {fields}"
    present = [p for p in outcome.absent if p in by_path]
    if present:
        return f"{present} should not be listed"
    return None


def _check(data: Any, keys: list[Any], op: str, expected: Any) -> str | None:
    value = data
    for key in keys:
        if isinstance(key, dict):
            found = [e for e in value if isinstance(e, dict) and all(e.get(k) == v for k, v in key.items())] \
                if isinstance(value, list) else []
            if not found:
                return f"no element {key} at {keys}"
            value = found[0]
        elif isinstance(value, dict) and key in value:
            value = value[key]
        elif isinstance(value, list) and isinstance(key, int) and key < len(value):
            value = value[key]
        else:
            return f"no {keys} in the output"
    if op == "eq" and value != expected:
        return f"{keys} is {value!r}, expected {expected!r}"
    if op == "contains":
        texts = value if isinstance(value, list) else [value]
        if not any(isinstance(t, str) and expected.lower() in t.lower() for t in texts):
            return f"{keys} = {value!r} does not mention {expected!r}"
    if op == "nonempty" and not value:
        return f"{keys} is empty"
    if op == "empty" and value:
        return f"{keys} is {value!r}, expected empty"
    if op == "ge" and not (isinstance(value, (int, float)) and value >= expected):
        return f"{keys} is {value!r}, expected at least {expected}"
    return None


# --- fixtures: corpus and background runner ----------------------------------------------------------

class Runner:
    """Runs the selected cases in the background, as soon as their corpus exists."""

    def __init__(self, scratch: Path) -> None:
        self.scratch = scratch
        self.pool = ThreadPoolExecutor(max_workers=WORKERS, thread_name_prefix="bad-input")
        self.futures: dict[str, Future[dict[str, Run | None]]] = {}
        self.lock = threading.Lock()

    def submit(self, case: Case) -> None:
        with self.lock:
            if case.name not in self.futures:
                self.futures[case.name] = self.pool.submit(run_case, case, self.scratch)

    def results(self, case: Case) -> dict[str, Run | None]:
        self.submit(case)
        return self.futures[case.name].result()

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def _selected(request: pytest.FixtureRequest, names: list[str]) -> list[str]:
    chosen = {item.callspec.params.get("name") for item in request.session.items
              if getattr(item, "originalname", None) == "test_bad_input" and hasattr(item, "callspec")}
    return [n for n in names if n in chosen]


@pytest.fixture(scope="module")
def runner(tmp_path_factory: pytest.TempPathFactory):
    scratch = tmp_path_factory.mktemp("bad-input-output")
    running = Runner(scratch)
    yield running
    running.close()


@pytest.fixture(scope="module")
def light_corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 runner: Runner) -> dict[str, Case]:
    names = _selected(request, LIGHT)
    corpus = write_corpus(tmp_path_factory.mktemp("bad-inputs"), names=names)
    for case in corpus.values():
        runner.submit(case)
    return corpus


@pytest.fixture(scope="module")
def heavy_corpus(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                 runner: Runner) -> dict[str, Case]:
    """The bombs and the million-entry layers: written only when one of them is selected."""
    corpus: dict[str, Case] = {}
    directory = tmp_path_factory.mktemp("bad-inputs-heavy")
    for name in _selected(request, HEAVY):  # each one starts running as soon as it is written
        corpus.update(write_corpus(directory, names=[name]))
        runner.submit(corpus[name])
    return corpus


@pytest.mark.parametrize("name", LIGHT + HEAVY)
def test_bad_input(request: pytest.FixtureRequest, runner: Runner, name: str) -> None:
    corpus = request.getfixturevalue("heavy_corpus" if name in HEAVY else "light_corpus")
    case = corpus[name]
    runs = runner.results(case)
    failures = []
    for view, run in runs.items():
        if run is None:
            failures.append(f"--- {view}: not run, an earlier view of this case was killed at the time bound\n")
            continue
        reasons = judge(case, view, run)
        if reasons:
            failures.append(f"--- {view}: {' '.join(run.command)}\n"
                            f"    exit {run.code} after {run.seconds:.1f} s, peak RSS {run.peak_rss >> 20} MiB\n"
                            f"    stderr: {run.stderr.strip()[:600]!r}\n"
                            f"    stdout: {run.stdout[:200]!r}\n"
                            + "".join(f"    {reason}\n" for reason in reasons))
    assert not failures, f"{case.name}: {case.description}\n" + "\n".join(failures)


def test_the_corpus_covers_what_was_asked() -> None:
    """Guard against cases silently disappearing: the corpus keeps its families of inputs."""
    names = set(LIGHT + HEAVY)
    families = ["outer-truncated", "layer-truncated", "layer-gzip", "layer-zstd", "bomb-gzip", "bomb-zstd",
                "entries-1.2-million", "entries-200k", "manifest-json", "index-json", "index-cycle", "config-",
                "names-escape", "names-nul", "names-invalid-utf8", "names-10000-levels", "symlink-loop",
                "symlink-chain-1000", "hardlink-to-missing", "hardlink-source-removed", "devices-and-fifos",
                "duplicate-entries", "whiteouts-for-nothing", "opaque-at-root", "blob-mismatch"]
    assert [f for f in families if not any(f in n for n in names)] == []
    assert set(HEAVY) < names and len(LIGHT) > 50

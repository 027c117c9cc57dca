"""Run a command as a child process and measure its wall time, CPU time and peak RSS.

Peak RSS cannot simply be the ``os.wait4`` figure of a child we fork: Linux folds the forking
process's resident set at fork/exec time into the child's ``ru_maxrss``, so every command would
report at least this (big) Python process's size. So the command runs under a small launcher,
GNU ``time -f %M`` when installed (a ~1 MB floor), else a ``python -S -I`` one (~8 MB floor), and the
launcher reports the command's own peak.
"""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field


@dataclass
class Sample:
    seconds: float
    peak_rss_mb: float  # the child's peak resident set (or its largest waited-for descendant's)
    user: float
    system: float


@dataclass
class Series:
    name: str
    samples: list[Sample] = field(default_factory=list)

    def median(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    def spread(self) -> tuple[float, float]:
        seconds = [s.seconds for s in self.samples]
        return min(seconds), max(seconds)

    def peak_rss(self) -> float:
        return max(s.peak_rss_mb for s in self.samples)

    def cpu(self) -> float:
        return statistics.median(s.user + s.system for s in self.samples)


class CommandFailed(RuntimeError):
    pass


_PY_LAUNCHER = """\
import os, sys
pid = os.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[2], sys.argv[2:])
    finally:
        os._exit(127)
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as report:
    report.write("%d\\n" % usage.ru_maxrss)
code = os.waitstatus_to_exitcode(status)
os._exit(code if code >= 0 else 128 - code)
"""


def _gnu_time() -> str | None:
    path = shutil.which("time") or ("/usr/bin/time" if os.path.exists("/usr/bin/time") else None)
    if path is None:
        return None
    try:
        proc = subprocess.run([path, "--version"], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return path if "GNU" in proc.stdout + proc.stderr else None


_GNU_TIME = _gnu_time()


def launcher_name() -> str:
    return "GNU time" if _GNU_TIME else "python -S launcher"


def _launcher(report: str) -> list[str]:
    if _GNU_TIME:
        return [_GNU_TIME, "-f", "%M", "-o", report, "--"]
    return [sys.executable, "-S", "-I", "-c", _PY_LAUNCHER, report]


def run(cmd: Sequence[str], env: dict[str, str] | None = None, cwd: str | os.PathLike[str] | None = None) -> Sample:
    """Run ``cmd`` with stdout on /dev/null; raise with its stderr when it fails."""
    with tempfile.TemporaryFile() as err, tempfile.NamedTemporaryFile("r") as report:
        started = time.perf_counter()
        proc = subprocess.Popen([*_launcher(report.name), *map(str, cmd)], stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=err, env=env, cwd=cwd)
        _, status, usage = os.wait4(proc.pid, 0)
        elapsed = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode != 0:
            err.seek(0)
            text = err.read().decode("utf-8", "replace")[-2000:]
            raise CommandFailed(f"{' '.join(map(str, cmd))} exited {proc.returncode}:\n{text}")
        lines = report.read().split()
        peak_kb = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return Sample(elapsed, peak_kb / 1024, usage.ru_utime, usage.ru_stime)

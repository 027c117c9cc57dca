"""``python -m tests.bench``: time inspect-image against baselines measured in the same run.

The machine is noisy, so nothing here asserts an absolute time: every measurement is repeated,
the repetitions are interleaved (each round runs every command, in a rotated order), the median
is reported, and ours is reported as a RATIO to a baseline that read the same bytes in the same run.

Rows (the large image; ``--quick`` uses a synthetic ~100k-entry image instead):

* ``tarfile scan``: stdlib tarfile, outer archive and every layer read with ``r|``, nothing done
  per member: the floor for a pure-Python one-pass reader of the docker-archive;
* ``ours docker-archive``: ``python -m inspector docker-archive:FILE --files --format json``;
* ``gzip -dc blobs``: GNU gzip inflating every layer blob of the gzip oci-archive to /dev/null;
* ``ours oci-archive``: ``python -m inspector oci-archive:FILE --files --format json``;
* ``docker save``: the engine's save stream to /dev/null;
* ``ours docker:``: ``python -m inspector docker:NAME --files --format json`` (the same stream);
* informative rows (not with ``--quick``): interpreter+import startup; tarfile scans that skip file
  data by seeking (``r:``) or, on a one-pass stream, by reading 1 MiB at a time through a
  forward-only wrapper (what a faster stdlib-based reader could reach); isal+tarfile over the gzip
  blobs (the pure-Python floor for gzip layers); the time to ``docker save``'s first byte.

``--profile`` adds a cProfile of ours on the docker-archive (top entries by cumulative and own time).
Images and archives are cached under ``~/.cache/inspect-image-bench/`` (see ``images.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import images
from .measure import CommandFailed, Series, launcher_name, run

REPO_ROOT = Path(__file__).resolve().parents[2]
PY = sys.executable


@dataclass
class Bench:
    key: str
    label: str
    cmd: list[str]
    baseline: str | None = None  # key of the row this one is divided by
    goal_ratio: float | None = None
    goal_rss_mb: float | None = None
    cpu_comparable: bool = True  # False when the baseline's work is done by another process (the daemon)


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env.pop("INSPECTOR_DEBUG", None)
    return env


def _ours(ref: str) -> list[str]:
    return [PY, "-m", "inspector", ref, "--files", "--format", "json"]


def _floor(*args: str | Path) -> list[str]:
    return [PY, "-m", "tests.bench.floor", *map(str, args)]


def plan(image: images.LargeImage, with_engine: bool, rss_goal: float, informative: bool = True) -> list[Bench]:
    """The rows, baselines first; ``informative=False`` leaves out the rows no goal depends on."""
    gunzip_loop = 'for blob in "$@"; do gzip -dc "$blob"; done'
    rows = [
        Bench("startup", "startup: ours --version", [PY, "-m", "inspector", "--version"]),  # always: cheap
        Bench("tarscan", "tarfile scan (r|), docker-archive", _floor("tarscan", image.docker_archive)),
        Bench("tarscan_seek", "tarfile scan (r:, seeks)", _floor("tarscan-seek", image.docker_archive),
              baseline="tarscan"),
        Bench("tarscan_forward", "tarfile scan (r:, one pass, skip 1MiB)",
              _floor("tarscan-forward", image.docker_archive), baseline="tarscan"),
        Bench("ours_archive", "ours docker-archive", _ours(f"docker-archive:{image.docker_archive}"),
              baseline="tarscan", goal_ratio=1.5, goal_rss_mb=rss_goal),
        Bench("gunzip", "gzip -dc layer blobs", ["sh", "-c", gunzip_loop, "sh", *map(str, image.oci_blobs)]),
        Bench("gzscan", "isal+tarfile scan, gzip blobs", _floor("gzscan", *image.oci_blobs), baseline="gunzip"),
        Bench("ours_oci", "ours oci-archive (gzip)", _ours(f"oci-archive:{image.oci_archive}"),
              baseline="gunzip", goal_rss_mb=rss_goal),
    ]
    if not informative:
        rows = [row for row in rows if row.key not in ("tarscan_seek", "tarscan_forward", "gzscan")]
    if with_engine:
        rows += [
            Bench("docker_save", "docker save > /dev/null", ["docker", "save", image.tag]),
            Bench("ours_engine", "ours docker: (engine stream)", _ours(f"docker:{image.tag}"),
                  baseline="docker_save", goal_ratio=1.1, goal_rss_mb=rss_goal, cpu_comparable=False),
        ]
    return rows


def measure(rows: list[Bench], runs: int, warmup: int) -> dict[str, Series]:
    series = {row.key: Series(row.label) for row in rows}
    env = _env()
    total = warmup + runs
    for round_no in range(total):
        shift = round_no % len(rows)
        order = rows[shift:] + rows[:shift]  # interleaved, and no command always runs first
        kind = "warm-up" if round_no < warmup else f"run {round_no - warmup + 1}/{runs}"
        images.log(f"round {round_no + 1}/{total} ({kind})")
        for row in order:
            sample = run(row.cmd, env=env, cwd=REPO_ROOT)
            if round_no >= warmup:
                series[row.key].samples.append(sample)
    return series


def _goal_text(row: Bench, ratio: float | None, rss: float, cpu_ratio: float | None) -> str:
    """The wall-time ratio decides; the CPU ratio is shown beside it (steadier when the machine is busy)."""
    parts = []
    if row.goal_ratio is not None and ratio is not None:
        text = f"<={row.goal_ratio:g}x {'ok' if ratio <= row.goal_ratio else 'MISSED'}"
        if cpu_ratio is not None:
            text += f" (cpu {'ok' if cpu_ratio <= row.goal_ratio else 'MISSED'})"
        parts.append(text)
    if row.goal_rss_mb is not None:
        parts.append(f"<{row.goal_rss_mb:g}MB {'ok' if rss < row.goal_rss_mb else 'MISSED'}")
    return ", ".join(parts)


def report(rows: list[Bench], series: dict[str, Series], extra: list[tuple[str, str, str]]) -> str:
    """The table. ``cpu ratio`` divides user+system seconds of the two commands (and their children); it is
    the steadier figure on a busy machine, and is left out where the baseline's work is done by another
    process (``docker save``: the daemon)."""
    header = ("measurement", "median s", "min-max s", "cpu s", "peak RSS MB", "ratio", "cpu ratio", "vs", "goal")
    lines = []
    labels = {row.key: row.label for row in rows}
    comparable = {row.key: row.cpu_comparable for row in rows}

    def cpu_ratio(key: str, base: str) -> float | None:
        if not comparable[key] or series[base].cpu() <= 0:
            return None
        return series[key].cpu() / series[base].cpu()

    def shown(ratio: float | None) -> str:
        return "-" if ratio is None else f"{ratio:.2f}x"

    for row in rows:
        s = series[row.key]
        low, high = s.spread()
        ratio = s.median() / series[row.baseline].median() if row.baseline else None
        cpu = cpu_ratio(row.key, row.baseline) if row.baseline else None
        lines.append((row.label, f"{s.median():.3f}", f"{low:.2f}-{high:.2f}", f"{s.cpu():.2f}",
                      f"{s.peak_rss():.1f}", shown(ratio) if row.baseline else "(base)",
                      shown(cpu) if row.baseline else "", labels[row.baseline] if row.baseline else "",
                      _goal_text(row, ratio, s.peak_rss(), cpu)))
    for numerator, denominator, goal in extra:
        if numerator in series and denominator in series:
            ratio = series[numerator].median() / series[denominator].median()
            lines.append((f"  {labels[numerator]}", "", "", "", "", shown(ratio),
                          shown(cpu_ratio(numerator, denominator)), labels[denominator], goal))
    left = (0, 7, 8)
    widths = [max(len(str(line[i])) for line in [header, *lines]) for i in range(len(header))]
    out = []
    for n, line in enumerate([header, *lines]):
        out.append("  ".join(str(cell).ljust(width) if i in left else str(cell).rjust(width)
                             for i, (cell, width) in enumerate(zip(line, widths))).rstrip())
        if n == 0:
            out.append("  ".join("-" * w for w in widths))
    return "\n".join(out)


def image_stats(image: images.LargeImage, merged_count: bool = True) -> str:
    """Sizes and entry counts, measured once (this also warms the page cache)."""
    env = _env()
    counted = subprocess.run(_floor("tarscan", image.docker_archive, "--count"), capture_output=True, text=True,
                             env=env, cwd=REPO_ROOT, check=True).stdout.strip()
    merged: object = "(not counted with --quick)"
    if merged_count:
        listing = subprocess.run(_ours(f"docker-archive:{image.docker_archive}"), capture_output=True, env=env,
                                 cwd=REPO_ROOT)
        merged = len(json.loads(listing.stdout)) if listing.returncode == 0 else f"error: {listing.stderr[-300:]!r}"
    mib = 1 << 20
    gz = sum(p.stat().st_size for p in image.oci_blobs)
    return (f"image {image.tag}: docker-archive {image.docker_archive.stat().st_size / mib:.0f} MiB, "
            f"gzip blobs {gz / mib:.0f} MiB; layer tars: {counted}; merged entries listed: {merged}")


#: Frames every run goes through on its way to the work: the interpreter, runpy, click's dispatch.
_ENTRY_FRAMES = ("<frozen runpy>", "runpy.py", "click/core.py", "<string>", "inspector/__main__.py",
                 "built-in method builtins.exec")


def profile(image: images.LargeImage, top: int) -> str:
    """cProfile one run of ours on the docker-archive: the top entries by cumulative and by own time.

    The cumulative list leaves out the entry frames (runpy, click's dispatch, ``cli.main``), which
    would otherwise fill its first dozen lines at 100%. cProfile's per-call overhead inflates
    tarfile's many small calls; ``py-spy record -f raw`` gives a truer split when installed.
    """
    with tempfile.TemporaryDirectory() as scratch:
        out = Path(scratch) / "prof.out"
        cmd = [PY, "-m", "cProfile", "-o", str(out), "-m", "inspector",
               f"docker-archive:{image.docker_archive}", "--files", "--format", "json"]
        subprocess.run(cmd, stdout=subprocess.DEVNULL, env=_env(), cwd=REPO_ROOT, check=True)
        stats = pstats.Stats(str(out))
        table = stats.stats  # type: ignore[attr-defined]
        total = max(value[3] for value in table.values())  # the whole run's cumulative time

        def name(key: tuple[str, int, str]) -> str:
            filename, line, func = key
            if filename == "~":
                return func
            parts = Path(filename).parts
            return f"{'/'.join(parts[-2:])}:{line}({func})"

        def entry(key: tuple[str, int, str]) -> bool:
            label = name(key)
            return any(frame in label for frame in _ENTRY_FRAMES) or label.startswith("inspector/cli.py") \
                and key[2] == "main"

        text = [f"cProfile of ours on the docker-archive: {total:.2f}s profiled (the profiler slows it "
                "down several-fold; shares matter, not seconds)"]
        for title, index, skip in (("cumulative, entry frames left out", 3, entry), ("own time", 2, None)):
            keys = sorted(table, key=lambda k: table[k][index], reverse=True)
            keys = [k for k in keys if skip is None or not skip(k)][:top]
            lines = [f"--- top {top} by {title} ---", f"{'calls':>13} {'own s':>7} {'cum s':>7} {'cum %':>6}  function"]
            for key in keys:
                cc, nc, tt, ct, _callers = table[key]
                calls = f"{nc}/{cc}" if nc != cc else str(nc)
                lines.append(f"{calls:>13} {tt:7.3f} {ct:7.3f} {100 * ct / total:5.1f}%  {name(key)}")
            text.append("\n".join(lines))
        return "\n\n".join(text)


def first_byte_note(image: images.LargeImage, runs: int) -> str:
    """Median time to `docker save`'s first byte: the part of the engine row nobody can overlap."""
    firsts, totals = [], []
    for _ in range(runs):
        out = subprocess.run(_floor("first-byte", image.tag), capture_output=True, text=True, env=_env(),
                             cwd=REPO_ROOT, check=True).stdout
        fields = dict(item.split("=") for item in out.split())
        firsts.append(float(fields["first_byte"]))
        totals.append(float(fields["total"]))
    first, total = statistics.median(firsts), statistics.median(totals)
    return (f"docker save: first byte after {first:.2f}s of {total:.2f}s (median of {runs}); the engine exports "
            f"the whole image before it streams, so a parser can only overlap the last {total - first:.2f}s")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="a synthetic ~100k-entry image instead of the large engine-built one (< 1 minute)")
    parser.add_argument("--runs", type=int, default=None, help="timed rounds (default: 5, --quick: 3)")
    parser.add_argument("--warmup", type=int, default=None, help="untimed rounds first (default: 1, --quick: 0)")
    parser.add_argument("--no-engine", action="store_true", help="skip the docker: rows")
    parser.add_argument("--rss-goal", type=float, default=80.0, help="peak RSS goal in MB (default: 80)")
    parser.add_argument("--profile", action="store_true",
                        help="also cProfile one run of ours on the docker-archive and print the top entries")
    parser.add_argument("--top", type=int, default=15, help="entries shown by --profile (default: 15)")
    parser.add_argument("--json", metavar="FILE", help="also write every sample to FILE")
    args = parser.parse_args(argv)
    runs = args.runs if args.runs is not None else (3 if args.quick else 5)
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    if runs < 1 or warmup < 0:
        parser.error("--runs must be at least 1 and --warmup at least 0")

    if args.quick:
        with_engine = not args.no_engine and images.engine_answers()
        if not with_engine and not args.no_engine:
            images.log("no Docker engine answers: skipping the engine rows")
        image = images.quick_image(use_engine=with_engine)
        with_engine = with_engine and image.in_engine
    else:
        image = images.large_image(need_engine=not args.no_engine)
        with_engine = not args.no_engine and image.in_engine

    print(image_stats(image, merged_count=not args.quick), flush=True)
    rows = plan(image, with_engine, args.rss_goal, informative=not args.quick)
    try:
        series = measure(rows, runs, warmup)
    except CommandFailed as exc:
        print(f"benchmark command failed: {exc}", file=sys.stderr)
        return 1
    extra = [("ours_oci", "gzscan", "(pure-Python gzip floor)")]
    print(f"\n{runs} timed rounds (+{warmup} warm-up), interleaved; medians; peak RSS via {launcher_name()}; "
          f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs\n")
    print(report(rows, series, extra), flush=True)
    if with_engine and not args.quick:
        print("\n" + first_byte_note(image, 3), flush=True)
    if args.json:
        data = {key: [vars(sample) for sample in s.samples] for key, s in series.items()}
        Path(args.json).write_text(json.dumps(data, indent=1) + "\n")
    if args.profile:
        print()
        print(profile(image, args.top))
    return 0

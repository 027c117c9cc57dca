"""``inspect-image audit``: parse the options, build the image list, run ``audit``, print the table.

Kept out of ``cli.py`` (registered there with one line): the audit has its own options, input list,
shards and summary table, and nothing of it is needed to inspect one image.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from types import FrameType
from typing import IO

import click

from .audit import AuditOptions, AuditTotals, audit
from .audit.executors import check_scheduler
from .audit.shards import Shard, choose_shard
from .audit.tasks import Outcome, Settings, failure
from .cli import SourceArgs, say, source_options, stdout_bytes
from .errors import InspectorError
from .output.escape import escape
from .parallel.cpus import default_jobs
from .policy import EXIT_FINDINGS, RULES, Policy, load_policy

MAX_LIST_LINE = 4096  # characters of one reference in --from
MAX_IMAGES = 1_000_000  # references in one audit


@click.command("audit")
@click.argument("images", nargs=-1, metavar="IMAGE...")
@click.option("--from", "from_file", metavar="FILE|-",
              help="Also audit the references in FILE (one per line; - for stdin).")
@click.option("--out", "out", metavar="FILE",
              help="Append the NDJSON lines to FILE, skipping images it already holds (resume).")
@click.option("--jobs", "-j", type=click.IntRange(1, 1024), default=None, metavar="N",
              help="Worker processes (default: the number of CPUs).")
@click.option("--scheduler", metavar="tcp://HOST:PORT",
              help="Run the tasks on this Dask cluster instead (pip install 'inspect-image[dask]').")
@click.option("--shard", metavar="I/N",
              help="Audit only the I-th of N slices of the list (default: JOB_COMPLETION_INDEX/JOB_COMPLETIONS).")
@click.option("--fail-on", "fail_on", multiple=True, metavar="RULE[,RULE...]",
              help=f"Exit 1 when an image breaks one of these rules ({', '.join(RULES)}, or all).")
@click.option("--policy", "policy_file", type=click.Path(dir_okay=False), default=None, metavar="FILE",
              help="A TOML policy: fail-on = [rules], [allow] rule = [path globs].")
@source_options
def audit_command(images: tuple[str, ...], from_file: str | None, out: str | None, jobs: int | None,
                  scheduler: str | None, shard: str | None, fail_on: tuple[str, ...], policy_file: str | None,
                  source: SourceArgs) -> None:
    """Audit many images: one JSON line each (NDJSON), every shared layer read once.

    Each line holds the reference, the manifest digest, the summary (as --format json), the packages
    report (as --packages --format json) and the findings of every policy rule; an image that cannot
    be read is one line with an "error" and the audit goes on. registry:HOST/REPO without a tag
    audits every tag, registry:HOST every repository of its catalog.

    Exit 1 when an enabled rule (--fail-on, --policy) found something, 2 (3: a digest mismatch) when
    an image could not be read, else 0.
    """
    policy = load_policy(policy_file, fail_on) if (policy_file or fail_on) else Policy()
    chosen = choose_shard(shard, os.environ)
    if scheduler is not None:
        check_scheduler(scheduler)
    if "-" in images:
        raise click.UsageError("an audit reads no image from stdin; use --from - for a list of references")
    references = _dedupe([*images, *(_read_list(from_file) if from_file else [])])
    if not references:
        raise click.UsageError("no image to audit: name some, or use --from FILE")
    source.registry = dataclasses.replace(source.registry, progress=False)  # workers share one terminal
    expanded, early = _expand(references, source, chosen)
    settings = Settings(source, source.cache() is not None, policy)
    options = AuditOptions(expanded, settings, jobs or default_jobs(), scheduler, out,
                           progress=sys.stderr.isatty(), early=early)
    previous = signal.signal(signal.SIGTERM, _terminated)
    try:
        totals = audit(options, stdout_bytes())
    finally:
        signal.signal(signal.SIGTERM, previous)
    _table(totals, policy, out)
    failing = any(totals.findings.get(rule) for rule in policy.enabled)
    if totals.failed:
        sys.exit(totals.exit_code or 2)
    if failing:
        sys.exit(EXIT_FINDINGS)


def command() -> click.Command:
    """The command, for ``cli.py`` to register (typed: the two modules import each other)."""
    return audit_command


def _terminated(signum: int, frame: FrameType | None) -> None:
    """SIGTERM (Kubernetes, a CI timeout): stop now; every line written so far is whole, and a rerun
    with the same --out goes on from there."""
    sys.exit(128 + signal.SIGTERM)


def _read_list(path: str) -> list[str]:
    stream: IO[str]
    try:
        stream = sys.stdin if path == "-" else open(path, encoding="utf-8", errors="surrogateescape")
    except OSError as exc:
        raise InspectorError(f"cannot read --from {path!r}: {exc.strerror}") from None
    found: list[str] = []
    with stream if path != "-" else _nothing():
        for number, line in enumerate(iter(lambda: stream.readline(MAX_LIST_LINE + 1), ""), 1):
            if len(line) > MAX_LIST_LINE:
                raise InspectorError(f"--from {path}: line {number} is longer than {MAX_LIST_LINE} characters")
            text = line.strip()
            if text and not text.startswith("#"):
                if len(found) >= MAX_IMAGES:
                    raise InspectorError(f"--from {path}: more than {MAX_IMAGES:,} images")
                found.append(text)
    return found


class _nothing:  # noqa: N801 - a stand-in context manager for stdin, which is not ours to close
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _dedupe(references: list[str]) -> list[str]:
    return list(dict.fromkeys(references))


def _expand(references: list[str], source: SourceArgs, shard: Shard | None) -> tuple[list[str], list[Outcome]]:
    """Listings (registry:HOST/REPO, registry:HOST) become their tags; a listing that fails is one
    error line. Then the shard keeps its slice."""
    expanded: list[str] = []
    early: list[Outcome] = []
    for reference in references:
        if reference.startswith(("registry:", "docker://")):
            from .sources import registry_catalog

            try:
                listed = registry_catalog.expand(reference, source.registry)
            except InspectorError as exc:
                if shard is None or shard.holds(reference):
                    early.append(failure(reference, None, str(exc), exc.exit_code))
                continue
            if listed is not None:
                expanded.extend(listed)
                continue
        expanded.append(reference)
    expanded = _dedupe(expanded)
    if len(expanded) > MAX_IMAGES:
        raise InspectorError(f"more than {MAX_IMAGES:,} images to audit; split the list (--shard)")
    if shard is not None:
        expanded = [r for r in expanded if shard.holds(r)]
    return expanded, early


def _table(totals: AuditTotals, policy: Policy, out: str | None) -> None:
    """The final table on stderr: images, failed, findings by rule (stdout may be the NDJSON)."""
    parts = [f"{totals.audited:,} audited"]
    if totals.skipped:
        parts.append(f"{totals.skipped:,} already in {escape(out or '', 200)}")
    parts.append(f"{totals.failed:,} failed")
    say(f"audit: {totals.images:,} images: {', '.join(parts)}; {totals.unique_layers:,} unique layers "
         f"({totals.layers_scanned:,} scanned, {totals.layers_cached:,} from the cache) in {totals.seconds:.1f} s"
         + (" ({})".format(", ".join(f"{name} {seconds:.1f} s" for name, seconds in
                                     zip(("manifests", "layers", "images"), totals.phases, strict=False)))
            if totals.phases else ""))
    rules = [rule for rule in RULES if totals.findings.get(rule)]
    if not rules:
        say("audit: no findings")
        return
    say(f"{'rule':<20} {'images':>8} {'findings':>10}  enforced")
    for rule in rules:
        enforced = "yes" if policy.enables(rule) else "no"
        say(f"{rule:<20} {totals.images_with[rule]:>8,} {totals.findings[rule]:>10,}  {enforced}")

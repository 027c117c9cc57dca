"""The audit's three phases over one executor, and what its final table counts.

Phase 1 reads every image's manifest and config; images an earlier run already wrote to ``--out``
are dropped then (by manifest digest when known, else by reference). Phase 2 scans each unique
layer once, largest first, into the per-layer cache. Phase 3 merges each image from the cache and
writes its line as soon as it is ready (so a killed audit keeps every line it finished); an image
starts as soon as its own layers are in, while the last large layers of phase 2 are still scanned.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Executor, Future, as_completed, wait
from dataclasses import dataclass, field
from typing import IO, Any, TypeVar

from .executors import open_executor
from .ndjson import Done, LineWriter, Record, read_done
from .tasks import Layer, LayerOutcome, Outcome, Plan, Settings, audit_image, error_outcome, read_image, scan_layer

T = TypeVar("T")


@dataclass
class AuditOptions:
    references: list[str]
    settings: Settings
    jobs: int
    scheduler: str | None = None
    out: str | None = None
    progress: bool = False
    early: list[Outcome] = field(default_factory=list)  # lines decided before the audit (a tag list that failed)


@dataclass
class AuditTotals:
    """What the final table says."""

    images: int = 0  # in the list (this shard's)
    audited: int = 0  # lines written now
    skipped: int = 0  # already in --out
    failed: int = 0
    exit_code: int = 0  # the worst exit code of a failed image
    unique_layers: int = 0
    layers_scanned: int = 0
    layers_cached: int = 0
    seconds: float = 0.0
    phases: list[float] = field(default_factory=list)  # seconds of: manifests, unique layers, images
    findings: dict[str, int] = field(default_factory=dict)  # rule → findings
    images_with: dict[str, int] = field(default_factory=dict)  # rule → images with a finding

    def count(self, outcome: Outcome | Record) -> None:
        """An image's result: audited now (an ``Outcome``), or read back from --out (a ``Record``)."""
        if isinstance(outcome, Record):
            self.skipped += 1
        else:
            self.audited += 1
        if outcome.failed:
            self.failed += 1
            self.exit_code = max(self.exit_code, outcome.exit_code)
        for rule, number in outcome.findings:
            self.findings[rule] = self.findings.get(rule, 0) + number
            self.images_with[rule] = self.images_with.get(rule, 0) + 1


def audit(options: AuditOptions, stdout: IO[bytes], progress_stream: IO[str] = sys.stderr) -> AuditTotals:
    started = time.perf_counter()
    totals = AuditTotals(images=len(options.references) + len(options.early))
    done, keep = read_done(options.out) if options.out else (Done(), None)
    writer = LineWriter(options.out, stdout, keep)
    progress = _Progress(progress_stream if options.progress else None)
    try:
        for outcome in options.early:
            record = done.get(outcome.reference, outcome.manifest_digest)
            if record is not None:
                totals.count(record)
            else:
                writer.write(outcome.line)
                totals.count(outcome)
        with open_executor(options.jobs, options.scheduler) as executor:
            settings = options.settings
            mark = time.perf_counter()
            plans = _run(executor, [(read_image, (ref, settings)) for ref in options.references],
                         progress.step("reading manifests"))
            todo: list[Plan] = []
            for plan in plans:
                record = done.get(plan.reference, plan.manifest_digest)
                if record is not None:
                    totals.count(record)
                elif plan.error is not None:
                    outcome = error_outcome(plan)
                    writer.write(outcome.line)
                    totals.count(outcome)
                else:
                    todo.append(plan)
            totals.phases.append(time.perf_counter() - mark)
            if settings.use_cache:
                _layers_then_images(executor, todo, settings, writer, totals, progress)
            else:
                mark = time.perf_counter()
                totals.phases.append(0.0)
                step = progress.step("auditing images")
                futures = [executor.submit(audit_image, plan.reference, settings) for plan in todo]
                for number, future in enumerate(as_completed(futures), 1):
                    outcome = future.result()
                    writer.write(outcome.line)
                    totals.count(outcome)
                    step(number, len(todo))
                totals.phases.append(time.perf_counter() - mark)
    finally:
        progress.clear()
        writer.close()
    totals.seconds = time.perf_counter() - started
    return totals


def _layers_then_images(executor: Executor, todo: list[Plan], settings: Settings, writer: LineWriter,
                        totals: AuditTotals, progress: _Progress) -> None:
    """Phases 2 and 3 without a wall between them: every unique layer is submitted first (largest
    first), and each image as soon as the layers it needs are in the cache and, unless it leads its
    base (``leaders``), once its base's leader is done. A worker that would wait for the last large
    layer audits the images that are ready instead. With one worker the order is what it was: every
    layer, then the leaders, then the rest. Each completion touches only the images waiting on it,
    so a fleet of thousands costs no more than its layer references."""
    started = time.perf_counter()
    layers = unique_layers(todo)
    totals.unique_layers = len(layers)
    layer_step, image_step = progress.step("scanning unique layers"), progress.step("auditing images")
    running: dict[Future[Any], Plan | str | None] = {  # a layer's scan: the diff ID it was asked for (never None)
        executor.submit(scan_layer, ref, layer.index, settings): layer.diff_id for ref, layer in layers}
    unscanned = {layer.diff_id for _, layer in layers}
    scanned_at = started  # when the last layer was in
    first = leaders(todo)
    led = {id(plan) for plan in first}
    missing: dict[int, set[str | None]] = {}  # id(plan) -> the unscanned layers it needs
    needed_by: dict[str | None, list[Plan]] = {}
    followers: dict[str | None, list[Plan]] = {}  # base -> siblings whose layers are in, waiting for its leader
    bases_done: set[str | None] = set()
    images_done = 0

    def start(plan: Plan) -> None:
        """Submit ``plan`` if its leader is done (or it leads), else hold it for its leader."""
        if id(plan) in led or _base(plan) in bases_done:
            running[executor.submit(audit_image, plan.reference, settings)] = plan
        else:
            followers.setdefault(_base(plan), []).append(plan)

    for plan in first + [plan for plan in todo if id(plan) not in led]:
        needs = {layer.diff_id for layer in plan.layers if layer.diff_id in unscanned} if plan.layerwise else set()
        if needs:
            missing[id(plan)] = needs
            for diff_id in needs:
                needed_by.setdefault(diff_id, []).append(plan)
        else:
            start(plan)
    while running:
        finished, _ = wait(running, return_when=FIRST_COMPLETED)
        for future in finished:
            image = running.pop(future)
            if not isinstance(image, Plan):  # keyed by what was asked: a failed scan may not know it
                scan: LayerOutcome = future.result()
                unscanned.discard(image)
                totals.layers_scanned += scan.scanned
                totals.layers_cached += not scan.scanned and scan.error is None
                layer_step(len(layers) - len(unscanned), len(layers))
                scanned_at = time.perf_counter()
                for plan in needed_by.pop(image, []):
                    needs = missing[id(plan)]
                    needs.discard(image)
                    if not needs:
                        del missing[id(plan)]
                        start(plan)
                continue
            outcome: Outcome = future.result()
            writer.write(outcome.line)
            totals.count(outcome)
            images_done += 1
            image_step(images_done, len(todo))
            if id(image) in led:
                bases_done.add(_base(image))
                for plan in followers.pop(_base(image), []):
                    start(plan)
    assert images_done == len(todo), "an image was never ready"
    totals.phases += [scanned_at - started, time.perf_counter() - scanned_at]


def _base(plan: Plan) -> str | None:
    return plan.layers[0].diff_id if plan.layers else None


def unique_layers(plans: Iterable[Plan]) -> list[tuple[str, Layer]]:
    """Each diff ID once, with the first image that holds it (a layer of an image whose layers cannot
    be read one by one is left to phase 3); the largest first, so the slowest scans start first."""
    first: dict[str, tuple[str, Layer]] = {}
    for plan in plans:
        if not plan.layerwise:
            continue
        for layer in plan.layers:
            if layer.diff_id and layer.diff_id not in first:
                first[layer.diff_id] = (plan.reference, layer)
    return sorted(first.values(), key=lambda item: -(item[1].size or 0))


def leaders(plans: list[Plan]) -> list[Plan]:
    """The first image of each base layer: it runs before its siblings, filling what they then reuse
    (the packages' file digests, kept per layer), instead of several images of one base computing
    them at the same time."""
    first: dict[str | None, Plan] = {}
    for plan in plans:
        first.setdefault(_base(plan), plan)
    return list(first.values())


def _run(executor: Executor, calls: list[tuple[Callable[..., T], tuple[object, ...]]],
         step: Callable[[int, int], None]) -> list[T]:
    """Submit every call, wait for all, results in submission order."""
    futures: list[Future[T]] = [executor.submit(function, *args) for function, args in calls]
    for number, _ in enumerate(as_completed(futures), 1):
        step(number, len(futures))
    return [future.result() for future in futures]


class _Progress:
    """One line on stderr, rewritten in place, when stderr is a terminal."""

    def __init__(self, stream: IO[str] | None) -> None:
        self.stream = stream
        self._last = 0.0

    def step(self, what: str) -> Callable[[int, int], None]:
        def show(number: int, total: int) -> None:
            now = time.monotonic()
            if self.stream is None or (number < total and now - self._last < 0.1):
                return
            self._last = now
            self.stream.write(f"\r\x1b[Kaudit: {what}: {number:,}/{total:,}")
            self.stream.flush()
        return show

    def clear(self) -> None:
        if self.stream is not None:
            self.stream.write("\r\x1b[K")
            self.stream.flush()


__all__ = ["AuditOptions", "AuditTotals", "LayerOutcome", "audit", "unique_layers"]

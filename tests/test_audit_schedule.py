"""The audit's phases 2 and 3 overlap (issue 17): an image starts as soon as its own layers are in
the cache, while a large layer of another base is still being scanned, and never earlier.

The scheduler is driven here by an executor whose tasks finish only when the test says so, so the
order is exact; the tasks are stand-ins that record what ran. The real tasks, pool and Dask cluster
are in ``test_audit.py`` and ``test_audit_dask.py``, whose NDJSON comparisons cover the result.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any

import pytest

from inspector.audit import run as audit_run
from inspector.audit.ndjson import LineWriter
from inspector.audit.tasks import Layer, LayerOutcome, Outcome, Plan


class HeldExecutor(Executor):
    """Runs nothing until ``finish(name)``: then that task's result is its stand-in's answer. ``log``
    holds "submit NAME" and "finish NAME" in the order they happened."""

    def __init__(self) -> None:
        self.log: list[str] = []
        self.futures: dict[str, tuple[Future[Any], Callable[[], Any]]] = {}

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        future: Future[Any] = Future()
        name = f"layer {args[0]}#{args[1]}" if fn is audit_run.scan_layer else f"image {args[0]}"
        self.log.append(f"submit {name}")
        self.futures[name] = (future, lambda: fn(*args))
        return future

    def finish(self, name: str) -> None:
        future, call = self.futures[name]
        self.log.append(f"finish {name}")
        future.set_result(call())


def _plan(ref: str, *diff_ids: str) -> Plan:
    return Plan(ref, None, tuple(Layer(i, d, 1000 * (10 - i)) for i, d in enumerate(diff_ids)), layerwise=True)


#: Two bases: "big" (a slow JDK layer) and "small"; two images on each, one own layer each.
PLANS = {ref: plan for ref, plan in (
    ("jdk-a", _plan("jdk-a", "big", "a")), ("jdk-b", _plan("jdk-b", "big", "b")),
    ("slim-c", _plan("slim-c", "small", "c")), ("slim-d", _plan("slim-d", "small", "d")))}


@pytest.fixture
def stand_ins(monkeypatch: pytest.MonkeyPatch) -> None:
    def scan_layer(reference: str, index: int, settings: Any) -> LayerOutcome:
        return LayerOutcome(PLANS[reference].layers[index].diff_id or "", scanned=True)

    def audit_image(reference: str, settings: Any) -> Outcome:
        return Outcome(reference, None, '{"reference": "' + reference + '"}')

    monkeypatch.setattr(audit_run, "scan_layer", scan_layer)
    monkeypatch.setattr(audit_run, "audit_image", audit_image)


def _drive(monkeypatch: pytest.MonkeyPatch, order: list[str],
           scanned: int = 6) -> tuple[list[str], audit_run.AuditTotals]:
    """Run the scheduler; each time it waits, finish the first task of ``order`` already submitted."""
    executor = HeldExecutor()
    totals = audit_run.AuditTotals(images=len(PLANS))
    out = io.BytesIO()
    pending = list(order)
    real_wait = audit_run.wait

    def wait(futures: Any, return_when: Any = None) -> Any:
        name = next(n for n in pending if n in executor.futures)
        pending.remove(name)
        executor.finish(name)
        return real_wait(futures, return_when=return_when)

    monkeypatch.setattr(audit_run, "wait", wait)
    audit_run._layers_then_images(executor, list(PLANS.values()), None, LineWriter(None, out),  # type: ignore[arg-type]
                                  totals, audit_run._Progress(None))
    assert not pending
    lines = out.getvalue().decode().splitlines()
    assert sorted(lines) == sorted(f'{{"reference": "{ref}"}}' for ref in PLANS)  # each image once
    assert totals.unique_layers == 6 and totals.layers_scanned == scanned and len(totals.phases) == 2
    return executor.log, totals


SMALL_FIRST = ["layer slim-c#0", "layer slim-c#1", "layer slim-d#1", "image slim-c", "image slim-d",
               "layer jdk-a#1", "layer jdk-b#1", "layer jdk-a#0", "image jdk-a", "image jdk-b"]
BIG_FIRST = ["layer jdk-a#0", "layer jdk-a#1", "layer jdk-b#1", "image jdk-a", "layer slim-c#0",
             "image jdk-b", "layer slim-c#1", "layer slim-d#1", "image slim-c", "image slim-d"]


def test_an_image_starts_while_another_base_is_still_scanned(stand_ins: None,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    log, _ = _drive(monkeypatch, SMALL_FIRST)
    assert log[0] == "submit layer jdk-a#0"  # the largest layer first
    assert log.index("finish image slim-d") < log.index("finish layer jdk-a#0")


@pytest.mark.parametrize("order", [SMALL_FIRST, BIG_FIRST], ids=["small-base-first", "big-base-first"])
def test_no_image_before_its_layers_nor_a_sibling_before_its_leader(stand_ins: None, monkeypatch: pytest.MonkeyPatch,
                                                                    order: list[str]) -> None:
    log, _ = _drive(monkeypatch, order)
    owners = {layer.diff_id: f"layer {ref}#{layer.index}" for ref, layer in audit_run.unique_layers(PLANS.values())}
    for ref, plan in PLANS.items():
        submitted = log.index(f"submit image {ref}")
        for layer in plan.layers:
            assert log.index(f"finish {owners[layer.diff_id]}") < submitted, (ref, layer)
    assert log.index("finish image jdk-a") < log.index("submit image jdk-b")  # each base's leader first
    assert log.index("finish image slim-c") < log.index("submit image slim-d")


def test_a_failed_layer_scan_still_releases_its_images(stand_ins: None, monkeypatch: pytest.MonkeyPatch) -> None:
    """A scan that failed before it learned its diff ID (the image could not be opened again) answers
    with none: its images still run, and report the layer themselves (phase 3 reads it again)."""
    def failing(reference: str, index: int, settings: Any) -> LayerOutcome:
        return LayerOutcome("", False, error="cannot open the image")

    monkeypatch.setattr(audit_run, "scan_layer", failing)
    log, totals = _drive(monkeypatch, BIG_FIRST, scanned=0)
    assert totals.layers_cached == 0 and all(f"finish image {ref}" in log for ref in PLANS)

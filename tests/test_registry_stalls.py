"""``sources.registry_stalls``: its one thread looks at every watched download, in a forked child too
(an audit's workers are forked; a child has none of its parent's threads and may have copied a
lock the monitor held)."""

from __future__ import annotations

import multiprocessing
import threading

from inspector.sources import registry_stalls


class Download:
    def __init__(self) -> None:
        self.looked = threading.Event()

    def stalled(self, now: float) -> None:
        self.looked.set()


def test_a_watched_download_is_looked_at_until_it_is_forgotten() -> None:
    download = Download()
    registry_stalls.watch(download)
    assert download.looked.wait(5)
    registry_stalls.forget(download)
    download.looked.clear()
    assert not download.looked.wait(3 * registry_stalls.PERIOD)


def _child(result: multiprocessing.Queue) -> None:  # type: ignore[type-arg]
    download = Download()
    registry_stalls.watch(download)
    result.put(download.looked.wait(5))


def test_a_forked_child_gets_a_monitor_of_its_own() -> None:
    parent = Download()
    registry_stalls.watch(parent)  # the parent's monitor runs before the fork
    assert parent.looked.wait(5)
    context = multiprocessing.get_context("fork")
    result = context.Queue()
    child = context.Process(target=_child, args=(result,))
    child.start()
    child.join(20)
    registry_stalls.forget(parent)
    assert child.exitcode == 0
    assert result.get(timeout=1) is True

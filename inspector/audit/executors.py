"""Where audit tasks run: a local process pool, or a Dask cluster behind the same interface.

Both are ``concurrent.futures.Executor``s (Dask's through ``Client.get_executor()``), so the audit
has one code path: it submits module-level functions with picklable arguments and waits on
``concurrent.futures`` futures, whichever engine runs them.
"""

from __future__ import annotations

import importlib
import re
import signal
import socket
from collections.abc import Iterator
from concurrent.futures import Executor, ProcessPoolExecutor
from contextlib import contextmanager
from typing import Any

from ..errors import InspectorError

#: A scheduler address as Dask spells one: tcp:// or tls://, a host, a port.
_ADDRESS = re.compile(r"(?:tcp|tls)://(?:[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]):[0-9]{1,5}\Z")
CONNECT_TIMEOUT = "15s"


def _reachable(address: str) -> None:
    """Fail at once on a refused connection (Dask's client would retry until its timeout)."""
    netloc = address.split("://", 1)[1]
    host, _, port = netloc.rpartition(":")
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
    except OSError as exc:
        raise InspectorError(f"cannot reach the Dask scheduler at {address}: {exc.strerror or exc}") from None


def _worker_signals() -> None:
    """Ctrl-C reaches the whole process group: only the audit's own process handles it (and stops
    the pool), so a worker never dies mid-task with a traceback of its own."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def check_scheduler(address: str) -> str:
    if not _ADDRESS.match(address):
        raise InspectorError(f"--scheduler {address[:100]!r}: expected tcp://HOST:PORT (or tls://HOST:PORT)")
    return address


@contextmanager
def open_executor(jobs: int, scheduler: str | None = None) -> Iterator[Executor]:
    """A process pool of ``jobs`` workers, or an executor on the Dask cluster at ``scheduler``."""
    if scheduler is None:
        pool = ProcessPoolExecutor(max_workers=jobs, initializer=_worker_signals)
        try:
            yield pool
        except BaseException:  # SIGTERM, Ctrl-C, a write error: drop the queue, never wait for it
            pool.shutdown(wait=False, cancel_futures=True)
            raise
        pool.shutdown(wait=True)
        return
    check_scheduler(scheduler)
    try:
        distributed: Any = importlib.import_module("distributed")  # the optional [dask] extra, untyped
    except ImportError:
        raise InspectorError("--scheduler needs Dask: pip install 'inspect-image[dask]'") from None
    _reachable(scheduler)
    try:
        client = distributed.Client(scheduler, timeout=CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, TimeoutError) as exc:
        raise InspectorError(f"cannot reach the Dask scheduler at {scheduler}: {exc}") from None
    try:
        executor: Executor = client.get_executor(pure=False)
        yield executor
    finally:
        client.close()

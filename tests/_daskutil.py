"""Fault injection for Dask tests: SIGKILL a worker process while it runs a task."""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


@contextmanager
def killing_a_busy_worker(
    cluster: Any, *, task: str = "decide_task", after: int = 1, timeout: float = 120.0
) -> Iterator[list[int]]:
    """Kill the worker running the ``after``-th distinct ``task`` seen processing, once.

    Watches ``cluster.scheduler`` from a thread while the block runs and SIGKILLs that worker's
    process (its nanny restarts it). Yields the list of killed pids (empty if none was reached, which
    the test should treat as a failure to inject the fault).
    """
    killed: list[int] = []
    done = threading.Event()

    def watch() -> None:
        seen: set[str] = set()
        deadline = time.monotonic() + timeout
        while not done.is_set() and time.monotonic() < deadline:
            for state in list(cluster.scheduler.tasks.values()):
                if state.state != "processing" or task not in str(state.key):
                    continue
                seen.add(str(state.key))
                if len(seen) < after:
                    continue
                address = state.processing_on.address
                for nanny in cluster.workers.values():
                    if getattr(nanny, "worker_address", None) == address and nanny.process:
                        os.kill(nanny.process.pid, signal.SIGKILL)
                        killed.append(nanny.process.pid)
                        return
            time.sleep(0.002)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    try:
        yield killed
    finally:
        done.set()
        watcher.join(timeout=10)

"""Run independent tasks serially, in local processes, or on a Dask cluster, with one interface.

>>> with executor(workers=2) as run:                      # doctest: +SKIP
...     results = run(function, items)                     # ordered like ``items``

``scheduler="tcp://host:8786"`` sends the tasks to an existing Dask cluster instead (Dask retries a
task whose worker died). Functions and items must be picklable (module-level functions, plain data).
"""

from __future__ import annotations

import multiprocessing
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from typing import Any, Protocol


class Runner(Protocol):
    """``run(function, items) -> [function(item) for item in items]``, possibly in parallel."""

    def __call__(self, function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]: ...


def _progress(total: int, label: str, enabled: bool) -> Any:
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=label, unit="task", disable=not enabled, delay=2.0, leave=False)


@contextmanager
def executor(
    workers: int = 1,
    scheduler: str | None = None,
    *,
    progress: bool = False,
    label: str = "tasks",
) -> Iterator[Runner]:
    """A :class:`Runner` for the duration of a ``with`` block.

    Parameters
    ----------
    workers : int, default 1
        1 runs in this process; more starts that many local worker processes (``spawn``, so torch
        threads in the parent cannot deadlock them). Ignored with ``scheduler``.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``) or a ``distributed.Client``.
    progress : bool, default False
        A tqdm bar over finished tasks (shown after 2 seconds).
    """
    if isinstance(workers, bool) or not isinstance(workers, int) or workers < 1:
        raise ValueError(f"The 'workers' parameter must be an int >= 1. Got {workers!r} instead.")
    if scheduler is not None:
        with _dask_runner(scheduler, progress, label) as run:
            yield run
        return
    if workers == 1:

        def run_serial(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
            bar = _progress(len(items), label, progress)
            out = []
            for item in items:
                out.append(function(item))
                bar.update(1)
            bar.close()
            return out

        yield run_serial
        return
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:

        def run_pool(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
            futures = {pool.submit(function, item): i for i, item in enumerate(items)}
            out: list[Any] = [None] * len(items)
            bar = _progress(len(items), label, progress)
            for future in as_completed(futures):
                out[futures[future]] = future.result()
                bar.update(1)
            bar.close()
            return out

        yield run_pool


@contextmanager
def _dask_runner(scheduler: Any, progress: bool, label: str) -> Iterator[Runner]:
    try:
        from distributed import Client
        from distributed import as_completed as dask_completed
    except ImportError:  # pragma: no cover - distributed is a dependency
        raise ImportError(
            "A Dask scheduler needs the 'distributed' package: pip install distributed"
        ) from None
    own_client = not isinstance(scheduler, Client)
    try:
        client = Client(scheduler, timeout="20s") if own_client else scheduler
    except OSError as exc:
        raise ConnectionError(
            f"Cannot reach the Dask scheduler at {scheduler}: {exc}. Start one with `dask scheduler` "
            "and `dask worker <address>`, or leave --scheduler out to run locally."
        ) from None
    try:

        def run_dask(function: Callable[[Any], Any], items: Sequence[Any]) -> list[Any]:
            futures = client.map(function, list(items), pure=False)
            index = {f.key: i for i, f in enumerate(futures)}
            out: list[Any] = [None] * len(items)
            bar = _progress(len(items), label, progress)
            for future in dask_completed(futures):
                out[index[future.key]] = future.result()
                bar.update(1)
            bar.close()
            return out

        yield run_dask
    finally:
        if own_client:
            client.close()

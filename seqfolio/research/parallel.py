"""Run independent tasks serially, in local processes, or on a Dask cluster, with one interface.

>>> with executor(workers=2, shared=prices) as run:       # doctest: +SKIP
...     results = run(function, items)                     # [function(prices, item) for item in items]

``shared`` (e.g. the price frame) reaches every worker once, not once per task. ``scheduler=
"tcp://host:8786"`` sends the tasks to an existing Dask cluster instead: Dask re-runs the tasks of a
worker that dies, even the last worker holding ``shared`` (the scheduler can rebuild it), and a task
whose workers keep dying (Dask's ``allowed-failures``, 3 by default) stops the run with a
RuntimeError. A local worker process that dies breaks the pool: the finished results are kept and the
unfinished tasks are re-run in a fresh pool (up to 3 times), with a warning. Workers that exit while
starting (typically a script without ``if __name__ == "__main__":``: each worker imports it again)
stop the run at once with a RuntimeError that says so. Functions and items must be picklable
(module-level functions, plain data). Workers run numerical libraries on one thread each, so N
workers use N cores without oversubscription.
"""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Protocol

from seqfolio._validation import check_int


class Runner(Protocol):
    """``run(function, items) -> [function(shared, item) for item in items]``, possibly in parallel."""

    def __call__(self, function: Callable[[Any, Any], Any], items: Sequence[Any]) -> list[Any]: ...


_MAX_POOL_RESTARTS = 3  # a local pool whose workers keep dying is restarted at most this often
_SHARED: Any = None  # the executor's shared object, installed once in each worker process


def _limit_threads() -> None:
    """One BLAS / OpenMP thread per worker (and one torch thread if torch is loaded)."""
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


def _install(folder: str) -> None:
    """A local worker's start: read the shared object, limit threads, leave a "started" mark.

    The shared object comes from a file, not with the process: ``spawn`` writes a new process's
    arguments into a pipe that the parent holds open itself, so a worker that dies while starting
    (before reading them all) would leave the parent blocked for ever on a payload over 64 kB.
    """
    global _SHARED
    with open(Path(folder) / "shared.pickle", "rb") as file:
        _SHARED = pickle.load(file)
    _limit_threads()
    (Path(folder) / f"started-{os.getpid()}").touch()


def _died_while_starting(pool: ProcessPoolExecutor, folder: str) -> list[int]:
    """Exit codes of the pool's workers that exited on their own before their "started" mark.

    A worker killed by a signal (a negative exit code: out of memory, ``kill``, the pool
    terminating its siblings) is a crash, not a start-up failure.
    """
    processes = (getattr(pool, "_processes", None) or {}).values()
    return [
        p.exitcode for p in processes
        if p.exitcode is not None and p.exitcode >= 0
        and not (Path(folder) / f"started-{p.pid}").exists()
    ]  # fmt: skip


def _start_failure(label: str, exit_codes: list[int]) -> RuntimeError:
    script = getattr(sys.modules.get("__main__"), "__file__", None)
    who = f"the script {script}" if script else "the main script"
    return RuntimeError(
        f"{label}: the worker processes exited while starting (exit code "
        f"{', '.join(map(str, sorted(set(exit_codes))))}), before running any task; their own "
        f"error is printed above. The usual cause: {who} runs its code when it is imported, "
        'without `if __name__ == "__main__":`, and each worker imports it again (Python starts '
        "workers with the spawn method), so the workers start the study anew and Python stops "
        'them. Put the code that starts the work under `if __name__ == "__main__":` (Python\'s '
        'multiprocessing docs, "The spawn and forkserver start methods"), or run with workers=1.'
    )


def _with_shared(function: Callable[[Any, Any], Any], item: Any) -> Any:
    return function(_SHARED, item)


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
    shared: Any = None,
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
    shared : object, optional
        Passed as the first argument of every task function; sent to each worker once.

    Raises
    ------
    RuntimeError
        If worker processes keep dying: a local pool restarted more than 3 times, or a Dask task
        whose workers died more often than the scheduler's ``allowed-failures``; or if local
        workers exit while starting (the message names the usual cause, a script without
        ``if __name__ == "__main__":``).
    """
    check_int("executor", "workers", workers, low=1)
    if scheduler is not None:
        with _dask_runner(scheduler, progress, label, shared) as run:
            yield run
        return
    if workers == 1:

        def run_serial(function: Callable[[Any, Any], Any], items: Sequence[Any]) -> list[Any]:
            bar = _progress(len(items), label, progress)
            out = []
            for item in items:
                out.append(function(shared, item))
                bar.update(1)
            bar.close()
            return out

        yield run_serial
        return
    with tempfile.TemporaryDirectory(prefix="seqfolio-workers-") as folder:
        with open(Path(folder) / "shared.pickle", "wb") as file:
            pickle.dump(shared, file, protocol=pickle.HIGHEST_PROTOCOL)
        with _local_runner(workers, folder, progress, label) as run:
            yield run


@contextmanager
def _local_runner(workers: int, folder: str, progress: bool, label: str) -> Iterator[Runner]:
    context = multiprocessing.get_context("spawn")

    def new_pool() -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=workers, mp_context=context, initializer=_install, initargs=(folder,)
        )

    pools = [new_pool()]

    def run_pool(function: Callable[[Any, Any], Any], items: Sequence[Any]) -> list[Any]:
        out: list[Any] = [None] * len(items)
        pending = set(range(len(items)))
        bar = _progress(len(items), label, progress)
        restarts = 0
        while pending:
            pool = pools[-1]
            try:
                futures = _submit_all(pool, function, items, sorted(pending))
                for future in as_completed(futures):
                    out[futures[future]] = future.result()
                    pending.discard(futures[future])
                    bar.update(1)
            except BrokenProcessPool:
                failed_start = _died_while_starting(pool, folder)
                if failed_start:  # it would fail the same way in a fresh pool
                    bar.close()
                    raise _start_failure(label, failed_start) from None
                # A worker process died (killed, out of memory): finished results are kept and
                # the unfinished tasks run again in a fresh pool (they are pure functions).
                restarts += 1
                if restarts > _MAX_POOL_RESTARTS:
                    bar.close()
                    raise RuntimeError(
                        f"{label}: worker processes died {restarts} times; giving up with "
                        f"{len(pending)} of {len(items)} tasks unfinished. Check memory, or run "
                        "with workers=1."
                    ) from None
                warnings.warn(
                    f"{label}: a worker process died; restarting the pool and re-running the "
                    f"{len(pending)} unfinished tasks.",
                    RuntimeWarning,
                    stacklevel=2,
                )
                _close_pool(pool, broken=True)
                pools.append(new_pool())
        bar.close()
        return out

    try:
        yield run_pool
    finally:
        _close_pool(pools[-1], broken=False)  # earlier pools broke and were closed already


def _submit_all(
    pool: ProcessPoolExecutor, function: Callable[[Any, Any], Any], items: Sequence[Any],
    indices: list[int],
) -> dict[Any, int]:
    """Submit ``items[i]`` for each index; a pool that breaks meanwhile raises BrokenProcessPool.

    ``submit`` starts worker processes as it goes: when one dies while a sibling is being started,
    the pool closes its pipes under ``submit``, which then fails with ``OSError("handle is
    closed")`` rather than BrokenProcessPool.
    """
    try:
        return {pool.submit(_with_shared, function, items[i]): i for i in indices}
    except OSError:
        if not getattr(pool, "_broken", False):
            raise
        raise BrokenProcessPool("a worker process died while the pool was starting") from None


def _close_pool(pool: ProcessPoolExecutor, *, broken: bool) -> None:
    """Shut a pool down and make sure none of its processes outlives it.

    A broken pool (a worker died) may still hold a live sibling or a replacement it was starting;
    left alone, such a process keeps the interpreter from exiting, so it is terminated.
    """
    processes = list((getattr(pool, "_processes", None) or {}).values())
    if broken:
        for process in processes:
            if process.is_alive():
                process.terminate()
    pool.shutdown(wait=not broken, cancel_futures=True)
    for process in processes:
        process.join(timeout=5)
        if process.is_alive():
            process.terminate()
            process.join(timeout=5)


@contextmanager
def _dask_runner(scheduler: Any, progress: bool, label: str, shared: Any) -> Iterator[Runner]:
    try:
        from distributed import Client, KilledWorker
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
    shared_future = None
    try:
        client.run(_limit_threads)
        if shared is not None:
            shared_future = _submit_shared(client, shared)

        def run_dask(function: Callable[[Any, Any], Any], items: Sequence[Any]) -> list[Any]:
            futures = client.map(function, [shared_future] * len(items), list(items), pure=False)
            if not client.scheduler_info().get("workers"):
                # not an error: a cluster may still be starting its workers, or scale on demand
                address = client.scheduler.address
                warnings.warn(
                    f"{label}: the Dask scheduler at {address} has no workers; the tasks wait "
                    f"until one connects (start one with `dask worker {address}`).",
                    RuntimeWarning,
                    stacklevel=2,
                )
            index = {f.key: i for i, f in enumerate(futures)}
            out: list[Any] = [None] * len(items)
            bar = _progress(len(items), label, progress)
            try:
                for future in dask_completed(futures):
                    out[index[future.key]] = future.result()
                    future.release()  # kept here: not recomputed if its worker dies later
                    bar.update(1)
            except KilledWorker as exc:
                raise RuntimeError(
                    f"{label}: Dask workers died {exc.allowed_failures + 1} times while running "
                    f"task {exc.task!r}; giving up. Check the workers' memory and logs, or run "
                    "without a scheduler."
                ) from None
            finally:
                bar.close()
                client.cancel([f for f in futures if not f.done()])
            return out

        yield run_dask
    finally:
        if shared_future is not None:
            shared_future.release()
        if own_client:
            client.close()


def _submit_shared(client: Any, shared: Any) -> Any:
    """A future of ``shared`` that the scheduler can recompute.

    Scattered data is lost for good when every worker holding it dies, and the tasks that need it
    are then cancelled. A task that rebuilds the object instead is simply re-run on another (or the
    restarted) worker, so a dead worker costs only its unfinished tasks. The object travels pickled,
    so the scheduler needs neither pandas nor seqfolio to hold it; each worker fetches it once.
    """
    import uuid

    import cloudpickle

    blob = cloudpickle.dumps(shared, protocol=pickle.HIGHEST_PROTOCOL)
    with warnings.catch_warnings():
        # The data is embedded in the graph once, on purpose: that is what makes it recomputable.
        warnings.filterwarnings("ignore", message="Sending large graph", category=UserWarning)
        return client.submit(
            pickle.loads, blob, key=f"seqfolio-shared-{uuid.uuid4().hex}", pure=False
        )

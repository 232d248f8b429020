"""Small torch helpers: device choice, thread-count-independent parallelism and seeding.

Imported only inside ``fit`` / ``predict``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import torch

T = TypeVar("T")
R = TypeVar("R")


def resolve_device(device: str, owner: str | None = None) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"`` / ``"cuda"`` / ``"cuda:1"`` as given.

    ``owner`` (the estimator's class name) is named in the error for a CUDA device on a machine
    without one, or an index beyond the GPUs present.
    """
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    who = f" of {owner}" if owner else ""
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"The 'device' parameter{who} is {device!r} but CUDA is not available on this machine; "
            "use device='cpu' or 'auto'."
        )
    try:
        resolved = torch.device(device)
    except RuntimeError:  # e.g. "cuda:x"
        raise ValueError(
            f"The 'device' parameter{who} must be 'auto', 'cpu' or 'cuda[:i]'. Got {device!r} instead."
        ) from None
    if resolved.type == "cuda" and (resolved.index or 0) >= torch.cuda.device_count():
        raise ValueError(
            f"The 'device' parameter{who} is {device!r} but this machine has "
            f"{torch.cuda.device_count()} CUDA device(s); use 'cuda' or 'auto'."
        )
    return resolved


class Workers:
    """Run independent pieces of torch work on ``n`` threads, each computing with one torch thread.

    Why not simply ``torch.set_num_threads(n)``: oneDNN's LSTM and MKL's GEMM split their reductions by
    thread count, so 1 and 2 threads give results ~1e-9 apart and a trained model drifts with the thread
    setting. Here the *partition* of the work (fixed micro-batches / chunks, chosen by the caller
    independently of ``n``) and the *order* in which results are combined are fixed, and every piece is
    computed single-threaded, so ``n`` changes only the speed, never a bit of the result.

    Parameters
    ----------
    n : int
        Worker threads; 1 runs everything in the calling thread.
    """

    def __init__(self, n: int):
        self.n = max(int(n), 1)
        self._pool: ThreadPoolExecutor | None = None

    def map(self, fn: Callable[[T], R], items: Sequence[T]) -> list[R]:
        """``[fn(item) for item in items]``, in order, spread over the worker threads."""
        if self.n == 1 or len(items) < 2:
            return [fn(item) for item in items]
        if self._pool is None:
            self._pool = ThreadPoolExecutor(
                self.n,
                thread_name_prefix="seqfolio-torch",
                initializer=torch.set_num_threads,
                initargs=(1,),
            )
        return list(self._pool.map(fn, items))

    def close(self) -> None:
        """Stop the worker threads (a no-op when none were started)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None


@contextlib.contextmanager
def compute_threads(n_threads: int | None, device: torch.device) -> Iterator[Workers]:
    """Yield :class:`Workers` for the block, with torch's own intra-op threads set to 1 meanwhile.

    ``n_threads=None`` takes torch's current thread count. On a GPU the work runs in one piece in the
    calling thread. torch's previous thread setting is restored afterwards. One thread is the safe
    default on a shared machine: on two busy cores two threads collapse to a few steps/s while one
    thread holds ~42 (../shared/anchors.md §6).
    """
    previous = torch.get_num_threads()
    n = previous if n_threads is None else int(n_threads)
    workers = Workers(n if device.type == "cpu" else 1)
    torch.set_num_threads(1)
    try:
        yield workers
    finally:
        workers.close()
        torch.set_num_threads(previous)


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device) -> Iterator[torch.Generator]:
    """Fork torch's global RNG, seed it, and yield a generator for shuffling.

    The caller's global RNG state is restored afterwards, so fitting a model does not change the random
    numbers the rest of the program draws. ``seed=None`` draws a fresh seed.
    """
    # int(): torch's seeding rejects numpy integers (np.int64(3)), which the estimators accept
    seed = int(torch.randint(0, 2**31 - 1, (1,)).item()) if seed is None else int(seed)
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        generator = torch.Generator()
        generator.manual_seed(seed)
        yield generator

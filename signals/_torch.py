"""Small torch helpers: device choice, thread count and seeding. Imported only inside ``fit`` / ``predict``."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import torch


def resolve_device(device: str) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; ``"cpu"`` / ``"cuda"`` / ``"cuda:1"`` as given."""
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError(
            f"device={device!r} was requested but CUDA is not available; use 'cpu' or 'auto'."
        )
    return torch.device(device)


@contextlib.contextmanager
def torch_threads(n_threads: int | None) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(n_threads)`` and restore the previous count after.

    ``None`` leaves torch's setting alone. One thread is the safe default on a shared machine: on two busy
    cores two threads collapse to a few steps/s while one thread holds ~42 (../shared/anchors.md §6).
    """
    if n_threads is None:
        yield
        return
    previous = torch.get_num_threads()
    torch.set_num_threads(n_threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device) -> Iterator[torch.Generator]:
    """Fork torch's global RNG, seed it, and yield a generator for shuffling.

    The caller's global RNG state is restored afterwards, so fitting a model does not change the random
    numbers the rest of the program draws. ``seed=None`` draws a fresh seed.
    """
    if seed is None:
        seed = int(torch.randint(0, 2**31 - 1, (1,)).item())
    devices = [device] if device.type == "cuda" else []
    with torch.random.fork_rng(devices=devices):
        torch.manual_seed(seed)
        generator = torch.Generator()
        generator.manual_seed(seed)
        yield generator

"""The training loop: plain Adam, early stopping on a chronological validation block, gradient clipping.

No framework: one function a reader can follow top to bottom. The data come as objects with ``len()``
and ``batch(ids) -> (inputs, targets)`` (see :mod:`seqfolio.signals.datasets`), the loss as a function of
``(model(inputs), targets)``.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn


class Batches(Protocol):
    """What the trainer needs from a dataset."""

    def __len__(self) -> int: ...

    def batch(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


class TrainingDiverged(ValueError):
    """A training or validation loss became NaN or infinite: the fit produced no model.

    A ``ValueError``, so a walk-forward retrain that diverges is recorded as a failed retrain and the
    previous model stays in use (:mod:`seqfolio.strategies.walkforward`).
    """


@dataclass
class TrainingResult:
    """What happened in :func:`train`.

    Attributes
    ----------
    epochs : int
        Epochs run.
    steps : int
        Optimiser steps taken.
    samples : int
        Training samples processed (the benchmark's throughput counts these).
    best_epoch : int
        Epoch (1-based) in which the kept weights were checked.
    best_loss : float
        Validation loss of the kept weights (training loss when there is no validation block).
    history : list of dict
        ``{"epoch", "step", "samples", "train_loss", "validation_loss"}`` per check.
    """

    epochs: int = 0
    steps: int = 0
    samples: int = 0
    best_epoch: int = 0
    best_loss: float = math.inf
    history: list[dict[str, float]] = field(default_factory=list)


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: Batches,
    batch_size: int = 4096,
) -> float:
    """The loss over the whole data set (outputs are concatenated first, so a Sharpe loss is exact)."""
    model.eval()
    outputs, targets = [], []
    for start in range(0, len(data), batch_size):
        ids = torch.arange(start, min(start + batch_size, len(data)))
        x, y = data.batch(ids)
        outputs.append(model(x))
        targets.append(y)
    return float(loss_fn(torch.cat(outputs), torch.cat(targets)))


def train(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    train_data: Batches,
    validation_data: Batches | None,
    *,
    max_epochs: int,
    batch_size: int,
    learning_rate: float,
    patience: int | None,
    grad_clip: float | None,
    generator: torch.Generator,
    progress: bool = False,
    target_loss: float | None = None,
    max_steps: int | None = None,
    eval_every: int | None = None,
) -> TrainingResult:
    """Fit ``model`` in place and leave it holding the weights with the best validation loss.

    Parameters
    ----------
    model : torch.nn.Module
        Already on the device the data live on.
    loss_fn : callable
        ``loss_fn(model(inputs), targets) -> scalar tensor``.
    train_data, validation_data : Batches
        ``validation_data=None`` trains for ``max_epochs`` and keeps the weights with the lowest
        training loss.
    max_epochs : int
        Upper bound on passes over the training data.
    batch_size : int
        Samples per optimiser step (a last batch of fewer than 2 samples is skipped).
    learning_rate : float
        Adam's step size.
    patience : int or None
        Stop after this many checks without a better validation loss; ``None`` never stops early.
    grad_clip : float or None
        Clip the gradients' global L2 norm to this value.
    generator : torch.Generator
        Seeded generator for the shuffling (determinism).
    progress : bool
        Show a tqdm bar over epochs.
    target_loss : float, optional
        Also stop as soon as the validation loss is at or below this value (the benchmark uses it to
        compare warm and cold starts).
    max_steps : int, optional
        Stop after this many optimiser steps.
    eval_every : int, optional
        Check the validation loss every this many steps instead of at the end of each epoch.

    Returns
    -------
    TrainingResult
        ``history`` has one row per check: epoch, step, samples so far, training and validation loss.

    Raises
    ------
    TrainingDiverged
        If a training or validation loss is NaN or infinite. ``model`` is left holding the best
        weights seen before that (its incoming weights if none), never the diverged ones.
    """
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    result = TrainingResult()
    best_state = copy.deepcopy(model.state_dict())
    checks_without_gain = 0
    running, running_n = 0.0, 0  # training loss since the last check

    def diverged(value: float, epoch: int, which: str) -> None:
        """Restore the best weights so far (a warm start is not left corrupted) and raise."""
        if bar is not None:
            bar.close()
        model.load_state_dict(best_state)
        model.eval()
        raise TrainingDiverged(
            f"training diverged: the {which} loss became {value} at epoch {epoch}, step "
            f"{result.steps + 1}; no model was produced. Lower learning_rate, set grad_clip, or "
            "check the inputs for NaN / inf."
        )

    def check(epoch: int) -> bool:
        """Record a check; return True when training should stop."""
        nonlocal best_state, checks_without_gain, running, running_n
        train_loss = running / max(running_n, 1)
        running, running_n = 0.0, 0
        if validation_data is not None and len(validation_data) > 0:
            current = evaluate(model, loss_fn, validation_data)
            model.train()
        else:
            current = train_loss
        result.history.append(
            {
                "epoch": epoch,
                "step": result.steps,
                "samples": result.samples,
                "train_loss": train_loss,
                "validation_loss": current,
            }
        )
        if not math.isfinite(current):
            diverged(current, epoch, "validation")
        if bar is not None:
            bar.set_postfix(train=f"{train_loss:.4f}", validation=f"{current:.4f}")
        if current < result.best_loss:
            result.best_loss, result.best_epoch = current, epoch
            best_state = copy.deepcopy(model.state_dict())
            checks_without_gain = 0
        else:
            checks_without_gain += 1
        return (
            (patience is not None and checks_without_gain >= patience)
            or (target_loss is not None and current <= target_loss)
            or (max_steps is not None and result.steps >= max_steps)
        )

    epochs = range(1, max_epochs + 1)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(epochs, desc="training", unit="epoch", leave=False)
        epochs = bar
    n = len(train_data)
    stop = False
    for epoch in epochs:
        model.train()
        order = torch.randperm(n, generator=generator)
        for start in range(0, n, batch_size):
            ids = order[start : start + batch_size]
            if len(ids) < 2:
                continue
            x, y = train_data.batch(ids)
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            if not bool(torch.isfinite(loss.detach())):
                diverged(float(loss.detach()), epoch, "training")
            loss.backward()
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            running += float(loss.detach()) * len(ids)
            running_n += len(ids)
            result.steps += 1
            result.samples += len(ids)
            if eval_every is not None and result.steps % eval_every == 0:
                stop = check(epoch)
                if stop:
                    break
            if max_steps is not None and result.steps >= max_steps:
                break
        result.epochs = epoch
        if stop:
            break
        out_of_steps = max_steps is not None and result.steps >= max_steps
        if eval_every is None or (out_of_steps and running_n > 0):
            stop = check(epoch) or out_of_steps
        if stop or out_of_steps:
            break
    if bar is not None:
        bar.close()
    model.load_state_dict(best_state)
    model.eval()
    return result

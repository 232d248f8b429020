"""The training loop: plain Adam, early stopping on a chronological validation block, gradient clipping.

No framework: one function a reader can follow top to bottom. The data come as objects with ``len()``
and ``batch(ids) -> (inputs, targets)`` (see :mod:`seqfolio.signals.datasets`), the loss as a function of
``(model(inputs), targets)``.

Each batch is computed in fixed micro-batches whose gradients are summed in a fixed order
(:func:`batch_gradients`), each on one torch thread: ``n_threads`` then changes how many micro-batches
run at once, never the trained weights (torch's own multi-threaded kernels do not promise that).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from seqfolio.signals._torch import Workers


class Batches(Protocol):
    """What the trainer needs from a dataset."""

    def __len__(self) -> int: ...

    def batch(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]: ...


class TrainingDiverged(ValueError):
    """A training or validation loss became NaN or infinite: the fit produced no model.

    A ``ValueError``, so a walk-forward retrain that diverges is recorded as a failed retrain and the
    previous model stays in use (:mod:`seqfolio.pipeline.retraining`).
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


MICRO_BATCH = 64
"""Samples per piece of a training batch. Fixed (not derived from the thread count) so that the
gradients, summed piece by piece in order, are bit-identical for any ``n_threads``."""

CHUNK = 1024
"""Samples per piece of a forward-only pass (validation loss, prediction), for the same reason."""


def diverged_error(value: float, epoch: int, step: int, which: str) -> TrainingDiverged:
    """The error for a ``which`` ("training" / "validation") loss that became ``value``."""
    return TrainingDiverged(
        f"training diverged: the {which} loss became {value} at epoch {epoch}, step {step}; no "
        "model was produced. Lower learning_rate, set grad_clip, or check the inputs for NaN / inf."
    )


def epoch_order(n: int, generator: torch.Generator, budget: int | None = None) -> torch.Tensor:
    """The training-sample ids one epoch visits, in order: a seeded permutation of ``range(n)``.

    With ``budget`` (fewer than ``n``), only the first ``budget`` ids of the permutation: a random
    subset without replacement, a different one each epoch, drawn from ``generator`` alone, so the
    same seed gives the same epochs. ``budget=None`` (or ``>= n``) visits every sample. The single
    model and the population trainer both draw their epochs here.
    """
    order = torch.randperm(n, generator=generator)
    return order if budget is None or budget >= n else order[:budget]


def forward_chunks(
    model: nn.Module, data: Batches, workers: Workers, chunk: int = CHUNK
) -> tuple[torch.Tensor, torch.Tensor]:
    """``model`` over all of ``data`` without gradients, in fixed chunks spread over ``workers``.

    Returns the concatenated outputs and targets.
    """
    starts = list(range(0, len(data), chunk))

    @torch.no_grad()
    def run(start: int) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = data.batch(torch.arange(start, min(start + chunk, len(data))))
        return model(x), y

    pieces = workers.map(run, starts)
    return torch.cat([out for out, _ in pieces]), torch.cat([y for _, y in pieces])


def evaluate(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: Batches,
    workers: Workers | None = None,
) -> float:
    """The loss over the whole data set (outputs are concatenated first, so a Sharpe loss is exact)."""
    model.eval()
    outputs, targets = forward_chunks(model, data, workers or Workers(1))
    with torch.no_grad():
        return float(loss_fn(outputs, targets))


def _draws_random_numbers(model: nn.Module) -> bool:
    """Whether a training-mode forward pass draws from torch's global RNG (dropout)."""
    for module in model.modules():
        if isinstance(module, nn.Dropout) and module.p > 0:
            return True
        if isinstance(module, nn.RNNBase) and module.dropout > 0 and module.num_layers > 1:
            return True
    return False


def batch_gradients(
    model: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    x: torch.Tensor,
    y: torch.Tensor,
    workers: Workers,
    micro_batch: int = MICRO_BATCH,
) -> torch.Tensor:
    """Set ``p.grad`` of every parameter to d loss(model(x), y) / dp; return the (detached) loss.

    The batch is cut into micro-batches of ``micro_batch`` samples. Their forward passes run on the
    workers; the loss is taken on the concatenated outputs (exact for any loss, a batch Sharpe ratio
    included); each micro-batch then back-propagates its slice of d loss / d outputs, and the
    parameter gradients are summed in micro-batch order. With dropout the forward passes run one after
    another, so the random masks are drawn in a fixed order.

    A NaN or infinite loss is returned before anything is back-propagated.
    """
    params = [p for p in model.parameters() if p.requires_grad]
    pieces = list(torch.split(x, micro_batch))
    forward_workers = Workers(1) if _draws_random_numbers(model) else workers
    outputs = forward_workers.map(model, pieces)
    joined = torch.cat([out.detach() for out in outputs]).requires_grad_()
    loss = loss_fn(joined, y)
    if not bool(torch.isfinite(loss.detach())):
        return loss.detach()
    (d_outputs,) = torch.autograd.grad(loss, joined)
    slices = torch.split(d_outputs, [len(out) for out in outputs])

    def backward(k: int) -> tuple[torch.Tensor | None, ...]:
        return torch.autograd.grad(outputs[k], params, grad_outputs=slices[k], allow_unused=True)

    grads = workers.map(backward, range(len(outputs)))
    for i, param in enumerate(params):
        total = torch.zeros_like(param)
        for piece in grads:
            if piece[i] is not None:
                total += piece[i]
        param.grad = total
    return loss.detach()


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
    workers: Workers | None = None,
    epoch_samples: int | None = None,
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
    workers : Workers, optional
        Threads for the micro-batches (:func:`batch_gradients`); one thread when omitted. The result
        does not depend on how many.
    epoch_samples : int, optional
        Training samples per epoch: a fresh random subset each epoch (:func:`epoch_order`); ``None``
        (or at least ``len(train_data)``) visits every sample, with the same shuffling either way.

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
    workers = workers or Workers(1)
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
        raise diverged_error(value, epoch, result.steps + 1, which)

    def check(epoch: int) -> bool:
        """Record a check; return True when training should stop."""
        nonlocal best_state, checks_without_gain, running, running_n
        train_loss = running / max(running_n, 1)
        running, running_n = 0.0, 0
        if validation_data is not None and len(validation_data) > 0:
            current = evaluate(model, loss_fn, validation_data, workers)
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
        order = epoch_order(n, generator, epoch_samples)
        for start in range(0, len(order), batch_size):
            ids = order[start : start + batch_size]
            if len(ids) < 2:
                continue
            x, y = train_data.batch(ids)
            loss = batch_gradients(model, loss_fn, x, y, workers)
            if not bool(torch.isfinite(loss)):
                diverged(float(loss), epoch, "training")
            if grad_clip is not None:
                nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            running += float(loss) * len(ids)
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

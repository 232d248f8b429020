"""The training loop: plain Adam, early stopping on a chronological validation block, gradient clipping.

One loop (:func:`run_epochs`) holds every training rule — the epochs' order and sampling budget, the
checks, early stopping, best weights, divergence, freezing a member that stops — for a model fitted
alone (:func:`train`) and for a population of models trained side by side
(:func:`~seqfolio.signals.population_train.train_population`). What differs between the two is how a
step and a validation pass are computed, behind the small :class:`Networks` protocol. No framework:
the data come as objects with ``len()`` and ``batch(ids) -> (inputs, targets)`` (see
:mod:`seqfolio.signals.datasets`), the loss as a function of ``(model(inputs), targets)``.

Each batch is computed in fixed micro-batches whose gradients are summed in a fixed order
(:func:`batch_gradients`), each on one torch thread: ``n_threads`` then changes how many micro-batches
run at once, never the trained weights (torch's own multi-threaded kernels do not promise that).
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import torch
from torch import nn

from seqfolio.signals._torch import Workers

Loss = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


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
    same seed gives the same epochs. ``budget=None`` (or ``>= n``) visits every sample.
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
    model: nn.Module, loss_fn: Loss, data: Batches, workers: Workers | None = None
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
    loss_fn: Loss,
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


@dataclass(frozen=True)
class MemberOptions:
    """One model's training options (:func:`train`'s arguments of the same names)."""

    max_epochs: int
    learning_rate: float
    patience: int | None
    grad_clip: float | None
    generator: torch.Generator


class Networks(Protocol):
    """The models :func:`run_epochs` trains, numbered ``0 .. K-1``: one model, or a population."""

    def step(self, members: list[int], ids: list[torch.Tensor], data: Batches) -> list[float]:
        """One optimiser step of each of ``members`` on its batch ``ids``; their training losses.
        A member whose loss is not finite is left unchanged."""

    def validation_losses(self, members: list[int], data: Batches) -> list[float]:
        """Each member's loss over the whole of ``data``."""

    def keep_best(self, member: int) -> None:
        """Remember the member's current weights as its best."""

    def restore_best(self, member: int) -> None:
        """Put the member's best weights back (its initial ones if none was kept)."""

    def finish(self) -> None:
        """Leave every member holding its best weights, ready to predict."""


def run_epochs(
    networks: Networks,
    train_data: Batches,
    validation_data: Batches | None,
    members: Sequence[MemberOptions],
    *,
    batch_size: int,
    epoch_samples: int | None = None,
    target_loss: float | None = None,
    max_steps: int | None = None,
    eval_every: int | None = None,
    progress: bool = False,
) -> list[TrainingResult | TrainingDiverged]:
    """Train ``networks``' members until each stops; see :func:`train` for the rules and arguments.

    Members share the data, ``batch_size`` and ``epoch_samples`` (so their batches line up); each
    has its own epochs (drawn from its ``generator``), checks, patience and ``max_epochs``. A member
    that stops or diverges is frozen: it takes no further step. Returns, per member, its
    :class:`TrainingResult`, or the :class:`TrainingDiverged` error that froze it (the member then
    holds its best weights from before).
    """
    results = [TrainingResult() for _ in members]
    outcome: list[TrainingResult | TrainingDiverged] = list(results)
    waiting = [0] * len(members)  # checks without a better loss
    running = [0.0] * len(members)  # training loss since the last check, summed over samples
    running_n = [0] * len(members)
    active = list(range(len(members)))
    validate = validation_data is not None and len(validation_data) > 0

    def out_of_steps(k: int) -> bool:
        return max_steps is not None and results[k].steps >= max_steps

    def freeze(k: int, error: TrainingDiverged | None = None) -> None:
        active.remove(k)
        if error is not None:
            networks.restore_best(k)
            outcome[k] = error

    def check(checked: list[int], epoch: int) -> None:
        """Record a check of each of ``checked``; freeze those that stop."""
        scores = networks.validation_losses(checked, validation_data) if validate else None  # type: ignore[arg-type]
        for j, k in enumerate(checked):
            result = results[k]
            train_loss = running[k] / max(running_n[k], 1)
            running[k], running_n[k] = 0.0, 0
            current = train_loss if scores is None else scores[j]
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
                freeze(k, diverged_error(current, epoch, result.steps + 1, "validation"))
                continue
            if bar is not None and len(members) == 1:
                bar.set_postfix(train=f"{train_loss:.4f}", validation=f"{current:.4f}")
            if current < result.best_loss:
                result.best_loss, result.best_epoch = current, epoch
                networks.keep_best(k)
                waiting[k] = 0
            else:
                waiting[k] += 1
            patience = members[k].patience
            if (
                (patience is not None and waiting[k] >= patience)
                or (target_loss is not None and current <= target_loss)
                or out_of_steps(k)
            ):
                freeze(k)

    epochs = range(1, max(m.max_epochs for m in members) + 1)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(epochs, desc="training", unit="epoch", leave=False)
        epochs = bar
    n = len(train_data)
    for epoch in epochs:
        if not active:
            break
        for k in active:
            results[k].epochs = epoch
        orders = {k: epoch_order(n, members[k].generator, epoch_samples) for k in active}
        for start in range(0, len(orders[active[0]]), batch_size):
            stepping = [k for k in active if not out_of_steps(k)]
            if not stepping:
                break
            ids = [orders[k][start : start + batch_size] for k in stepping]
            if len(ids[0]) < 2:
                continue
            losses = networks.step(stepping, ids, train_data)
            for k, loss in zip(stepping, losses, strict=True):
                if not math.isfinite(loss):
                    freeze(k, diverged_error(loss, epoch, results[k].steps + 1, "training"))
                    continue
                running[k] += loss * len(ids[0])
                running_n[k] += len(ids[0])
                results[k].steps += 1
                results[k].samples += len(ids[0])
            if eval_every is not None:
                due = [k for k in stepping if k in active and results[k].steps % eval_every == 0]
                if due:
                    check(due, epoch)
        # the end of an epoch: a check, unless checks follow steps and none is pending
        due = [k for k in active if eval_every is None or (out_of_steps(k) and running_n[k] > 0)]
        if due:
            check(due, epoch)
        for k in list(active):
            if out_of_steps(k) or epoch >= members[k].max_epochs:
                freeze(k)
    if bar is not None:
        bar.close()
    networks.finish()
    return outcome


class _OneModel:
    """:class:`Networks` for one ``nn.Module``: ``torch.optim.Adam`` on micro-batched gradients."""

    def __init__(
        self, model: nn.Module, loss_fn: Loss, options: MemberOptions, workers: Workers
    ) -> None:
        self.model, self.loss_fn, self.workers = model, loss_fn, workers
        self.grad_clip = options.grad_clip
        self.optimizer = torch.optim.Adam(model.parameters(), lr=options.learning_rate)
        self.best = copy.deepcopy(model.state_dict())
        model.train()

    def step(self, members: list[int], ids: list[torch.Tensor], data: Batches) -> list[float]:
        x, y = data.batch(ids[0])
        loss = batch_gradients(self.model, self.loss_fn, x, y, self.workers)
        if bool(torch.isfinite(loss)):
            if self.grad_clip is not None:
                nn.utils.clip_grad_norm_(self.model.parameters(), self.grad_clip)
            self.optimizer.step()
        return [float(loss)]

    def validation_losses(self, members: list[int], data: Batches) -> list[float]:
        loss = evaluate(self.model, self.loss_fn, data, self.workers)
        self.model.train()
        return [loss]

    def keep_best(self, member: int) -> None:
        self.best = copy.deepcopy(self.model.state_dict())

    def restore_best(self, member: int) -> None:
        self.model.load_state_dict(self.best)

    def finish(self) -> None:
        self.restore_best(0)
        self.model.eval()


def train(
    model: nn.Module,
    loss_fn: Loss,
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
    options = MemberOptions(max_epochs, learning_rate, patience, grad_clip, generator)
    networks = _OneModel(model, loss_fn, options, workers or Workers(1))
    (outcome,) = run_epochs(
        networks,
        train_data,
        validation_data,
        [options],
        batch_size=batch_size,
        epoch_samples=epoch_samples,
        target_loss=target_loss,
        max_steps=max_steps,
        eval_every=eval_every,
        progress=progress,
    )
    if isinstance(outcome, TrainingDiverged):
        raise outcome
    return outcome

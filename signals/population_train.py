"""The population's training loop: :func:`seqfolio.signals.trainer.train`'s rules, member by member.

Every member keeps what the single-model loop gives a model: its own shuffling generator (its epochs
are drawn by :func:`~seqfolio.signals.trainer.epoch_order`, as alone), Adam state and step count,
learning rate, gradient clipping on its own global norm, validation loss, best weights, patience and
``max_epochs``. A member that stops early (or diverges) is frozen: it leaves the active set, so neither
its weights nor its Adam state change again, and the others go on without computing it.

Adam is element-wise, so one update over the stacked parameters, with per-member step sizes, is
each member's own Adam (``torch.optim.Adam``'s single-tensor arithmetic, default betas and eps).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch

from seqfolio.signals.population_net import PopulationLSTM, population_forward
from seqfolio.signals.trainer import (
    CHUNK,
    Batches,
    TrainingDiverged,
    TrainingResult,
    diverged_error,
    epoch_order,
)

# torch.optim.Adam's defaults, which the single-model trainer uses
_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


@dataclass(frozen=True)
class MemberOptions:
    """One member's training options (the single trainer's arguments of the same names)."""

    max_epochs: int
    learning_rate: float
    patience: int | None
    grad_clip: float | None
    generator: torch.Generator


def _per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(A,) values shaped to broadcast against a stacked tensor ``like`` (A, ...)."""
    return values.view(-1, *([1] * (like.dim() - 1)))


_BLOCK_FLOATS = 1 << 17
"""Members are stepped in blocks of about this many gate values per time step (512 kB): a block's
working set stays in a core's cache. A member's result does not depend on its block."""


def _members_per_block(samples: int, hidden: int) -> int:
    """Members per block for a batch of ``samples`` per member and a padded width ``hidden``."""
    return max(1, _BLOCK_FLOATS // (samples * 4 * hidden))


def _member_losses(
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    outputs: torch.Tensor,
    targets: torch.Tensor,
) -> torch.Tensor:
    """(A,) losses, member by member: each computed exactly as for a model alone (a vmapped loss
    runs over all members as one array, and its last bits would depend on the population's size)."""
    return torch.stack([loss_fn(out, y) for out, y in zip(outputs, targets, strict=True)])


def _validation_losses(
    params: Sequence[torch.Tensor],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    data: Batches,
) -> torch.Tensor:
    """Each member's loss over the whole validation block (outputs concatenated, as ``evaluate``)."""
    outputs, targets = [], []
    with torch.no_grad():
        for start in range(0, len(data), CHUNK):
            x, y = data.batch(torch.arange(start, min(start + CHUNK, len(data))))
            outputs.append(population_forward(x.unsqueeze(0), params))
            targets.append(y)
        out = torch.cat(outputs, dim=1)
        return _member_losses(loss_fn, out, torch.cat(targets).expand_as(out))


def train_population(
    net: PopulationLSTM,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    train_data: Batches,
    validation_data: Batches | None,
    members: Sequence[MemberOptions],
    *,
    batch_size: int,
    progress: bool = False,
) -> list[TrainingResult | TrainingDiverged]:
    """Fit every member of ``net`` in place; each ends holding its best weights.

    Parameters
    ----------
    net : PopulationLSTM
        The members' initial weights, on the device the data live on.
    loss_fn : callable
        ``loss_fn(outputs, targets) -> scalar`` for one member.
    train_data, validation_data : Batches
        Shared by all members; ``validation_data=None`` keeps the weights with the lowest training
        loss and runs every member for its ``max_epochs``.
    members : sequence of MemberOptions
        One per member of ``net``, in order.
    batch_size : int
        Samples per optimiser step, the same for every member.
    progress : bool
        Show a tqdm bar over epochs.

    Returns
    -------
    list of TrainingResult or TrainingDiverged
        Per member, what :func:`~seqfolio.signals.trainer.train` returns for a model alone, or the
        error it raises (the member's weights are then its best before diverging).
    """
    params = [p.detach() for p in net.stacked()]
    first_moment = [torch.zeros_like(p) for p in params]
    second_moment = [torch.zeros_like(p) for p in params]
    best = [p.clone() for p in params]
    steps = torch.zeros(len(members), dtype=torch.float64)
    rates = torch.tensor([m.learning_rate for m in members], dtype=torch.float64)
    clips = torch.tensor(
        [math.inf if m.grad_clip is None else m.grad_clip for m in members], device=params[0].device
    )
    results = [TrainingResult() for _ in members]
    outcome: list[TrainingResult | TrainingDiverged] = list(results)
    waiting = [0] * len(members)
    running = [0.0] * len(members)
    running_n = [0] * len(members)
    active = list(range(len(members)))

    def freeze(k: int, error: TrainingDiverged | None = None) -> None:
        active.remove(k)
        if error is not None:
            for p, b in zip(params, best, strict=True):
                p[k] = b[k]
            outcome[k] = error

    def step(x: torch.Tensor, y: torch.Tensor, epoch: int) -> None:
        rows = torch.tensor(active, device=params[0].device)
        current = [p[rows] for p in params]
        pieces = []
        for block in torch.arange(len(active)).split(_members_per_block(y.shape[1], net.hidden)):
            leaves = [p[block].requires_grad_() for p in current]
            block_losses = _member_losses(loss_fn, population_forward(x[block], leaves), y[block])
            ok = torch.isfinite(block_losses.detach())
            total = torch.where(ok, block_losses, 0.0).sum()
            pieces.append((block_losses.detach(), torch.autograd.grad(total, leaves)))
        losses = torch.cat([loss for loss, _ in pieces])
        finite = torch.isfinite(losses)
        grads = [torch.cat(parts) for parts in zip(*(g for _, g in pieces), strict=True)]
        # clip_grad_norm_ per member: the global L2 norm of the member's gradients
        norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads]).norm(dim=0)
        coef = torch.clamp(clips[rows] / (norms + 1e-6), max=1.0)
        cpu_rows = rows.cpu()
        count = steps[cpu_rows] + 1
        step_size = (rates[cpu_rows] / (1 - _BETA1**count)).to(coef)
        bias2 = torch.sqrt(1 - _BETA2**count).to(coef)
        keep = finite.nonzero().flatten()
        for i, (p, g) in enumerate(zip(current, grads, strict=True)):
            g = g * _per_member(coef, g)
            m = first_moment[i][rows].lerp_(g, 1 - _BETA1)
            v = second_moment[i][rows].mul_(_BETA2).addcmul_(g, g, value=1 - _BETA2)
            denom = (v.sqrt() / _per_member(bias2, v)).add_(_EPS)
            new = p.detach() - _per_member(step_size, p) * (m / denom)
            where = rows[keep]
            params[i][where], first_moment[i][where] = new[keep], m[keep]
            second_moment[i][where] = v[keep]
        values = losses.detach().cpu().tolist()
        for j, k in enumerate(list(active)):
            if not math.isfinite(values[j]):
                freeze(k, diverged_error(values[j], epoch, results[k].steps + 1, "training"))
                continue
            steps[k] += 1
            running[k] += values[j] * y.shape[1]
            running_n[k] += y.shape[1]
            results[k].steps += 1
            results[k].samples += y.shape[1]

    def check(epoch: int) -> None:
        """End of an epoch: each active member's check, as the single trainer's ``check``."""
        if validation_data is not None and len(validation_data) > 0:
            rows = torch.tensor(active, device=params[0].device)
            scores = _validation_losses([p[rows] for p in params], loss_fn, validation_data)
            validation = dict(zip(active, scores.cpu().tolist(), strict=True))
        else:
            validation = None
        for k in list(active):
            train_loss = running[k] / max(running_n[k], 1)
            running[k], running_n[k] = 0.0, 0
            current = train_loss if validation is None else validation[k]
            result = results[k]
            result.epochs = epoch
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
            if current < result.best_loss:
                result.best_loss, result.best_epoch = current, epoch
                for p, b in zip(params, best, strict=True):
                    b[k] = p[k]
                waiting[k] = 0
            else:
                waiting[k] += 1
            patience = members[k].patience
            if (patience is not None and waiting[k] >= patience) or epoch >= members[k].max_epochs:
                freeze(k)

    epochs = range(1, max(m.max_epochs for m in members) + 1)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(epochs, desc="training population", unit="epoch", leave=False)
        epochs = bar
    n = len(train_data)
    for epoch in epochs:
        if not active:
            break
        orders = {k: epoch_order(n, members[k].generator) for k in active}
        for start in range(0, n, batch_size):
            if not active or len(orders[active[0]][start : start + batch_size]) < 2:
                continue
            ids = torch.stack([orders[k][start : start + batch_size] for k in active])
            x, y = train_data.batch(ids.reshape(-1))
            step(x.view(*ids.shape, *x.shape[1:]), y.view(ids.shape), epoch)
        if active:
            check(epoch)
    if bar is not None:
        bar.close()
    with torch.no_grad():
        for p, b in zip(net.stacked(), best, strict=True):
            p.copy_(b)
    return outcome

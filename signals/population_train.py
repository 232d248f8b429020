"""A population's steps: K members of one :class:`~seqfolio.signals.population_net.PopulationLSTM`.

The training rules — epochs and their sampling budget, checks, early stopping, best weights,
divergence, freezing — are :func:`seqfolio.signals.trainer.run_epochs`, the loop a model fitted alone
goes through; this module computes its steps and validation passes for all members at once. Every
member keeps what a model alone has: its own shuffling generator, Adam state and step count, learning
rate, gradient clipping on its own global norm, validation loss and best weights. A frozen member
(stopped or diverged) is left out of the steps, so neither its weights nor its Adam state change again.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch

from seqfolio.signals.population_net import PopulationLSTM, population_forward
from seqfolio.signals.trainer import (
    CHUNK,
    Batches,
    Loss,
    MemberOptions,
    TrainingDiverged,
    TrainingResult,
    run_epochs,
)

__all__ = ["MemberOptions", "train_population"]

# torch.optim.Adam's defaults, which the single-model trainer uses
_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8


def _per_member(values: torch.Tensor, like: torch.Tensor) -> torch.Tensor:
    """(A,) values shaped to broadcast against a stacked tensor ``like`` (A, ...)."""
    return values.view(-1, *([1] * (like.dim() - 1)))


_BLOCK_FLOATS = 1 << 17
"""Members are stepped in blocks of about this many gate values per time step (512 kB): a block's
working set stays in a core's cache. A member's result does not depend on its block."""


def _members_per_block(samples: int, hidden: int) -> int:
    """Members per block for a batch of ``samples`` per member and a padded width ``hidden``."""
    return max(1, _BLOCK_FLOATS // (samples * 4 * hidden))


def _member_losses(loss_fn: Loss, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """(A,) losses, member by member: each computed exactly as for a model alone (a vmapped loss
    runs over all members as one array, and its last bits would depend on the population's size)."""
    return torch.stack([loss_fn(out, y) for out, y in zip(outputs, targets, strict=True)])


def _validation_losses(
    params: Sequence[torch.Tensor], loss_fn: Loss, data: Batches
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


class _Members:
    """:class:`~seqfolio.signals.trainer.Networks` for the members of a :class:`PopulationLSTM`.

    Adam is element-wise, so one update over the stacked parameters, with per-member step sizes, is
    each member's own Adam (``torch.optim.Adam``'s single-tensor arithmetic, default betas and eps).
    """

    def __init__(self, net: PopulationLSTM, loss_fn: Loss, members: Sequence[MemberOptions]):
        self.net, self.loss_fn = net, loss_fn
        self.params = [p.detach() for p in net.stacked()]
        self.first_moment = [torch.zeros_like(p) for p in self.params]
        self.second_moment = [torch.zeros_like(p) for p in self.params]
        self.best = [p.clone() for p in self.params]
        self.steps = torch.zeros(len(members), dtype=torch.float64)
        self.rates = torch.tensor([m.learning_rate for m in members], dtype=torch.float64)
        clips = [math.inf if m.grad_clip is None else m.grad_clip for m in members]
        self.clips = torch.tensor(clips, device=self.params[0].device)

    def step(self, members: list[int], ids: list[torch.Tensor], data: Batches) -> list[float]:
        stacked = torch.stack(ids)
        x, y = data.batch(stacked.reshape(-1))
        x, y = x.view(*stacked.shape, *x.shape[1:]), y.view(stacked.shape)
        params = self.params
        rows = torch.tensor(members, device=params[0].device)
        current = [p[rows] for p in params]
        pieces = []
        for block in torch.arange(len(members)).split(
            _members_per_block(y.shape[1], self.net.hidden)
        ):
            leaves = [p[block].requires_grad_() for p in current]
            losses = _member_losses(self.loss_fn, population_forward(x[block], leaves), y[block])
            ok = torch.isfinite(losses.detach())
            total = torch.where(ok, losses, 0.0).sum()
            pieces.append((losses.detach(), torch.autograd.grad(total, leaves)))
        losses = torch.cat([loss for loss, _ in pieces])
        finite = torch.isfinite(losses)
        grads = [torch.cat(parts) for parts in zip(*(g for _, g in pieces), strict=True)]
        # clip_grad_norm_ per member: the global L2 norm of the member's gradients
        norms = torch.stack([g.flatten(1).norm(dim=1) for g in grads]).norm(dim=0)
        coef = torch.clamp(self.clips[rows] / (norms + 1e-6), max=1.0)
        cpu_rows = rows.cpu()
        count = self.steps[cpu_rows] + 1
        step_size = (self.rates[cpu_rows] / (1 - _BETA1**count)).to(coef)
        bias2 = torch.sqrt(1 - _BETA2**count).to(coef)
        keep = finite.nonzero().flatten()
        where = rows[keep]
        for i, (p, g) in enumerate(zip(current, grads, strict=True)):
            g = g * _per_member(coef, g)
            m = self.first_moment[i][rows].lerp_(g, 1 - _BETA1)
            v = self.second_moment[i][rows].mul_(_BETA2).addcmul_(g, g, value=1 - _BETA2)
            denom = (v.sqrt() / _per_member(bias2, v)).add_(_EPS)
            new = p.detach() - _per_member(step_size, p) * (m / denom)
            params[i][where], self.first_moment[i][where] = new[keep], m[keep]
            self.second_moment[i][where] = v[keep]
        self.steps[cpu_rows[finite.cpu()]] += 1
        return losses.detach().cpu().tolist()

    def validation_losses(self, members: list[int], data: Batches) -> list[float]:
        rows = torch.tensor(members, device=self.params[0].device)
        return _validation_losses([p[rows] for p in self.params], self.loss_fn, data).cpu().tolist()

    def keep_best(self, member: int) -> None:
        for p, b in zip(self.params, self.best, strict=True):
            b[member] = p[member]

    def restore_best(self, member: int) -> None:
        for p, b in zip(self.params, self.best, strict=True):
            p[member] = b[member]

    def finish(self) -> None:
        with torch.no_grad():
            for p, b in zip(self.net.stacked(), self.best, strict=True):
                p.copy_(b)


def train_population(
    net: PopulationLSTM,
    loss_fn: Loss,
    train_data: Batches,
    validation_data: Batches | None,
    members: Sequence[MemberOptions],
    *,
    batch_size: int,
    epoch_samples: int | None = None,
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
    epoch_samples : int, optional
        Training samples per epoch, the same for every member (each draws its own subset).
    progress : bool
        Show a tqdm bar over epochs.

    Returns
    -------
    list of TrainingResult or TrainingDiverged
        Per member, what :func:`~seqfolio.signals.trainer.train` returns for a model alone, or the
        error it raises (the member's weights are then its best before diverging).
    """
    return run_epochs(
        _Members(net, loss_fn, members),
        train_data,
        validation_data,
        members,
        batch_size=batch_size,
        epoch_samples=epoch_samples,
        progress=progress,
    )

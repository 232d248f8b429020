"""A population of K single-layer panel LSTMs as one network with a leading population dimension.

``torch.nn.LSTM`` cannot be vmapped (pytorch issues #105982, #112459), so the recurrence is written
with batched matrix products over stacked weights: one ``bmm`` per time step for all four gates of all
members, and a hand-written backward pass (back-propagation through time over the stored gates)
instead of an autograd graph of ``window`` steps, which halves the cost and keeps the per-step Python
overhead to a few kernels shared by the K members.

Member ``k`` is a :class:`~seqfolio.signals.models.PanelLSTM` stacked by :class:`PopulationLSTM`,
its hidden units padded with zeros up to the population's width. A padded unit has zero weights, so
its state stays 0 and its gradients are exactly 0: it never moves and never changes the member's
output. A member's arithmetic depends on its own weights, data and padded width only — not on which
other members share the population — so results do not depend on how members are grouped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from torch import nn

from seqfolio.signals.models import PanelLSTM

# torch.nn.LSTM stores the gates as (input, forget, cell, output); the population as (input, forget,
# output, cell): one permutation, its own inverse
_ORDER = [0, 1, 3, 2]
_PARAMS = ("w_ih", "w_hh", "b_ih", "b_hh", "head_w", "head_b")


def _member_rows(steps: int, p: int, b: int, width: int, new: dict[str, Any]) -> torch.Tensor:
    """An empty (steps, p, b, width) tensor whose members are not adjacent in memory.

    torch runs a sigmoid over a contiguous tensor as one flat array, vector lanes plus a scalar
    tail whose results differ in the last bit; with a gap after each member's block every member
    is its own row, so its bits do not depend on how many members share the tensor (which makes
    the results independent of ``n_threads`` and of early-stopped members leaving the population).
    Blocks of a multiple of 64 elements have no tail and need no gap (which would slow ``bmm``).
    """
    if (b * width) % 64 == 0:  # no tails at all: every element takes torch's vector path
        return torch.empty(steps, p, b, width, **new)
    store = torch.empty(steps, p, b * width + 1, **new)
    return store[..., : b * width].view(steps, p, b, width)


class _Recurrence(torch.autograd.Function):
    """Last hidden state of a batched LSTM: forward loop over time, hand-written BPTT backward.

    Each step is one ``bmm`` of ``[x_t, h_t, 1]`` with the stacked ``[W_ih; W_hh; b]``, written into a
    preallocated buffer (fresh large tensors every step cost page faults). Gates are stored in the
    order (input, forget, output, cell). tanh(z) = 2 sigmoid(2z) - 1, and torch's CPU tanh is ~6x
    slower than its sigmoid: the cell gate's weights are doubled (exact in floating point) so that one
    sigmoid covers all four gates. Layout (time, member, sample, unit): each step's slices are
    contiguous; the weight gradients are accumulated step by step.
    """

    @staticmethod
    def forward(  # type: ignore[override]
        ctx: Any,
        x: torch.Tensor,
        w_ih: torch.Tensor,
        w_hh: torch.Tensor,
        b_ih: torch.Tensor,
        b_hh: torch.Tensor,
    ) -> torch.Tensor:
        # x (P, B, T, F), or (1, B, T, F) shared by every member; w_ih (P, F, 4H); w_hh (P, H, 4H)
        p, hidden = w_hh.shape[0], w_hh.shape[1]
        b, steps, f = x.shape[1], x.shape[2], x.shape[3]
        new = {"dtype": x.dtype, "device": x.device}
        scale = torch.ones(4 * hidden, **new)
        scale[3 * hidden :] = 2.0
        weights = torch.cat([w_ih, w_hh, (b_ih + b_hh).unsqueeze(1)], dim=1) * scale
        # for the backward pass every step is kept; without it two slots are reused
        keep = ctx.needs_input_grad[1]
        slots = steps + 1 if keep else 2
        inputs = torch.empty(slots, p, b, f + hidden + 1, **new)  # [x_t, h_t, 1]
        if keep:
            inputs[:steps, :, :, :f] = x.permute(2, 0, 1, 3)
            inputs[steps, :, :, :f] = 0.0
        inputs[0, :, :, f:] = 0.0
        inputs[..., -1] = 1.0
        gates = _member_rows(steps if keep else 1, p, b, 4 * hidden, new)
        cells = torch.empty(slots, p, b, hidden, **new)
        tanh_cells = _member_rows(steps if keep else 1, p, b, hidden, new)
        cells[0] = 0.0
        for t in range(steps):
            now, after = (t, t + 1) if keep else (t % 2, (t + 1) % 2)
            if not keep:
                inputs[now, :, :, :f] = x[:, :, t]
            g = gates[t if keep else 0]
            torch.bmm(inputs[now], weights, out=g)
            g.sigmoid_()
            i, fg, o, gg = g.split(hidden, dim=-1)
            gg.mul_(2.0).sub_(1.0)
            c = cells[after]
            torch.mul(fg, cells[now], out=c)
            c.addcmul_(i, gg)
            tc = tanh_cells[t if keep else 0]
            torch.mul(c, 2.0, out=tc)
            tc.sigmoid_().mul_(2.0).sub_(1.0)
            torch.mul(o, tc, out=inputs[after, :, :, f:-1])
        if keep:
            ctx.save_for_backward(w_hh, inputs, gates, cells, tanh_cells)
        return inputs[steps if keep else steps % 2, :, :, f:-1].clone()

    @staticmethod
    def backward(ctx: Any, d_last: torch.Tensor) -> tuple[torch.Tensor | None, ...]:  # type: ignore[override]
        w_hh, inputs, gates, cells, tanh_cells = ctx.saved_tensors
        steps, p, b, four_h = gates.shape
        hidden = four_h // 4
        f = inputs.shape[3] - hidden - 1
        new = {"dtype": gates.dtype, "device": gates.device}
        d = torch.empty(p, b, four_h, **new)
        deriv = torch.empty(p, b, four_h, **new)
        tmp = torch.empty(p, b, hidden, **new)
        ones = torch.ones(p, b, hidden, **new)
        d_w = torch.zeros(p, f + hidden + 1, four_h, **new)  # the last row: the biases' gradient
        dh = d_last.contiguous().clone()
        dh_t = torch.empty(p, hidden, b, **new)
        dc = torch.zeros_like(dh)
        di, df, do, dg = d.split(hidden, dim=-1)
        for t in range(steps - 1, -1, -1):
            g = gates[t]
            i, fg, o, gg = g.split(hidden, dim=-1)
            tc = tanh_cells[t]
            # derivative of each activation at its input: s - s^2 for sigmoids, 1 - g^2 for tanh
            sig = g[..., : 3 * hidden]
            torch.addcmul(sig, sig, sig, value=-1.0, out=deriv[..., : 3 * hidden])
            torch.addcmul(ones, gg, gg, value=-1.0, out=deriv[..., 3 * hidden :])
            torch.mul(dh, tc, out=do)  # d output gate (before its derivative)
            torch.addcmul(ones, tc, tc, value=-1.0, out=tmp).mul_(o)
            dc.addcmul_(tmp, dh)  # dc += dh * o * (1 - tanh(c)^2)
            torch.mul(dc, gg, out=di)
            torch.mul(dc, cells[t], out=df)
            torch.mul(dc, i, out=dg)
            d.mul_(deriv)
            dc.mul_(fg)
            d_w.baddbmm_(inputs[t].transpose(1, 2), d)
            if t > 0:
                # W_hh d^T, not d W_hh^T: MKL's result for the latter depends on the number of
                # members in the batch (in the last bit, for some shapes); this one does not
                torch.bmm(w_hh, d.transpose(1, 2), out=dh_t)
                dh.copy_(dh_t.transpose(1, 2))
        return None, d_w[:, :f], d_w[:, f:-1], d_w[:, -1], d_w[:, -1].clone()


def population_forward(x: torch.Tensor, params: Sequence[torch.Tensor]) -> torch.Tensor:
    """Raw outputs (P, batch) of the members whose stacked parameters are ``params``.

    ``params`` are ``w_ih, w_hh, b_ih, b_hh, head_w, head_b`` with a leading member dimension (see
    :meth:`PopulationLSTM.stacked`); ``x`` is (P, batch, window, features) or (1, ...) shared.
    """
    w_ih, w_hh, b_ih, b_hh, head_w, head_b = params
    last = _Recurrence.apply(x, w_ih, w_hh, b_ih, b_hh)
    return torch.baddbmm(head_b.unsqueeze(1), last, head_w.unsqueeze(2)).squeeze(2)


class PopulationLSTM(nn.Module):
    """K single-layer :class:`~seqfolio.signals.models.PanelLSTM` stacked along a leading dimension.

    Parameters
    ----------
    members : sequence of PanelLSTM
        Single-layer networks with the same ``input_size``; their hidden sizes may differ (the
        narrower ones are padded with zero units). The population starts from their weights.
    hidden : int, optional
        Pad to at least this many units (a member's arithmetic depends on its padded size only, not
        on which other members share the population).

    Notes
    -----
    ``forward(x)`` takes ``x`` of shape (K, batch, window, input_size) — each member its own batch —
    or (1, batch, window, input_size) shared by all, and returns (K, batch) raw outputs.

    Memory per member: see :func:`~seqfolio.signals.fit_population` (about ``4 * W * (2F + 7H + 1)``
    bytes of activations per training sample, W the window, F the features, H the padded width).
    """

    def __init__(self, members: Sequence[PanelLSTM], hidden: int | None = None):
        super().__init__()
        hidden = max([m.lstm.hidden_size for m in members] + [hidden or 0])
        self.sizes = [m.lstm.hidden_size for m in members]
        self.hidden = hidden
        stacked = [self._padded(m, hidden) for m in members]
        for name, i in zip(_PARAMS, range(6), strict=True):
            setattr(self, name, nn.Parameter(torch.stack([s[i] for s in stacked])))

    @staticmethod
    def _padded(model: PanelLSTM, hidden: int) -> tuple[torch.Tensor, ...]:
        lstm, h = model.lstm, model.lstm.hidden_size
        f = lstm.input_size
        w_ih = torch.zeros(4, hidden, f)
        w_hh = torch.zeros(4, hidden, hidden)
        b_ih = torch.zeros(4, hidden)
        b_hh = torch.zeros(4, hidden)
        with torch.no_grad():
            w_ih[:, :h] = lstm.weight_ih_l0.detach().cpu().view(4, h, f)[_ORDER]
            w_hh[:, :h, :h] = lstm.weight_hh_l0.detach().cpu().view(4, h, h)[_ORDER]
            b_ih[:, :h] = lstm.bias_ih_l0.detach().cpu().view(4, h)[_ORDER]
            b_hh[:, :h] = lstm.bias_hh_l0.detach().cpu().view(4, h)[_ORDER]
            head_w = torch.zeros(hidden)
            head_w[:h] = model.head.weight.detach().cpu()[0]
            head_b = model.head.bias.detach().cpu().clone()
        # stored transposed for x @ w: (F, 4H) and (H, 4H)
        return (
            w_ih.reshape(4 * hidden, f).T.contiguous(),
            w_hh.reshape(4 * hidden, hidden).T.contiguous(),
            b_ih.reshape(-1),
            b_hh.reshape(-1),
            head_w,
            head_b,
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return population_forward(x, self.stacked())

    def stacked(self) -> list[torch.Tensor]:
        """The stacked parameters, in the order :func:`population_forward` takes them."""
        return [getattr(self, name) for name in _PARAMS]

    def member(self, k: int, template: PanelLSTM) -> PanelLSTM:
        """Member ``k``'s current weights copied into ``template`` (a PanelLSTM of its size)."""
        h, hidden = self.sizes[k], self.hidden
        f = self.w_ih.shape[1]
        with torch.no_grad():
            w_ih = self.w_ih[k].T.reshape(4, hidden, f)[_ORDER, :h].reshape(4 * h, f)
            w_hh = self.w_hh[k].T.reshape(4, hidden, hidden)[_ORDER, :h, :h].reshape(4 * h, h)
            state = {
                "lstm.weight_ih_l0": w_ih,
                "lstm.weight_hh_l0": w_hh,
                "lstm.bias_ih_l0": self.b_ih[k].view(4, hidden)[_ORDER, :h].reshape(-1),
                "lstm.bias_hh_l0": self.b_hh[k].view(4, hidden)[_ORDER, :h].reshape(-1),
                "head.weight": self.head_w[k, :h].unsqueeze(0),
                "head.bias": self.head_b[k],
            }
            template.load_state_dict({name: v.detach().clone() for name, v in state.items()})
        return template

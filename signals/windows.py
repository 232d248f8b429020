"""The windowed panel dataset: which (bar, asset) samples exist and how a batch is gathered.

A *sample* ``(t, a)`` is the window of asset ``a``'s features over bars ``t - window + 1 .. t`` and the
label of ``a`` at ``t``, which reads prices in ``(t, t + horizon]`` (:mod:`seqfolio.signals.targets`).

Rules, all enforced here:

- a sample exists only if every feature in its window and its label are finite — an asset contributes
  nothing before it lists, and nothing across a gap;
- built-in purge: with a series cut at bar ``cut`` no sample has ``t + horizon > cut``, so no label reads
  past the cut even if the label array was computed on longer data;
- :func:`chronological_split` keeps the validation block last and drops training samples whose label
  window reaches into it (``t + horizon + embargo >= first validation bar``).

numpy only: the trainer converts the gathered batches to tensors (``gather_windows`` also works on a
``torch.Tensor`` panel, because it only uses indexing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SampleIndex:
    """Bars ``t`` and asset positions ``a`` of the samples, sorted by ``t`` then ``a``."""

    t: np.ndarray
    a: np.ndarray

    def __len__(self) -> int:
        return len(self.t)

    def subset(self, mask: np.ndarray) -> SampleIndex:
        """The samples where ``mask`` is True."""
        return SampleIndex(self.t[mask], self.a[mask])


def window_is_complete(valid: np.ndarray, window: int) -> np.ndarray:
    """``out[t, a]`` is True when ``valid[t - window + 1 .. t, a]`` are all True (False for ``t < window - 1``)."""
    v = np.asarray(valid, dtype=bool)
    csum = np.concatenate([np.zeros((1, v.shape[1]), dtype=np.int64), np.cumsum(v, axis=0)])
    out = np.zeros(v.shape, dtype=bool)
    if window <= v.shape[0]:
        out[window - 1 :] = (csum[window:] - csum[:-window]) == window
    return out


def sample_index(
    features: np.ndarray,
    labels: np.ndarray | None,
    *,
    window: int,
    horizon: int,
    cut: int | None = None,
    start: int = 0,
    stride: int = 1,
) -> SampleIndex:
    """All valid samples of a feature panel.

    Parameters
    ----------
    features : ndarray of shape (T, N, F)
        Feature panel (NaN where undefined).
    labels : ndarray of shape (T, N), optional
        Label panel; ``None`` lists the samples usable for prediction (no label, no horizon purge).
    window : int
        Bars per window.
    horizon : int
        Label horizon in bars.
    cut : int, optional
        Index of the last bar the caller may read (default: the last bar). With labels, only samples with
        ``t + horizon <= cut`` are kept.
    start : int
        First bar ``t`` to consider.
    stride : int
        Keep every ``stride``-th bar counted back from the last admissible one (overlapping windows are
        highly redundant; a stride > 1 trades a little accuracy for speed).

    Returns
    -------
    SampleIndex
    """
    n_bars = features.shape[0]
    cut = n_bars - 1 if cut is None else int(cut)
    ok = window_is_complete(np.isfinite(features).all(axis=2), window)
    last = cut
    if labels is not None:
        ok &= np.isfinite(labels)
        last = cut - horizon
    bars = np.arange(n_bars)
    ok &= ((bars >= start) & (bars <= last))[:, None]
    if stride > 1:
        ok &= (((last - bars) % stride) == 0)[:, None]
    t, a = np.nonzero(ok)
    return SampleIndex(t.astype(np.int64), a.astype(np.int64))


def chronological_split(
    index: SampleIndex, *, validation_fraction: float, horizon: int, embargo: int = 0
) -> tuple[SampleIndex, SampleIndex]:
    """Split samples into an earlier training block and a later validation block, purged.

    The last ``validation_fraction`` of the distinct bars go to validation. A training sample at ``t``
    is kept only if ``t + horizon + embargo < s``, where ``s`` is the first validation bar: its label window
    ``(t, t + horizon]`` ends before any validation label starts, plus ``embargo`` bars of safety.

    Returns
    -------
    (train, validation) : tuple of SampleIndex
        ``validation`` is empty when ``validation_fraction`` is 0.
    """
    bars = np.unique(index.t)
    n_val = int(round(len(bars) * validation_fraction))
    if n_val == 0:
        return index, index.subset(np.zeros(len(index), dtype=bool))
    first_val = bars[len(bars) - n_val]
    val = index.subset(index.t >= first_val)
    train = index.subset(index.t + horizon + embargo < first_val)
    return train, val


def gather_windows(features: Any, t: Any, a: Any, window: int) -> Any:
    """Stack the windows of samples ``(t, a)`` into an array of shape (B, window, F).

    ``features`` is a (T, N, F) numpy array or torch tensor; ``t`` and ``a`` are integer arrays/tensors of
    the same kind. Row ``k`` of a window is bar ``t - window + 1 + k`` — the last row is bar ``t``.
    """
    offsets: Any = np.arange(1 - window, 1)
    if not isinstance(features, np.ndarray):  # a torch tensor: build the offsets with torch
        import torch

        offsets = torch.arange(1 - window, 1, device=features.device)
    rows = t[:, None] + offsets[None, :]
    return features[rows, a[:, None]]

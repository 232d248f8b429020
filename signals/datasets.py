"""Tensor views of the windowed samples, in the shape the trainer asks for (``len`` and ``batch``)."""

from __future__ import annotations

import numpy as np
import torch

from seqfolio.signals.windows import SampleIndex, gather_windows


class PanelWindows:
    """Samples ``(t, a)`` of a scaled feature panel: ``batch(ids)`` -> (windows, labels).

    Parameters
    ----------
    features : ndarray of shape (T, N, F)
        Scaled features; NaN are replaced by 0 (no listed sample ever reads them — the index excludes
        windows with NaN — but NaN must not reach a tensor).
    labels : ndarray of shape (T, N), optional
        Scaled labels; ``None`` for prediction (``batch`` then returns an empty label tensor).
    index : SampleIndex
        The samples.
    window : int
        Bars per window.
    device : torch.device
        Where the tensors live.
    """

    def __init__(
        self,
        features: np.ndarray,
        labels: np.ndarray | None,
        index: SampleIndex,
        window: int,
        device: torch.device,
    ):
        self.features = torch.as_tensor(
            np.nan_to_num(features, nan=0.0), dtype=torch.float32, device=device
        )
        self.labels = (
            None
            if labels is None
            else torch.as_tensor(np.nan_to_num(labels, nan=0.0), dtype=torch.float32, device=device)
        )
        self.t = torch.as_tensor(index.t, dtype=torch.long, device=device)
        self.a = torch.as_tensor(index.a, dtype=torch.long, device=device)
        self.window = window

    def __len__(self) -> int:
        return len(self.t)

    def batch(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        ids = ids.to(self.t.device)
        t, a = self.t[ids], self.a[ids]
        x = gather_windows(self.features, t, a, self.window)
        y = self.labels[t, a] if self.labels is not None else torch.empty(0, device=x.device)
        return x, y


class PortfolioWindows:
    """Samples for the direct-weights model: all assets' features over a window -> next bar's returns.

    Parameters
    ----------
    features : ndarray of shape (T, N * F)
        Scaled per-bar features of every asset side by side.
    next_returns : ndarray of shape (T, N)
        Row ``t`` holds the simple returns over ``(t, t+1]`` (the last row is unused).
    ends : ndarray of int
        The bars ``t`` at which windows end.
    window : int
        Bars per window.
    device : torch.device
    """

    def __init__(
        self,
        features: np.ndarray,
        next_returns: np.ndarray,
        ends: np.ndarray,
        window: int,
        device: torch.device,
    ):
        self.features = torch.as_tensor(features, dtype=torch.float32, device=device)
        self.next_returns = torch.as_tensor(
            np.nan_to_num(next_returns, nan=0.0), dtype=torch.float32, device=device
        )
        self.ends = torch.as_tensor(ends, dtype=torch.long, device=device)
        self.window = window

    def __len__(self) -> int:
        return len(self.ends)

    def batch(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        t = self.ends[ids.to(self.ends.device)]
        offsets = torch.arange(1 - self.window, 1, device=t.device)
        x = self.features[t[:, None] + offsets[None, :]]
        return x, self.next_returns[t]

"""Network architectures only (no data handling, no training): the sizes come from the data in ``fit``."""

from __future__ import annotations

import torch
from torch import nn


class PanelLSTM(nn.Module):
    """An LSTM over one asset's feature window, shared by every asset of the panel.

    Parameters
    ----------
    input_size : int
        Features per bar.
    hidden_size : int
        LSTM units per layer.
    num_layers : int
        Stacked LSTM layers.
    dropout : float
        Dropout between LSTM layers and before the head.

    Notes
    -----
    ``forward(x)`` takes ``x`` of shape (batch, window, input_size) and returns one raw output per sample,
    shape (batch,): the last hidden state goes through a linear head. The target decides how the output
    is read (a scaled return, a log variance, a logit).
    """

    def __init__(
        self, input_size: int, hidden_size: int, num_layers: int = 1, dropout: float = 0.0
    ):
        super().__init__()
        self.lstm = nn.LSTM(
            input_size,
            hidden_size,
            num_layers=num_layers,
            batch_first=True,
            dropout=dropout if num_layers > 1 else 0.0,
        )
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return self.head(self.dropout(out[:, -1, :])).squeeze(-1)


class WeightsLSTM(nn.Module):
    """Zhang, Zohren & Roberts (2020): an LSTM over all assets' features, softmax long-only weights.

    ``forward(x)`` takes (batch, window, n_assets * features_per_asset) and returns weights of shape
    (batch, n_assets), each row non-negative and summing to one.

    References
    ----------
    Zhang, Z., Zohren, S. & Roberts, S. (2020). Deep Learning for Portfolio Optimization.
    *The Journal of Financial Data Science* 2(4).
    """

    def __init__(self, input_size: int, n_assets: int, hidden_size: int, dropout: float = 0.0):
        super().__init__()
        self.lstm = nn.LSTM(input_size, hidden_size, batch_first=True)
        self.dropout = nn.Dropout(dropout)
        self.head = nn.Linear(hidden_size, n_assets)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(x)
        return torch.softmax(self.head(self.dropout(out[:, -1, :])), dim=-1)


def negative_sharpe(weights: torch.Tensor, next_returns: torch.Tensor) -> torch.Tensor:
    """Minus the Sharpe ratio (per period, no risk-free rate) of the portfolio returns in a batch.

    ``weights`` and ``next_returns`` have shape (batch, n_assets): the weights decided at bar t and the asset
    returns over (t, t+1].
    """
    portfolio = (weights * next_returns).sum(dim=1)
    return -portfolio.mean() / (portfolio.std() + 1e-8)


def qlike_loss(log_variance: torch.Tensor, target_log_variance: torch.Tensor) -> torch.Tensor:
    """QLIKE up to a constant: ``mean(exp(y - o) + o)`` with ``o`` the forecast and ``y`` the realised log variance.

    Minimised by ``o = log E[realised variance]``: an unbiased variance forecast, robust to noisy proxies
    (Patton 2011).
    """
    return (torch.exp(target_log_variance - log_variance) + log_variance).mean()

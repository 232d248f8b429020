"""``LSTMAllocator``: an LSTM that outputs long-only weights directly, trained on minus the Sharpe ratio.

It follows the allocators' protocol — ``fit(returns, *, covariance=None, expected_returns=None) -> self``,
``weights_`` a Series summing to one, ``get_params`` / ``set_params`` / ``sklearn.clone`` — so a strategy
can use it wherever it uses an allocator. It is written independently of ``seqfolio.allocators``
(the two packages know nothing of each other, docs/architecture.md, Layers).

References
----------
Zhang, Z., Zohren, S. & Roberts, S. (2020). Deep Learning for Portfolio Optimization. *The Journal of
Financial Data Science* 2(4). One LSTM layer of 64 units over 50 days of each asset's prices and returns,
softmax weights, loss = -Sharpe, Adam, batch 64, 10 % validation, 100 epochs.
"""

from __future__ import annotations

import os
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from seqfolio.signals._validation import (
    check_above_minus_one,
    check_bool,
    check_frame,
    check_int,
    check_real,
    check_returns_frame,
    check_sorted_index,
    names,
    numeric_values,
)
from seqfolio.signals.features import rolling_sum, winsorize

_FORMAT = "seqfolio.signals.LSTMAllocator/1"


def _portfolio_features(returns: np.ndarray) -> np.ndarray:
    """Per bar and asset: the simple return and the 21-bar cumulative log return (NaN for 20 bars)."""
    log_r = np.log1p(returns)
    momentum = rolling_sum(log_r, 21)
    return np.stack([returns, momentum], axis=2)  # (T, N, 2)


def _check_finite_weights(weights: np.ndarray, where: str, assets: list[Any]) -> None:
    """A softmax of finite numbers is finite: NaN / inf weights mean the network itself is broken."""
    if not np.isfinite(weights).all():
        raise ValueError(
            f"{where}: the network returned non-finite weights {np.round(weights, 4).tolist()} for "
            f"assets {names(assets)}: the fitted model is broken (its weights hold NaN or inf, e.g. "
            "edited or from a damaged checkpoint), and NaN weights would empty the portfolio. "
            "Retrain it (delete its checkpoint file first, if it was loaded from one)."
        )


class LSTMAllocator(BaseEstimator):
    """Long-only weights straight from an LSTM (Zhang, Zohren & Roberts 2020).

    At each bar ``t`` of the training returns the network reads the last ``window`` bars of every asset's
    return and 21-bar momentum and outputs softmax weights; the loss is minus the Sharpe ratio of the
    weights applied to the returns of bar ``t + 1``, over each batch. ``weights_`` is the network's
    output for the window ending at the last row of ``returns``.

    Parameters
    ----------
    window : int, default 50
    hidden_size : int, default 64
    dropout : float, default 0.0
    max_epochs : int, default 100
    batch_size : int, default 64
    learning_rate : float, default 1e-3
    patience : int, default 10
        Early stopping on the chronological validation block.
    validation_fraction : float, default 0.1
    grad_clip : float or None, default 1.0
    winsorize_limit : float, default 5.0
        Scaled inputs are clipped to ± this many training standard deviations.
    warm_start : bool, default False
        Continue from the previous fit's network and scalers (same assets required).
    device : str, default "auto"
    n_threads : int or None, default 1
        CPU threads; results do not depend on it (see :class:`~seqfolio.signals.LSTMForecaster`).
    progress : bool, default False
    random_state : int or None, default None

    Attributes
    ----------
    weights_ : pandas.Series
        Long-only weights over ``returns.columns``, summing to one.
    n_assets_ : int
    model_ : torch.nn.Module
    training_ : TrainingResult
    """

    needs_training: ClassVar[bool] = True
    """Capability (:mod:`seqfolio.allocators.registry`): a network trained walk-forward, registered as
    the allocator ``lstm-weights``."""


    # fitted attributes (set by fit; declared for type checkers, not created here)
    weights_: pd.Series
    n_assets_: int
    assets_: list[Any]
    feature_mean_: np.ndarray
    feature_std_: np.ndarray
    model_: Any
    training_: Any

    def __init__(
        self,
        window: int = 50,
        hidden_size: int = 64,
        dropout: float = 0.0,
        max_epochs: int = 100,
        batch_size: int = 64,
        learning_rate: float = 1e-3,
        patience: int = 10,
        validation_fraction: float = 0.1,
        grad_clip: float | None = 1.0,
        winsorize_limit: float = 5.0,
        warm_start: bool = False,
        device: str = "auto",
        n_threads: int | None = 1,
        progress: bool = False,
        random_state: int | None = None,
    ):
        self.window = window
        self.hidden_size = hidden_size
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.grad_clip = grad_clip
        self.winsorize_limit = winsorize_limit
        self.warm_start = warm_start
        self.device = device
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state

    def _validate_params(self) -> None:
        owner = type(self).__name__
        check_int(owner, "window", self.window, low=2)
        check_int(owner, "hidden_size", self.hidden_size, low=1)
        check_real(owner, "dropout", self.dropout, low=0.0, high=1.0, high_open=True)
        check_int(owner, "max_epochs", self.max_epochs, low=1)
        check_int(owner, "batch_size", self.batch_size, low=2)
        check_real(owner, "learning_rate", self.learning_rate, low=0.0, low_open=True)
        check_int(owner, "patience", self.patience, low=1)
        check_real(
            owner,
            "validation_fraction",
            self.validation_fraction,
            low=0.0,
            high=1.0,
            high_open=True,
        )
        if self.grad_clip is not None:
            check_real(owner, "grad_clip", self.grad_clip, low=0.0, low_open=True)
        check_real(owner, "winsorize_limit", self.winsorize_limit, low=0.0, low_open=True)
        check_bool(owner, "warm_start", self.warm_start)
        if not isinstance(self.device, str) or not (
            self.device in ("auto", "cpu") or self.device.startswith("cuda")
        ):
            raise ValueError(
                f"The 'device' parameter of {owner} must be 'auto', 'cpu' or 'cuda[:i]'. "
                f"Got {self.device!r} instead."
            )
        check_int(owner, "n_threads", self.n_threads, low=1, allow_none=True)
        check_bool(owner, "progress", self.progress)
        check_int(owner, "random_state", self.random_state, low=0, allow_none=True)

    def _check_returns(self, returns: object) -> pd.DataFrame:
        where = f"{type(self).__name__}.fit"
        if isinstance(returns, pd.DataFrame) and returns.shape[1] < 2:
            raise ValueError(f"{where}: returns need at least 2 assets; got {returns.shape[1]}.")
        frame, values = check_returns_frame(returns, where)
        nan = np.isnan(values).any(axis=0)
        inf = np.isinf(values).any(axis=0)
        if nan.any() or inf.any():
            found = [f"NaN in columns {names(frame.columns[nan])}"] if nan.any() else []
            if inf.any():
                found.append(f"inf in columns {names(frame.columns[inf])} (from a zero price)")
            raise ValueError(
                f"{where}: returns contain {' and '.join(found)}; drop or fill them first."
            )
        minimum = 20 + self.window + 30
        if len(frame) < minimum:
            raise ValueError(
                f"{where}: returns need at least {minimum} rows for window={self.window} "
                f"(20 bars of momentum warm-up + window + 30 samples); got {len(frame)}."
            )
        return frame

    def fit(
        self,
        returns: pd.DataFrame,
        *,
        covariance: pd.DataFrame | np.ndarray | None = None,
        expected_returns: pd.Series | np.ndarray | None = None,
    ) -> LSTMAllocator:
        """Train on a window of asset returns and set ``weights_`` for the bar after its last row.

        Parameters
        ----------
        returns : pandas.DataFrame
            Per-period simple returns, rows = dates, columns = assets, no NaN.
        covariance, expected_returns : optional
            Accepted for protocol compatibility with the allocators and ignored: the network reads
            the returns only.

        Returns
        -------
        self
        """
        self._validate_params()
        frame = self._check_returns(returns)
        warm = self.warm_start and hasattr(self, "model_")
        if warm and list(frame.columns) != list(self.assets_):
            raise ValueError(
                f"{type(self).__name__}.fit: warm_start=True needs the same assets as the previous fit."
            )

        import torch

        from seqfolio.signals._torch import compute_threads, resolve_device, seeded
        from seqfolio.signals.datasets import PortfolioWindows
        from seqfolio.signals.models import WeightsLSTM, negative_sharpe
        from seqfolio.signals.trainer import train

        device = resolve_device(self.device, type(self).__name__)
        values = frame.to_numpy(dtype=float)
        n_bars, n_assets = values.shape
        raw = _portfolio_features(values)
        first = 20 + self.window - 1  # first bar with a complete window (momentum needs 21 returns)
        ends = np.arange(first, n_bars - 1)  # the label is the next bar's return
        n_val = int(round(len(ends) * self.validation_fraction))
        train_ends, val_ends = ends[: len(ends) - n_val], ends[len(ends) - n_val :]
        if n_val:
            train_ends = train_ends[train_ends + 1 < val_ends[0]]  # purge: 1-bar labels
        if warm:
            mean, std = self.feature_mean_, self.feature_std_
        else:
            train_rows = raw[: train_ends[-1] + 1]
            mean = np.nanmean(train_rows, axis=0)  # (N, 2): per asset and feature
            std = np.nanstd(train_rows, axis=0)
            std = np.where(std > 1e-12, std, 1.0)
        scaled = winsorize((raw - mean[None]) / std[None], self.winsorize_limit)
        flat = np.nan_to_num(scaled, nan=0.0).reshape(n_bars, -1)
        next_returns = np.vstack([values[1:], np.zeros((1, n_assets))])

        with (
            compute_threads(self.n_threads, device) as workers,
            seeded(self.random_state, device) as generator,
        ):
            model = (
                self.model_.to(device)
                if warm
                # int(): torch's LSTM rejects numpy integers (hidden_size=np.int64(8))
                else WeightsLSTM(flat.shape[1], n_assets, int(self.hidden_size), self.dropout).to(
                    device
                )
            )
            train_data = PortfolioWindows(flat, next_returns, train_ends, self.window, device)
            val_data = (
                PortfolioWindows(flat, next_returns, val_ends, self.window, device)
                if n_val
                else None
            )
            result = train(
                model,
                negative_sharpe,
                train_data,
                val_data,
                max_epochs=int(self.max_epochs),
                batch_size=int(self.batch_size),
                learning_rate=self.learning_rate,
                patience=int(self.patience) if val_data is not None else None,
                grad_clip=self.grad_clip,
                generator=generator,
                progress=self.progress,
                workers=workers,
            )
            last = PortfolioWindows(flat, next_returns, np.array([n_bars - 1]), self.window, device)
            with torch.no_grad():
                x, _ = last.batch(torch.arange(1))
                weights = model(x)[0].cpu().numpy().astype(float)

        _check_finite_weights(weights, f"{type(self).__name__}.fit", list(frame.columns))
        weights = np.clip(weights, 0.0, None)
        self.input_size_ = int(flat.shape[1])
        self.assets_ = list(frame.columns)
        self.feature_mean_, self.feature_std_ = mean, std
        self.model_ = model
        self.training_ = result
        self.n_assets_ = n_assets
        self.weights_ = pd.Series(
            weights / weights.sum(), index=frame.columns.copy(), name="weight"
        )
        return self

    # ---------------------------------------------------------------------------------------------
    # inference between refits, persistence
    # ---------------------------------------------------------------------------------------------
    def _check_fitted(self, where: str) -> None:
        if not hasattr(self, "model_"):
            raise ValueError(
                f"{type(self).__name__}.{where}: this instance is not fitted yet; call fit first."
            )

    @property
    def history_length_(self) -> int:
        """Rows of returns :meth:`predict` needs: 20 bars of momentum warm-up + ``window``."""
        return 20 + int(self.window)

    def history_needed(self) -> int:
        """Rows of prices :meth:`predict` needs (one more than :attr:`history_length_` returns)."""
        return self.history_length_ + 1

    def predict(self, returns: pd.DataFrame) -> pd.Series:
        """Weights from the fitted network for the window ending at the last row of ``returns``.

        Unlike :meth:`fit`, nothing is trained: this is how a walk-forward strategy uses the network
        between two scheduled retrains.

        Parameters
        ----------
        returns : pandas.DataFrame
            At least :attr:`history_length_` rows of simple returns of the assets seen in ``fit``
            (any column order; extra columns are ignored). An asset missing from ``returns`` or with
            NaN in the rows read is fed zeros and gets weight 0; the rest is renormalised.

        Returns
        -------
        pandas.Series
            Long-only weights over ``assets_`` summing to one (named ``"weight"``).

        Raises
        ------
        ValueError
            For duplicate columns, an unsorted index, too few rows, non-numeric returns or returns of
            -100 % or less among the assets read, no asset with complete returns, or a network that
            returns non-finite weights (its weights hold NaN or inf: retrain it).
        """
        self._check_fitted("predict")
        where = f"{type(self).__name__}.predict"
        returns = check_frame(returns, where, "returns", "one column of returns per asset")
        check_sorted_index(returns, where, "returns")
        need = self.history_length_
        if len(returns) < need:
            raise ValueError(
                f"{where}: returns need at least {need} rows (20 bars of momentum warm-up + "
                f"window={self.window}); got {len(returns)}."
            )
        import torch

        from seqfolio.signals._torch import compute_threads
        from seqfolio.signals.datasets import PortfolioWindows

        frame = returns.iloc[-need:].reindex(columns=self.assets_)
        values = numeric_values(frame, where, "returns")  # extra columns are not read: not checked
        check_above_minus_one(values, frame.columns, where)
        missing = ~np.isfinite(values).all(axis=0)
        values = np.where(np.isfinite(values), values, 0.0)
        raw = _portfolio_features(values)
        scaled = winsorize(
            (raw - self.feature_mean_[None]) / self.feature_std_[None], self.winsorize_limit
        )
        flat = np.nan_to_num(scaled, nan=0.0).reshape(need, -1)
        device = next(self.model_.parameters()).device
        last = PortfolioWindows(
            flat, np.zeros_like(values), np.array([need - 1]), self.window, device
        )
        with compute_threads(self.n_threads, device), torch.no_grad():
            self.model_.eval()
            x, _ = last.batch(torch.arange(1))
            weights = self.model_(x)[0].cpu().numpy().astype(float)
        _check_finite_weights(weights, where, self.assets_)
        weights = np.clip(weights, 0.0, None)
        weights[missing] = 0.0
        total = weights.sum()
        if total <= 0:
            raise ValueError(
                f"{where}: no asset of the fitted model has complete returns in the last {need} "
                f"rows; pass returns of at least one of {names(self.assets_)}."
            )
        return pd.Series(weights / total, index=pd.Index(self.assets_), name="weight")

    def save(self, path: str | os.PathLike[str]) -> None:
        """Write the fitted network, parameters and scalers (tensors and plain types only).

        Written atomically (see :meth:`LSTMForecaster.save <seqfolio.signals.LSTMForecaster.save>`);
        read back by :meth:`load` with ``torch.load(weights_only=True)``.
        """
        import torch

        from seqfolio.signals._persist import write_payload

        self._check_fitted("save")
        assets = list(self.assets_)
        if not all(isinstance(a, (str, int)) for a in assets):
            raise TypeError(
                f"{type(self).__name__}.save: asset names must be str or int to be saved."
            )
        payload: dict[str, Any] = {
            "format": _FORMAT,
            "params": self.get_params(deep=False),
            "input_size": int(self.input_size_),
            "state_dict": {k: v.detach().cpu() for k, v in self.model_.state_dict().items()},
            "assets": assets,
            "feature_mean": torch.tensor(np.asarray(self.feature_mean_, dtype=float)),
            "feature_std": torch.tensor(np.asarray(self.feature_std_, dtype=float)),
            "weights": torch.tensor(self.weights_.to_numpy(dtype=float), dtype=torch.float64),
        }
        write_payload(payload, path)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> LSTMAllocator:
        """Rebuild a fitted allocator written by :meth:`save` (``torch.load(weights_only=True)``)."""
        from seqfolio.signals._persist import read_payload, rebuilding, require_finite
        from seqfolio.signals._torch import resolve_device
        from seqfolio.signals.models import WeightsLSTM

        payload = read_payload(path, cls.__name__, _FORMAT)
        require_finite(
            payload, ("state_dict", "feature_mean", "feature_std", "weights"), path, cls.__name__
        )
        with rebuilding(path, cls.__name__):
            est = cls(**payload["params"])
            est._validate_params()
            assets = list(payload["assets"])
            model = WeightsLSTM(
                int(payload["input_size"]), len(assets), int(est.hidden_size), est.dropout
            )
            model.load_state_dict(payload["state_dict"])
            weights = pd.Series(payload["weights"].numpy(), index=pd.Index(assets), name="weight")
            feature_mean = payload["feature_mean"].numpy()
            feature_std = payload["feature_std"].numpy()
        model.eval()
        est.model_ = model.to(resolve_device(est.device, f"{cls.__name__} (saved in {path})"))
        est.assets_ = assets
        est.n_assets_ = len(assets)
        est.input_size_ = int(payload["input_size"])
        est.feature_mean_, est.feature_std_ = feature_mean, feature_std
        est.weights_ = weights
        return est

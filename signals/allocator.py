"""``LSTMAllocator``: an LSTM that outputs long-only weights directly, trained on minus the Sharpe ratio.

It follows the allocators' protocol — ``fit(returns, *, covariance=None, expected_returns=None) -> self``,
``weights_`` a Series summing to one, ``get_params`` / ``set_params`` / ``sklearn.clone`` — so a strategy
can use it wherever it uses an allocator. It is written independently of ``seqfolio.allocators``
(the two packages know nothing of each other, docs/architecture.md, Layers).

References
----------
Zhang, Z., Zohren, S. & Roberts, S. (2020). Deep Learning for Portfolio Optimization. *The Journal of
Financial Data Science* 2(4). One LSTM layer of 64 units over 50 days of each asset's prices and returns,
softmax weights, loss = -Sharpe, Adam, batch 64, 10 % validation, 100 epochs (pass ``window=50,
hidden_size=64, max_epochs=100`` for their network: the defaults here are the smaller one
``seqfolio backtest`` trains).
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pandas as pd

from seqfolio import defaults
from seqfolio._validation import label_list as names
from seqfolio.data.frames import (
    check_above_minus_one,
    check_frame,
    check_returns_frame,
    numeric_values,
)
from seqfolio.signals.base import LSTMEstimator, broken_network
from seqfolio.signals.features import rolling_sum, winsorize

_MOMENTUM = 21  # bars of the momentum feature; it needs 20 earlier returns


def _portfolio_features(returns: np.ndarray) -> np.ndarray:
    """Per bar and asset: the simple return and the 21-bar cumulative log return (NaN for 20 bars)."""
    log_r = np.log1p(returns)
    momentum = rolling_sum(log_r, _MOMENTUM)
    return np.stack([returns, momentum], axis=2)  # (T, N, 2)


class LSTMAllocator(LSTMEstimator):
    """Long-only weights straight from an LSTM (Zhang, Zohren & Roberts 2020).

    At each bar ``t`` of the training returns the network reads the last ``window`` bars of every asset's
    return and 21-bar momentum and outputs softmax weights; the loss is minus the Sharpe ratio of the
    weights applied to the returns of bar ``t + 1``, over each batch. ``weights_`` is the network's
    output for the window ending at the last row of ``returns``.

    Parameters
    ----------
    window : int, default 40
    hidden_size : int, default 16
    dropout : float, default 0.0
    max_epochs : int, default 10
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
    random_state : int or None, default 0
        Seed of the weights and the shuffling; None draws a fresh seed at each fit.

    Attributes
    ----------
    weights_ : pandas.Series
        Long-only weights over ``returns.columns``, summing to one.
    n_assets_ : int
    model_ : torch.nn.Module
    training_ : TrainingResult

    Notes
    -----
    The defaults are the network ``seqfolio backtest --allocator lstm-weights`` trains
    (``seqfolio.defaults``; they used to be Zhang et al.'s window 50, hidden_size 64,
    max_epochs 100 and random_state None).
    """

    needs_positive_variance: ClassVar[bool] = False
    needs_training: ClassVar[bool] = True
    """Capability (:mod:`seqfolio.allocators.registry`): a network trained walk-forward, registered as
    the allocator ``lstm-weights``."""

    _FORMAT = "seqfolio.signals.LSTMAllocator/1"
    _FINITE = ("feature_mean", "feature_std", "weights")

    # fitted attributes (set by fit; declared for type checkers, not created here)
    weights_: pd.Series
    n_assets_: int
    feature_mean_: np.ndarray
    feature_std_: np.ndarray

    def __init__(
        self,
        window: int = defaults.MODEL_WINDOW,
        hidden_size: int = defaults.HIDDEN_SIZE,
        dropout: float = 0.0,
        max_epochs: int = defaults.ALLOCATOR_MAX_EPOCHS,
        batch_size: int = defaults.ALLOCATOR_BATCH_SIZE,
        learning_rate: float = defaults.LEARNING_RATE,
        patience: int = defaults.ALLOCATOR_PATIENCE,
        validation_fraction: float = defaults.ALLOCATOR_VALIDATION_FRACTION,
        grad_clip: float | None = defaults.GRAD_CLIP,
        winsorize_limit: float = defaults.WINSORIZE_LIMIT,
        warm_start: bool = False,
        device: str = "auto",
        n_threads: int | None = 1,
        progress: bool = False,
        random_state: int | None = defaults.SEED,
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

    def _check_returns(self, returns: object) -> pd.DataFrame:
        where = f"{type(self).__name__}.fit"
        if isinstance(returns, pd.DataFrame) and returns.shape[1] < 2:
            raise ValueError(f"{where}: returns need at least 2 assets; got {returns.shape[1]}.")
        frame = check_returns_frame(returns, where)
        minimum = _MOMENTUM - 1 + self.window + 30
        if len(frame) < minimum:
            raise ValueError(
                f"{where}: returns need at least {minimum} rows for window={self.window} "
                f"(20 bars of momentum warm-up + window + 30 samples); got {len(frame)}."
            )
        return frame

    def _new_network(self, input_size: int, n_assets: int) -> Any:
        from seqfolio.signals.models import WeightsLSTM

        # int(): torch's LSTM rejects numpy integers (hidden_size=np.int64(8))
        return WeightsLSTM(input_size, n_assets, int(self.hidden_size), self.dropout)

    def _inputs(self, values: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        """The network's inputs (T, N * 2) from returns (T, N), scaled by ``mean`` and ``std``."""
        scaled = winsorize(
            (_portfolio_features(values) - mean[None]) / std[None], self.winsorize_limit
        )
        return np.nan_to_num(scaled, nan=0.0).reshape(len(values), -1)

    def _weights(self, model: Any, inputs: np.ndarray, assets: list[Any], where: str) -> np.ndarray:
        """``model``'s weights for the window ending at the last row of ``inputs``, clipped at 0."""
        from seqfolio.signals.datasets import PortfolioWindows

        end = np.array([len(inputs) - 1])
        next_returns = np.zeros((len(inputs), len(assets)))
        weights = self._outputs(
            model, lambda device: PortfolioWindows(inputs, next_returns, end, self.window, device)
        )[0]
        if not np.isfinite(weights).all():
            raise broken_network(
                where,
                f"non-finite weights {np.round(weights, 4).tolist()} for assets {names(assets)}",
                ", and NaN weights would empty the portfolio",
            )
        return np.clip(weights, 0.0, None)

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
        warm = self._warm(list(frame.columns))

        from seqfolio.signals.datasets import PortfolioWindows
        from seqfolio.signals.models import negative_sharpe

        values = frame.to_numpy(dtype=float)
        n_bars, n_assets = values.shape
        first = _MOMENTUM - 1 + self.window - 1  # the first bar with a complete window
        ends = np.arange(first, n_bars - 1)  # the label is the next bar's return
        n_val = int(round(len(ends) * self.validation_fraction))
        train_ends, val_ends = ends[: len(ends) - n_val], ends[len(ends) - n_val :]
        if n_val:
            train_ends = train_ends[train_ends + 1 < val_ends[0]]  # purge: 1-bar labels
        if warm:
            mean, std = self.feature_mean_, self.feature_std_
        else:
            train_rows = _portfolio_features(values)[: train_ends[-1] + 1]
            mean = np.nanmean(train_rows, axis=0)  # (N, 2): per asset and feature
            std = np.nanstd(train_rows, axis=0)
            std = np.where(std > 1e-12, std, 1.0)
        inputs = self._inputs(values, mean, std)
        next_returns = np.vstack([values[1:], np.zeros((1, n_assets))])

        def datasets(device: Any) -> tuple[Any, Any]:
            train_data = PortfolioWindows(inputs, next_returns, train_ends, self.window, device)
            if not n_val:
                return train_data, None
            return train_data, PortfolioWindows(inputs, next_returns, val_ends, self.window, device)

        model, result = self._train(
            warm, lambda: self._new_network(inputs.shape[1], n_assets), negative_sharpe, datasets
        )
        assets = list(frame.columns)
        weights = self._weights(model, inputs, assets, f"{type(self).__name__}.fit")
        # the fitted state changes only now that the fit has succeeded
        self.model_, self.training_, self.assets_, self.n_assets_ = model, result, assets, n_assets
        self.feature_mean_, self.feature_std_ = mean, std
        self.weights_ = pd.Series(
            weights / weights.sum(), index=frame.columns.copy(), name="weight"
        )
        return self

    # ---------------------------------------------------------------------------------------------
    # inference between refits, persistence
    # ---------------------------------------------------------------------------------------------
    @property
    def history_length_(self) -> int:
        """Rows of returns :meth:`predict` needs: 20 bars of momentum warm-up + ``window``."""
        return _MOMENTUM - 1 + int(self.window)

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
        returns = check_frame(returns, where, "returns")
        need = self.history_length_
        if len(returns) < need:
            raise ValueError(
                f"{where}: returns need at least {need} rows (20 bars of momentum warm-up + "
                f"window={self.window}); got {len(returns)}."
            )
        frame = returns.iloc[-need:].reindex(columns=self.assets_)
        values = numeric_values(frame, where, "returns")  # extra columns are not read: not checked
        check_above_minus_one(values, frame.columns, where)
        missing = ~np.isfinite(values).all(axis=0)
        inputs = self._inputs(
            np.where(np.isfinite(values), values, 0.0), self.feature_mean_, self.feature_std_
        )
        weights = self._weights(self.model_, inputs, self.assets_, where)
        weights[missing] = 0.0
        total = weights.sum()
        if total <= 0:
            raise ValueError(
                f"{where}: no asset of the fitted model has complete returns in the last {need} "
                f"rows; pass returns of at least one of {names(self.assets_)}."
            )
        return pd.Series(weights / total, index=pd.Index(self.assets_), name="weight")

    def _fitted_state(self) -> dict[str, Any]:
        import torch

        return {
            "feature_mean": torch.tensor(np.asarray(self.feature_mean_, dtype=float)),
            "feature_std": torch.tensor(np.asarray(self.feature_std_, dtype=float)),
            "weights": torch.tensor(self.weights_.to_numpy(dtype=float), dtype=torch.float64),
        }

    def _restore_state(self, payload: dict[str, Any]) -> None:
        self.n_assets_ = len(self.assets_)
        self.feature_mean_ = payload["feature_mean"].numpy()
        self.feature_std_ = payload["feature_std"].numpy()
        self.weights_ = pd.Series(
            payload["weights"].numpy(), index=pd.Index(self.assets_), name="weight"
        )

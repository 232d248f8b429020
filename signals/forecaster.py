"""``LSTMForecaster``: one LSTM shared across a panel of assets, forecasting one target per asset.

The estimator glues the pieces together and holds the fitted state; each piece lives in its own module:
features (:mod:`~seqfolio.signals.features`), the target (:mod:`~seqfolio.signals.targets`: labels,
loss, output transform), samples (:mod:`~seqfolio.signals.windows`), scalers
(:mod:`~seqfolio.signals.scaling`), the network (:mod:`~seqfolio.signals.models`) and what it shares
with ``LSTMAllocator`` (:mod:`~seqfolio.signals.base`: checks, training, saving). torch is imported
inside ``fit`` / ``predict`` / ``load`` only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from seqfolio import defaults
from seqfolio._validation import (
    InvalidParameter,
    check_date,
    check_int,
    check_real,
    is_int,
    is_real_number,
)
from seqfolio.data.frames import check_price_frame, date_label
from seqfolio.signals.base import LSTMEstimator, broken_network
from seqfolio.signals.features import (
    FEATURE_NAMES,
    FFD_GRID,
    PER_ASSET_FEATURES,
    build_features,
    feature_warmup,
    ffd_orders,
    winsorize,
)
from seqfolio.signals.scaling import FeatureScaler, TargetScaler
from seqfolio.signals.targets import Target, get_target
from seqfolio.signals.windows import SampleIndex, chronological_split, sample_index

_FORMAT_1 = "seqfolio.signals.LSTMForecaster/1"  # the target's fitted state was called stress_level


@dataclass(frozen=True)
class PreparedData:
    """Everything ``fit`` hands to the network and the trainer (built by ``LSTMForecaster._prepare``).

    ``features`` (T, N, F) are scaled and winsorised; ``labels`` (T, N) are encoded and scaled;
    ``train`` / ``validation`` are the purged chronological split of the samples.
    """

    features: np.ndarray
    labels: np.ndarray
    train: SampleIndex
    validation: SampleIndex
    ffd_d: list[float] | None
    target_state: Any
    feature_scaler: FeatureScaler
    target_scaler: TargetScaler


AUTO_EPOCH_SAMPLES = 32_768
"""Training samples per epoch of ``LSTMForecaster(epoch_samples="auto")``: 128 batches of 256. A
20-asset panel of 1,512 bars (the README's forecast-quality setting) has about 22,000 training samples,
so it trains on all of them; a 500-asset panel of 756 bars (about 250,000) on a random eighth per epoch."""

_MIN_SAMPLE_BARS = 20  # bars of complete samples a fit needs beyond warm-up, window and horizon


class LSTMForecaster(LSTMEstimator):
    """Forecast a per-asset quantity over the next ``horizon`` bars with a panel LSTM.

    One network is trained on every asset's windows (weights shared across assets), so a 20-asset
    universe gives it 20 times the samples of one series.

    Parameters
    ----------
    target : {"volatility", "return", "regime", "drawdown", "correlation"} or a registered name
        What to forecast at bar ``t`` over ``(t, t + horizon]`` (definitions in
        :mod:`seqfolio.signals.targets`): realised volatility per bar (not annualised); log return;
        probability of a stress regime (forward volatility above the asset's training-slice
        ``stress_quantile``); probability that the forward drawdown exceeds ``drawdown_threshold``;
        the asset's mean forward correlation with the other assets (its mean over assets is the
        universe's mean pairwise correlation); or a target of your own
        (:func:`~seqfolio.signals.register_target`).
    window : int, default 40
        Bars of features the LSTM reads per sample.
    horizon : int, default 21
        Forecast horizon in bars.
    hidden_size : int, default 16
        LSTM units per layer.
    num_layers : int, default 1
    dropout : float, default 0.0
    max_epochs : int, default 8
    batch_size : int, default 256
    learning_rate : float, default 1e-3
        Adam's step size.
    patience : int, default 3
        Early stopping: epochs without a better validation loss before stopping.
    validation_fraction : float, default 0.2
        The last fraction of the bars with samples forms the validation block (0 disables early stopping).
    embargo : int, default 0
        Extra bars dropped between the training and validation blocks on top of the purge.
    grad_clip : float or None, default 1.0
        Clip the gradients' global norm.
    sample_stride : int, default 3
        Use every ``sample_stride``-th bar as a training sample (windows that overlap by all but a few bars
        are nearly duplicates; a stride of 5 fits about 5× faster).
    epoch_samples : "auto", int or None, default "auto"
        Training samples per epoch, drawn at random (without replacement, a fresh seeded subset each
        epoch) from all asset-days: the network is shared across assets, so an epoch need not visit
        every asset-day, and a large universe then costs about as much per epoch as a small one.
        ``"auto"`` is :data:`AUTO_EPOCH_SAMPLES`, more than a 20-asset panel of 1,512 bars holds (so
        such fits visit every sample, as with ``None``); an int sets the budget; ``None`` visits
        every sample in every epoch. The validation block is always evaluated in full.
    ffd_d : "auto", float or None, default "auto"
        Order of the FFD feature: ``"auto"`` searches each asset's smallest d passing an ADF test
        (AFML ch. 5) on the prices given to ``fit`` (training and validation blocks, never later data);
        a float uses it for every asset; ``None`` switches the feature off (it is then all zeros).
    ffd_threshold : float, default 1e-3
        FFD weight cut-off (sets the FFD window width).
    winsorize_limit : float, default 5.0
        Scaled features (and scaled return / correlation labels) are clipped to ± this many training
        standard deviations.
    drawdown_threshold : float, default 0.10
        Forward drawdown that counts as an event for ``target="drawdown"``.
    stress_quantile : float, default 0.8
        Training-slice quantile of forward volatility above which ``target="regime"`` labels stress.
    warm_start : bool, default False
        Refit from the current network weights instead of a fresh initialisation. The FFD orders, scalers
        and the target's fitted state (e.g. the stress thresholds) of the earlier fit are kept, so the
        network sees inputs on the same scale; the asset set must not change.
    device : str, default "auto"
        ``"auto"`` picks CUDA when available, else CPU; or ``"cpu"``, ``"cuda"``, ``"cuda:1"``.
    n_threads : int or None, default 1
        CPU threads for fitting / predicting; ``None`` takes torch's current setting. Each batch is
        computed in fixed micro-batches of 64 samples, one per thread at a time, and summed in a fixed
        order, so the fitted model and the forecasts are bit-identical for any ``n_threads`` — only the
        speed changes (torch's own thread setting is set to 1 meanwhile and restored afterwards). One
        thread is the robust choice on a shared machine; with dropout the forward passes run one at a time.
    progress : bool, default False
        Show a tqdm progress bar over epochs.
    random_state : int or None, default 0
        Seed for weight initialisation, dropout and shuffling; with an int, fits on CPU are repeatable;
        None draws a fresh seed at each fit.

    Notes
    -----
    The defaults are the settings ``seqfolio backtest --signal ...`` trains (``seqfolio.defaults``):
    small and quick. They used to be window 60, hidden_size 32, max_epochs 20, sample_stride 1 and
    random_state None; the README's forecast-quality and benchmark figures pass those explicitly.

    Attributes
    ----------
    assets_ : list
        Asset names (the price columns) seen in ``fit``.
    ffd_d_ : list of float or None
        FFD order per asset.
    target_state_ : object
        What the target learnt from the training block (:meth:`Target.fit
        <seqfolio.signals.Target.fit>`): for ``"regime"`` the per-asset forward-volatility threshold
        of the stress regime (also :attr:`stress_level_`); None for the other built-in targets.
    feature_scaler_ : FeatureScaler
    target_scaler_ : TargetScaler
    model_ : torch.nn.Module
        The fitted :class:`~seqfolio.signals.models.PanelLSTM`.
    training_ : TrainingResult
        Epochs, steps, best validation loss and per-epoch history of the last fit.
    n_train_samples_, n_validation_samples_ : int

    Examples
    --------
    >>> from seqfolio.data import load_sample
    >>> from seqfolio.signals import LSTMForecaster
    >>> prices = load_sample("2016-01-01", "2019-12-31")
    >>> f = LSTMForecaster(target="volatility", random_state=0).fit(prices)   # doctest: +SKIP
    >>> f.predict(prices)                                     # daily vol per asset, next 21 bars  # doctest: +SKIP
    """

    _FORMAT = "seqfolio.signals.LSTMForecaster/2"
    _OLD_FORMATS = (_FORMAT_1,)
    _FINITE = ("feature_scaler", "target_scaler")

    # fitted attributes (set by fit / load; declared for type checkers, not created here)
    ffd_d_: list[float] | None
    target_state_: Any
    feature_scaler_: FeatureScaler
    target_scaler_: TargetScaler
    n_train_samples_: int
    n_validation_samples_: int

    def __init__(
        self,
        target: str = "volatility",
        window: int = defaults.MODEL_WINDOW,
        horizon: int = defaults.HORIZON,
        hidden_size: int = defaults.HIDDEN_SIZE,
        num_layers: int = 1,
        dropout: float = 0.0,
        max_epochs: int = defaults.FORECASTER_MAX_EPOCHS,
        batch_size: int = defaults.FORECASTER_BATCH_SIZE,
        learning_rate: float = defaults.LEARNING_RATE,
        patience: int = defaults.FORECASTER_PATIENCE,
        validation_fraction: float = defaults.FORECASTER_VALIDATION_FRACTION,
        embargo: int = 0,
        grad_clip: float | None = defaults.GRAD_CLIP,
        sample_stride: int = defaults.SAMPLE_STRIDE,
        epoch_samples: str | int | None = "auto",
        ffd_d: str | float | None = "auto",
        ffd_threshold: float = defaults.FFD_THRESHOLD,
        winsorize_limit: float = defaults.WINSORIZE_LIMIT,
        drawdown_threshold: float = defaults.DRAWDOWN_THRESHOLD,
        stress_quantile: float = defaults.STRESS_QUANTILE,
        warm_start: bool = False,
        device: str = "auto",
        n_threads: int | None = 1,
        progress: bool = False,
        random_state: int | None = defaults.SEED,
    ):
        self.target = target
        self.window = window
        self.horizon = horizon
        self.hidden_size = hidden_size
        self.num_layers = num_layers
        self.dropout = dropout
        self.max_epochs = max_epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.patience = patience
        self.validation_fraction = validation_fraction
        self.embargo = embargo
        self.grad_clip = grad_clip
        self.sample_stride = sample_stride
        self.epoch_samples = epoch_samples
        self.ffd_d = ffd_d
        self.ffd_threshold = ffd_threshold
        self.winsorize_limit = winsorize_limit
        self.drawdown_threshold = drawdown_threshold
        self.stress_quantile = stress_quantile
        self.warm_start = warm_start
        self.device = device
        self.n_threads = n_threads
        self.progress = progress
        self.random_state = random_state

    @property
    def stress_level_(self) -> list[float] | None:
        """The regime target's per-asset stress thresholds (:attr:`target_state_`), else None."""
        return self.target_state_ if self.target == "regime" else None

    # ---------------------------------------------------------------------------------------------
    # validation
    # ---------------------------------------------------------------------------------------------
    def _validate_params(self) -> None:
        owner = type(self).__name__
        self._target()
        super()._validate_params()
        check_int(owner, "horizon", self.horizon, low=1)
        check_int(owner, "num_layers", self.num_layers, low=1)
        check_int(owner, "embargo", self.embargo, low=0)
        check_int(owner, "sample_stride", self.sample_stride, low=1)
        budget, d = self.epoch_samples, self.ffd_d
        if not (budget is None or budget == "auto" or (is_int(budget) and budget >= 2)):
            raise InvalidParameter(owner, "epoch_samples", budget, "'auto', None or an int >= 2")
        if not (d is None or d == "auto" or (is_real_number(d) and 0.0 <= d <= 2.0)):
            raise InvalidParameter(owner, "ffd_d", d, "'auto', None or a float in [0, 2]")
        for name in ("ffd_threshold", "drawdown_threshold", "stress_quantile"):
            check_real(owner, name, getattr(self, name), low=0.0, high=1.0, low_open=True,
                       high_open=True)  # fmt: skip

    def _target(self) -> Target:
        return get_target(self.target, type(self).__name__)

    def _epoch_budget(self) -> int | None:
        if self.epoch_samples == "auto":
            return AUTO_EPOCH_SAMPLES
        return None if self.epoch_samples is None else int(self.epoch_samples)

    def _warmup(self, ffd_d: list[float] | None) -> int:
        return feature_warmup(ffd_d, self.ffd_threshold)

    def _predict_input(self, prices: object, method: str) -> tuple[pd.DataFrame, str]:
        """The prices ``method`` (``predict`` / ``predict_history``) reads, checked: a fitted model,
        the assets seen in fit (in its order) and enough rows; and the name for its messages."""
        self._check_fitted(method)
        where = f"{type(self).__name__}.{method}"
        frame = check_price_frame(prices, where)
        missing = [a for a in self.assets_ if a not in frame.columns]
        extra = [c for c in frame.columns if c not in self.assets_]
        if missing or extra:
            raise ValueError(
                f"{where}: prices must have the assets seen in fit; missing {[str(m) for m in missing]}, "
                f"unexpected {[str(e) for e in extra]}."
            )
        minimum = self._warmup(self.ffd_d_) + self.window - 1
        if len(frame) < minimum:
            raise ValueError(
                f"{where}: prices need at least {minimum} rows (feature warm-up + window={self.window}); "
                f"got {len(frame)}."
            )
        return frame[self.assets_], where

    # ---------------------------------------------------------------------------------------------
    # fit
    # ---------------------------------------------------------------------------------------------
    def _prepare(self, frame: pd.DataFrame, warm: bool) -> PreparedData:
        """Steps 1-3 of ``fit``: features, labels, the purged split and the scalers (no torch).

        With ``warm=True`` the FFD orders, the target's fitted state and the scalers of the previous
        fit are reused.
        """
        values = frame.to_numpy(dtype=float)
        target = self._target()
        params = self.get_params(deep=False)

        # 1. FFD orders (training prices only) and raw features.
        if warm:
            ffd_d = self.ffd_d_
        elif self.ffd_d == "auto":
            ffd_d = ffd_orders(frame).tolist()
        elif self.ffd_d is None:
            ffd_d = None
        else:
            ffd_d = [float(self.ffd_d)] * frame.shape[1]
        raw = build_features(frame, ffd_d=ffd_d, ffd_threshold=self.ffd_threshold)

        # 2. Samples (where a label is defined) and the purged chronological split.
        labels = target.labels(values, self.horizon, params)
        index = sample_index(
            raw, labels, window=self.window, horizon=self.horizon, stride=self.sample_stride
        )
        train_idx, val_idx = chronological_split(
            index,
            validation_fraction=self.validation_fraction,
            horizon=self.horizon,
            embargo=self.embargo,
        )
        if len(train_idx) == 0 or (self.validation_fraction > 0 and len(val_idx) == 0):
            raise ValueError(
                f"{type(self).__name__}.fit: no complete "
                f"{'training' if len(train_idx) == 0 else 'validation'} samples "
                f"({len(index)} samples in all): the history is too short or too gappy for "
                f"window={self.window}, horizon={self.horizon}, validation_fraction="
                f"{self.validation_fraction}."
            )
        last_train_bar = int(train_idx.t.max())

        # 3. The target's state, the scalers: from the training block only.
        if warm:
            state, target_scaler = self.target_state_, self.target_scaler_
            feature_scaler = self.feature_scaler_
        else:
            train_labels = np.full(labels.shape, np.nan)
            train_labels[train_idx.t, train_idx.a] = labels[train_idx.t, train_idx.a]
            state = target.fit(train_labels, params)
            per_asset = [FEATURE_NAMES.index(name) for name in PER_ASSET_FEATURES]
            feature_scaler = FeatureScaler.fit(raw[: last_train_bar + 1], per_asset=per_asset)
        encoded = target.encode(labels, state)
        if not warm:
            target_scaler = target.scaler(encoded[train_idx.t, train_idx.a])
        features = winsorize(feature_scaler.transform(raw), self.winsorize_limit)
        y = target_scaler.transform(encoded)
        if not target.probability:
            y = winsorize(y, self.winsorize_limit)
        return PreparedData(
            features=features,
            labels=y,
            train=train_idx,
            validation=val_idx,
            ffd_d=None if ffd_d is None else [float(d) for d in ffd_d],
            target_state=state,
            feature_scaler=feature_scaler,
            target_scaler=target_scaler,
        )

    def fit(self, prices: pd.DataFrame) -> LSTMForecaster:
        """Train on a price panel.

        Parameters
        ----------
        prices : pandas.DataFrame
            Positive prices, one column per asset, sorted unique ``DatetimeIndex``; NaN where an asset is
            not listed (it then contributes no samples there).

        Returns
        -------
        self

        Raises
        ------
        ValueError
            For an invalid parameter, a history too short for ``window`` + ``horizon``, or no complete
            sample in the training or validation block.
        """
        frame, warm = self._fit_input(prices)
        data = self._prepare(frame, warm)
        model, result = self._train(
            warm,
            lambda: self._new_network(data.features.shape[2], frame.shape[1]),
            self._target().loss(),
            lambda device: self._datasets(data, device),
            epoch_samples=self._epoch_budget(),
        )
        self._set_fitted(frame, data, model, result)
        return self

    # the parts of ``fit``, shared with :func:`seqfolio.signals.population.fit_population`
    def _fit_input(self, prices: pd.DataFrame) -> tuple[pd.DataFrame, bool]:
        """Validate the parameters and the training prices; return the price frame and whether the
        fit warm-starts."""
        self._validate_params()
        where = f"{type(self).__name__}.fit"
        frame = check_price_frame(prices, where)
        minimum = self._warmup(None) + self.window + self.horizon + _MIN_SAMPLE_BARS
        if len(frame) < minimum:
            raise ValueError(
                f"{where}: prices need at least {minimum} rows for window={self.window}, "
                f"horizon={self.horizon} (63 bars of feature warm-up + window + horizon + "
                f"{_MIN_SAMPLE_BARS}); got {len(frame)}. Pass a longer history or shorten window/horizon."
            )
        return frame, self._warm(list(frame.columns))

    def _new_network(self, input_size: int, n_assets: int) -> Any:
        from seqfolio.signals.models import PanelLSTM

        # int(): torch's LSTM rejects numpy integers (hidden_size=np.int64(8))
        return PanelLSTM(input_size, int(self.hidden_size), int(self.num_layers), self.dropout)

    def _datasets(self, data: PreparedData, device: Any) -> tuple[Any, Any]:
        """The training and validation samples as tensors on ``device`` (validation None if empty)."""
        from seqfolio.signals.datasets import PanelWindows

        train_data = PanelWindows(data.features, data.labels, data.train, self.window, device)
        val_data = (
            PanelWindows(data.features, data.labels, data.validation, self.window, device)
            if len(data.validation)
            else None
        )
        return train_data, val_data

    def _set_fitted(self, frame: pd.DataFrame, data: PreparedData, model: Any, result: Any) -> None:
        """Store the fitted state (the attributes ending in ``_``)."""
        self.assets_ = list(frame.columns)
        self.ffd_d_ = data.ffd_d
        self.target_state_ = data.target_state
        self.feature_scaler_ = data.feature_scaler
        self.target_scaler_ = data.target_scaler
        self.model_ = model
        self.training_ = result
        self.n_train_samples_ = len(data.train)
        self.n_validation_samples_ = len(data.validation)

    # ---------------------------------------------------------------------------------------------
    # predict
    # ---------------------------------------------------------------------------------------------
    def _forecast(self, frame: pd.DataFrame, start_bar: int, where: str) -> np.ndarray:
        """Forecasts (T, N) for the bars ``>= start_bar`` with a complete window; NaN elsewhere.

        Raises ValueError if the network gives a non-finite forecast for a complete window: its
        inputs are finite (and winsorised), so only broken weights can do that.
        """
        from seqfolio.signals.datasets import PanelWindows

        raw = build_features(frame, ffd_d=self.ffd_d_, ffd_threshold=self.ffd_threshold)
        features = winsorize(self.feature_scaler_.transform(raw), self.winsorize_limit)
        index = sample_index(raw, None, window=self.window, horizon=self.horizon, start=start_bar)
        out = np.full(raw.shape[:2], np.nan)
        if len(index) == 0:
            return out
        outputs = self._outputs(
            self.model_, lambda device: PanelWindows(features, None, index, self.window, device)
        )
        decoded = self._target().decode(outputs, self.target_scaler_)
        broken = ~np.isfinite(decoded)
        if broken.any():
            first = int(np.argmax(broken))
            raise broken_network(
                where,
                f"{int(broken.sum())} non-finite forecast(s) for complete, finite inputs (e.g. asset "
                f"{str(self.assets_[index.a[first]])!r} on {date_label(frame.index[index.t[first]])})",
            )
        out[index.t, index.a] = decoded
        return out

    def history_needed(self) -> int:
        """Rows of prices :meth:`predict` needs for the last bar: feature warm-up + ``window`` - 1.

        Exact once fitted; before that a safe bound (``ffd_d="auto"`` may pick any order of its grid,
        so the widest FFD window of the grid is assumed). What a strategy keeps in its price history.
        """
        if hasattr(self, "ffd_d_"):
            return self._warmup(self.ffd_d_) + int(self.window) - 1
        if self.ffd_d is None:
            orders = None
        elif self.ffd_d == "auto":
            orders = FFD_GRID
        else:
            orders = [float(self.ffd_d)]
        return feature_warmup(orders, float(self.ffd_threshold)) + int(self.window) - 1

    def predict(self, prices: pd.DataFrame) -> pd.Series:
        """One forecast per asset for the last bar of ``prices``.

        Parameters
        ----------
        prices : pandas.DataFrame
            The assets seen in ``fit`` (any column order), up to and including the decision bar.

        Returns
        -------
        pandas.Series
            Indexed by asset, named after the target. NaN for an asset without a complete window of
            features ending at the last bar (not listed long enough, or a gap): "no forecast", which
            the strategy replaces by a trailing estimate.

        Raises
        ------
        ValueError
            For prices that are not valid (see :meth:`fit`), other assets than in ``fit``, too few
            rows, or a network that returns a non-finite forecast for a complete window (broken
            weights: retrain).
        """
        frame, where = self._predict_input(prices, "predict")
        values = self._forecast(frame, start_bar=len(frame) - 1, where=where)[-1]
        return pd.Series(values, index=pd.Index(self.assets_), name=self.target)

    def predict_history(self, prices: pd.DataFrame, start: object = None) -> pd.DataFrame:
        """Forecasts for every bar (from ``start`` on), each using only prices up to that bar.

        Equivalent to calling :meth:`predict` on every prefix ``prices.loc[:t]``, in one batched pass.

        Parameters
        ----------
        prices : pandas.DataFrame
            As for :meth:`predict`; with ``start``, indexed by date (a ``DatetimeIndex``).
        start : str, datetime-like or None, default None
            First bar to forecast (the first bar on or after it); None forecasts every bar. A
            timezone-aware ``start`` needs a timezone-aware index and vice versa (a string is read
            in the index's timezone, as ``prices.loc[start:]`` does).

        Returns
        -------
        pandas.DataFrame
            Bars × assets; NaN where the window is incomplete.

        Raises
        ------
        ValueError
            As for :meth:`predict`, and for a ``start`` that is not a date or whose timezone does
            not match the index's.
        """
        frame, where = self._predict_input(prices, "predict_history")
        start_bar = 0 if start is None else _start_bar(frame.index, start, where)
        values = self._forecast(frame, start_bar=start_bar, where=where)
        out = pd.DataFrame(values, index=frame.index, columns=pd.Index(self.assets_))
        return out.iloc[start_bar:]

    # ---------------------------------------------------------------------------------------------
    # persistence (save / load: LSTMEstimator)
    # ---------------------------------------------------------------------------------------------
    def _fitted_state(self) -> dict[str, Any]:
        return {
            "ffd_d": self.ffd_d_,
            "target_state": self.target_state_,
            "feature_scaler": self.feature_scaler_.to_dict(),
            "target_scaler": self.target_scaler_.to_dict(),
            "n_train_samples": int(self.n_train_samples_),
            "n_validation_samples": int(self.n_validation_samples_),
        }

    def _restore_state(self, payload: dict[str, Any]) -> None:
        self.ffd_d_ = payload["ffd_d"]
        old = payload["format"] == _FORMAT_1
        self.target_state_ = payload["stress_level" if old else "target_state"]
        self.feature_scaler_ = FeatureScaler.from_dict(payload["feature_scaler"])
        self.target_scaler_ = TargetScaler.from_dict(payload["target_scaler"])
        self.n_train_samples_ = payload["n_train_samples"]
        self.n_validation_samples_ = payload["n_validation_samples"]


def _start_bar(index: pd.Index, start: object, where: str) -> int:
    """Position of the first bar on or after ``start`` (``predict_history``'s ``start``)."""
    if not isinstance(index, pd.DatetimeIndex):
        raise ValueError(
            f"{where}: 'start' needs prices indexed by date (a DatetimeIndex); their index is a "
            f"{type(index).__name__}. Index the prices by date, or leave start=None."
        )
    stamp = check_date(where, "start", start, example="2021-01-04")
    if isinstance(start, str) and stamp.tz is None and index.tz is not None:
        stamp = stamp.tz_localize(index.tz)  # read a date string in the index's timezone
    if (stamp.tz is None) != (index.tz is None):
        raise ValueError(
            f"{where}: 'start' ({date_label(stamp)}) is timezone-"
            f"{'naive' if stamp.tz is None else 'aware'} but the prices' index is "
            f"{'naive' if index.tz is None else f'in {index.tz}'}; pass a start with the same "
            "timezone as the index (Timestamp.tz_localize / tz_convert)."
        )
    return int(index.searchsorted(stamp))

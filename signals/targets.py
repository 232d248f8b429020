"""Forecast targets: what an ``LSTMForecaster`` learns, how its output is read, where it goes.

A target is a :class:`Target` object registered under its name (:func:`register_target`); the
forecaster, the ``--signal`` / study signal names (:data:`SIGNALS`) and the pipeline's ``Forecast``
step all read the registry, so a target registered with one call is usable everywhere a built-in is.

Labels are forward-looking: the value at bar ``t`` reads prices in ``(t, t + horizon]`` only. A label
needs the whole horizon: at the last ``horizon`` bars of a series (and wherever a price in the horizon
is NaN) it is NaN, so a series cut at bar ``c`` never yields a label that reads past ``c`` (the built-in
purge of :mod:`seqfolio.signals.windows` relies on it).

Built-in targets
----------------
``"volatility"`` (signal ``lstm-vol``)
    Forward realised volatility ``sqrt(mean(r_{t+1}^2 .. r_{t+h}^2))`` per bar (not annualised),
    learnt as a log variance under the QLIKE loss; feeds the covariance.
``"return"`` (``lstm-return``)
    Forward log return ``log(P_{t+h} / P_t)``; feeds the expected returns.
``"regime"`` (``lstm-regime``)
    Stress regime: 1 if the asset's forward realised volatility is above its own ``stress_quantile``
    (default 80th percentile) of forward volatilities *in the training slice*, else 0. The threshold is
    fitted once per asset on the training slice (:func:`stress_thresholds`) and stored with the model.
    A probability; scales the gross exposure.
``"drawdown"`` (``lstm-drawdown``)
    1 if the forward drawdown — the worst fall of the price from its running peak over ``t .. t+h``,
    starting at ``P_t`` — exceeds ``drawdown_threshold`` (default 10 %), else 0. A probability;
    scales the gross exposure.
``"correlation"`` (``lstm-corr``)
    The asset's mean forward correlation with the other assets over ``(t, t+h]``. Its mean over the
    assets is exactly the universe's forward mean pairwise correlation. Only the per-asset mean is
    needed, so it costs O(N·T) time and O(N·T) memory like every other label: no N×N matrix is
    formed (:func:`~seqfolio.signals.features.rolling_mean_correlation`). Shrinks the trailing
    correlation.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from typing import Any

import numpy as np
import pandas as pd

from seqfolio.signals.features import (
    log_returns,
    realised_volatility,
    rolling_mean_correlation,
    rolling_sum,
)
from seqfolio.signals.scaling import TargetScaler

__all__ = [
    "FEEDS",
    "SIGNALS",
    "TARGETS",
    "Target",
    "get_target",
    "register_target",
    "target_names",
]


def _shift_back(trailing: np.ndarray, horizon: int) -> np.ndarray:
    """``out[t] = trailing[t + horizon]``: turn a trailing statistic over ``horizon`` bars into a forward one."""
    out = np.full(trailing.shape, np.nan)
    if horizon < trailing.shape[0]:
        out[:-horizon] = trailing[horizon:]
    return out


def forward_log_return(prices: np.ndarray, horizon: int) -> np.ndarray:
    """``log(P_{t+h} / P_t)``; NaN when a price in ``t .. t+h`` is NaN or ``t + h`` is past the end."""
    r = log_returns(prices)
    return _shift_back(rolling_sum(r, horizon), horizon)


def forward_volatility(prices: np.ndarray, horizon: int) -> np.ndarray:
    """Realised volatility of the log returns in ``(t, t+h]``: ``sqrt(mean r^2)`` per bar."""
    return _shift_back(realised_volatility(log_returns(prices), horizon), horizon)


def forward_drawdown(prices: np.ndarray, horizon: int) -> np.ndarray:
    """Largest fall from the running peak over ``t .. t+h`` (a fraction >= 0; the peak starts at ``P_t``)."""
    p = np.asarray(prices, dtype=float)
    n_bars = p.shape[0]
    out = np.full(p.shape, np.nan)
    if horizon >= n_bars:
        return out
    m = n_bars - horizon
    peak = p[:m].copy()
    worst = np.zeros_like(peak)
    for k in range(1, horizon + 1):
        nxt = p[k : k + m]
        peak = np.maximum(peak, nxt)  # NaN propagates on purpose: a gap voids the label
        worst = np.maximum(worst, 1.0 - nxt / peak)
    out[:m] = worst
    return out


def forward_mean_correlation(prices: np.ndarray, horizon: int) -> np.ndarray:
    """Each asset's mean correlation with the others over the returns in ``(t, t+h]``."""
    return _shift_back(rolling_mean_correlation(log_returns(prices), horizon), horizon)


def stress_thresholds(forward_vol: np.ndarray, quantile: float) -> np.ndarray:
    """Per-asset ``quantile`` of forward volatilities (call it on training-slice labels only).

    Assets without any label get the pooled quantile of all assets; NaN if there is no label at all.
    """
    fv = np.asarray(forward_vol, dtype=float)
    finite = fv[np.isfinite(fv)]
    pooled = float(np.quantile(finite, quantile)) if finite.size else np.nan
    out = []
    for i in range(fv.shape[1]):
        col = fv[:, i][np.isfinite(fv[:, i])]
        out.append(float(np.quantile(col, quantile)) if col.size >= 20 else pooled)
    return np.asarray(out)


FEEDS: tuple[str, ...] = ("covariance", "expected_returns", "exposure", "correlation")
"""How a forecast can reach the allocator (a :class:`Target`'s ``feeds``, described there)."""


class Target:
    """How an ``LSTMForecaster`` learns, reads and uses one forecast target.

    Subclass it, set the attributes, write :meth:`labels` (and whichever other method differs from
    the defaults) and register an instance with :func:`register_target`. Then
    ``LSTMForecaster(target=name)``, ``--signal lstm-<name>`` and a study's ``signal = "lstm-<name>"``
    use it. The default methods give a regression target (standardised labels, MSE loss) or, with
    ``probability = True``, a probability (0/1 labels, binary cross-entropy on a logit).

    Attributes
    ----------
    name : str
        What ``LSTMForecaster(target=...)`` takes, and the name of its forecast Series.
    signal : str or None
        The signal name (``--signal``, a study's ``signal``); None means ``"lstm-" + name``.
    feeds : str
        How the forecast reaches the allocator, one of :data:`FEEDS` (the pipeline's ``Forecast``
        step, :mod:`seqfolio.pipeline.forecasts`, with the conversions of :mod:`seqfolio.signals.convert`):
        ``"covariance"``: the forecast is each asset's volatility per bar, and the allocator gets the
        covariance ``diag(vol) · trailing correlation · diag(vol)``; ``"expected_returns"``: each
        asset's log return over the horizon, turned into per-bar expected returns; ``"exposure"``:
        each asset's probability of a bad state, whose mean sets the gross exposure (the rest stays
        in cash); ``"correlation"``: each asset's mean correlation with the others, whose mean
        shrinks the trailing correlation (the covariance keeps the trailing volatilities).
    probability : bool
        Labels are 0 / 1 and forecasts probabilities: the network outputs a logit, trained with
        binary cross-entropy; labels are neither scaled nor winsorised.

    Examples
    --------
    >>> import numpy as np
    >>> from seqfolio.signals import Target, register_target
    >>> from seqfolio.signals.targets import forward_log_return
    >>> class BigMove(Target):
    ...     name, feeds, probability = "bigmove", "exposure", True
    ...     def labels(self, prices, horizon, params):
    ...         r = forward_log_return(prices, horizon)
    ...         return np.where(np.isnan(r), np.nan, (np.abs(r) > 0.1).astype(float))
    >>> register_target(BigMove())  # doctest: +SKIP
    """

    name: str = ""
    signal: str | None = None
    feeds: str = ""
    probability: bool = False

    def labels(self, prices: np.ndarray, horizon: int, params: Mapping[str, Any]) -> np.ndarray:
        """Raw labels (T, N) of a (T, N) price array; NaN where undefined.

        The value at bar ``t`` may read ``prices[t .. t + horizon]`` only (so the last ``horizon``
        rows are NaN). ``params`` are the forecaster's parameters (``drawdown_threshold`` ...). A
        NaN label means "no sample here".
        """
        raise NotImplementedError(f"{type(self).__name__}.labels is not written")

    def fit(self, labels: np.ndarray, params: Mapping[str, Any]) -> Any:
        """What the target learns from the training block's ``labels`` (NaN outside the block).

        Saved with the model, so plain values only (numbers, lists, NumPy arrays: an array comes
        back from a saved file as a list). None by default.
        """
        return None

    def encode(self, labels: np.ndarray, state: Any) -> np.ndarray:
        """What the network regresses, before scaling (``state`` from :meth:`fit`): the labels."""
        return labels

    def scaler(self, encoded: np.ndarray) -> TargetScaler:
        """The scaler of the training block's encoded labels: standardise them (none for a
        probability)."""
        if self.probability:
            return TargetScaler(0.0, 1.0)
        std = float(np.std(encoded))
        return TargetScaler(float(np.mean(encoded)), std if std > 1e-12 else 1.0)

    def decode(self, outputs: np.ndarray, scaler: TargetScaler) -> np.ndarray:
        """Raw network outputs -> forecasts: the sigmoid of a probability's logit, else unscaled."""
        if self.probability:
            return 1.0 / (1.0 + np.exp(-outputs))
        return scaler.inverse(outputs)

    def loss(self) -> Callable[[Any, Any], Any]:
        """The torch loss ``loss(outputs, scaled_labels)``: binary cross-entropy on logits for a
        probability, else the mean squared error."""
        import torch

        if self.probability:
            return torch.nn.functional.binary_cross_entropy_with_logits
        return torch.nn.functional.mse_loss

    def baseline(self, returns: pd.DataFrame, horizon: int) -> pd.Series | None:
        """The trailing estimate that stands in for a missing forecast (an asset without a complete
        window) at a rebalance, from the lookback's ``returns``; None leaves such assets out."""
        return None


class Volatility(Target):
    name, signal, feeds = "volatility", "lstm-vol", "covariance"

    def labels(self, prices: np.ndarray, horizon: int, params: Mapping[str, Any]) -> np.ndarray:
        vol = forward_volatility(prices, horizon)
        with np.errstate(invalid="ignore"):
            return np.where(vol > 0, vol, np.nan)  # a zero volatility has no log variance

    def encode(self, labels: np.ndarray, state: Any) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.log(labels**2)  # the log variance

    def scaler(self, encoded: np.ndarray) -> TargetScaler:
        return TargetScaler(float(np.mean(encoded)), 1.0)  # QLIKE needs it unscaled: only centred

    def decode(self, outputs: np.ndarray, scaler: TargetScaler) -> np.ndarray:
        return np.sqrt(np.exp(scaler.inverse(outputs)))

    def loss(self) -> Callable[[Any, Any], Any]:
        from seqfolio.signals.models import qlike_loss

        return qlike_loss

    def baseline(self, returns: pd.DataFrame, horizon: int) -> pd.Series | None:
        return returns.std(ddof=1)


class Return(Target):
    name, feeds = "return", "expected_returns"

    def labels(self, prices: np.ndarray, horizon: int, params: Mapping[str, Any]) -> np.ndarray:
        return forward_log_return(prices, horizon)

    def baseline(self, returns: pd.DataFrame, horizon: int) -> pd.Series | None:
        return np.log1p(returns).mean() * horizon


class Regime(Target):
    name, feeds, probability = "regime", "exposure", True

    def labels(self, prices: np.ndarray, horizon: int, params: Mapping[str, Any]) -> np.ndarray:
        return forward_volatility(prices, horizon)  # compared with the thresholds in encode

    def fit(self, labels: np.ndarray, params: Mapping[str, Any]) -> Any:
        return [float(v) for v in stress_thresholds(labels, params["stress_quantile"])]

    def encode(self, labels: np.ndarray, state: Any) -> np.ndarray:
        if state is None:
            raise ValueError("The regime target needs the stress thresholds of Regime.fit.")
        with np.errstate(invalid="ignore"):
            stress = labels > np.asarray(state, dtype=float)[None, :]
        return np.where(np.isnan(labels), np.nan, stress.astype(float))


class Drawdown(Target):
    name, feeds, probability = "drawdown", "exposure", True

    def labels(self, prices: np.ndarray, horizon: int, params: Mapping[str, Any]) -> np.ndarray:
        dd = forward_drawdown(prices, horizon)
        return np.where(np.isnan(dd), np.nan, (dd > params["drawdown_threshold"]).astype(float))


class Correlation(Target):
    name, signal, feeds = "correlation", "lstm-corr", "correlation"

    def labels(self, prices: np.ndarray, horizon: int, params: Mapping[str, Any]) -> np.ndarray:
        return forward_mean_correlation(prices, horizon)

    def decode(self, outputs: np.ndarray, scaler: TargetScaler) -> np.ndarray:
        return np.clip(scaler.inverse(outputs), -1.0, 1.0)


# ------------------------------------------------------------------------------------------------
# the registry
# ------------------------------------------------------------------------------------------------
_REGISTRY: dict[str, Target] = {}

ENTRY_POINT_GROUP = "seqfolio.targets"
"""Entry-point group a package uses to register its targets: ``name = "package.module:MyTarget"``
(a :class:`Target` subclass or instance), found in every process that asks for a target."""
_plugins_loaded: list[bool] = []


def _plugins() -> None:
    """Register the targets other installed packages declare as entry points (once)."""
    if _plugins_loaded:
        return
    _plugins_loaded.append(True)
    from importlib.metadata import entry_points

    for point in entry_points(group=ENTRY_POINT_GROUP):
        target = point.load()
        target = target() if isinstance(target, type) else target
        if target.name not in _REGISTRY:
            register_target(target)


def _signal(target: Target) -> str:
    return target.signal or f"lstm-{target.name}"


def register_target(target: Target, *, replace: bool = False) -> Target:
    """Make ``target`` usable by name: ``LSTMForecaster(target=...)``, ``--signal``, studies.

    Parameters
    ----------
    target : Target
        An instance of a :class:`Target` subclass.
    replace : bool, default False
        Replace a target registered earlier under the same name (e.g. a notebook cell run twice);
        the built-in targets cannot be replaced.

    Notes
    -----
    Register a target where its class is defined, at import: a model names its target, so any
    process that fits or loads it (a Dask worker, a later session reading a checkpoint) must have
    imported that module first.

    Returns
    -------
    Target
        ``target``.

    Raises
    ------
    TypeError, ValueError
        For something that is not a ``Target``, an empty name, a name or signal already taken, or a
        ``feeds`` that is not one of :data:`FEEDS`.
    """
    if not isinstance(target, Target):
        raise TypeError(
            f"register_target: target must be an instance of a Target subclass. Got "
            f"{type(target).__name__} instead."
        )
    kind = type(target).__name__
    name = target.name
    if not isinstance(name, str) or not name or name != name.strip().lower() or " " in name:
        raise ValueError(
            f"register_target: {kind}.name must be a non-empty lower-case word. Got {name!r} instead."
        )
    if target.feeds not in FEEDS:
        raise ValueError(
            f"register_target: {kind}.feeds must be one of {list(FEEDS)}. Got {target.feeds!r} "
            "instead."
        )
    taken = _REGISTRY.get(name)
    if taken is not None and (not replace or name in _BUILT_IN):
        why = "a built-in target" if name in _BUILT_IN else "taken; pass replace=True to replace it"
        raise ValueError(f"register_target: the target name {name!r} is {why}.")
    others = {_signal(t): t.name for t in _REGISTRY.values() if t.name != name}
    if _signal(target) in others:
        raise ValueError(
            f"register_target: the signal name {_signal(target)!r} of {kind} is taken by the target "
            f"{others[_signal(target)]!r}; set another {kind}.signal."
        )
    _REGISTRY[name] = target
    return target


def get_target(name: object, owner: str = "LSTMForecaster") -> Target:
    """The registered target called ``name``, or the error ``owner``'s parameter check gives."""
    _plugins()
    if not isinstance(name, str) or name not in _REGISTRY:
        raise ValueError(
            f"The 'target' parameter of {owner} must be one of {list(_REGISTRY)}. Got {name!r} "
            "instead (a target of your own needs register_target first)."
        )
    return _REGISTRY[name]


def target_names() -> tuple[str, ...]:
    """The registered targets' names, built-ins first."""
    _plugins()
    return tuple(_REGISTRY)


class _SignalNames(Mapping[str, str]):
    """Signal name -> target name, read from the registry at each use."""

    def __getitem__(self, signal: str) -> str:
        _plugins()
        return {_signal(t): t.name for t in _REGISTRY.values()}[signal]

    def __iter__(self) -> Iterator[str]:
        _plugins()
        return iter([_signal(t) for t in _REGISTRY.values()])

    def __len__(self) -> int:
        _plugins()
        return len(_REGISTRY)

    def __repr__(self) -> str:
        return repr(dict(self))


SIGNALS: Mapping[str, str] = _SignalNames()
"""Signal names (``lstm-vol`` ...) -> target names, for ``--signal`` and studies; a registered target
appears here as soon as it is registered."""

_BUILT_IN = ("return", "volatility", "regime", "drawdown", "correlation")
for _target in (Return(), Volatility(), Regime(), Drawdown(), Correlation()):
    register_target(_target)

TARGETS: tuple[str, ...] = _BUILT_IN
"""The built-in targets' names (:func:`target_names` lists the registered ones)."""

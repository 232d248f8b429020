"""Pipeline steps that bring a walk-forward model into the rebalance (see :mod:`.steps`).

``RebalanceStrategy(signal=LSTMForecaster(target=...))`` runs::

    TrailingReturns -> Forecast -> Allocate -> CapWeights -> ScaleExposure

and an allocator trained walk-forward (``needs_training``) runs ``TrailingReturns -> ModelWeights ->
CapWeights``. How a forecast reaches the allocator is its target's ``feeds``
(:data:`seqfolio.signals.targets.FEEDS`; the conversions of :mod:`seqfolio.signals.convert`):

=================  =============================================================================
feeds (targets)    effect
=================  =============================================================================
covariance         ``covariance = volatility_to_covariance(vol, trailing correlation)``
(volatility)
expected_returns   ``expected_returns = returns_to_expected(forecast, horizon)``
(return)
exposure           gross exposure ``exposure_multiplier(mean probability)``; the rest stays in cash
(regime, drawdown)
correlation        ``covariance`` from the trailing volatilities and
(correlation)      ``shrink_correlation(trailing correlation, mean forecast, weight=0.5)``
=================  =============================================================================

A forecast that is NaN for an asset (not listed long enough for a full window) is replaced by the
target's baseline, a trailing estimate from ``ctx.returns`` (noted in ``ctx.notes["filled"]``), or left
out of the mean for a target without one. Every step reads only the context, whose prices end at the
decision bar: no step can see the future.

The steps ask a :class:`ModelSource` for the current model: in backtrader the retraining controller
(:class:`~seqfolio.strategies.Retrainer`, driven by timers), in research the same retraining rules
driven by the decision dates. Neither this module nor the steps import backtrader.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from seqfolio.events import WARM_UP
from seqfolio.pipeline.steps import RebalanceContext
from seqfolio.signals.convert import (
    exposure_multiplier,
    returns_to_expected,
    shrink_correlation,
    volatility_to_covariance,
)
from seqfolio.signals.targets import get_target

__all__ = ["FEEDS", "NO_MODEL", "Forecast", "ModelSource", "ModelWeights", "ScaleExposure"]

logger = logging.getLogger("seqfolio.pipeline")

NO_MODEL = WARM_UP[1]
"""How the skip reason of a rebalance before the first trained model starts (the expected warm-up of a
walk-forward model; :meth:`~seqfolio.strategies.RebalanceStrategy.stop` reports those at INFO)."""


class ModelSource(Protocol):
    """Where the forecast steps get the current model from (see the module notes)."""

    template: Any
    """The untrained model the source retrains (what kind of model it is)."""

    def ensure(self, date: pd.Timestamp) -> Any:
        """The current model, training a first one if there is none yet (None: none available)."""

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """The current model's ``predict(data)``."""

    def history_needed(self) -> int:
        """Rows of prices the model needs to predict the last bar."""

    @property
    def last_failure(self) -> str | None:
        """Why the last retrain failed (None if it did not)."""


def _no_model_reason(source: ModelSource) -> str:
    failure = source.last_failure
    return NO_MODEL if failure is None else f"{NO_MODEL} (last retrain failed: {failure})"


def _trailing_correlation(returns: pd.DataFrame) -> pd.DataFrame:
    corr = returns.corr().fillna(0.0)
    values = corr.to_numpy(copy=True)
    np.fill_diagonal(values, 1.0)
    return pd.DataFrame(values, index=corr.index, columns=corr.columns)


@dataclass
class Forecast:
    """Reads ``prices``, ``returns``; writes ``covariance`` / ``expected_returns`` / ``notes``.

    Asks the model source (``source.ensure``: bootstrap-trains one if none exists yet) for a forecast
    at the decision bar and converts it as in the module table. Skips the rebalance when there is no
    model yet. A forecast that fails (``ValueError``, e.g. a broken model whose output is not finite)
    also skips it (the portfolio is left as it is), logs a warning and is recorded as a
    ``forecast_failed`` event, like an allocator failure; a NaN forecast for one asset (no complete
    window) is filled with the trailing estimate instead.

    Parameters
    ----------
    source : ModelSource
    exposure_floor, exposure_threshold : float
        :func:`~seqfolio.signals.exposure_multiplier`'s ``floor`` and ``threshold`` (regime / drawdown).
    correlation_weight : float
        :func:`~seqfolio.signals.shrink_correlation`'s ``weight`` (correlation).

    Attributes
    ----------
    forecasts : dict of Timestamp to Series
        The forecast used at each rebalance.
    """

    source: ModelSource
    exposure_floor: float = 0.25
    exposure_threshold: float = 0.5
    correlation_weight: float = 0.5
    forecasts: dict[pd.Timestamp, pd.Series] = field(default_factory=dict)

    def __call__(self, ctx: RebalanceContext) -> None:
        model = self.source.ensure(ctx.date)
        if model is None:
            ctx.skip_reason = _no_model_reason(self.source)
            return
        returns = ctx.returns
        if returns is None or returns.shape[1] == 0:
            return
        need = self.source.history_needed()
        if len(ctx.prices) < need:
            ctx.skip_reason = (
                f"warm-up: the model needs {need} bars of prices, {len(ctx.prices)} kept"
            )
            return
        try:
            forecast = self.source.predict(ctx.prices.iloc[-need:]).astype(float)
        except ValueError as exc:
            ctx.fail("forecast_failed", f"{type(model).__name__} forecast failed: {exc}")
            return
        self.forecasts[ctx.date] = forecast
        ctx.notes["forecast"] = forecast
        target = get_target(getattr(model, "target", None), owner=type(model).__name__)
        horizon = int(getattr(model, "horizon", 1))
        values = forecast.reindex(list(returns.columns)).rename(target.name)
        missing = [str(a) for a in values.index[~np.isfinite(values.to_numpy())]]
        if missing:
            ctx.notes["filled"] = missing
            baseline = target.baseline(returns, horizon)
            if baseline is not None:
                values = values.fillna(baseline)
        FEEDS[target.feeds](self, ctx, values, returns, horizon)


# How each kind of forecast reaches the allocator: (step, ctx, forecast, the lookback's returns, horizon)
def _complete(ctx: RebalanceContext, forecast: pd.Series) -> bool:
    """Whether every asset has a forecast (or its baseline); else the rebalance fails, naming them."""
    gaps = [str(a) for a in forecast.index[forecast.isna()]]
    if gaps:
        ctx.fail(
            "forecast_failed",
            f"no forecast for {gaps} (no complete window) and the target {forecast.name!r} has no "
            "baseline to stand in for one; give its Target a baseline (a trailing estimate)",
        )
    return not gaps


def _feed_covariance(step: Forecast, ctx: RebalanceContext, vol: pd.Series, returns: pd.DataFrame,
                     horizon: int) -> None:  # fmt: skip
    if _complete(ctx, vol):
        ctx.covariance = volatility_to_covariance(vol, _trailing_correlation(returns))


def _feed_expected_returns(step: Forecast, ctx: RebalanceContext, forecast: pd.Series,
                           returns: pd.DataFrame, horizon: int) -> None:  # fmt: skip
    if _complete(ctx, forecast):
        ctx.expected_returns = returns_to_expected(forecast, horizon)


def _feed_exposure(step: Forecast, ctx: RebalanceContext, probabilities: pd.Series,
                   returns: pd.DataFrame, horizon: int) -> None:  # fmt: skip
    probability = probabilities.dropna()
    exposure = (
        1.0
        if probability.empty
        else exposure_multiplier(
            probability, floor=step.exposure_floor, threshold=step.exposure_threshold
        )
    )
    ctx.notes["probability"] = float(probability.mean()) if len(probability) else np.nan
    ctx.notes["exposure"] = exposure


def _feed_correlation(step: Forecast, ctx: RebalanceContext, correlations: pd.Series,
                      returns: pd.DataFrame, horizon: int) -> None:  # fmt: skip
    corr = _trailing_correlation(returns)
    if correlations.notna().any():
        level = float(np.nanmean(correlations.to_numpy()))
        corr = shrink_correlation(corr, level, weight=step.correlation_weight)
    ctx.covariance = volatility_to_covariance(returns.std(ddof=1), corr)


FEEDS = {
    "covariance": _feed_covariance,
    "expected_returns": _feed_expected_returns,
    "exposure": _feed_exposure,
    "correlation": _feed_correlation,
}
"""How a forecast reaches the allocator, by its target's ``feeds`` (the keys of
:data:`seqfolio.signals.targets.FEEDS`, which says what each expects)."""


@dataclass
class ModelWeights:
    """Reads ``prices``, ``returns``; writes ``weights``: the walk-forward direct-weights model's output.

    The network (an allocator that ``needs_training``) is retrained only on the retrain schedule; at a rebalance it is
    applied (``predict``) to the latest returns. Assets the network was trained on but that are not in
    ``ctx.returns`` (not tradable, or a gap in the window) get weight 0, the rest is renormalised;
    assets it was not trained on get nothing until the next retrain.

    A prediction that fails (``ValueError``), has a NaN or infinite weight, or has no positive weight
    skips the rebalance (the portfolio is left as it is: an empty target would sell everything), logs
    a warning and is recorded as an ``allocation_failed`` event, like an allocator failure in
    :class:`~seqfolio.pipeline.Allocate`.
    """

    source: ModelSource

    def __call__(self, ctx: RebalanceContext) -> None:
        model = self.source.ensure(ctx.date)
        if model is None:
            ctx.skip_reason = _no_model_reason(self.source)
            return
        if ctx.returns is None or ctx.returns.shape[1] == 0:
            ctx.skip_reason = ctx.skip_reason or "no returns to allocate on"
            return
        need = int(model.history_length_)
        prices = ctx.prices.iloc[-(need + 1) :]
        if len(prices) < need + 1:
            ctx.skip_reason = f"warm-up: the model needs {need + 1} bars of prices"
            return
        keep = [a for a in ctx.returns.columns if prices[a].notna().all()]
        returns = prices[keep].pct_change(fill_method=None).iloc[1:]
        name = type(model).__name__
        try:
            weights = self.source.predict(returns)
        except ValueError as exc:
            ctx.fail("allocation_failed", f"{name} failed: {exc}")
            return
        weights = pd.Series(weights, dtype=float)
        bad = [str(a) for a in weights.index[~np.isfinite(weights.to_numpy())]]
        if bad:
            ctx.fail("allocation_failed", f"{name} returned non-finite weights for {bad}")
            return
        weights = weights[weights > 0]
        if weights.empty:
            ctx.fail("allocation_failed", f"{name} returned no positive weight")
            return
        ctx.weights = (weights / weights.sum()).rename("weight")


@dataclass
class ScaleExposure:
    """Reads ``notes["exposure"]``, reads and writes ``weights``: scales them (the rest is cash)."""

    def __call__(self, ctx: RebalanceContext) -> None:
        exposure = ctx.notes.get("exposure")
        if exposure is None or ctx.weights is None:
            return
        ctx.weights = ctx.weights * float(exposure)

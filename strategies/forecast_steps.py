"""Pipeline steps that bring a walk-forward model into the rebalance (see :mod:`.pipeline`).

``RebalanceStrategy(signal=LSTMForecaster(target=...))`` runs::

    TrailingReturns -> Forecast -> Allocate -> CapWeights -> ScaleExposure

and ``RebalanceStrategy(allocator=LSTMAllocator(...))`` runs ``TrailingReturns -> ModelWeights ->
CapWeights``. How each forecast reaches the allocator (the conversions of :mod:`seqfolio.signals.convert`):

==============  ==============================================================================
target          effect
==============  ==============================================================================
volatility      ``covariance = volatility_to_covariance(vol, trailing correlation)``
return          ``expected_returns = returns_to_expected(forecast, horizon)``
regime          gross exposure ``exposure_multiplier(mean probability)``; the rest stays in cash
drawdown        same as regime
correlation     ``covariance`` from the trailing volatilities and
                ``shrink_correlation(trailing correlation, mean forecast, weight=0.5)``
==============  ==============================================================================

A forecast that is NaN for an asset (not listed long enough for a full window) is replaced by the
trailing estimate from ``ctx.returns`` (noted in ``ctx.notes["filled"]``). Every step reads only the
context, whose prices end at the decision bar: no step can see the future.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seqfolio.signals.convert import (
    exposure_multiplier,
    returns_to_expected,
    shrink_correlation,
    volatility_to_covariance,
)
from seqfolio.strategies.pipeline import RebalanceContext
from seqfolio.strategies.walkforward import WalkForward

__all__ = ["NO_MODEL", "Forecast", "ModelWeights", "ScaleExposure", "Timed"]

logger = logging.getLogger("seqfolio.strategies")

NO_MODEL = "no trained model yet"
"""How the skip reason of a rebalance before the first trained model starts (the expected warm-up of a
walk-forward model; :meth:`~seqfolio.strategies.RebalanceStrategy.stop` reports those at INFO)."""


def _no_model_reason(wf: WalkForward) -> str:
    if wf.failures:
        return f"{NO_MODEL} (last retrain failed: {wf.failures[-1][1]})"
    return NO_MODEL


def _trailing_correlation(returns: pd.DataFrame) -> pd.DataFrame:
    corr = returns.corr().fillna(0.0)
    values = corr.to_numpy(copy=True)
    np.fill_diagonal(values, 1.0)
    return pd.DataFrame(values, index=corr.index, columns=corr.columns)


@dataclass
class Forecast:
    """Reads ``prices``, ``returns``; writes ``covariance`` / ``expected_returns`` / ``notes``.

    Asks the walk-forward model (``wf.ensure``: bootstrap-trains one if none exists yet) for a forecast
    at the decision bar and converts it as in the module table. Skips the rebalance when there is no
    model yet. A forecast that fails (``ValueError``, e.g. a broken model whose output is not finite)
    also skips it (the portfolio is left as it is), logs a warning and is counted in ``failures``,
    like an allocator failure; a NaN forecast for one asset (no complete window) is filled with the
    trailing estimate instead.

    Parameters
    ----------
    wf : WalkForward
    exposure_floor, exposure_threshold : float
        :func:`~seqfolio.signals.exposure_multiplier`'s ``floor`` and ``threshold`` (regime / drawdown).
    correlation_weight : float
        :func:`~seqfolio.signals.shrink_correlation`'s ``weight`` (correlation).

    Attributes
    ----------
    forecasts : dict of Timestamp to Series
        The forecast used at each rebalance.
    failures : list of (Timestamp, str)
        Rebalances skipped because the forecast failed, with the reason.
    """

    wf: WalkForward
    exposure_floor: float = 0.25
    exposure_threshold: float = 0.5
    correlation_weight: float = 0.5
    forecasts: dict[pd.Timestamp, pd.Series] = field(default_factory=dict)
    failures: list[tuple[pd.Timestamp, str]] = field(default_factory=list, repr=False)

    def __call__(self, ctx: RebalanceContext) -> None:
        model = self.wf.ensure(ctx.date)
        if model is None:
            ctx.skip_reason = _no_model_reason(self.wf)
            return
        returns = ctx.returns
        if returns is None or returns.shape[1] == 0:
            return
        need = self.wf.history_needed()
        if len(ctx.prices) < need:
            ctx.skip_reason = (
                f"warm-up: the model needs {need} bars of prices, {len(ctx.prices)} kept"
            )
            return
        try:
            forecast = self.wf.predict(ctx.prices.iloc[-need:]).astype(float)
        except ValueError as exc:
            _skip_as_failure(ctx, self.failures, f"{type(model).__name__} forecast failed: {exc}")
            return
        self.forecasts[ctx.date] = forecast
        ctx.notes["forecast"] = forecast
        assets = list(returns.columns)
        values = forecast.reindex(assets)
        missing = [str(a) for a in values.index[~np.isfinite(values.to_numpy())]]
        if missing:
            ctx.notes["filled"] = missing
        target = getattr(model, "target", None)
        if target == "volatility":
            vol = values.fillna(returns.std(ddof=1))
            ctx.covariance = volatility_to_covariance(vol, _trailing_correlation(returns))
        elif target == "return":
            horizon = int(model.horizon)
            trailing = np.log1p(returns).mean() * horizon
            ctx.expected_returns = returns_to_expected(values.fillna(trailing), horizon)
        elif target in ("regime", "drawdown"):
            probability = values.dropna()
            exposure = (
                1.0
                if probability.empty
                else exposure_multiplier(
                    probability, floor=self.exposure_floor, threshold=self.exposure_threshold
                )
            )
            ctx.notes["probability"] = float(probability.mean()) if len(probability) else np.nan
            ctx.notes["exposure"] = exposure
        elif target == "correlation":
            level = float(np.nanmean(values.to_numpy())) if values.notna().any() else None
            corr = _trailing_correlation(returns)
            if level is not None:
                corr = shrink_correlation(corr, level, weight=self.correlation_weight)
            ctx.covariance = volatility_to_covariance(returns.std(ddof=1), corr)
        else:
            raise ValueError(
                f"Forecast: the signal's target must be one of ['volatility', 'return', 'regime', "
                f"'drawdown', 'correlation']. Got {target!r} instead."
            )


@dataclass
class ModelWeights:
    """Reads ``prices``, ``returns``; writes ``weights``: the walk-forward direct-weights model's output.

    The network (``LSTMAllocator``) is retrained only on the retrain schedule; at a rebalance it is
    applied (``predict``) to the latest returns. Assets the network was trained on but that are not in
    ``ctx.returns`` (not tradable, or a gap in the window) get weight 0, the rest is renormalised;
    assets it was not trained on get nothing until the next retrain.

    A prediction that fails (``ValueError``), has a NaN or infinite weight, or has no positive weight
    skips the rebalance (the portfolio is left as it is: an empty target would sell everything), logs
    a warning and is counted in ``failures``, like an allocator failure in
    :class:`~seqfolio.strategies.Allocate`.

    Attributes
    ----------
    failures : list of (Timestamp, str)
        Rebalances skipped because the model's weights were unusable, with the reason.
    """

    wf: WalkForward
    failures: list[tuple[pd.Timestamp, str]] = field(default_factory=list, repr=False)

    def __call__(self, ctx: RebalanceContext) -> None:
        model = self.wf.ensure(ctx.date)
        if model is None:
            ctx.skip_reason = _no_model_reason(self.wf)
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
            weights = self.wf.predict(returns)
        except ValueError as exc:
            self._fail(ctx, f"{name} failed: {exc}")
            return
        weights = pd.Series(weights, dtype=float)
        bad = [str(a) for a in weights.index[~np.isfinite(weights.to_numpy())]]
        if bad:
            self._fail(ctx, f"{name} returned non-finite weights for {bad}")
            return
        weights = weights[weights > 0]
        if weights.empty:
            self._fail(ctx, f"{name} returned no positive weight")
            return
        ctx.weights = (weights / weights.sum()).rename("weight")

    def _fail(self, ctx: RebalanceContext, reason: str) -> None:
        _skip_as_failure(ctx, self.failures, reason)


def _skip_as_failure(
    ctx: RebalanceContext, failures: list[tuple[pd.Timestamp, str]], reason: str
) -> None:
    """Skip this rebalance (portfolio kept), record why in ``failures`` and warn."""
    ctx.skip_reason = reason
    failures.append((ctx.date, reason))
    logger.warning("%s: rebalance skipped, portfolio kept: %s", ctx.date.date(), reason)


@dataclass
class ScaleExposure:
    """Reads ``notes["exposure"]``, reads and writes ``weights``: scales them (the rest is cash)."""

    def __call__(self, ctx: RebalanceContext) -> None:
        exposure = ctx.notes.get("exposure")
        if exposure is None or ctx.weights is None:
            return
        ctx.weights = ctx.weights * float(exposure)


@dataclass
class Timed:
    """Wrap a step and add its wall time to ``timings[bucket]``."""

    step: Any
    timings: dict[str, float]
    bucket: str = "allocating"

    def __call__(self, ctx: RebalanceContext) -> None:
        t0 = time.perf_counter()
        try:
            self.step(ctx)
        finally:
            self.timings[self.bucket] = (
                self.timings.get(self.bucket, 0.0) + time.perf_counter() - t0
            )

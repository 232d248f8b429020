"""Fast backtests without the engine: the strategy's own pipeline steps + the vectorised evaluator.

:func:`target_weights` runs the same steps as :class:`~seqfolio.strategies.RebalanceStrategy`
(trailing returns, allocator, weight cap) on the same decision dates, seeing only closes up to each
date; :func:`simulate` trades those targets with :func:`~seqfolio.research.evaluate_weights`. The
parity test in ``tests/test_research_parity.py`` checks the result against a backtrader run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seqfolio import defaults
from seqfolio._validation import check_int
from seqfolio.calendar import decision_dates, naive_date
from seqfolio.events import SKIP_KINDS, Event, of_kind
from seqfolio.research.evaluator import Evaluation, drop_empty_rows, evaluate_weights


@dataclass(frozen=True)
class Targets:
    """Target weights per decision date, and what did not go as planned.

    Attributes
    ----------
    weights : pandas.DataFrame
        One row per decision date that produced weights.
    events : list of Event
        Every scheduled date that did not trade, with the reason (warm-up, no priced asset, an
        allocator failure, ...), and the decisions a later :class:`~seqfolio.allocators.Fallback`
        member made (:mod:`seqfolio.events`). ``skipped``, ``failures`` and ``fallbacks`` list them
        by kind as ``(date, reason)``.
    retrains : pandas.DataFrame or None
        With a walk-forward model: one row per retrain
        (:meth:`~seqfolio.pipeline.ModelRetrainer.retrain_table`).
    """

    weights: pd.DataFrame
    events: list[Event] = field(default_factory=list)
    retrains: pd.DataFrame | None = None

    skipped = property(lambda self: of_kind(self.events, *SKIP_KINDS))
    failures = property(lambda self: of_kind(self.events, "allocation_failed", "forecast_failed"))
    fallbacks = property(lambda self: of_kind(self.events, "fallback"))


def target_weights(
    prices: pd.DataFrame,
    *,
    allocator: Any,
    lookback: int = defaults.LOOKBACK,
    rebalance: Any = defaults.REBALANCE,
    max_weight: float | None = None,
    start: Any = None,
    end: Any = None,
    max_gap: int = 5,
    model: Any = None,
    retrain: Any = defaults.RETRAIN,
    train_window: int | str = defaults.TRAIN_BARS,
    checkpoint_dir: Any = None,
    fit_until: pd.Timestamp | None = None,
    fit: Any = None,
) -> Targets:
    """Decide target weights on every scheduled bar in ``[start, end]`` from closes up to that bar.

    Parameters
    ----------
    prices : pandas.DataFrame
        Closes (NaN = no price), with history before ``start`` for the first lookback. A row with no
        price at all (a blank holiday row) is not a bar, as in a backtrader run whose feeds carry only
        priced rows: it is left out of the lookback windows and the schedule.
    allocator : allocator instance or short name
        Cloned and refitted at every decision date.
    lookback, rebalance, max_weight, max_gap
        As :class:`~seqfolio.strategies.RebalanceStrategy` (the same pipeline runs:
        :func:`~seqfolio.pipeline.build_steps`).
    start, end : date-like, optional
        Decision dates considered (read as :class:`~seqfolio.strategies.RebalanceStrategy` reads its
        ``start``: a number such as 2018 is refused, not taken as nanoseconds after 1970).
    model : estimator, optional
        A walk-forward model (``LSTMForecaster`` feeding ``allocator``, or an ``LSTMAllocator``):
        retrained by :class:`~seqfolio.pipeline.ModelRetrainer` on the ``retrain`` schedule's bars in
        ``[start, end]`` over ``train_window`` bars (or ``"expanding"``), before the decision on the
        same bar, with checkpoints in ``checkpoint_dir`` -- as ``run_backtest(signal=...)`` does.
    fit_until : Timestamp, optional
        A model needed before the first scheduled retrain is trained on the closes up to this bar
        (a walk-forward window's training part) instead of on the decision bar's.
    fit : callable, optional
        ``fit(model, prices) -> fitted model`` for the retrainer (default: the model's own fit);
        a study passes a population's (:class:`~seqfolio.research.population.PopulationFit`).
    """
    from seqfolio.allocators import make_allocator
    from seqfolio.pipeline import (
        ModelRetrainer,
        RebalanceContext,
        build_steps,
        history_length,
        is_weights_model,
        run_steps,
    )

    owner = "target_weights"
    check_int(owner, "lookback", lookback, low=2)
    check_int(owner, "max_gap", max_gap, low=0)
    prices = drop_empty_rows(prices)
    source = None
    if model is not None:
        source = ModelRetrainer(
            model, lambda date, n: prices.loc[:date].iloc[-n if n else 0 :],
            train_window=train_window, checkpoint_dir=checkpoint_dir, owner=owner,
            bootstrap_at=fit_until, fit=fit,
        )  # fmt: skip
    steps = build_steps(
        allocator=make_allocator(allocator, owner=owner), lookback=lookback,
        max_weight=max_weight, max_gap=max_gap, source=source,
        weights_model=source is not None and is_weights_model(model),
    )  # fmt: skip
    index = prices.index
    tz = getattr(index, "tz", None)
    dates = decision_dates(index, rebalance)
    first = naive_date(start, "start", owner, tz)
    last = naive_date(end, "end", owner, tz)
    if tz is not None:  # a naive start / end is read in the prices' zone
        first = None if first is None else first.tz_localize(tz)
        last = None if last is None else last.tz_localize(tz)
    if first is not None:
        dates = dates[dates >= first]
    if last is not None:
        dates = dates[dates <= last]
    retrains = pd.DatetimeIndex([])
    if source is not None:  # the retrain schedule's bars in [start, end]: the engine's timer
        retrains = decision_dates(index, retrain)
        retrains = retrains[(retrains >= (first or index[0])) & (retrains <= (last or index[-1]))]
    history = history_length(lookback, source, max_gap=max_gap)
    values = prices.to_numpy(dtype=float)
    priced = np.isfinite(values)
    # each asset's first priced row: an asset priced before a window's first row is listed there
    first_priced = np.where(priced.any(axis=0), priced.argmax(axis=0), len(index))
    rows, kept, events = [], [], []
    for date in dates.union(retrains):
        if date in retrains:  # on a bar where both fire, the retrain runs first
            source.retrain(date)
        if date not in dates:
            continue
        stop = index.get_loc(date) + 1
        begin = max(0, stop - history)
        window = prices.iloc[begin:stop]
        tradable = list(prices.columns[priced[stop - 1]])
        listed = frozenset(prices.columns[first_priced < begin])
        ctx = run_steps(
            steps,
            RebalanceContext(date=date, prices=window, tradable=tradable, listed_earlier=listed),
        )
        events += ctx.events
        if ctx.skip_reason is not None or ctx.weights is None:
            continue
        rows.append(ctx.weights.reindex(prices.columns, fill_value=0.0).to_numpy())
        kept.append(date)
    frame = pd.DataFrame(
        np.array(rows).reshape(len(rows), prices.shape[1]),
        index=pd.DatetimeIndex(kept, name="date"),
        columns=prices.columns,
    )
    if source is None:
        return Targets(weights=frame, events=events)
    source.close()
    events = sorted(events + source.events, key=lambda e: e.date)
    return Targets(weights=frame, events=events, retrains=source.retrain_table())


def simulate(
    prices: pd.DataFrame,
    *,
    allocator: Any,
    lookback: int = defaults.LOOKBACK,
    rebalance: Any = defaults.REBALANCE,
    max_weight: float | None = None,
    cash_buffer: float = 0.0,
    commission: float = defaults.COMMISSION,
    start: Any = None,
    end: Any = None,
) -> Evaluation:
    """Backtest a rebalancing allocator without backtrader (fractional shares, next-bar fills).

    ``cash_buffer`` scales every target down by ``1 - cash_buffer``, as the strategy does.

    Raises
    ------
    ValueError
        If no scheduled date in ``[start, end]`` produced weights (e.g. too little history).
    """
    last = naive_date(end, "end", "simulate", getattr(prices.index, "tz", None))
    if last is not None:
        index = prices.index
        prices = prices.loc[: last if index.tz is None else last.tz_localize(index.tz)]
    targets = target_weights(
        prices, allocator=allocator, lookback=lookback, rebalance=rebalance,
        max_weight=max_weight, start=start,
    )  # fmt: skip
    if targets.weights.empty:
        reasons = sorted({reason for _, reason in targets.skipped})[:3]
        raise ValueError(f"simulate: no rebalance produced weights; reasons: {reasons}.")
    return evaluate_weights(
        prices, targets.weights * (1.0 - cash_buffer), commission=commission, lag=1
    )

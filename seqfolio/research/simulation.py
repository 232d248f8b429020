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

from seqfolio.allocators import needs_training
from seqfolio.calendar import decision_dates, naive_date
from seqfolio.events import SKIP_KINDS, Event, of_kind
from seqfolio.research.evaluator import Evaluation, drop_empty_rows, evaluate_weights
from seqfolio.spec import RebalanceSpec, as_spec


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
    spec: RebalanceSpec | None = None,
    *,
    start: Any = None,
    end: Any = None,
    model: Any = None,
    checkpoint_dir: Any = None,
    fit_until: pd.Timestamp | None = None,
    fit: Any = None,
    **settings: Any,
) -> Targets:
    """Decide target weights on every scheduled bar in ``[start, end]`` from closes up to that bar.

    Parameters
    ----------
    prices : pandas.DataFrame
        Closes (NaN = no price), with history before ``start`` for the first lookback. A row with no
        price at all (a blank holiday row) is not a bar, as in a backtrader run whose feeds carry only
        priced rows: it is left out of the lookback windows and the schedule.
    spec : RebalanceSpec, optional
        The decision settings (:class:`~seqfolio.spec.RebalanceSpec`), or give them as keyword
        ``settings`` (``allocator="hrp"``, ``lookback=126``; not both): the pipeline
        :class:`~seqfolio.strategies.RebalanceStrategy` runs (:func:`~seqfolio.pipeline.build_steps`).
    start, end : date-like, optional
        Decision dates considered (read as :class:`~seqfolio.strategies.RebalanceStrategy` reads its
        ``start``: a number such as 2018 is refused, not taken as nanoseconds after 1970).
    model : estimator, optional
        A walk-forward model instance: a forecaster feeding the allocator (the spec's ``signal``), or
        an allocator trained walk-forward (its ``allocator``). By default the spec's own
        (``spec.make_model()``). It is retrained by :class:`~seqfolio.pipeline.ModelRetrainer` on
        the ``retrain`` schedule's bars in ``[start, end]`` over ``train_window`` bars, before the
        decision on the same bar, with checkpoints in ``checkpoint_dir`` -- as ``run_backtest``
        does.
    fit_until : Timestamp, optional
        A model needed before the first scheduled retrain is trained on the closes up to this bar
        (a walk-forward window's training part) instead of on the decision bar's.
    fit : callable, optional
        ``fit(model, prices) -> fitted model`` for the retrainer (default: the model's own fit);
        a study passes a population's (:class:`~seqfolio.research.population.PopulationFit`).
    """
    from seqfolio.pipeline import (
        ModelRetrainer,
        RebalanceContext,
        build_steps,
        history_length,
        run_steps,
    )

    owner = "target_weights"
    spec = as_spec(spec, settings, owner)
    if model is not None:  # the instance given is the spec's model
        spec = spec.replace(**{"allocator" if needs_training(model) else "signal": model})
    prices = drop_empty_rows(prices)
    model = spec.make_model(owner=owner)
    source = None
    if model is not None:
        source = ModelRetrainer(
            model, lambda date, n: prices.loc[:date].iloc[-n if n else 0 :],
            train_window=spec.train_window, warm_start=spec.warm_start,
            checkpoint_dir=checkpoint_dir, owner=owner,
            bootstrap_at=fit_until, fit=fit,
        )  # fmt: skip
    steps = build_steps(spec, source=source)
    index = prices.index
    tz = getattr(index, "tz", None)
    dates = decision_dates(index, spec.rebalance)
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
        retrains = decision_dates(index, spec.retrain)
        retrains = retrains[(retrains >= (first or index[0])) & (retrains <= (last or index[-1]))]
    history = history_length(spec, source)
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
    spec: RebalanceSpec | None = None,
    *,
    start: Any = None,
    end: Any = None,
    **settings: Any,
) -> Evaluation:
    """Backtest a rebalancing strategy without backtrader (fractional shares, next-bar fills).

    The spec's (or keyword ``settings``') targets, scaled by ``1 - cash_buffer`` as the strategy
    does, traded with its ``commission``.

    Raises
    ------
    ValueError
        If no scheduled date in ``[start, end]`` produced weights (e.g. too little history).
    """
    spec = as_spec(spec, settings, "simulate")
    last = naive_date(end, "end", "simulate", getattr(prices.index, "tz", None))
    if last is not None:
        index = prices.index
        prices = prices.loc[: last if index.tz is None else last.tz_localize(index.tz)]
    targets = target_weights(prices, spec, start=start)
    if targets.weights.empty:
        reasons = sorted({reason for _, reason in targets.skipped})[:3]
        raise ValueError(f"simulate: no rebalance produced weights; reasons: {reasons}.")
    return evaluate_weights(
        prices, targets.weights * (1.0 - spec.cash_buffer), commission=spec.commission, lag=1
    )

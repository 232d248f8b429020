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

from seqfolio.research.evaluator import Evaluation, drop_empty_rows, evaluate_weights
from seqfolio.research.schedules import decision_dates


@dataclass(frozen=True)
class Targets:
    """Target weights per decision date, and the scheduled dates that did not trade (with why).

    Attributes
    ----------
    weights : pandas.DataFrame
        One row per decision date that produced weights.
    skipped : list of (Timestamp, str)
        Every scheduled date that did not trade, with the reason (warm-up, no priced asset, an
        allocator failure, ...).
    failures : list of (Timestamp, str)
        The skipped dates on which the allocator failed (a subset of ``skipped``).
    fallbacks : list of (Timestamp, str)
        Dates decided by a :class:`~seqfolio.allocators.Fallback` member other than the first.
    """

    weights: pd.DataFrame
    skipped: list[tuple[pd.Timestamp, str]] = field(default_factory=list)
    failures: list[tuple[pd.Timestamp, str]] = field(default_factory=list)
    fallbacks: list[tuple[pd.Timestamp, str]] = field(default_factory=list)


def target_weights(
    prices: pd.DataFrame,
    *,
    allocator: Any,
    lookback: int = 252,
    rebalance: Any = "monthly",
    max_weight: float | None = None,
    start: Any = None,
    end: Any = None,
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
    lookback, rebalance, max_weight
        As :class:`~seqfolio.strategies.RebalanceStrategy`.
    start, end : date-like, optional
        Decision dates considered.
    """
    from seqfolio.strategies.pipeline import (
        Allocate,
        CapWeights,
        RebalanceContext,
        TrailingReturns,
        run_steps,
    )
    from seqfolio.strategies.rebalance import resolve_allocator

    allocate = Allocate(resolve_allocator(allocator, owner="target_weights"))
    steps = [TrailingReturns(lookback), allocate, CapWeights(max_weight)]
    prices = drop_empty_rows(prices)
    index = prices.index
    dates = decision_dates(index, rebalance)
    if start is not None:
        dates = dates[dates >= pd.Timestamp(start)]
    if end is not None:
        dates = dates[dates <= pd.Timestamp(end)]
    values = prices.to_numpy(dtype=float)
    rows, kept, skipped = [], [], []
    for date in dates:
        stop = index.get_loc(date) + 1
        window = prices.iloc[max(0, stop - lookback - 1) : stop]
        tradable = list(prices.columns[np.isfinite(values[stop - 1])])
        ctx = run_steps(steps, RebalanceContext(date=date, prices=window, tradable=tradable))
        if ctx.skip_reason is not None or ctx.weights is None:
            skipped.append((date, ctx.skip_reason or "no weights"))
            continue
        rows.append(ctx.weights.reindex(prices.columns, fill_value=0.0).to_numpy())
        kept.append(date)
    frame = pd.DataFrame(
        np.array(rows).reshape(len(rows), prices.shape[1]),
        index=pd.DatetimeIndex(kept, name="date"),
        columns=prices.columns,
    )
    return Targets(
        weights=frame,
        skipped=skipped,
        failures=list(allocate.failures),
        fallbacks=list(allocate.fallbacks),
    )


def simulate(
    prices: pd.DataFrame,
    *,
    allocator: Any,
    lookback: int = 252,
    rebalance: Any = "monthly",
    max_weight: float | None = None,
    cash_buffer: float = 0.0,
    commission: float = 0.001,
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
    if end is not None:
        prices = prices.loc[: pd.Timestamp(end)]
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

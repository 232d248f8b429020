"""Helpers shared by the backtrader tests: small backtests on the bundled data or synthetic prices."""

from __future__ import annotations

from typing import Any, ClassVar

import backtrader as bt
import numpy as np
import pandas as pd

from seqfolio.allocators import AllocationError, MeanVariance
from seqfolio.data import load_sample
from seqfolio.strategies import RebalanceStrategy, TearSheet, add_price_feeds

ASSETS = ["AAPL", "JNJ", "KO", "XOM", "JPM", "WMT"]


RUN_MODES: dict[str, dict[str, Any]] = {
    "runonce": {},
    "next": dict(runonce=False),
    "live": dict(preload=False, runonce=False),
    "exactbars": dict(exactbars=-1),
}
"""backtrader's run modes a fix must hold under (ids for pytest.mark.parametrize)."""


def small_prices(start: str = "2018-06-01", end: str = "2020-06-30") -> pd.DataFrame:
    return load_sample(start, end, assets=ASSETS)


def make_cerebro(
    prices: pd.DataFrame, cash: float = 1_000_000.0, commission: float = 0.001, **kwargs: Any
) -> bt.Cerebro:
    """A cerebro (no observers, ``kwargs`` its settings) with one feed per column, cash and 10 bps."""
    cerebro = bt.Cerebro(stdstats=False, **kwargs)
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=commission)
    return cerebro


class FlakyMeanVariance(MeanVariance):
    """A MeanVariance whose optimiser fails on the rebalance decided on ``BAD`` (one date)."""

    BAD: ClassVar[pd.Timestamp | None] = None

    def fit(self, returns: pd.DataFrame, *args: Any, **kwargs: Any) -> FlakyMeanVariance:
        if FlakyMeanVariance.BAD is not None and returns.index[-1] == FlakyMeanVariance.BAD:
            raise AllocationError(f"injected solver failure on {FlakyMeanVariance.BAD.date()}")
        return super().fit(returns, *args, **kwargs)


def run(
    prices: pd.DataFrame,
    *,
    cash: float = 100_000.0,
    commission: float = 0.001,
    cerebro_kwargs: dict[str, Any] | None = None,
    **params: Any,
) -> tuple[bt.Cerebro, RebalanceStrategy]:
    """Run RebalanceStrategy (defaults: HRP, lookback 60, monthly) and return (cerebro, strategy)."""
    params.setdefault("allocator", "hrp")
    params.setdefault("lookback", 60)
    cerebro = bt.Cerebro(stdstats=False, **(cerebro_kwargs or {}))
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(cash)
    cerebro.broker.setcommission(commission=commission)
    cerebro.addstrategy(RebalanceStrategy, **params)
    cerebro.addanalyzer(TearSheet, _name="ts", output=None)
    strategy = cerebro.run()[0]
    return cerebro, strategy


def order_tuples(strategy: RebalanceStrategy) -> list[tuple[Any, ...]]:
    return [
        (o.date, o.asset, o.size, o.status, o.executed_date,
         None if o.executed_date is None else round(o.executed_price, 10), round(o.commission, 10))
        for o in strategy.orders_log
    ]  # fmt: skip


def daily_values(strategy: RebalanceStrategy) -> pd.Series:
    """Portfolio value path rebuilt from the TearSheet (TimeReturn) analyzer, starting at 1."""
    returns = strategy.analyzers.ts.returns
    return (1.0 + returns).cumprod()


def catalogue_prices(n: int = 160, assets: list[str] | None = None, seed: int = 0) -> pd.DataFrame:
    """The bad-input catalogue's tiny panel: ``n`` business days from 2021-01-01 of random walks."""
    assets = ["A", "B", "C"] if assets is None else assets
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2021-01-01", periods=n, name="date")
    steps = rng.normal(0.0003, 0.01, (n, len(assets)))
    return pd.DataFrame(100 * np.exp(np.cumsum(steps, axis=0)), index=index, columns=assets)


def synthetic_prices(n_bars: int = 300, n_assets: int = 4, seed: int = 0,
                     start: str = "2019-01-01") -> pd.DataFrame:  # fmt: skip
    rng = np.random.default_rng(seed)
    index = pd.bdate_range(start, periods=n_bars, name="date")
    steps = rng.normal(0.0003, 0.012, size=(n_bars, n_assets))
    data = 50.0 * np.exp(np.cumsum(steps, axis=0))
    return pd.DataFrame(data, index=index, columns=[f"S{i}" for i in range(n_assets)])

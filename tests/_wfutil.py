"""Helpers for the walk-forward tests: tiny LSTMs on short synthetic or bundled data."""

from __future__ import annotations

from typing import Any

import backtrader as bt
import pandas as pd

from seqfolio.signals import LSTMAllocator, LSTMForecaster
from seqfolio.strategies import RebalanceStrategy, TearSheet, add_price_feeds

TINY = dict(window=10, horizon=5, hidden_size=4, max_epochs=2, batch_size=128, sample_stride=3,
            n_threads=1, random_state=0, ffd_d=None)  # fmt: skip


def tiny_forecaster(target: str = "volatility", **kw: Any) -> LSTMForecaster:
    return LSTMForecaster(target=target, **{**TINY, **kw})


def tiny_allocator(**kw: Any) -> LSTMAllocator:
    params = dict(window=10, hidden_size=4, max_epochs=2, n_threads=1, random_state=0)
    return LSTMAllocator(**{**params, **kw})


def strategy_class() -> type:
    return RebalanceStrategy


def run_wf(
    prices: pd.DataFrame,
    *,
    cerebro_kwargs: dict[str, Any] | None = None,
    strategy: type | None = None,
    **params: Any,
) -> tuple[bt.Cerebro, Any]:
    """Run a walk-forward RebalanceStrategy (lookback 40, monthly, train_window 200)."""
    params.setdefault("allocator", "hrp")
    params.setdefault("lookback", 40)
    params.setdefault("train_window", 200)
    cerebro = bt.Cerebro(stdstats=False, **(cerebro_kwargs or {}))
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(100_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(strategy or strategy_class(), **params)
    cerebro.addanalyzer(TearSheet, _name="ts", output=None)
    return cerebro, cerebro.run()[0]

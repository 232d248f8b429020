"""The vectorised evaluator against a real backtrader run of RebalanceStrategy.

Documented tolerance: with fractional shares the two agree to 1e-12 per day (the same decisions,
sizing on decision-bar closes, next-bar fills and commission); with the strategy's default whole
shares on a $1M portfolio the daily returns differ by less than 2e-4 and the final value by < 0.1 %.
"""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from seqfolio.allocators import HERC, HRP
from seqfolio.calendar import decision_dates
from seqfolio.data import load_sample
from seqfolio.research.simulation import simulate, target_weights
from seqfolio.strategies import RebalanceStrategy, add_price_feeds

START = "2015-01-01"


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_sample("2014-01-01", "2016-12-31")


def run_backtrader(prices, *, allocator, rebalance="monthly", fractional=True):
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(1_000_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(
        RebalanceStrategy, allocator=allocator, lookback=252, rebalance=rebalance,
        cash_buffer=0.01, fractional=fractional, start=START,
    )  # fmt: skip
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="returns")
    strategy = cerebro.run()[0]
    returns = pd.Series(strategy.analyzers.returns.get_analysis())
    returns.index = pd.DatetimeIndex(returns.index)
    return strategy, returns


def mondays(day) -> bool:
    """A callable schedule: rebalance on Mondays."""
    return day.weekday() == 0


SCHEDULES = ["daily", "weekly", "monthly", "quarterly", mondays]


@pytest.mark.parametrize(
    ("allocator", "rebalance"),
    [(HRP(), "monthly"), (HERC(), "weekly"), (HRP(), "daily"), (HERC(), "quarterly"),
     (HRP(), mondays)],
    ids=["hrp-monthly", "herc-weekly", "hrp-daily", "herc-quarterly", "hrp-callable"],
)  # fmt: skip
def test_evaluator_matches_backtrader_with_fractional_shares(prices, allocator, rebalance):
    strategy, engine = run_backtrader(prices, allocator=allocator, rebalance=rebalance)
    fast = simulate(
        prices,
        allocator=allocator,
        rebalance=rebalance,
        cash_buffer=0.01,
        commission=0.001,
        start=START,
    ).returns
    assert strategy.n_rejected == 0
    assert [r.date for r in strategy.records] == list(
        target_weights(prices, allocator=allocator, rebalance=rebalance, start=START).weights.index
    )
    common = fast.index.intersection(engine.index)
    assert len(common) >= 500
    np.testing.assert_allclose(fast[common], engine[common], atol=1e-12)


def test_evaluator_is_close_to_backtrader_with_whole_shares(prices):
    _, engine = run_backtrader(prices, allocator=HRP(), fractional=False)
    fast = simulate(
        prices, allocator=HRP(), cash_buffer=0.01, commission=0.001, start=START
    ).returns
    common = fast.index.intersection(engine.index)
    assert np.abs(fast[common] - engine[common]).max() < 2e-4
    growth_fast, growth_engine = (1 + fast[common]).prod(), (1 + engine[common]).prod()
    assert abs(growth_fast / growth_engine - 1) < 1e-3


@pytest.mark.parametrize("schedule", SCHEDULES, ids=str)
def test_decision_dates_match_backtrader_timers(prices, schedule):
    strategy, _ = run_backtrader(prices, allocator="ew", rebalance=schedule)
    expected = decision_dates(prices.index, schedule)
    assert strategy.timer_fires == len(expected)
    assert [r.date for r in strategy.records] == list(expected[expected >= pd.Timestamp(START)])

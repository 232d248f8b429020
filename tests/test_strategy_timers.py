"""Rebalance schedules fire the expected number of times on daily midnight-stamped bars."""

from __future__ import annotations

import backtrader as bt
import pandas as pd
import pytest

from seqfolio.data import load_sample
from seqfolio.strategies import RebalanceStrategy, add_price_feeds, add_schedule_timer, timer_kwargs


@pytest.fixture(scope="module")
def prices():
    return load_sample("2018-12-20", "2020-12-31", assets=["KO", "PG"])


def fires(prices, schedule):
    class Probe(bt.Strategy):
        def __init__(self):
            self.when = []
            add_schedule_timer(self, schedule, action="probe")

        def notify_timer(self, timer, when, *args, **kwargs):
            assert kwargs["action"] == "probe"
            self.when.append(pd.Timestamp(when))

    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, prices)
    cerebro.addstrategy(Probe)
    return cerebro.run()[0].when


def first_bars(index, freq):
    return pd.Series(index, index=index).groupby(index.to_period(freq)).first()


def test_daily(prices):
    assert fires(prices, "daily") == list(prices.index)


def test_weekly_fires_on_first_bar_of_each_week(prices):
    # Monday, or the next bar when Monday is a holiday; the data's first bar counts as its week's
    assert fires(prices, "weekly") == list(first_bars(prices.index, "W"))


def test_monthly_fires_on_first_bar_of_each_month(prices):
    when = fires(prices, "monthly")
    assert when == list(first_bars(prices.index, "M"))
    assert len(when) == 25  # Dec 2018 (first bar) + 24 months


def test_quarterly_fires_on_first_bar_of_quarter_months(prices):
    expected = [d for d in first_bars(prices.index, "M") if d.month in (1, 4, 7, 10)]
    assert fires(prices, "quarterly") == expected
    assert len(expected) == 8


def test_callable_schedule(prices):
    def wednesdays(d):
        return d.weekday() == 2

    assert fires(prices, wednesdays) == [d for d in prices.index if d.weekday() == 2]


def test_timer_uses_session_start():
    assert timer_kwargs("monthly")["when"] == bt.timer.SESSION_START


def test_strategy_counts_fires_and_rebalances(prices):
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, prices)
    cerebro.addstrategy(RebalanceStrategy, allocator="ew", lookback=20, rebalance="monthly")
    strategy = cerebro.run()[0]
    assert strategy.timer_fires == 25
    # the first two fires are in the warm-up (fewer than 21 bars of history)
    assert len(strategy.skipped) == 2 and all("warm-up" in r for _, r in strategy.skipped)
    assert len(strategy.records) == 23

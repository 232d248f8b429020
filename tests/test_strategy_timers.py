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


# -- an index feed on another calendar -----------------------------------------------------------
INDEX_MODES = [dict(), dict(runonce=False), dict(preload=False), dict(exactbars=-1),
               dict(preload=False, exactbars=-1)]  # fmt: skip


@pytest.fixture(scope="module")
def stocks():
    return load_sample("2016-01-01", "2018-12-31", assets=["AAPL", "JNJ", "KO", "XOM", "JPM"])


def _with_index(stocks):
    """An index on a business-day calendar that includes US holidays (bars on days the stocks
    do not trade, e.g. 2017-01-02 and 2018-09-03)."""
    days = pd.bdate_range(stocks.index[0], stocks.index[-1], name="date")
    level = stocks.mean(axis=1).reindex(days).ffill()
    assert len(days.difference(stocks.index)) > 20
    return level.rename("SPX").to_frame()


def _rebalancer(stocks, index=None, mode=None, **params):
    cerebro = bt.Cerebro(stdstats=False, **(mode or {}))
    add_price_feeds(cerebro, stocks)
    if index is not None:
        add_price_feeds(cerebro, index)
        cerebro.addobserver(bt.observers.Benchmark, data=cerebro.datas[-1])
    cerebro.broker.setcash(1_000_000.0)
    cerebro.broker.setcommission(commission=0.001)
    params = {"allocator": "hrp", "lookback": 60, **params}
    cerebro.addstrategy(RebalanceStrategy, feeds=list(stocks.columns), **params)
    strategy = cerebro.run()[0]
    return strategy, round(cerebro.broker.getvalue(), 2)


@pytest.mark.parametrize("mode", INDEX_MODES, ids=str)
def test_an_index_feed_on_another_calendar_leaves_the_decisions_alone(stocks, mode):
    """Before the fix the monthly timer fired on the index-only bars 2017-01-02 and 2018-09-03 and
    decided on the stocks' stale closes of 2016-12-30 and 2018-08-31 (final value off by 2,014.73
    on the issue's run)."""
    alone, alone_value = _rebalancer(stocks)
    strategy, value = _rebalancer(stocks, _with_index(stocks), mode)
    dates = [r.date for r in strategy.records]
    assert dates == [r.date for r in alone.records]
    assert pd.Timestamp("2017-01-03") in dates and pd.Timestamp("2018-09-04") in dates
    assert set(dates) <= set(stocks.index)
    assert strategy.timer_fires == alone.timer_fires
    assert value == alone_value


def test_retrain_timers_follow_the_traded_feeds_too(stocks):
    from seqfolio.signals import LSTMAllocator

    model = dict(allocator=LSTMAllocator(window=10, hidden_size=4, max_epochs=1, random_state=0), retrain="monthly",
                 train_window=120, start="2018-06-01")  # fmt: skip
    alone, alone_value = _rebalancer(stocks, **model)
    strategy, value = _rebalancer(stocks, _with_index(stocks), **model)
    retrains = list(strategy.retrainer.retrain_table().index)
    assert retrains == list(alone.retrainer.retrain_table().index)
    assert pd.Timestamp("2018-09-04") in retrains
    assert value == alone_value

"""Feeds with missing prices: late listing, early delisting, gaps; and the max_weight overlay."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from _btutil import daily_values, run, synthetic_prices

from seqfolio.strategies import cap_weights, price_feeds


@pytest.fixture(scope="module")
def ragged():
    prices = synthetic_prices(n_bars=260, n_assets=4, seed=11)
    prices.iloc[:100, 1] = np.nan  # S1 lists late (bar 100)
    prices.iloc[170:, 2] = np.nan  # S2 stops after bar 169
    prices.iloc[120:123, 3] = np.nan  # S3 has a 3-bar gap
    return prices


def test_feeds_carry_only_priced_rows(ragged):
    feeds = price_feeds(ragged)
    assert [f._name for f in feeds] == list(ragged.columns)
    for feed, column in zip(feeds, ragged.columns, strict=True):
        close = feed.p.dataname
        assert len(close) == ragged[column].notna().sum()
        assert not close.isna().any()
        pd.testing.assert_series_equal(close, ragged[column].dropna(), check_names=False)


def test_close_feed_bars_match_pandasdata(ragged):
    """ClosePriceData delivers the same bars as backtrader's own PandasData with open=high=low=close."""
    import backtrader as bt

    class Dump(bt.Strategy):
        def __init__(self):
            self.rows = []

        def next(self):
            self.rows.append(tuple((d.datetime[0], d.open[0], d.high[0], d.low[0], d.close[0])
                                   for d in self.datas))  # fmt: skip

    close = ragged["S1"].dropna()
    frame = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 0.0}
    )
    rows = []
    for feed in (
        price_feeds(ragged[["S1"]])[0],
        bt.feeds.PandasData(dataname=frame, openinterest=None),
    ):
        cerebro = bt.Cerebro(stdstats=False)
        cerebro.adddata(feed)
        cerebro.addstrategy(Dump)
        rows.append(cerebro.run()[0].rows)
    assert len(rows[0]) == len(close) and rows[0] == rows[1]


def test_feeds_reject_empty_column():
    prices = synthetic_prices(n_bars=10, n_assets=2)
    prices["S1"] = np.nan
    with pytest.raises(ValueError, match="'S1' has no prices"):
        price_feeds(prices)


@pytest.mark.parametrize("max_gap", [0, 5])
def test_late_and_early_feeds(ragged, max_gap):
    lookback = 40
    cerebro, strategy = run(
        ragged, allocator="ivp", lookback=lookback, rebalance="weekly", max_gap=max_gap,
        delisted="hold",
    )  # fmt: skip
    index = ragged.index
    listed = index[100 + lookback]  # S1 needs lookback + 1 priced bars
    last_s2 = index[169]
    for record in strategy.records:
        assert math.isclose(record.target.sum(), 1.0)
        assert not record.target.isna().any()
        assert ("S1" in record.target.index) == (record.date >= listed)
        assert ("S2" not in record.target.index) or record.date <= last_s2
        on_gap = index[120] <= record.date <= index[122]  # no bar: not tradable that day
        gap_window = index[119] < record.date <= index[122 + lookback]
        # max_gap=0: the 3-bar gap drops S3 while it is in the window; 5 bridges it
        assert ("S3" in record.target.index) == (not on_gap and not (gap_window and not max_gap))
    s1_orders = [o for o in strategy.orders_log if o.asset == "S1"]
    assert s1_orders and min(o.date for o in s1_orders) >= listed
    assert all(o.date <= last_s2 for o in strategy.orders_log if o.asset == "S2")
    # an order decided on S2's last bar cannot fill: it is cancelled, never rejected
    assert strategy.n_rejected == 0
    assert all(o.status in ("Completed", "Canceled") for o in strategy.orders_log)
    values = daily_values(strategy)
    assert np.isfinite(values.to_numpy()).all()
    assert math.isfinite(cerebro.broker.getvalue())


def test_cap_weights():
    w = pd.Series({"a": 0.7, "b": 0.2, "c": 0.1})
    capped = cap_weights(w, 0.4)
    assert capped.max() <= 0.4 + 1e-12
    assert capped.sum() == pytest.approx(1.0)
    assert capped["b"] / capped["c"] == pytest.approx(2.0)
    short = cap_weights(pd.Series({"a": 0.9, "b": 0.1}), 0.3)
    assert list(short) == [0.3, 0.3]  # the rest stays in cash


def test_max_weight_overlay_in_strategy():
    prices = synthetic_prices(n_bars=150, n_assets=4, seed=5)
    _, strategy = run(prices, allocator="hrp", lookback=40, rebalance="monthly", max_weight=0.3)
    assert strategy.records
    for record in strategy.records:
        assert record.target.max() <= 0.3 + 1e-9
        assert record.target.sum() == pytest.approx(1.0)


def test_trailing_returns_step_matches_data_trailing_returns(ragged):
    from seqfolio.data import trailing_returns
    from seqfolio.strategies import RebalanceContext, TrailingReturns

    for end in (60, 105, 150, 200, 260):
        prices = ragged.iloc[:end]
        tradable = [c for c in ragged.columns if c != "S0"]
        ctx = RebalanceContext(date=prices.index[-1], prices=prices, tradable=tradable)
        TrailingReturns(40, max_gap=0)(ctx)
        expected = trailing_returns(prices, 40)
        expected = expected[[c for c in expected.columns if c in tradable]]
        pd.testing.assert_frame_equal(ctx.returns, expected, check_exact=True, check_freq=False)

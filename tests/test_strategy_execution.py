"""Order planning and execution: sells before buys, sizing, costs on a hand-checked case."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from _btutil import run, small_prices

from seqfolio.strategies import RebalanceStrategy, add_price_feeds, plan_orders


def test_plan_orders_sells_first_and_whole_shares():
    orders = plan_orders(
        targets=pd.Series({"A": 0.2, "B": 0.8}),
        positions=pd.Series({"A": 80.0, "C": 10.0}),
        prices=pd.Series({"A": 100.0, "B": 50.0, "C": 20.0}),
        cash=1800.0, value=10_000.0, cash_buffer=0.0,
    )  # fmt: skip
    assert [(o.asset, o.size) for o in orders] == [("A", -60.0), ("C", -10.0), ("B", 160.0)]


def test_plan_orders_scales_buys_to_cash_after_sells_and_commission():
    def comm(asset, size, price):
        return abs(size) * price * 0.01

    orders = plan_orders(
        targets=pd.Series({"A": 0.5, "B": 0.5}), positions=pd.Series(dtype=float),
        prices=pd.Series({"A": 100.0, "B": 50.0}), cash=10_000.0, value=10_000.0,
        cash_buffer=0.0, commission=comm,
    )  # fmt: skip
    # 50 + 100 shares cost 10,000 + 100 commission > 10,000 cash: scaled by 10000/10100, floored
    assert [(o.asset, o.size) for o in orders] == [("A", 49.0), ("B", 99.0)]
    assert sum(o.value + comm(o.asset, o.size, o.price) for o in orders) <= 10_000.0


def test_plan_orders_min_trade_and_full_exit():
    orders = plan_orders(
        targets=pd.Series({"A": 0.505, "B": 0.495, "C": 0.0}),
        positions=pd.Series({"A": 50.0, "B": 100.0, "C": 1.0}),
        prices=pd.Series({"A": 100.0, "B": 50.0, "C": 1.0}),
        cash=0.0, value=10_001.0, cash_buffer=0.0, min_trade=0.01,
    )  # fmt: skip
    assert [(o.asset, o.size) for o in orders] == [("C", -1.0)]


def test_plan_orders_refuses_nan():
    with pytest.raises(ValueError, match="NaN"):
        plan_orders(targets=pd.Series({"A": np.nan}), positions=pd.Series(dtype=float),
                    prices=pd.Series({"A": 1.0}), cash=1.0, value=1.0)  # fmt: skip
    with pytest.raises(ValueError, match="price"):
        plan_orders(targets=pd.Series({"A": 1.0}), positions=pd.Series(dtype=float),
                    prices=pd.Series({"A": np.nan}), cash=1.0, value=1.0)  # fmt: skip


def test_sells_submitted_and_executed_before_buys():
    _, strategy = run(small_prices(), rebalance="monthly")
    executed_sequence = []

    by_date = {}
    for event in strategy.orders_log:
        by_date.setdefault(event.date, []).append(event.size)
    mixed = 0
    for sizes in by_date.values():
        signs = np.sign(sizes)
        assert list(signs) == sorted(signs), "a buy was submitted before a sell"
        mixed += (signs < 0).any() and (signs > 0).any()
        executed_sequence.append(signs)
    assert mixed >= 5  # the check is exercised on rebalances that both sell and buy
    assert strategy.n_rejected == 0


def test_sell_proceeds_fund_buys_without_margin_rejections():
    """Fully invested, a rebalance needs the sells' cash: default sizing leaves no Margin orders."""
    _, strategy = run(small_prices("2018-01-01", "2020-12-31"), rebalance="weekly")
    assert strategy.n_rejected == 0
    assert all(o.status == "Completed" for o in strategy.orders_log)
    cash_share = [1 - r.realised.sum() for r in strategy.records]
    # fully invested except the 2% buffer, share rounding and the t -> t+1 price move
    assert 0.015 < float(np.median(cash_share)) < 0.03
    assert max(cash_share) < 0.05


def test_rejected_orders_are_counted_logged_and_retried(caplog):
    """With no cash buffer, a buy sized on close t overdraws cash when prices rise at t+1."""
    prices = small_prices("2018-01-01", "2020-12-31")
    with caplog.at_level("WARNING", logger="seqfolio"):
        _, strategy = run(prices, rebalance="weekly", cash_buffer=0.0)
    rejected = [o for o in strategy.orders_log if o.status == "Margin"]
    assert strategy.n_rejected == len(rejected) >= 1
    assert sum(r.n_rejected for r in strategy.records) == strategy.n_rejected
    assert all(o.size > 0 for o in rejected)  # only buys can overdraw
    assert any("was rejected (Margin)" in m for m in caplog.messages)
    # each rejected buy is retried once, decided at t+1 (its rejection bar), filled at t+2
    index = prices.index
    retries = [o for o in strategy.orders_log if o.date not in {r.date for r in strategy.records}]
    assert sum(r.n_retried for r in strategy.records) == len(retries) >= 1
    for retry in retries:
        original = next(o for o in rejected if o.asset == retry.asset and index.get_loc(o.date) + 1
                        == index.get_loc(retry.date))  # fmt: skip
        assert 0 < retry.size <= original.size
        if retry.status == "Completed":
            assert retry.executed_date == index[index.get_loc(retry.date) + 1]

    _, no_retry = run(prices, rebalance="weekly", cash_buffer=0.0, retry_rejected=False)
    assert no_retry.n_rejected >= 1
    assert sum(r.n_retried for r in no_retry.records) == 0


def tiny_prices():
    index = pd.bdate_range("2021-03-01", periods=8, name="date")
    a = [100, 101, 102, 104, 105, 108, 120, 125]
    b = [50, 50, 51, 50, 51, 57, 56, 60]
    return pd.DataFrame({"A": a, "B": b}, index=index, dtype=float)


def run_tiny(commission):
    prices = tiny_prices()
    decision = prices.index[3]
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(10_000.0)
    cerebro.broker.setcommission(commission=commission)
    cerebro.addstrategy(
        RebalanceStrategy, allocator="ew", lookback=2, cash_buffer=0.05,
        rebalance=lambda d: d == decision.date(),
    )  # fmt: skip
    strategy = cerebro.run()[0]
    return cerebro.broker.getvalue(), strategy


def test_costs_hand_checked():
    """EW on 2 assets at bar 3 (A=104, B=50), 5% buffer: 0.5 * 9500 -> 45 A, 95 B, filled at bar 4."""
    value0, strategy0 = run_tiny(0.0)
    value1, strategy1 = run_tiny(0.01)
    for strategy in (strategy0, strategy1):
        assert [(o.asset, o.size, o.executed_price) for o in strategy.orders_log] == [
            ("A", 45.0, 105.0),
            ("B", 95.0, 51.0),
        ]
    # no commission: 10000 - 45*110 - 95*55 cash + 45*125 + 95*60 at the last close
    assert value0 == pytest.approx(10_000 - 45 * 105 - 95 * 51 + 45 * 125 + 95 * 60)
    commission = 0.01 * (45 * 105 + 95 * 51)
    assert strategy1.records[0].costs == pytest.approx(commission)
    assert value0 - value1 == pytest.approx(commission)
    record = strategy1.records[0]
    assert record.turnover == pytest.approx((45 * 105 + 95 * 51) / 10_000)
    assert record.fill_date == tiny_prices().index[4]
    assert record.realised["A"] == pytest.approx(45 * 105 / (10_000 - commission))

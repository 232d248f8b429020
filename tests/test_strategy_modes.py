"""The same backtest under every backtrader run mode gives identical orders and final value."""

from __future__ import annotations

import itertools

import pytest
from _btutil import order_tuples, run, small_prices, synthetic_prices

MODES = [
    dict(runonce=r, preload=p, exactbars=e)
    for r, p in itertools.product([True, False], repeat=2)
    for e in (0, -1)
] + [dict(exactbars=1)]


@pytest.fixture(scope="module")
def prices():
    return small_prices("2019-01-01", "2020-06-30")


@pytest.fixture(scope="module")
def reference(prices):
    cerebro, strategy = run(prices, rebalance="monthly")
    return order_tuples(strategy), cerebro.broker.getvalue(), strategy


def test_reference_run_trades(reference):
    orders, value, strategy = reference
    assert len(strategy.records) >= 10
    assert len(orders) > 50
    assert strategy.n_rejected == 0
    assert all(o[3] == "Completed" for o in orders)
    assert value != pytest.approx(100_000.0)


@pytest.mark.parametrize("mode", MODES, ids=lambda m: ",".join(f"{k}={v}" for k, v in m.items()))
def test_identical_under_run_modes(prices, reference, mode):
    orders, value, _ = reference
    cerebro, strategy = run(prices, rebalance="monthly", cerebro_kwargs=mode)
    assert order_tuples(strategy) == orders
    assert cerebro.broker.getvalue() == pytest.approx(value, rel=0, abs=1e-6)


@pytest.mark.parametrize("runonce,preload", list(itertools.product([True, False], repeat=2)))
def test_identical_with_late_and_early_feeds(runonce, preload):
    prices = synthetic_prices(n_bars=260, n_assets=4, seed=3)
    prices.iloc[:90, 1] = float("nan")  # S1 lists late
    prices.iloc[180:, 2] = float("nan")  # S2 is delisted early
    ref_cerebro, ref = run(prices, allocator="ivp", lookback=40, rebalance="weekly")
    cerebro, strategy = run(
        prices, allocator="ivp", lookback=40, rebalance="weekly",
        cerebro_kwargs=dict(runonce=runonce, preload=preload, exactbars=-1),
    )  # fmt: skip
    assert order_tuples(strategy) == order_tuples(ref)
    assert cerebro.broker.getvalue() == pytest.approx(ref_cerebro.broker.getvalue(), abs=1e-6)

"""Look-ahead trap: perturbing every price after a date D changes nothing decided or valued up to D."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _btutil import daily_values, run, small_prices

D = pd.Timestamp("2019-11-01")  # a monthly rebalance date (first bar of November 2019)


def perturb(prices: pd.DataFrame, mask: np.ndarray, seed: int = 7) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    factors = np.exp(rng.normal(0.0, 0.05, size=prices.shape).cumsum(axis=0))
    out = prices.copy()
    out.iloc[mask] = prices.to_numpy()[mask] * factors[mask]
    return out


def decided_upto(strategy, date):
    orders = [(o.date, o.asset, o.size) for o in strategy.orders_log if o.date <= date]
    fills = [
        (o.asset, o.executed_date, o.executed_price, o.commission)
        for o in strategy.orders_log
        if o.executed_date is not None and o.executed_date <= date
    ]
    targets = {r.date: r.target for r in strategy.records if r.date <= date}
    return orders, fills, targets


@pytest.fixture(scope="module")
def prices():
    return small_prices("2018-06-01", "2020-06-30")


@pytest.mark.parametrize(
    "rebalance,D", [("monthly", D), ("weekly", pd.Timestamp("2019-11-04")), ("daily", D)]
)
def test_nothing_up_to_d_changes(prices, rebalance, D):  # noqa: N803
    _, base = run(prices, rebalance=rebalance)
    after = np.asarray(prices.index > D)
    _, moved = run(perturb(prices, after), rebalance=rebalance)

    orders, fills, targets = decided_upto(base, D)
    orders2, fills2, targets2 = decided_upto(moved, D)
    assert D in targets, "D must be a rebalance date for the trap to bite"
    assert orders and orders == orders2  # including the orders decided at D itself
    assert fills == fills2
    assert targets.keys() == targets2.keys()
    for date, weights in targets.items():
        pd.testing.assert_series_equal(weights, targets2[date])
    values, values2 = daily_values(base), daily_values(moved)
    pd.testing.assert_series_equal(values.loc[:D], values2.loc[:D])
    # ... and the perturbation does change the rest of the run (the test has teeth):
    assert not np.allclose(values.loc[D:].to_numpy()[1:], values2.loc[D:].to_numpy()[1:])


def test_perturbing_bar_d_itself_changes_the_decision_at_d(prices):
    """Control: the decision at D does read bar D's close, so including D in the perturbation bites."""
    _, base = run(prices, rebalance="monthly")
    from_d = np.asarray(prices.index >= D)
    _, moved = run(perturb(prices, from_d), rebalance="monthly")
    target = {r.date: r.target for r in base.records}[D]
    target2 = {r.date: r.target for r in moved.records}[D]
    assert not np.allclose(target.to_numpy(), target2.to_numpy())


def test_orders_fill_on_the_next_bar_at_its_price(prices):
    _, strategy = run(prices, rebalance="monthly")
    index = prices.index
    for o in strategy.orders_log:
        assert o.status == "Completed"
        position = index.get_loc(o.date)
        assert o.executed_date == index[position + 1]
        assert o.executed_price == pytest.approx(prices.loc[index[position + 1], o.asset])

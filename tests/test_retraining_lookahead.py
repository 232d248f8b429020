"""The look-ahead trap over the whole LSTM pipeline.

Every price after a decision day D is perturbed; nothing decided or realised up to D may change: the
retrained models' forecasts, the target weights, the orders (dates, assets, sizes), the fills up to D
and the daily returns up to D.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _btutil import small_prices
from _wfutil import run_wf, tiny_allocator, tiny_forecaster


def _perturb_after(prices: pd.DataFrame, day: pd.Timestamp, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    out = prices.copy()
    after = out.index > day
    shocks = np.exp(np.cumsum(rng.normal(0.0, 0.03, size=(after.sum(), out.shape[1])), axis=0))
    out.loc[after] = out.loc[after].to_numpy() * shocks
    return out


def _upto(strat, day: pd.Timestamp) -> dict:  # type: ignore[no-untyped-def]
    orders = [
        (o.date, o.asset, o.size, o.executed_date if o.executed_date and o.executed_date <= day else None,
         o.executed_price if o.executed_date and o.executed_date <= day else None)
        for o in strat.orders_log if o.date <= day
    ]  # fmt: skip
    targets = {r.date: r.target for r in strat.records if r.date <= day}
    forecasts = {}
    if strat.forecast_step is not None:
        forecasts = {d: f for d, f in strat.forecast_step.forecasts.items() if d <= day}
    retrains = [(r.date, r.n_bars) for r in strat.retrainer.history if r.date <= day]
    returns = strat.analyzers.ts.returns.loc[:day]
    return dict(orders=orders, targets=targets, forecasts=forecasts, retrains=retrains,
                returns=returns)  # fmt: skip


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(signal=tiny_forecaster("volatility")),
        dict(signal=tiny_forecaster("regime"), exposure_threshold=0.0),
        dict(signal=tiny_forecaster("return"), allocator="mvo"),
        dict(allocator=tiny_allocator()),
    ],
    ids=["vol-hrp", "regime-overlay", "return-mvo", "lstm-weights"],
)
def test_perturbing_the_future_changes_nothing_up_to_d(kwargs: dict) -> None:
    prices = small_prices("2018-01-01", "2020-06-30")
    day = pd.Timestamp("2019-10-01")  # a quarterly retrain and a monthly rebalance
    assert day in prices.index
    params = dict(start="2019-01-01", retrain="monthly", **kwargs)
    _, base = run_wf(prices, **params)
    _, shocked = run_wf(_perturb_after(prices, day), **params)
    a, b = _upto(base, day), _upto(shocked, day)
    assert a["retrains"] == b["retrains"] and len(a["retrains"]) == 10
    assert a["orders"] == b["orders"] and a["orders"]
    assert a["targets"].keys() == b["targets"].keys()
    for date in a["targets"]:
        pd.testing.assert_series_equal(a["targets"][date], b["targets"][date])
    assert a["forecasts"].keys() == b["forecasts"].keys()
    for date in a["forecasts"]:
        pd.testing.assert_series_equal(a["forecasts"][date], b["forecasts"][date])
    pd.testing.assert_series_equal(a["returns"], b["returns"])
    # the trap is live: after D things do change
    assert (
        not base.analyzers.ts.returns.loc[day:]
        .iloc[2:]
        .equals(shocked.analyzers.ts.returns.loc[day:].iloc[2:])
    )

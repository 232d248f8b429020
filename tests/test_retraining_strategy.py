"""RebalanceStrategy with a walk-forward LSTM: schedule, bootstrap, validation, conversions, modes."""

from __future__ import annotations

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from _btutil import order_tuples, small_prices, synthetic_prices
from _wfutil import run_wf, strategy_class, tiny_allocator, tiny_forecaster

from seqfolio.calendar import count_decisions
from seqfolio.signals import LSTMAllocator
from seqfolio.strategies import add_price_feeds


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return small_prices("2018-01-01", "2020-06-30")


def test_retrains_on_schedule_only(prices: pd.DataFrame) -> None:
    _, strat = run_wf(prices, signal=tiny_forecaster(), start="2019-01-01", retrain="quarterly")
    wf = strat.retrainer
    dates = [r.date for r in wf.history]
    # first bar of each quarter from 2019-01 to 2020-04: 6 retrains, none bootstrapped
    assert [d.strftime("%Y-%m") for d in dates] == [
        "2019-01", "2019-04", "2019-07", "2019-10", "2020-01", "2020-04"
    ]  # fmt: skip
    assert all(r.trigger == "schedule" and r.n_bars == 200 for r in wf.history)
    assert all(r.first_bar < r.date for r in wf.history)
    assert len(strat.records) == 18 and not strat.skipped  # monthly rebalances all traded
    calendar = prices.index[prices.index >= "2019-01-01"]
    assert count_decisions(calendar, "quarterly") == 6
    assert count_decisions(calendar, "monthly") == 18
    assert strat.analyzers.ts.returns.name == "LSTM-vol → HRP monthly"


def test_bootstrap_when_start_is_mid_quarter(prices: pd.DataFrame) -> None:
    _, strat = run_wf(prices, signal=tiny_forecaster(), start="2019-02-15", retrain="quarterly")
    triggers = [(r.date.strftime("%Y-%m-%d"), r.trigger) for r in strat.retrainer.history]
    assert triggers[0] == ("2019-03-01", "bootstrap")  # first rebalance on or after start
    assert [t for _, t in triggers[1:]] == ["schedule"] * 5


def test_rebalances_before_first_training_are_skipped(prices: pd.DataFrame) -> None:
    # 300 bars of training data are not available before mid-2019
    _, strat = run_wf(prices, signal=tiny_forecaster(), train_window=400, retrain="monthly")
    wf = strat.retrainer
    assert wf.failures and "train_window needs 400" in wf.failures[0][1]
    no_model = [d for d, r in strat.skipped if "no trained model yet" in r]
    assert len(no_model) >= 5  # after the lookback warm-up, until 400 bars exist
    first = wf.history[0].date
    assert all(d < first for d in no_model)
    # trained at the first monthly retrain with 400 bars of history
    months = prices.index.year * 12 + prices.index.month
    month_starts = prices.index[np.r_[True, months[1:] != months[:-1]]]
    assert first == month_starts[month_starts >= prices.index[399]][0]
    assert strat.records and strat.records[0].date >= first


def test_expanding_window_and_warm_start(prices: pd.DataFrame) -> None:
    _, strat = run_wf(prices, signal=tiny_forecaster(), start="2019-01-01",
                      train_window="expanding", warm_start=True)  # fmt: skip
    history = strat.retrainer.history
    sizes = [r.n_bars for r in history]
    assert sizes == sorted(sizes) and sizes[0] == len(prices.loc[: history[0].date])
    assert len({id(r) for r in history}) == len(history)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(signal=tiny_forecaster("volatility")),
        dict(signal=tiny_forecaster("regime")),
        dict(signal=tiny_forecaster("drawdown")),
        dict(signal=tiny_forecaster("correlation")),
        dict(signal=tiny_forecaster("return"), allocator="mvo"),
        dict(allocator=tiny_allocator()),
    ],
    ids=["vol", "regime", "drawdown", "corr", "return", "weights"],
)
def test_every_signal_trades(prices: pd.DataFrame, kwargs: dict) -> None:
    _, strat = run_wf(prices.loc["2018-06-01":], start="2019-06-01", **kwargs)
    assert strat.retrainer.version >= 2
    assert len(strat.records) >= 10 and not strat.skipped
    target = getattr(kwargs.get("signal"), "target", None)
    for record in strat.records:
        total = record.target.sum()
        if target in ("regime", "drawdown"):
            assert 0.25 - 1e-12 <= total <= 1 + 1e-12
        else:
            assert total == pytest.approx(1.0)
    if strat.forecast_step is not None:
        assert set(strat.forecast_step.forecasts) == {r.date for r in strat.records}


def test_regime_overlay_scales_exposure(prices: pd.DataFrame) -> None:
    # threshold 0 and floor 0.5: any stress probability cuts exposure below one
    _, strat = run_wf(prices.loc["2018-06-01":], start="2019-06-01",
                      signal=tiny_forecaster("regime"), exposure_threshold=0.0,
                      exposure_floor=0.5)  # fmt: skip
    totals = [r.target.sum() for r in strat.records]
    assert all(0.5 <= t < 1.0 for t in totals)


def test_allocator_model_retrains_on_schedule_not_at_rebalances(prices: pd.DataFrame) -> None:
    fits = []
    original = LSTMAllocator.fit

    def counting_fit(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        fits.append(1)
        return original(self, *args, **kwargs)

    LSTMAllocator.fit = counting_fit  # type: ignore[method-assign]
    try:
        _, strat = run_wf(prices, allocator=tiny_allocator(), start="2019-01-01")
    finally:
        LSTMAllocator.fit = original  # type: ignore[method-assign]
    assert len(fits) == strat.retrainer.version == 6
    assert len(strat.records) == 18


@pytest.mark.parametrize(
    "params,error,match",
    [
        (
            dict(signal=tiny_forecaster(), retrain="montly"),
            ValueError,
            r"The 'retrain' parameter of RebalanceStrategy must be one of \['daily', 'weekly', "
            r"'monthly', 'quarterly'\] or a callable date -> bool. Got 'montly' instead.",
        ),
        (
            dict(signal=tiny_forecaster(), train_window="rolling"),
            ValueError,
            "The 'train_window' parameter of RebalanceStrategy must be an int >= 2",
        ),
        (dict(train_window=1), ValueError, "'train_window' parameter"),
        (dict(signal=tiny_forecaster(), warm_start="yes"), ValueError, "'warm_start' parameter"),
        (dict(signal=tiny_allocator()), TypeError, "pass it as allocator= instead"),
        (dict(signal=object()), TypeError, "'signal' parameter of RebalanceStrategy"),
        (
            dict(signal=tiny_forecaster(), allocator=tiny_allocator()),
            ValueError,
            "cannot be combined",
        ),
    ],  # fmt: skip
)
def test_validation_messages(params: dict, error: type, match: str) -> None:
    cerebro = bt.Cerebro()
    add_price_feeds(cerebro, synthetic_prices(n_bars=30, n_assets=2))
    cerebro.addstrategy(strategy_class(), **params)
    with pytest.raises(error, match=match):
        cerebro.run()


def test_same_seed_same_orders(prices: pd.DataFrame) -> None:
    runs = [
        run_wf(prices, signal=tiny_forecaster(random_state=7), start="2019-06-01")[1]
        for _ in range(2)
    ]
    assert order_tuples(runs[0]) == order_tuples(runs[1])
    other = run_wf(prices, signal=tiny_forecaster(random_state=8), start="2019-06-01")[1]
    forecasts = [pd.DataFrame(s.forecast_step.forecasts).T for s in (runs[0], other)]
    assert not np.allclose(forecasts[0].to_numpy(), forecasts[1].to_numpy())


MODES = [(True, True), (True, False), (False, True), (False, False)]


@pytest.mark.parametrize(
    "kwargs", [dict(signal=tiny_forecaster("volatility")), dict(allocator=tiny_allocator())],
    ids=["vol", "weights"],
)  # fmt: skip
def test_identical_under_runonce_and_preload(prices: pd.DataFrame, kwargs: dict) -> None:
    results = []
    for runonce, preload in MODES:
        cerebro, strat = run_wf(prices, start="2019-01-01",
                                cerebro_kwargs=dict(runonce=runonce, preload=preload), **kwargs)  # fmt: skip
        results.append((order_tuples(strat), strat.analyzers.ts.returns,
                        [r.date for r in strat.retrainer.history], cerebro.broker.getvalue()))  # fmt: skip
    for other in results[1:]:
        assert other[0] == results[0][0]
        pd.testing.assert_series_equal(other[1], results[0][1])
        assert other[2] == results[0][2] and other[3] == results[0][3]


def test_progress_bar_counts_retrains(prices: pd.DataFrame) -> None:
    _, strat = run_wf(prices, signal=tiny_forecaster(), start="2019-01-01", progress=True)
    bar = strat.retrainer._bar
    assert bar.total == 6 and bar.n == strat.retrainer.version == 6

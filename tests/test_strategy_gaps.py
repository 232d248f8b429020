"""Gaps in a feed: bridged wherever they fall in a lookback window, or an ``excluded`` event.

A gap of at most ``max_gap`` bars is bridged from the close before it, also when it falls on the
window's first rows (the close before the window is kept for that); a longer gap leaves the asset out
of the decision and says so in the events. Engine (every run mode) and research decide alike.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest
from _btutil import synthetic_prices

from seqfolio.backtest import run_backtest
from seqfolio.data import load_sample
from seqfolio.events import events_summary
from seqfolio.pipeline import RebalanceContext, TrailingReturns, bridge_gaps, history_length
from seqfolio.research.simulation import target_weights
from seqfolio.spec import RebalanceSpec

MODES = [
    dict(runonce=r, preload=p, exactbars=e)
    for r, p in itertools.product([True, False], repeat=2)
    for e in (0, -1)
]
MODE_IDS = [",".join(f"{k}={v}" for k, v in m.items()) for m in MODES]
DECISION = pd.Timestamp("2019-10-01")


@pytest.fixture(scope="module")
def issue_prices() -> pd.DataFrame:
    """The issue's scenario: KO blank on the row 126 bars before 2019-10-01, the first row of that
    rebalance's 126-return window."""
    prices = load_sample("2016-01-01", "2020-06-30", assets=["AAPL", "JNJ", "KO", "XOM", "JPM"])
    blank = prices.index[prices.index.get_loc(DECISION) - 126]
    gapped = prices.copy()
    gapped.loc[blank, "KO"] = np.nan
    return gapped


@pytest.fixture(scope="module")
def issue_runs(issue_prices):
    return {
        ident: run_backtest(issue_prices, allocator="hrp", lookback=126, cerebro_kwargs=mode)
        for ident, mode in zip(MODE_IDS, MODES, strict=True)
    }


def test_a_blank_first_row_of_the_window_keeps_the_asset(issue_prices, issue_runs):
    """Before the fix KO's target went 0.304 -> 0.0 -> 0.334 and KO was sold and bought back."""
    clean = run_backtest(load_sample("2016-01-01", "2020-06-30", assets=list(issue_prices.columns)),
                         allocator="hrp", lookback=126)  # fmt: skip
    for result in issue_runs.values():
        ko = result.target["KO"]
        assert ko[DECISION] == pytest.approx(clean.target.loc[DECISION, "KO"], abs=0.01)
        assert ko[DECISION] > 0.25
        sizes = [o.size for o in result.orders if o.asset == "KO" and o.date == DECISION]
        assert sizes and abs(sizes[0]) < 1000  # a small adjustment, not a sale of ~7,600 shares
        assert not (result.events()["kind"] == "excluded").any()


def test_every_run_mode_gives_the_same_orders(issue_runs):
    orders = {
        k: [(o.date, o.asset, o.size, o.executed_price) for o in r.orders]
        for k, r in issue_runs.items()
    }
    values = {k: round(r.final_value, 6) for k, r in issue_runs.items()}
    first = MODE_IDS[0]
    assert all(o == orders[first] for o in orders.values())
    assert len(set(values.values())) == 1


def test_research_decides_exactly_like_the_engine(issue_prices, issue_runs):
    engine = issue_runs[MODE_IDS[0]].target.reindex(columns=issue_prices.columns).fillna(0.0)
    fast = target_weights(issue_prices, allocator="hrp", lookback=126).weights
    pd.testing.assert_frame_equal(fast, engine, check_names=False, check_freq=False)


@pytest.mark.parametrize("position", range(0, 21))
def test_a_short_gap_is_bridged_at_every_position_of_the_window(position):
    """One to ``max_gap`` blank bars anywhere in a 20-return window: the asset is kept and its
    return over the gap is the multi-day return (the close before the gap carried over it)."""
    lookback, max_gap = 20, 3
    prices = synthetic_prices(n_bars=lookback + 1 + max_gap, n_assets=3)  # the history kept
    start = len(prices) - (lookback + 1)  # the window's first row
    for width in range(1, max_gap + 1):
        if start + position + width > len(prices) - 1:
            continue  # the gap would reach the decision bar: not tradable, not a gap
        gapped = prices.copy()
        rows = gapped.index[start + position : start + position + width]
        gapped.loc[rows, "S1"] = np.nan
        ctx = RebalanceContext(prices[-1:].index[0], gapped, list(gapped.columns))
        TrailingReturns(lookback, max_gap)(ctx)
        assert list(ctx.returns.columns) == ["S0", "S1", "S2"], (position, width)
        carried = gapped["S1"].ffill()
        np.testing.assert_array_equal(ctx.returns["S1"], (carried / carried.shift() - 1).iloc[-20:])
        assert not ctx.events


def test_the_history_kept_reaches_max_gap_bars_before_the_window():
    assert history_length(RebalanceSpec(lookback=126, max_gap=5)) == 132
    assert history_length(RebalanceSpec(lookback=126, max_gap=0)) == 127


def test_bridge_gaps_leaves_unlisted_ended_and_long_runs():
    nan = np.nan
    values = np.array([
        [nan, 1.0, 1.0, 1.0],
        [nan, nan, 2.0, nan],
        [3.0, nan, nan, nan],
        [4.0, 4.0, nan, nan],
        [5.0, 5.0, 5.0, nan],
        [nan, 6.0, 6.0, 6.0],
    ])  # fmt: skip
    out, bridged = bridge_gaps(values, max_gap=2)
    np.testing.assert_array_equal(out[:, 0], values[:, 0])  # not listed yet / no bar now: kept NaN
    np.testing.assert_array_equal(out[:, 1], [1, 1, 1, 4, 5, 6])  # a 2-bar gap: bridged
    np.testing.assert_array_equal(out[:, 2], [1, 2, 2, 2, 5, 6])  # likewise
    np.testing.assert_array_equal(out[:, 3], values[:, 3])  # 4 bars: longer than max_gap
    assert bridged.tolist() == [False, True, True, False]


@pytest.fixture(scope="module")
def long_gap_prices() -> pd.DataFrame:
    """S1: a 10-bar gap (longer than max_gap=2); S2: lists on bar 60 (a late listing)."""
    prices = synthetic_prices(n_bars=160, n_assets=4, seed=7)
    prices.iloc[80:90, 1] = np.nan
    prices.iloc[:60, 2] = np.nan
    return prices


def _expected_exclusions(prices: pd.DataFrame, lookback: int, max_gap: int) -> list[pd.Timestamp]:
    """Daily decisions whose window meets S1's gap while S1 has a bar: worked out by hand."""
    out = []
    for stop in range(lookback + 1, len(prices) + 1):
        window = prices["S1"].iloc[stop - lookback - 1 : stop]
        if np.isfinite(window.iloc[-1]) and window.isna().any():
            out.append(prices.index[stop - 1])
    return out


@pytest.mark.parametrize("mode", MODES, ids=MODE_IDS)
def test_a_long_gap_is_an_excluded_event_and_a_late_listing_is_not(long_gap_prices, mode):
    lookback, max_gap = 20, 2
    result = run_backtest(
        long_gap_prices, allocator="ivp", lookback=lookback, rebalance="daily",
        cerebro_kwargs=mode, strategy_kwargs={"max_gap": max_gap},
    )  # fmt: skip
    events = result.events()
    excluded = events[events["kind"] == "excluded"]
    expected = _expected_exclusions(long_gap_prices, lookback, max_gap)
    assert len(expected) == 20
    assert list(excluded["date"]) == expected
    assert all(r.startswith("S1: no close on ") for r in excluded["reason"])
    assert all("a gap longer than max_gap=2: left out of this decision" in r
               for r in excluded["reason"])  # fmt: skip
    first = long_gap_prices.index[80].date()
    assert (
        f"no close on 10 bars ({first} .. {long_gap_prices.index[89].date()})"
        in (excluded["reason"].iloc[0])
    )
    # the history kept starts 23 bars back: on the last decisions the gap began before it
    assert "bars or more (the gap began before" in excluded["reason"].iloc[-1]
    assert result.target.reindex(columns=["S1"]).loc[expected, "S1"].fillna(0.0).eq(0.0).all()
    research = target_weights(long_gap_prices, allocator="ivp", lookback=lookback,
                              rebalance="daily", max_gap=max_gap)  # fmt: skip
    assert [(e.date, e.kind, e.reason) for e in research.events if e.kind == "excluded"] == [
        (d, k, r) for d, k, r in excluded.itertuples(index=False)
    ]
    assert "S1 left out of 20 rebalances for a long gap" in events_summary(result.event_log)


# -- the LSTM paths: the model's window sees the bridged closes too ----------------------------
TINY = dict(window=10, horizon=5, hidden_size=4, max_epochs=2, sample_stride=3, ffd=False)
TINY_WEIGHTS = dict(window=10, hidden_size=4, max_epochs=2)
LSTM_RUN = dict(lookback=40, rebalance="monthly", start="2014-02-01", retrain="quarterly",
                train_window=200)  # fmt: skip


@pytest.fixture(scope="module")
def lstm_prices() -> tuple[pd.DataFrame, pd.Timestamp]:
    """One blank day for the second asset, 10 bars before a rebalance (inside every model window)."""
    prices = load_sample("2013-01-01", "2015-12-31").iloc[:, :4]
    decision = pd.Timestamp("2015-03-02")
    gapped = prices.copy()
    gapped.iloc[prices.index.get_loc(decision) - 10, 1] = np.nan
    return gapped, decision


@pytest.mark.parametrize("weights_model", [True, False], ids=["lstm-weights", "lstm-vol>hrp"])
def test_a_model_window_with_a_short_gap_keeps_the_asset(lstm_prices, weights_model):
    from seqfolio.research.config import PortfolioConfig

    prices, decision = lstm_prices
    asset = prices.columns[1]
    config = (
        PortfolioConfig("lstm-weights", lookback=40, model=TINY_WEIGHTS)
        if weights_model
        else PortfolioConfig("hrp", lookback=40, signal="lstm-vol", model=TINY)
    )
    model = config.make_model()
    engine_kwargs = dict(
        allocator=model if weights_model else "hrp", signal=None if weights_model else model,
        **LSTM_RUN,
    )  # fmt: skip
    engine = run_backtest(prices, **engine_kwargs)
    assert engine.target.loc[decision, asset] > 0  # before the fix: 0 (lstm-weights)
    if not weights_model:  # the forecast for the asset is the model's, not the trailing fill-in
        assert np.isfinite(engine.forecasts.loc[decision, asset])
    fast = target_weights(prices, allocator="hrp", model=model, **LSTM_RUN)
    expected = engine.target.reindex(columns=prices.columns).fillna(0.0)
    pd.testing.assert_frame_equal(fast.weights, expected, check_names=False, check_freq=False)
    if weights_model:
        live = run_backtest(
            prices, **engine_kwargs, cerebro_kwargs=dict(preload=False, runonce=False, exactbars=-1)
        )
        pd.testing.assert_frame_equal(live.target, engine.target)

"""Assets with no price inside the period (listing after it, delisted before it) are left out with an
INFO line by the feeds, ``run_backtest``, research walk-forwards and tuning; a column with no price at
all is still an error naming it (issue 15, item 4)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

from seqfolio.backtest import run_backtest
from seqfolio.data import assets_priced_in
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.tuning import SearchSpace, tune
from seqfolio.research.walkforward import walk_forward
from seqfolio.strategies import price_feeds


def universe(n_bars: int = 500, seed: int = 0) -> pd.DataFrame:
    """Four assets trading throughout, 'LATE' listing at bar 400, 'GONE' delisted at bar 100."""
    rng = np.random.default_rng(seed)
    columns = ["A", "B", "C", "D", "LATE", "GONE"]
    steps = rng.normal(0.0003, 0.01, (n_bars, len(columns)))
    prices = pd.DataFrame(
        100 * np.exp(np.cumsum(steps, axis=0)),
        index=pd.bdate_range("2020-01-01", periods=n_bars, name="date"),
        columns=columns,
    )
    prices.iloc[:400, 4] = np.nan
    prices.iloc[100:, 5] = np.nan
    return prices


def _left_out(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if "are left out" in r.getMessage()]


def test_assets_priced_in_leaves_out_and_names_them(caplog: pytest.LogCaptureFixture) -> None:
    prices = universe()
    caplog.set_level(logging.INFO, logger="seqfolio.data")
    kept = assets_priced_in(prices, prices.index[150], prices.index[350], owner="me")
    assert list(kept.columns) == ["A", "B", "C", "D"]
    (line,) = _left_out(caplog)
    assert line.startswith("me: 2 asset(s) with no price from 2020-07-29 to 2021-05-05")
    assert "LATE (priced 2021-07-14 to 2021-11-30)" in line
    assert "GONE (priced 2020-01-01 to 2020-05-19)" in line
    assert assets_priced_in(prices, owner="me") is prices  # every asset priced somewhere: kept
    assert list(assets_priced_in(prices, prices.index[450], owner="me").columns) == [
        "A", "B", "C", "D", "LATE"
    ]  # fmt: skip


def test_no_price_at_all_or_nobody_priced_is_an_error() -> None:
    prices = universe()
    prices["EMPTY"] = np.nan
    with pytest.raises(ValueError, match=r"me: column 'EMPTY' has no prices at all; drop it"):
        assets_priced_in(prices, prices.index[150], owner="me")
    prices = universe().iloc[:, 4:]  # LATE and GONE only: nobody between bars 150 and 350
    with pytest.raises(ValueError, match=r"me: no asset has a price from 2020-07-29 to 2021-05-05"):
        assets_priced_in(prices, prices.index[150], prices.index[350], owner="me")


def test_price_feeds_leave_out_assets_outside_the_period(caplog):  # type: ignore[no-untyped-def]
    prices = universe()
    caplog.set_level(logging.INFO, logger="seqfolio.data")
    feeds = price_feeds(prices, start=prices.index[150], end=prices.index[350])
    assert [f._name for f in feeds] == ["A", "B", "C", "D"]
    assert "price_feeds: 2 asset(s)" in _left_out(caplog)[0]
    with pytest.raises(
        ValueError, match=r"columns \['LATE', 'GONE'\] have no prices at all; drop them"
    ):
        price_feeds(prices.iloc[150:350])  # what the frame holds is the period: a data error


def test_run_backtest_leaves_out_assets_outside_the_run(caplog):  # type: ignore[no-untyped-def]
    prices = universe()
    caplog.set_level(logging.INFO, logger="seqfolio.data")
    start, end = prices.index[200], prices.index[350]
    result = run_backtest(prices, lookback=60, start=start, end=end, tearsheet=None)
    assert "run_backtest: 2 asset(s) with no price from" in _left_out(caplog)[0]
    alone = run_backtest(
        prices[["A", "B", "C", "D"]], lookback=60, start=start, end=end, tearsheet=None
    )
    pd.testing.assert_series_equal(result.returns, alone.returns)
    assert set(result.weights.columns) <= {"A", "B", "C", "D"}


def test_research_walk_forward_and_tune_leave_out_assets_outside(caplog):  # type: ignore[no-untyped-def]
    prices = universe()
    caplog.set_level(logging.INFO, logger="seqfolio.data")
    config = PortfolioConfig("hrp", lookback=60)
    report = walk_forward(prices, [config], train=100, test=100, start=prices.index[150],
                          end=prices.index[380])  # fmt: skip
    assert "walk_forward: 2 asset(s) with no price from 2020-07-29 to 2021-06-16" in caplog.text
    alone = walk_forward(prices[["A", "B", "C", "D"]], [config], train=100, test=100,
                         start=prices.index[150], end=prices.index[380])  # fmt: skip
    pd.testing.assert_series_equal(report.returns[config.label], alone.returns[config.label])
    caplog.clear()
    space = SearchSpace(allocators=("ew",), lookback=(60, 60, 60), rebalance=("monthly",),
                        max_weight=(None,))  # fmt: skip
    tuned = tune(
        prices.drop(columns="GONE").iloc[150:],
        n_trials=1,
        holdout=0.3,
        train=100,
        test=80,
        space=space,
    )
    assert "tune: 1 asset(s) with no price" in caplog.text and "LATE (priced" in caplog.text
    assert tuned.holdout is not None and len(tuned.holdout.returns[tuned.best.label])


def test_tune_hold_out_leaves_out_an_asset_delisted_before_it(caplog):  # type: ignore[no-untyped-def]
    """The hold-out's walk-forward starts after 'GONE' ended: it is left out, not an error (found
    with the 500-asset universe: 'walk_forward: columns [...] have no prices at all')."""
    prices = universe()
    space = SearchSpace(allocators=("ew",), lookback=(60, 60, 60), rebalance=("monthly",),
                        max_weight=(None,))  # fmt: skip
    caplog.set_level(logging.INFO, logger="seqfolio.data")
    tuned = tune(prices.drop(columns="LATE"), n_trials=1, holdout=0.3, train=100, test=80,
                 space=space)  # fmt: skip
    assert tuned.holdout is not None and len(tuned.holdout.returns[tuned.best.label])
    assert "GONE (priced" in caplog.text


def test_cli_walkforward_leaves_out_an_asset_delisted_before_start(tmp_path, capsys):  # type: ignore[no-untyped-def]
    from seqfolio.cli import main

    data = tmp_path / "u.csv"
    universe().drop(columns="LATE").to_csv(data)
    out = tmp_path / "wf"
    code = main(["walkforward", "--data", str(data), "--allocators", "hrp,ew", "--lookback", "60",
                 "--train", "100", "--test", "100", "--start", "2020-07-01", "--end", "2021-12-31",
                 "--out", str(out)])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 0, err
    assert "seqfolio: note: seqfolio: 1 asset(s) with no price" in err and "GONE (priced" in err
    assert (out / "summary.csv").is_file()

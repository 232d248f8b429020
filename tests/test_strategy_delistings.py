"""A feed that ends (its asset delisted) is told from a gap on every feed class and run mode, and the
``delisted`` event says what happened to the position.
"""

from __future__ import annotations

import backtrader as bt
import pandas as pd
import pytest
from _btutil import small_prices

from seqfolio.strategies import RebalanceStrategy, add_price_feeds

LAST = pd.Timestamp("2019-06-14")  # XOM's last close


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    out = small_prices("2018-06-01", "2020-06-30")
    out.loc[LAST + pd.Timedelta(days=1) :, "XOM"] = float("nan")
    return out


def _ohlc(close: pd.Series) -> pd.DataFrame:
    """The rows a user's own feed holds: only the priced ones, open = close."""
    close = close.dropna()
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close,
                         "volume": 0.0}, index=close.index)  # fmt: skip


def _feed(form: str, close: pd.Series, tmp_path) -> bt.AbstractDataBase:
    frame = _ohlc(close)
    if form == "PandasData, DatetimeIndex":
        return bt.feeds.PandasData(dataname=frame)
    with_column = frame.rename_axis("date").reset_index()
    if form == "PandasData, datetime column by name":
        return bt.feeds.PandasData(dataname=with_column, datetime="date")
    if form == "PandasData, datetime column by position":
        return bt.feeds.PandasData(dataname=with_column, datetime=0)
    if form == "PandasData, datetime column found (-1)":
        return bt.feeds.PandasData(dataname=with_column.rename(columns={"date": "datetime"}),
                                   datetime=-1)  # fmt: skip
    if form == "PandasDirectData":
        return bt.feeds.PandasDirectData(dataname=frame, datetime=0, open=1, high=2, low=3,
                                         close=4, volume=5, openinterest=-1)  # fmt: skip
    if form == "GenericCSVData":
        path = tmp_path / f"{close.name}.csv"
        frame.to_csv(path, index_label="date", date_format="%Y-%m-%d")
        return bt.feeds.GenericCSVData(dataname=str(path), dtformat="%Y-%m-%d", datetime=0, open=1,
                                       high=2, low=3, close=4, volume=5, openinterest=-1)  # fmt: skip
    raise AssertionError(form)


FORMS = [
    "add_price_feeds",
    "PandasData, DatetimeIndex",
    "PandasData, datetime column by name",
    "PandasData, datetime column by position",
    "PandasData, datetime column found (-1)",
    "PandasDirectData",
    "GenericCSVData",
]
MODES = [dict(), dict(preload=False), dict(runonce=False), dict(exactbars=-1),
         dict(preload=False, exactbars=-1)]  # fmt: skip


def _run(prices, form, mode, tmp_path, **params):
    cerebro = bt.Cerebro(stdstats=False, **mode)
    if form == "add_price_feeds":
        add_price_feeds(cerebro, prices)
    else:
        for column in prices.columns:
            cerebro.adddata(_feed(form, prices[column], tmp_path), name=column)
    cerebro.broker.setcash(1_000_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(RebalanceStrategy, allocator="hrp", lookback=60, **params)
    strategy = cerebro.run()[0]
    return cerebro, strategy


@pytest.fixture(scope="module")
def reference(prices, tmp_path_factory):
    return _run(prices, "add_price_feeds", {}, tmp_path_factory.mktemp("ref"))[1]


@pytest.mark.parametrize("mode", MODES, ids=str)
@pytest.mark.parametrize("form", FORMS)
def test_a_delisting_is_detected_on_every_feed_form_and_mode(prices, reference, form, mode,
                                                            tmp_path):  # fmt: skip
    """Before the fix a PandasData with a datetime column (and a CSV feed) under preload=False
    never saw the end: no event, the position kept at a frozen price."""
    cerebro, strategy = _run(prices, form, mode, tmp_path)
    # a CSV feed stamps its daily bars at the session's end (23:59:59.999989): compare the days
    assert [(d.normalize(), r) for d, r in strategy.delistings] == reference.delistings
    assert len(strategy.delistings) == 1
    date, reason = strategy.delistings[0]
    assert date.normalize() == pd.Timestamp("2019-07-01")
    assert reason.startswith(f"XOM: feed ended on {LAST.date()} while held")
    assert "sold" in reason
    xom = cerebro.datas[list(prices.columns).index("XOM")]
    assert cerebro.broker.getposition(xom).size == 0
    assert round(cerebro.broker.getvalue(), 2) == round(reference.broker.getvalue(), 2)


@pytest.mark.parametrize("policy", ["cash", "hold"])
@pytest.mark.parametrize("mode", [dict(), dict(preload=False)], ids=str)
def test_a_feed_ending_after_the_last_rebalance_is_reported_as_still_held(prices, policy, mode,
                                                                         tmp_path):  # fmt: skip
    """Before the fix the event said "sold 6247 shares at its last close" though nothing was sold."""
    late = prices.copy()
    late["XOM"] = small_prices("2018-06-01", "2020-06-30")["XOM"]
    late.loc["2020-06-16":, "XOM"] = float("nan")  # ends after the last rebalance (2020-06-01)
    cerebro, strategy = _run(late, "add_price_feeds", mode, tmp_path, delisted=policy)
    assert strategy.records[-1].date == pd.Timestamp("2020-06-01")
    xom = cerebro.datas[list(late.columns).index("XOM")]
    held = cerebro.broker.getposition(xom).size
    assert held > 0
    ((date, reason),) = strategy.delistings
    assert date == late.index[-1]
    assert reason.startswith("XOM: feed ended on 2020-06-15 while held")
    assert "sold" not in reason
    close = late.loc["2020-06-15", "XOM"]
    assert f"still held at the end of the run at its last close {close:.4g}" in reason

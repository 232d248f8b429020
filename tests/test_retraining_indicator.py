"""ForecastIndicator + Retrainer in a hand-written strategy: every retrained model is visible.

docs/architecture.md, Backtrader facts: in runonce mode backtrader computes indicators before any timer fires, so a
model-backed indicator without ``_nextforce`` would never see a model retrained in ``notify_timer``.
"""

from __future__ import annotations

import math
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from _btutil import synthetic_prices
from _wfutil import tiny_forecaster
from sklearn.base import BaseEstimator

from seqfolio.signals.indicators import ForecastIndicator, feed_closes
from seqfolio.strategies import Retrainer, add_price_feeds


class StampModel(BaseEstimator):
    """A fake model whose forecast is the ordinal of the last date it was trained on."""

    def __init__(self, offset: float = 0.0):
        self.offset = offset

    def fit(self, prices: pd.DataFrame) -> StampModel:
        self.assets_ = list(prices.columns)
        self.last_ = prices.index[-1]
        self.model_ = True
        return self

    def predict(self, prices: pd.DataFrame) -> pd.Series:
        return pd.Series(float(self.last_.toordinal()) + self.offset, index=self.assets_)


class UserStrategy(bt.Strategy):
    """What the docs show: a user's own strategy with walk-forward retraining in a few lines."""

    params = dict(
        model=None, retrain="monthly", indicator=ForecastIndicator, train_window="expanding"
    )

    def __init__(self) -> None:
        self.retrainer = Retrainer(self, self.p.model, retrain=self.p.retrain,
                              train_window=self.p.train_window)  # fmt: skip
        self.fc = self.p.indicator(*self.datas, model=self.retrainer.current)
        self.seen: list[tuple[pd.Timestamp, float, int]] = []

    def notify_timer(self, timer: Any, when: Any, *args: Any, **kwargs: Any) -> None:
        self.retrainer.notify_timer(timer, when, *args, **kwargs)

    def next(self) -> None:
        date = pd.Timestamp(self.datetime.date(0))
        self.seen.append((date, self.fc.lines[0][0], self.retrainer.version))

    def stop(self) -> None:
        self.retrainer.close()


class PrecomputedIndicator(ForecastIndicator):
    """The naive version: lets cerebro precompute it in runonce mode."""

    _nextforce = False


def _run(prices: pd.DataFrame, runonce: bool = True, preload: bool = True, **params: Any) -> Any:
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce, preload=preload)
    add_price_feeds(cerebro, prices)
    cerebro.addstrategy(UserStrategy, **params)
    return cerebro, cerebro.run()[0]


def test_runonce_cerebro_shows_every_retrained_model() -> None:
    prices = synthetic_prices(n_bars=260, n_assets=3)
    cerebro, strat = _run(prices, runonce=True, model=StampModel())
    assert cerebro._dorunonce is False  # _nextforce switched runonce off
    retrains = [r.date for r in strat.retrainer.history]
    expected_months = prices.index.to_period("M").unique()
    assert len(retrains) == len(expected_months)  # first bar of every month
    seen = pd.DataFrame(strat.seen, columns=["date", "value", "version"]).set_index("date")
    # on every bar the indicator shows the model trained at the latest retrain on or before that bar
    latest = pd.Series(retrains, index=retrains).reindex(seen.index, method="ffill")
    expected = latest.map(lambda d: float(d.toordinal()))
    np.testing.assert_array_equal(seen["value"].to_numpy(), expected.to_numpy())
    assert seen["value"].nunique() == len(retrains)
    # and no model was ever trained on a bar after the one it is used on
    assert (seen["value"] <= seen.index.map(lambda d: float(d.toordinal()))).all()


def test_precomputed_indicator_misses_every_retrain() -> None:
    """The trap the class attribute avoids: precomputed in runonce mode, the lines stay NaN."""
    prices = synthetic_prices(n_bars=120, n_assets=2)
    _, strat = _run(prices, runonce=True, model=StampModel(), indicator=PrecomputedIndicator)
    assert strat.retrainer.version > 1
    assert all(math.isnan(v) for _, v, _ in strat.seen)


@pytest.mark.parametrize("runonce,preload", [(True, True), (False, True), (False, False)])
def test_indicator_same_in_every_mode(runonce: bool, preload: bool) -> None:
    prices = synthetic_prices(n_bars=150, n_assets=2)
    _, ref = _run(prices, runonce=False, preload=False, model=StampModel())
    _, strat = _run(prices, runonce=runonce, preload=preload, model=StampModel())
    assert strat.seen == ref.seen or all(
        a[0] == b[0] and (a[1] == b[1] or (math.isnan(a[1]) and math.isnan(b[1])))
        for a, b in zip(strat.seen, ref.seen, strict=True)
    )


def test_indicator_with_tiny_lstm_follows_each_retrain() -> None:
    """With a real (tiny) LSTM: after each retrain the line equals the new model's predict()."""
    prices = synthetic_prices(n_bars=330, n_assets=3, seed=3)
    models: list[Any] = []

    class Recording(UserStrategy):
        def next(self) -> None:
            super().next()
            if self.retrainer.model is not None and (
                not models or models[-1][1] is not self.retrainer.model
            ):
                window = feed_closes(self.datas, self.retrainer.names)
                models.append((self.seen[-1][0], self.retrainer.model, window))

    cerebro = bt.Cerebro(stdstats=False, runonce=True)
    add_price_feeds(cerebro, prices)
    cerebro.addstrategy(Recording, model=tiny_forecaster("volatility"), retrain="quarterly",
                        train_window=200)  # fmt: skip
    strat = cerebro.run()[0]
    assert strat.retrainer.version >= 2 and len(models) == strat.retrainer.version
    seen = pd.DataFrame(strat.seen, columns=["date", "value", "version"]).set_index("date")
    for date, model, window in models:
        expected = model.predict(window).iloc[0]
        assert seen.loc[date, "value"] == pytest.approx(expected, rel=1e-12)
    values = [seen.loc[d, "value"] for d, _, _ in models]
    assert len(set(values)) == len(values)


def test_indicator_rejects_bad_params() -> None:
    prices = synthetic_prices(n_bars=30, n_assets=2)

    class Bad(bt.Strategy):
        params = dict(kw={})

        def __init__(self) -> None:
            ForecastIndicator(*self.datas, **self.p.kw)

    for kw, match in [({}, "'model' parameter of ForecastIndicator"),
                      ({"model": StampModel(), "every": 0}, "'every' parameter")]:  # fmt: skip
        cerebro = bt.Cerebro()
        add_price_feeds(cerebro, prices)
        cerebro.addstrategy(Bad, kw=kw)
        with pytest.raises(ValueError, match=match):
            cerebro.run()


def test_feed_closes_keeps_dates_when_a_feed_has_no_bar_yet() -> None:
    prices = synthetic_prices(n_assets=3)
    prices.iloc[:100, 2] = np.nan  # C lists at bar 100
    seen = []

    class Probe(bt.Strategy):
        def prenext(self) -> None:  # before every feed has a bar
            seen.append(feed_closes(self.datas, ["A", "B", "C"], 50))

    cerebro = bt.Cerebro(stdstats=False)
    for name in prices.columns:  # one feed per column, starting at its first price
        data = bt.feeds.PandasData(dataname=prices[[name]].dropna().rename(columns={name: "close"}))
        cerebro.adddata(data, name=name)
    cerebro.addstrategy(Probe)
    cerebro.run()
    frame = seen[-1]
    assert len(seen) == 100 and isinstance(frame.index, pd.DatetimeIndex)
    assert (
        frame.index.name == "date"
        and frame["C"].isna().all()
        and frame.iloc[:, :2].notna().all().all()
    )
    expected = prices.index[50:100].as_unit("us")
    assert list(frame.index) == list(expected)  # the dates, whatever the index's name and freq


def test_forecast_method_returns_the_lines_by_feed_name() -> None:
    """``ForecastIndicator.forecast()`` reads the lines as a Series (an array attribute named like
    the base class's reader once hid it: ``forecast()`` raised TypeError)."""

    class Reader(UserStrategy):
        def next(self) -> None:
            super().next()
            self.last = self.fc.forecast()

    prices = synthetic_prices(n_bars=120, n_assets=2)
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, prices)
    cerebro.addstrategy(Reader, model=StampModel())
    strat = cerebro.run()[0]
    assert list(strat.last.index) == [str(c) for c in prices.columns]
    assert strat.last.iloc[0] == strat.seen[-1][1]

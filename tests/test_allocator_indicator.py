"""seqfolio.allocators.indicators.AllocatorWeights: one weight line per feed, usable in any Strategy."""

from __future__ import annotations

import re
import subprocess
import sys

import backtrader as bt
import numpy as np
import pytest
from _btutil import small_prices

from seqfolio.allocators import HRP
from seqfolio.data import trailing_returns
from seqfolio.strategies import add_price_feeds


class Recorder(bt.Strategy):
    params = dict(lookback=40, refit_every=5)

    def __init__(self):
        from seqfolio.allocators.indicators import AllocatorWeights

        self.w = AllocatorWeights(*self.datas, allocator=HRP(), lookback=self.p.lookback,
                                  refit_every=self.p.refit_every)  # fmt: skip
        self.rows = []

    def next(self):
        self.rows.append((self.datetime.date(0), self.w.weights().to_numpy().copy()))


def run(runonce, prices):
    cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
    add_price_feeds(cerebro, prices)
    cerebro.addstrategy(Recorder)
    return cerebro.run()[0]


@pytest.fixture(scope="module")
def prices():
    return small_prices("2019-01-01", "2019-09-30")


def test_import_keeps_allocators_free_of_backtrader():
    code = "import sys, seqfolio.allocators; print('backtrader' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_lines_and_weights_match_a_direct_fit(prices):
    strategy = run(True, prices)
    w = strategy.w
    assert w.lines.size() == prices.shape[1]
    assert w.lines.getlinealiases() == tuple(f"w{i}" for i in range(prices.shape[1]))
    # first value at bar lookback + 1 (index 40), refit every 5 bars: check a refit bar
    date, weights = strategy.rows[0]
    assert date == prices.index[40].date()
    for k in (0, 5, 25):
        date, weights = strategy.rows[k]
        window = prices.loc[: str(date)]
        expected = HRP().fit(trailing_returns(window, 40)).weights_
        np.testing.assert_allclose(weights, expected.to_numpy(), rtol=1e-12)
        assert weights.sum() == pytest.approx(1.0)
    # carried forward between refits
    np.testing.assert_array_equal(strategy.rows[1][1], strategy.rows[0][1])


def test_runonce_and_next_modes_agree(prices):
    a, b = run(True, prices), run(False, prices)
    assert len(a.rows) == len(b.rows)
    for (da, wa), (db, wb) in zip(a.rows, b.rows, strict=True):
        assert da == db
        np.testing.assert_array_equal(wa, wb)


def test_requires_feeds_and_valid_params(prices):
    from seqfolio.allocators.indicators import AllocatorWeights

    class NoFeeds(bt.Strategy):
        def __init__(self):
            AllocatorWeights(allocator=HRP())

    class BadLookback(bt.Strategy):
        def __init__(self):
            AllocatorWeights(*self.datas, allocator=HRP(), lookback=0)

    for strategy, error, message in [
        (NoFeeds, TypeError, "needs the feeds"),
        (BadLookback, ValueError, "The 'lookback' parameter of AllocatorWeights"),
    ]:
        cerebro = bt.Cerebro()
        add_price_feeds(cerebro, prices)
        cerebro.addstrategy(strategy)
        with pytest.raises(error, match=message):
            cerebro.run()


def test_cerebro_plot_headless(prices, tmp_path):
    import backtrader.plot  # noqa: F401  (docs/architecture.md, Backtrader facts: before matplotlib.use)
    import matplotlib

    matplotlib.use("Agg")
    cerebro = bt.Cerebro()
    add_price_feeds(cerebro, prices.iloc[:, :3])
    cerebro.addstrategy(Recorder)
    cerebro.run()
    figures = cerebro.plot(iplot=False)
    path = tmp_path / "plot.png"
    figures[0][0].savefig(path)
    assert path.stat().st_size > 10_000
    labels = [t.get_text() for ax in figures[0][0].axes if ax.get_legend() is not None
              for t in ax.get_legend().get_texts()]  # fmt: skip
    # the indicator's lines are labelled with the feed names (and their last value)
    text = "\n".join(labels)
    assert "target weights" in text
    for name in prices.columns[:3]:
        assert re.search(rf"(^|\n){name} 0\.\d\d", text), name
    import matplotlib.pyplot as plt

    plt.close("all")

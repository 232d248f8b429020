"""seqfolio.reporting and the TearSheet / WeightsHistory analyzers."""

from __future__ import annotations

import math

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from _btutil import small_prices

from seqfolio.data import load_benchmark
from seqfolio.reporting import (
    format_metrics,
    metrics_table,
    plot_weights,
    returns_from_analysis,
    tearsheet,
    to_returns,
)
from seqfolio.strategies import RebalanceStrategy, TearSheet, WeightsHistory, add_price_feeds


def test_metrics_table_hand_checked():
    index = pd.bdate_range("2020-01-01", periods=4)
    r = pd.Series([0.10, -0.50, 0.20, 0.0], index=index)
    table = metrics_table({"s": r}, periods=4)
    total = 1.1 * 0.5 * 1.2 - 1
    assert table.loc["Total return", "s"] == pytest.approx(total)
    assert table.loc["CAGR", "s"] == pytest.approx(total)  # exactly one "year" of 4 bars
    assert table.loc["Max drawdown", "s"] == pytest.approx(-0.5)
    assert table.loc["Sharpe", "s"] == pytest.approx(r.mean() / r.std() * 2)
    assert table.loc["Sortino", "s"] == pytest.approx(r.mean() / math.sqrt(0.25 / 4) * 2)
    assert table.loc["Worst day", "s"] == -0.5 and table.loc["Best day", "s"] == 0.2
    assert format_metrics(table).loc["Max drawdown", "s"] == "-50.00%"


def test_metrics_table_side_by_side_with_benchmark_prices():
    index = pd.bdate_range("2020-01-01", periods=300)
    rng = np.random.default_rng(0)
    a = pd.Series(rng.normal(0.001, 0.01, 300), index=index)
    b = pd.Series(rng.normal(0.0, 0.02, 300), index=index)
    bench_prices = pd.Series(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 310))),
                             index=pd.bdate_range("2019-12-18", periods=310), name="SPX")  # fmt: skip
    table = metrics_table({"A": a, "B": b}, bench_prices)
    assert list(table.columns) == ["A", "B", "SPX"]
    assert table.loc["Volatility (ann.)", "B"] > table.loc["Volatility (ann.)", "A"]
    bench = to_returns(bench_prices).loc[index[0] : index[-1]]
    assert table.loc["Total return", "SPX"] == pytest.approx((1 + bench).prod() - 1)


def test_to_returns_refuses_tickers():
    with pytest.raises(TypeError, match="Series"):
        to_returns("SPY")


def test_returns_from_analysis_is_tz_naive():
    import datetime as dt

    series = returns_from_analysis({dt.datetime(2020, 1, 2): 0.01, dt.datetime(2020, 1, 3): -0.02})
    assert series.index.tz is None and series.dtype == float and len(series) == 2


@pytest.mark.filterwarnings("ignore")
def test_tearsheet_writes_html_naming_strategy_and_benchmark(tmp_path):
    bench = load_benchmark("2019-01-01", "2020-12-31")
    returns = bench.pct_change().iloc[1:] * 0.8 + 0.0001
    returns.name = "My HRP"
    path = tearsheet(returns, benchmark=bench.rename("S&P 500"), output=tmp_path / "sub" / "t.html")
    assert path.is_file()
    html = path.read_text(encoding="utf-8")
    assert "My HRP" in html
    assert "S&amp;P 500" in html or "S&P 500" in html
    with pytest.raises(TypeError, match="ticker"):
        tearsheet(returns, benchmark="SPY", output=tmp_path / "x.html")


def test_plot_weights_png(tmp_path):
    index = pd.bdate_range("2020-01-01", periods=50)
    weights = pd.DataFrame({"A": np.linspace(0.2, 0.6, 50), "B": 0.3, "C": 0.0}, index=index)
    path = plot_weights(weights, tmp_path / "w.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError):
        plot_weights(pd.DataFrame(), tmp_path / "empty.png")


@pytest.mark.filterwarnings("ignore")
def test_tearsheet_and_weights_analyzers(tmp_path):
    prices = small_prices("2019-01-01", "2020-06-30")
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(100_000)
    cerebro.addstrategy(RebalanceStrategy, allocator="herc", lookback=60)
    bench = load_benchmark("2019-01-01", "2020-06-30").rename("S&P 500")
    cerebro.addanalyzer(
        TearSheet, output=str(tmp_path / "ts.html"), benchmark=bench, start="2019-04-01"
    )
    cerebro.addanalyzer(WeightsHistory)
    strategy = cerebro.run()[0]
    sheet, history = strategy.analyzers[0], strategy.analyzers[1].get_analysis()
    html = (tmp_path / "ts.html").read_text(encoding="utf-8")
    assert "HERC monthly" in html and "S&amp;P 500" in html
    assert sheet.returns.index[0] >= pd.Timestamp("2019-04-01") and sheet.returns.index.tz is None
    # TimeReturn's returns compound to the broker's final value
    values = (1 + returns_from_analysis(sheet.get_analysis())).prod() * 100_000
    assert values == pytest.approx(cerebro.broker.getvalue())
    assert list(history["target"].index) == [r.date for r in strategy.records]
    assert history["daily"].shape[1] == prices.shape[1]
    np.testing.assert_allclose(history["target"].sum(axis=1), 1.0)
    assert (history["rebalances"]["turnover"] > 0).all()


def test_tearsheet_analyzer_refuses_ticker_benchmark():
    cerebro = bt.Cerebro()
    add_price_feeds(cerebro, small_prices("2019-01-01", "2019-03-01"))
    cerebro.addstrategy(bt.Strategy)
    cerebro.addanalyzer(TearSheet, benchmark="SPY")
    with pytest.raises(TypeError, match="ticker"):
        cerebro.run()


def test_metrics_table_matches_dates_like_quantstats():
    index = pd.bdate_range("2020-01-01", periods=5)
    strategy = pd.Series([0.0, 0.0, 0.01, 0.02, -0.01], index=index)
    bench = pd.Series([-0.5, 0.1, 0.01, 0.01, 0.01], index=index, name="B")
    table = metrics_table({"s": strategy}, bench, periods=3)
    assert table.loc["Total return", "B"] == pytest.approx(1.01**3 - 1)
    unmatched = metrics_table({"s": strategy}, bench, periods=3, match_dates=False)
    assert unmatched.loc["Total return", "B"] == pytest.approx(0.5 * 1.1 * 1.01**3 - 1)


def test_reporting_imports_neither_backtrader_nor_strategies():
    """Report writing is the top of the engine-free side: the TearSheet analyzer hands it data."""
    import subprocess
    import sys

    code = (
        "import sys, seqfolio.reporting; "
        "bad = [m for m in ('backtrader', 'seqfolio.strategies') if m in sys.modules]; "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_write_tearsheet_warns_instead_of_raising(tmp_path):
    from seqfolio.reporting import TearSheetWarning, write_tearsheet

    index = pd.bdate_range("2020-01-01", periods=30)
    idle = pd.Series(0.0, index=index, name="Idle")
    with pytest.warns(TearSheetWarning, match=r"no tear sheet written to .*t.html \(the backtest's "
                                              r"other results are kept\): the returns of 'Idle'"):  # fmt: skip
        path, error = write_tearsheet(idle, output=tmp_path / "t.html")
    assert path is None and error.startswith("tearsheet: the returns of 'Idle' are all 0")
    assert not (tmp_path / "t.html").exists()


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize("years", [8, 18])
def test_eoy_chart_labels_sit_under_their_bars(years):
    """QuantStats 0.0.86 labels ticks 0, 1, 2 ... while the bars stand elsewhere (quantstats issue
    #518); within _charts_fixed each year's label is under its pair of bars, and QuantStats is
    itself again afterwards, also after an error."""
    import quantstats as qs
    from quantstats._plotting import core

    from seqfolio.reporting import _charts_fixed

    index = pd.bdate_range(f"{2023 - years}-01-03", "2022-12-30")
    rng = np.random.default_rng(3)
    strategy = pd.Series(rng.normal(4e-4, 0.01, len(index)), index=index, name="S")
    bench = pd.Series(rng.normal(3e-4, 0.01, len(index)), index=index, name="B")
    original = core.plot_returns_bars
    with _charts_fixed():
        fig = qs.plots.yearly_returns(strategy, bench, show=False, prepare_returns=False)
    assert core.plot_returns_bars is original
    ax = fig.axes[0]
    assert len(ax.containers) == 2 and all(len(c) == years for c in ax.containers)
    centers = np.mean([[b.get_x() + b.get_width() / 2 for b in c] for c in ax.containers], axis=0)
    np.testing.assert_allclose(ax.get_xticks(), centers)
    assert [t.get_text() for t in ax.get_xticklabels()] == [
        str(2023 - years + i) for i in range(years)
    ]
    low, high = ax.get_xlim()
    assert low == pytest.approx(centers[0] - 0.5) and high == pytest.approx(centers[-1] + 0.5)
    with pytest.raises(RuntimeError), _charts_fixed():
        raise RuntimeError("QuantStats failed")
    assert core.plot_returns_bars is original


def test_plot_weights_groups_small_weights_at_large_n(tmp_path):
    """100 assets: the 15 largest by average weight keep their own area, the other 85 are one
    "other" area on top; no weight is lost and the legend has 16 entries."""
    from seqfolio.reporting import MAX_WEIGHT_AREAS, _areas

    rng = np.random.default_rng(5)
    index = pd.bdate_range("2020-01-01", periods=300)
    sizes = np.linspace(3.0, 0.1, 100)  # A00 the largest on average
    raw = rng.dirichlet(sizes, size=len(index)) * 0.98
    weights = pd.DataFrame(raw, index=index, columns=[f"A{i:02d}" for i in range(100)])
    weights.iloc[:100, 90:] = np.nan  # late listings
    weights["Z"] = 0.0  # never weighted: never drawn
    areas = _areas(weights)
    top = list(weights.fillna(0).mean().nlargest(MAX_WEIGHT_AREAS).index)
    assert list(areas.columns[:-1]) == sorted(top) and areas.columns[-1] == "other (85 assets)"
    np.testing.assert_allclose(areas.sum(axis=1), weights.fillna(0.0).sum(axis=1))
    assert list(_areas(weights.iloc[:, :15]).columns) == list(
        weights.columns[:15]
    )  # small N: as is
    path = plot_weights(weights, tmp_path / "w.png")
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.filterwarnings("ignore")
def test_worst_drawdown_periods_chart_shades_the_deepest_drawdowns():
    """QuantStats 0.0.86 shades the five *longest* drawdowns under the title "Worst 5 Drawdown
    Periods" (upstream #19), next to a table of the five deepest: a short, deep fall was left out.
    Within _charts_fixed the deepest five are shaded, and QuantStats is itself again afterwards."""
    import quantstats as qs
    from matplotlib import dates as mdates
    from quantstats._plotting import core

    from seqfolio.reporting import _charts_fixed

    index = pd.bdate_range("2015-01-01", periods=1500)
    returns = pd.Series(0.0005, index=index, name="S")
    # five long, shallow drawdowns (-2 % over 60 days, recovered) and one short, deep one (-30 %)
    for k in range(5):
        start = 100 + k * 250
        returns.iloc[start : start + 60] = -0.02 / 60
        returns.iloc[start + 60 : start + 120] = 0.0025
    returns.iloc[1400:1405] = -0.07
    details = qs.stats.drawdown_details(qs.stats.to_drawdown_series(returns))
    deepest = details.sort_values("max drawdown")[:5]
    assert str(deepest["start"].iloc[0])[:10] == str(index[1400].date())  # the -30 % fall
    original = core.plot_longest_drawdowns
    with _charts_fixed():
        fig = qs.plots.drawdowns_periods(returns, show=False, prepare_returns=False)
    assert core.plot_longest_drawdowns is original
    spans = sorted(p.get_x() for p in fig.axes[0].patches)
    assert spans == pytest.approx(sorted(mdates.datestr2num([str(s) for s in deepest["start"]])))
    assert any("Worst 5 Drawdown Periods" in t.get_text() for t in fig.texts)


@pytest.mark.filterwarnings("ignore")
@pytest.mark.parametrize(("chart", "axis"), [("histogram", "x"), ("distribution", "y")])
def test_percent_tick_labels_are_rounded_not_truncated(chart, axis):
    """QuantStats 0.0.86 labels ticks int(x * 100): 0.05 - 1e-17 read "4%", 0.2 read "19%" (the
    monthly distribution and the quantile charts); within _charts_fixed each label is its tick."""
    import quantstats as qs

    from seqfolio.reporting import _charts_fixed

    index = pd.bdate_range("2005-01-03", "2022-12-30")
    returns = pd.Series(np.random.default_rng(2).normal(5e-4, 0.012, len(index)), index=index)
    with _charts_fixed():
        fig = getattr(qs.plots, chart)(returns, show=False, prepare_returns=False)
    fig.canvas.draw()
    ax = fig.axes[0]
    ticks = ax.get_xticks() if axis == "x" else ax.get_yticks()
    labels = ax.get_xticklabels() if axis == "x" else ax.get_yticklabels()
    shown = [float(t.get_text().replace("−", "-").rstrip("%")) for t in labels if t.get_text()]
    assert shown == pytest.approx(list(np.asarray(ticks)[: len(shown)] * 100), abs=1e-9)

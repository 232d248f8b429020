"""Reports on weekly / monthly bars: bar period detection, benchmark compounded per bar, annualisation
that matches backtrader's own analyzers (issue 11 item 4)."""

from __future__ import annotations

import re
import warnings

import backtrader as bt
import numpy as np
import pandas as pd
import pytest

from seqfolio.allocators import HRP
from seqfolio.data import load_benchmark, load_sample
from seqfolio.reporting import (
    BARS_PER_YEAR,
    BarPeriodWarning,
    align_benchmark,
    bar_period,
    metrics_table,
    to_returns,
)
from seqfolio.strategies import RebalanceStrategy, TearSheet, price_feeds

ASSETS = ["AAPL", "JNJ", "KO", "XOM", "JPM", "WMT"]


@pytest.mark.parametrize(
    ("index", "period"),
    [
        (pd.bdate_range("2020-01-01", periods=30), "daily"),
        (pd.date_range("2020-01-05", periods=30, freq="W-SUN"), "weekly"),
        (pd.date_range("2020-01-31", periods=30, freq="ME"), "monthly"),
        (pd.date_range("2020-03-31", periods=12, freq="QE"), "quarterly"),
        (pd.date_range("2020-12-31", periods=5, freq="YE"), "yearly"),
        (pd.DatetimeIndex(["2020-01-02"]), "daily"),
    ],
)
def test_bar_period(index, period):
    assert bar_period(index) == period and period in BARS_PER_YEAR


def test_bar_period_refuses_intraday_bars():
    with pytest.raises(ValueError, match=r"0.0416667 days apart .* Give returns per day"):
        bar_period(pd.date_range("2020-01-02 10:00", periods=20, freq="h"))


def test_align_benchmark_compounds_each_bar():
    days = pd.bdate_range("2020-01-01", "2020-02-28")
    bench = pd.Series(np.linspace(-0.01, 0.02, len(days)), index=days, name="B")
    weeks = pd.date_range("2020-01-05", "2020-03-01", freq="W-SUN")
    out = align_benchmark(bench, weeks)
    assert out.name == "B" and out.index.equals(weeks)
    for i, week in enumerate(weeks):
        inside = bench[(bench.index > week - pd.Timedelta(days=7)) & (bench.index <= week)]
        assert out.iloc[i] == pytest.approx((1 + inside).prod() - 1, abs=1e-15)
    # daily bars on the benchmark's own dates: the benchmark itself; a missing day rolls forward
    np.testing.assert_allclose(align_benchmark(bench, days), bench, rtol=0, atol=1e-15)
    holiday = days.delete(3)
    rolled = align_benchmark(bench, holiday)
    assert rolled.iloc[3] == pytest.approx((1 + bench.iloc[3]) * (1 + bench.iloc[4]) - 1)
    np.testing.assert_allclose(rolled.iloc[4:], bench.iloc[5:], rtol=0, atol=1e-15)


def _resampled_run(timeframe, output):
    prices = load_sample("2014-01-01", "2020-12-31", assets=ASSETS)
    bench = load_benchmark("2013-01-01", "2021-12-31").rename("S&P 500")
    cerebro = bt.Cerebro(stdstats=False)
    for feed in price_feeds(prices):
        cerebro.resampledata(feed, name=feed._name, timeframe=timeframe)
    cerebro.broker.setcash(1_000_000.0)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(),
                        lookback=52 if timeframe == bt.TimeFrame.Weeks else 12)  # fmt: skip
    cerebro.addanalyzer(TearSheet, _name="ts", output=output, benchmark=bench)
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="tr")  # the data's own timeframe
    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sr", timeframe=timeframe,
                        annualize=True, riskfreerate=0.0, stddev_sample=True)  # fmt: skip
    with pytest.warns(BarPeriodWarning, match="tearsheet: the returns are"):
        strategy = cerebro.run()[0]
    return strategy, bench


def _html_row(html: str, label: str) -> tuple[float, float]:
    """(benchmark, strategy) of a row of QuantStats' metrics table, numbers as printed."""
    cells = re.search(rf"<tr><td>{label}</td><td>([^<]*)</td><td>([^<]*)</td>", html).groups()
    return tuple(float(c.rstrip("%")) for c in cells)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize(
    ("timeframe", "period"), [(bt.TimeFrame.Weeks, "weekly"), (bt.TimeFrame.Months, "monthly")]
)
def test_resampled_runs_report_like_backtraders_analyzers(tmp_path, timeframe, period):
    strategy, bench = _resampled_run(timeframe, tmp_path / "ts.html")
    bars = BARS_PER_YEAR[period]
    returns = strategy.analyzers.ts.returns
    time_return = pd.Series(strategy.analyzers.tr.get_analysis())
    np.testing.assert_allclose(returns.to_numpy(), time_return.to_numpy(), rtol=0, atol=1e-15)
    assert bar_period(returns.index) == period

    with pytest.warns(BarPeriodWarning, match=f"metrics_table: the returns are {period} bars"):
        table = metrics_table(returns, bench, match_dates=False)
    column = table[returns.name]
    growth = float((1 + time_return).prod())
    assert column["CAGR"] == pytest.approx(growth ** (bars / len(time_return)) - 1, rel=1e-12)
    sharpe = strategy.analyzers.sr.get_analysis()["sharperatio"]
    assert column["Sharpe"] == pytest.approx(sharpe, rel=1e-9)
    # the benchmark is compounded over each bar, not filled with zeros on the bars' dates
    daily = to_returns(bench)
    one_bar = pd.DateOffset(weeks=1) if period == "weekly" else pd.DateOffset(months=1)
    span = daily[(daily.index > returns.index[0] - one_bar) & (daily.index <= returns.index[-1])]
    assert table.loc["Total return", "S&P 500"] == pytest.approx((1 + span).prod() - 1, rel=1e-12)
    assert table.loc["Total return", "S&P 500"] > 0.3

    # QuantStats' tear sheet: annualised with the bars a year, from the first traded bar (matched
    # dates), the same figures as backtrader's TimeReturn compounded
    html = (tmp_path / "ts.html").read_text(encoding="utf-8")
    assert f"Periods/Year: {bars} " in html
    traded = time_return.loc[time_return.ne(0).idxmax() :]
    cagr = float((1 + traded).prod()) ** (bars / len(traded)) - 1
    sharpe_traded = traded.mean() / traded.std() * np.sqrt(bars)
    bench_cagr, strategy_cagr = _html_row(html, "CAGR﹪")
    assert strategy_cagr == pytest.approx(100 * cagr, abs=0.006)
    assert _html_row(html, "Sharpe")[1] == pytest.approx(sharpe_traded, abs=0.006)
    assert bench_cagr > 5  # not the 0 % of a benchmark filled with zeros


def test_daily_reports_do_not_warn():
    index = pd.bdate_range("2020-01-01", periods=60)
    returns = pd.Series(np.random.default_rng(1).normal(0, 0.01, 60), index=index, name="s")
    with warnings.catch_warnings():
        warnings.simplefilter("error", BarPeriodWarning)
        table = metrics_table(returns)
    assert table.loc["Sharpe", "s"] == pytest.approx(returns.mean() / returns.std() * 252**0.5)

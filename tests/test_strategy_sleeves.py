"""Several strategies on one cerebro: each manages and reports its own sleeve (``capital=``).

backtrader has one broker account for every strategy of a cerebro. A RebalanceStrategy with
``capital=c`` must trade, and its ``TearSheet`` / ``WeightsHistory`` report, exactly what it would
alone with ``c`` times the cash (issue 19, item 3); shares adding up to more than 1, or two strategies
on one feed, are refused before the first order (item 8). docs/backtrader.md, "Habits that work".
"""

from __future__ import annotations

import backtrader as bt
import pandas as pd
import pytest
from _btutil import RUN_MODES, make_cerebro, order_tuples, small_prices

from seqfolio.allocators import HRP
from seqfolio.reporting import TearSheetWarning
from seqfolio.strategies import RebalanceStrategy, TearSheet, WeightsHistory

A, B = ["AAPL", "JNJ", "KO"], ["XOM", "JPM", "WMT"]
CASH = 1_000_000.0
# The sleeve's cash is the broker's to the last bit (it applies each fill with the broker's own
# operations), so orders, fills and commissions are compared exactly. Its value is cash + size x
# close, where backtrader adds each position's unrealised P&L to its cost: the two differ by float
# rounding only (~1e-16 of the value), hence 1e-12 on returns and weights.
ATOL = 1e-12


@pytest.fixture(scope="module")
def prices():
    return small_prices("2017-06-01", "2020-06-30")


def _alone(prices, feeds, share, mode):
    """The truth: the strategy alone on a cerebro with its share of the cash."""
    cerebro = make_cerebro(prices, cash=share * CASH, **mode)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=feeds)
    cerebro.addanalyzer(TearSheet, output=None)
    cerebro.addanalyzer(WeightsHistory, _name="weights")
    return cerebro.run()[0]


@pytest.mark.parametrize("mode", RUN_MODES.values(), ids=RUN_MODES.keys())
def test_each_sleeve_reports_what_its_strategy_earns_alone(prices, mode, tmp_path):
    cerebro = make_cerebro(prices, **mode)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=A, capital=0.6)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=B, capital=0.4)
    cerebro.addanalyzer(TearSheet, output=str(tmp_path / "tearsheet.html"))
    cerebro.addanalyzer(WeightsHistory, _name="weights")
    shared = cerebro.run()
    for strategy, feeds, share in zip(shared, (A, B), (0.6, 0.4), strict=True):
        alone = _alone(prices, feeds, share, mode)
        assert len(alone.orders_log) > 50 and alone.n_rejected == 0
        assert order_tuples(strategy) == order_tuples(alone)  # orders, fills and costs: exact
        assert strategy.sleeve.cash == alone.broker.getcash()
        mine, truth = strategy.analyzers.tearsheet.returns, alone.analyzers.tearsheet.returns
        assert mine.abs().sum() > 0.5
        pd.testing.assert_series_equal(mine, truth, check_exact=False, rtol=0, atol=ATOL)
        for key in ("daily", "realised"):
            pd.testing.assert_frame_equal(
                strategy.analyzers.weights.get_analysis()[key],
                alone.analyzers.weights.get_analysis()[key],
                check_exact=False, rtol=0, atol=ATOL,
            )  # fmt: skip
        for mine_record, record in zip(strategy.records, alone.records, strict=True):
            assert mine_record.value == record.value
    first, second = (s.analyzers.tearsheet.path for s in shared)
    assert (first.name, second.name) == (
        "tearsheet-1-HRP_monthly.html",
        "tearsheet-2-HRP_monthly.html",
    )
    assert first.read_bytes() != second.read_bytes()
    # the account holds both sleeves, and nothing else
    account = cerebro.broker.getvalue()
    assert account == pytest.approx(sum(s.sleeve.value() for s in shared), rel=1e-12)


def test_the_account_report_is_written_once_and_holds_every_sleeve(prices, tmp_path):
    cerebro = make_cerebro(prices)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=A, capital=0.6)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=B, capital=0.3)
    cerebro.addanalyzer(TearSheet, _name="account", account=True, output=str(tmp_path / "all.html"))
    cerebro.addanalyzer(bt.analyzers.TimeReturn, _name="tr")
    first, second = cerebro.run()
    sheets = [s.analyzers.account for s in (first, second)]
    assert sheets[0].path == tmp_path / "all.html" and sheets[0].path.is_file()
    assert sheets[1].path is None and sheets[1].error is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["all.html"]
    account = pd.Series(first.analyzers.tr.get_analysis())
    for sheet in sheets:
        assert sheet.returns.name == "account"
        assert sheet.returns.to_numpy().tolist() == account.to_numpy().tolist()


class BuyAndHold(bt.Strategy):
    """A strategy outside seqfolio: buys ``size`` shares of one feed on the first bar."""

    params = dict(feed="XOM", size=1000)

    def next(self):
        if len(self) == 1:
            self.buy(data=self.getdatabyname(self.p.feed), size=self.p.size)


def test_a_strategy_without_a_sleeve_gets_no_mislabelled_report(prices, tmp_path):
    cerebro = make_cerebro(prices)
    cerebro.addstrategy(BuyAndHold)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=A, capital=0.5)
    cerebro.addanalyzer(TearSheet, output=str(tmp_path / "ts.html"))
    with pytest.warns(TearSheetWarning, match="no tear sheet for BuyAndHold: it shares"):
        hold, rebalancer = cerebro.run()
    assert hold.analyzers.tearsheet.returns is None and hold.analyzers.tearsheet.path is None
    assert "TearSheet(account=True)" in hold.analyzers.tearsheet.error
    assert rebalancer.analyzers.tearsheet.path.name == "ts-2-HRP_monthly.html"
    alone = _alone(prices, A, 0.5, {})
    pd.testing.assert_series_equal(
        rebalancer.analyzers.tearsheet.returns, alone.analyzers.tearsheet.returns,
        check_exact=False, rtol=0, atol=ATOL,
    )  # fmt: skip


def test_braces_naming_one_file_for_two_strategies_are_refused(prices, tmp_path):
    cerebro = make_cerebro(prices)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=A, capital=0.5)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=B, capital=0.5)
    cerebro.addanalyzer(TearSheet, output=str(tmp_path / "ts-{lookback}.html"))
    with pytest.raises(ValueError, match=r"ts-60.html to strategies 1 and 2 .*\{feeds\}"):
        cerebro.run()
    cerebro = make_cerebro(prices)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=A, capital=0.5)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=B, capital=0.5)
    cerebro.addanalyzer(TearSheet, output=str(tmp_path / "ts-{feeds}.html"))
    paths = [s.analyzers.tearsheet.path.name for s in cerebro.run()]
    assert paths == ["ts-AAPL_JNJ_KO.html", "ts-XOM_JPM_WMT.html"]


# -- refused before the first order ----------------------------------------------------------------
def _two(prices, first, second):
    cerebro = make_cerebro(prices)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, **first)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, **second)
    return cerebro


def test_capital_shares_above_one_are_refused_before_the_first_bar(prices):
    cerebro = _two(prices, dict(feeds=A, capital=0.7), dict(feeds=B, capital=0.7))
    with pytest.raises(ValueError, match=r"must add up to at most 1 .* Got 0.7 \+ 0.7 = 1.4"):
        cerebro.run()
    assert cerebro.broker.getcash() == CASH  # not one order
    # shares that add up to 1 within rounding are fine
    fine = _two(prices, dict(feeds=A, capital=0.1 + 0.2), dict(feeds=B, capital=0.7))
    assert all(s.n_rejected == 0 for s in fine.run())


def test_capital_none_beside_another_rebalancer_is_refused(prices):
    cerebro = _two(prices, dict(feeds=A), dict(feeds=B, capital=0.5))
    with pytest.raises(ValueError, match=r"'capital' parameter .* every one .* Got None \+ 0.5"):
        cerebro.run()


def test_two_rebalancers_on_one_feed_are_refused(prices):
    cerebro = _two(prices, dict(feeds=A, capital=0.5), dict(feeds=["KO", "XOM"], capital=0.5))
    with pytest.raises(ValueError, match=r"two strategies of the cerebro trade \['KO'\]"):
        cerebro.run()


def test_a_foreign_strategy_trading_a_sleeves_feed_stops_the_run(prices):
    cerebro = make_cerebro(prices)
    cerebro.addstrategy(BuyAndHold, feed="KO", size=100)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=A, capital=0.5)
    with pytest.raises(ValueError, match=r"holds \d+ shares of 'KO' but this strategy's own"):
        cerebro.run()


def test_optstrategy_over_capital_is_no_false_alarm(prices):
    """Under optstrategy each run is a cerebro of one strategy: capital 0.7 and 0.9 both run, and
    each equals the strategy alone with that share of the cash."""
    cerebro = make_cerebro(prices, optreturn=False)
    cerebro.optstrategy(
        RebalanceStrategy, allocator=HRP(), lookback=60, feeds=[A], capital=[0.7, 0.9]
    )
    cerebro.addanalyzer(TearSheet, output=None)
    for (run,) in cerebro.run(maxcpus=1):
        alone = _alone(prices, A, run.p.capital, {})
        assert order_tuples(run) == order_tuples(alone)
        pd.testing.assert_series_equal(
            run.analyzers.tearsheet.returns, alone.analyzers.tearsheet.returns,
            check_exact=False, rtol=0, atol=ATOL,
        )  # fmt: skip


@pytest.mark.parametrize("model", ["signal", "lstm_allocator"])
def test_a_walk_forward_sleeve_equals_the_model_run_alone(model):
    """The LSTM paths (a forecast signal, LSTMAllocator) in a sleeve beside an HRP strategy."""
    from _wfutil import tiny_allocator, tiny_forecaster

    prices = small_prices("2018-01-01", "2019-12-31")
    settings = dict(lookback=40, train_window=200, retrain="quarterly", start="2019-01-01")
    if model == "signal":
        settings.update(allocator=HRP(), signal=tiny_forecaster())
    else:
        settings.update(allocator=tiny_allocator())
    cerebro = make_cerebro(prices)
    cerebro.addstrategy(RebalanceStrategy, feeds=A, capital=0.3, **settings)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=40, feeds=B, capital=0.7)
    cerebro.addanalyzer(TearSheet, output=None)
    walk_forward = cerebro.run()[0]
    alone = make_cerebro(prices, cash=0.3 * CASH)
    alone.addstrategy(RebalanceStrategy, feeds=A, **settings)
    alone.addanalyzer(TearSheet, output=None)
    alone = alone.run()[0]
    assert len(alone.orders_log) > 10
    assert order_tuples(walk_forward) == order_tuples(alone)
    pd.testing.assert_series_equal(
        walk_forward.analyzers.tearsheet.returns, alone.analyzers.tearsheet.returns,
        check_exact=False, rtol=0, atol=ATOL,
    )  # fmt: skip

"""What of backtrader's broker setup RebalanceStrategy uses, and what it does not (issue 19, item 9).

Sizers are not used (the strategy sizes its own orders); ``set_slippage_perc`` slips nothing on
close-only bars unless ``slip_out=True``; backtrader's ``SharpeRatio`` with the default observers
hangs under ``optstrategy(maxcpus=2)``, the TearSheet's returns do not; a delisted position's sale
is filled after its decision, never before. docs/backtrader.md, "Habits that work".
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import backtrader as bt
import pandas as pd
import pytest
from _btutil import RUN_MODES, make_cerebro, order_tuples, small_prices

from seqfolio.allocators import HRP
from seqfolio.strategies import RebalanceStrategy


@pytest.fixture(scope="module")
def prices():
    return small_prices("2018-06-01", "2019-12-31")


def _run(cerebro) -> RebalanceStrategy:
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60)
    return cerebro.run()[0]


@pytest.fixture(scope="module")
def plain(prices):
    return _run(make_cerebro(prices))


def test_a_sizer_is_not_used_and_the_user_is_told(prices, plain, caplog):
    cerebro = make_cerebro(prices)
    cerebro.addsizer(bt.sizers.PercentSizer, percents=10)
    with caplog.at_level("WARNING", logger="seqfolio"):
        sized = _run(cerebro)
    assert len(plain.orders_log) > 30
    assert order_tuples(sized) == order_tuples(plain)
    assert any("the sizer PercentSizer added to the cerebro is not used" in r.message
               for r in caplog.records)  # fmt: skip


def _pandas_cerebro(prices) -> bt.Cerebro:
    """A user's own feeds: bt.feeds.PandasData with open = high = low = close."""
    cerebro = bt.Cerebro(stdstats=False)
    for ticker in prices.columns:
        close = prices[ticker]
        frame = pd.DataFrame({"open": close, "high": close, "low": close, "close": close})
        cerebro.adddata(
            bt.feeds.PandasData(dataname=frame, volume=None, openinterest=None), name=ticker
        )
    cerebro.broker.setcash(1_000_000.0)
    cerebro.broker.setcommission(commission=0.001)
    return cerebro


@pytest.mark.parametrize(
    "make", [make_cerebro, _pandas_cerebro], ids=["ClosePriceData", "PandasData"]
)
def test_slippage_on_close_only_bars_needs_slip_out(prices, plain, make, caplog):
    """backtrader caps a slipped price at the bar's high / low unless slip_out=True; close-only
    bars have open = high = low, so set_slippage_perc's defaults slip nothing (and say so)."""
    capped = make(prices)
    capped.broker.set_slippage_perc(0.01)
    with caplog.at_level("WARNING", logger="seqfolio"):
        capped = _run(capped)
    assert order_tuples(capped) == order_tuples(plain)
    assert any("Use set_slippage_perc(perc, slip_out=True)" in r.message for r in caplog.records)

    slipped = make(prices)
    slipped.broker.set_slippage_perc(0.01, slip_out=True)
    caplog.clear()
    with caplog.at_level("WARNING", logger="seqfolio"):
        slipped = _run(slipped)
    assert not any("slip" in r.message for r in caplog.records)
    fills = [o for o in slipped.orders_log if o.status == "Completed"]
    assert len(fills) > 30
    for order in fills:  # the fill bar's open (= its close) moved 1 % against the order
        open_ = prices.loc[order.executed_date, order.asset]
        assert order.executed_price == pytest.approx(open_ * (1.01 if order.size > 0 else 0.99))


_SHARPE_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import backtrader as bt
    sys.path.insert(0, {tests!r})
    from _btutil import small_prices
    from seqfolio.allocators import HRP
    from seqfolio.stats import sharpe_ratio
    from seqfolio.strategies import RebalanceStrategy, TearSheet, add_price_feeds

    out = {{}}
    for maxcpus in (1, 2):
        cerebro = bt.Cerebro()  # stdstats=True: the default observers
        add_price_feeds(cerebro, small_prices("2018-06-01", "2019-12-31"))
        cerebro.broker.setcash(1_000_000.0)
        cerebro.optstrategy(RebalanceStrategy, allocator=HRP(), lookback=[60, 120])
        cerebro.addanalyzer(TearSheet, _name="ts", output=None)
        runs = cerebro.run(maxcpus=maxcpus)
        out[maxcpus] = sorted(
            (run.params.lookback, sharpe_ratio(run.analyzers.ts.returns)) for (run,) in runs
        )
    print(json.dumps(out))
    """
)


def test_the_sharpe_ratio_from_the_tearsheet_works_under_two_processes(tmp_path):
    """The recommended replacement for bt.analyzers.SharpeRatio (which, with the default observers,
    hangs the parent process under maxcpus=2: its inner TimeReturn keeps the strategy, whose
    observer classes backtrader creates at run time and the parent cannot unpickle)."""
    script = tmp_path / "sharpe.py"
    script.write_text(_SHARPE_SCRIPT.format(tests=str(Path(__file__).parent)))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["1"] == out["2"]
    assert [lookback for lookback, _ in out["2"]] == [60, 120]
    assert all(sharpe != 0 for _, sharpe in out["2"])


@pytest.mark.parametrize("mode", RUN_MODES.values(), ids=RUN_MODES.keys())
def test_a_delisting_sale_fills_after_its_decision(prices, mode):
    delisted = prices.copy()
    delisted.loc["2019-06-15":, "XOM"] = float("nan")  # XOM's feed ends on 2019-06-14
    strategy = _run(make_cerebro(delisted, **mode))
    (sale,) = [
        o for o in strategy.orders_log if o.asset == "XOM" and o.date > pd.Timestamp("2019-06-14")
    ]
    assert sale.status == "Completed" and sale.size < 0
    record = next(r for r in strategy.records if r.date == sale.date)
    assert sale.executed_date > sale.date  # decided on 2019-07-01, filled with the other orders
    assert sale.executed_date == record.fill_date
    others = {o.executed_date for o in strategy.orders_log if o.date == sale.date and o is not sale}
    assert others == {sale.executed_date}
    assert sale.executed_price == pytest.approx(delisted.loc["2019-06-14", "XOM"])

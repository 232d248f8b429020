"""backtrader users' habits give exactly the numbers of a plain single run.

``optstrategy`` (one and two processes), a cerebro run twice, several strategies on one cerebro and
live-like feeds (``preload=False``). Each is compared with the same settings run alone, to the cent.
docs/backtrader.md ("Habits that work") points here.
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
from _btutil import make_cerebro, small_prices

from seqfolio.allocators import HRP
from seqfolio.strategies import RebalanceStrategy, TearSheet, WeightsHistory, add_price_feeds

COMBOS = [(lb, reb) for lb in (60, 120) for reb in ("monthly", "quarterly")]


class FinalValue(bt.Analyzer):
    """The broker's value and the strategy's order log at the end of the run (picklable)."""

    def stop(self) -> None:
        self.rets = {
            "value": round(self.strategy.broker.getvalue(), 2),
            "orders": [
                (str(o.date.date()), o.asset, o.size, o.status)
                for o in getattr(self.strategy, "orders_log", [])
            ],
        }

    def get_analysis(self) -> dict:
        return self.rets


_cerebro = make_cerebro  # 1,000,000 cash, 10 bps; the opt script below imports it


@pytest.fixture(scope="module")
def prices():
    return small_prices("2017-06-01", "2020-06-30")


@pytest.fixture(scope="module")
def alone(prices):
    """Each combination run alone on a fresh cerebro: the truth the habits must reproduce."""
    out = {}
    for lookback, rebalance in COMBOS:
        cerebro = _cerebro(prices)
        cerebro.addstrategy(
            RebalanceStrategy, allocator=HRP(), lookback=lookback, rebalance=rebalance
        )
        cerebro.addanalyzer(FinalValue, _name="final")
        strategy = cerebro.run()[0]
        out[(lookback, rebalance)] = strategy.analyzers.final.get_analysis()
    return out


def test_optstrategy_one_process_equals_each_run_alone(prices, alone):
    cerebro = _cerebro(prices)
    cerebro.optstrategy(
        RebalanceStrategy, allocator=HRP(), lookback=[60, 120], rebalance=["monthly", "quarterly"]
    )
    cerebro.addanalyzer(FinalValue, _name="final")
    results = cerebro.run(maxcpus=1)
    assert len(results) == len(COMBOS)
    seen = set()
    for (run,) in results:
        key = (run.params.lookback, run.params.rebalance)
        seen.add(key)
        assert run.analyzers.final.get_analysis() == alone[key], key
    assert seen == set(COMBOS)


def test_cerebro_run_twice_gives_the_same_result(prices):
    cerebro = _cerebro(prices)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60)
    cerebro.addanalyzer(FinalValue, _name="final")
    first = cerebro.run()[0].analyzers.final.get_analysis()
    second = cerebro.run()[0].analyzers.final.get_analysis()
    assert first["value"] != 1_000_000.0
    assert second == first


_OPT_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import backtrader as bt
    sys.path.insert(0, {tests!r})
    from _btutil import make_cerebro, small_prices
    from test_backtrader_habits import FinalValue, _cerebro
    from seqfolio.allocators import HRP
    from seqfolio.strategies import RebalanceStrategy, TearSheet, WeightsHistory

    out = {{}}
    for maxcpus in (1, 2):
        cerebro = _cerebro(small_prices("2017-06-01", "2020-06-30"))
        cerebro.optstrategy(RebalanceStrategy, allocator=HRP(), lookback=[60, 120],
                            rebalance=["monthly", "quarterly"])
        cerebro.addanalyzer(FinalValue, _name="final")
        cerebro.addanalyzer(WeightsHistory, _name="weights")
        cerebro.addanalyzer(TearSheet, _name="ts", output={output!r})
        rows = []
        for (run,) in cerebro.run(maxcpus=maxcpus):
            weights = run.analyzers.weights.get_analysis()
            sheet = run.analyzers.ts
            rows.append({{
                "key": [run.params.lookback, run.params.rebalance],
                "final": run.analyzers.final.get_analysis(),
                "weights": round(float(weights["daily"].to_numpy().sum()), 9),
                "n_target": len(weights["target"]),
                "returns": round(float(sheet.returns.sum()), 12),
                "path": None if sheet.path is None else str(sheet.path),
            }})
        out[maxcpus] = sorted(rows, key=lambda r: r["key"])
    print(json.dumps(out))
    """
)


def test_optstrategy_two_processes_with_every_analyzer_equals_one_process(prices, alone, tmp_path):
    """Every seqfolio analyzer survives ``optreturn`` pickling; two processes give one's results,
    and each run writes its own tear sheet."""
    script = tmp_path / "opt.py"
    output = str(tmp_path / "tearsheet.html")
    script.write_text(_OPT_SCRIPT.format(tests=str(Path(__file__).parent), output=output))
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=600, cwd=tmp_path
    )
    assert done.returncode == 0, done.stderr[-3000:]
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["1"] == out["2"]
    for row in out["1"]:
        assert row["final"] == json.loads(json.dumps(alone[tuple(row["key"])]))
        assert row["n_target"] > 0
    paths = [row["path"] for row in out["1"]]
    assert len(set(paths)) == len(COMBOS)
    assert all(Path(p).is_file() for p in paths)


def test_preload_false_live_like_feeds_equal_a_plain_run(prices, alone):
    cerebro = _cerebro(prices, preload=False, runonce=False)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, rebalance="monthly")
    cerebro.addanalyzer(FinalValue, _name="final")
    assert cerebro.run()[0].analyzers.final.get_analysis() == alone[(60, "monthly")]


def _line_objects(obj: object, seen: set[int] | None = None, depth: int = 0) -> list[str]:
    """Names of the backtrader line / feed objects reachable from ``obj``'s attributes."""
    seen = set() if seen is None else seen
    found: list[str] = []
    if id(obj) in seen or depth > 3:
        return found
    seen.add(id(obj))
    items = (
        obj.items() if isinstance(obj, dict)
        else enumerate(obj) if isinstance(obj, (list, tuple))
        else vars(obj).items() if hasattr(obj, "__dict__") and depth == 0
        else []
    )  # fmt: skip
    for key, value in items:
        if isinstance(value, (bt.LineRoot, bt.linebuffer.LineBuffer)):
            found.append(str(key))
        elif isinstance(value, (dict, list, tuple)):
            found += [f"{key}.{k}" for k in _line_objects(value, seen, depth + 1)]
    return found


@pytest.mark.parametrize("analyzer", [TearSheet, WeightsHistory])
def test_analyzers_carry_results_not_feeds_after_optreturn(prices, analyzer):
    """What backtrader's optreturn leaves of an analyzer holds no feed or line (it is pickled back
    to the parent process under maxcpus > 1)."""
    import pickle

    cerebro = _cerebro(prices)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60)
    kwargs = {"output": None} if analyzer is TearSheet else {}
    cerebro.addanalyzer(analyzer, _name="a", **kwargs)
    done = cerebro.run()[0].analyzers.a
    done.strategy = done._parent = None  # what Cerebro.runstrategies does under optreturn
    for name in [n for n in dir(done) if n.startswith("data")]:
        setattr(done, name, None)
    assert _line_objects(done) == []
    assert len(pickle.dumps(done)) < 2_000_000
    restored = pickle.loads(pickle.dumps(done))
    assert restored.get_analysis().keys() == done.get_analysis().keys()


@pytest.mark.parametrize("model", ["signal", "lstm_allocator"])
def test_walk_forward_models_run_twice_and_optimised_like_alone(model):
    """The LSTM paths (a forecast signal, the direct-weights LSTMAllocator) add a retrain timer:
    a cerebro run twice and an optstrategy over two allocators give each run's own result."""
    from _wfutil import tiny_allocator, tiny_forecaster

    prices = small_prices("2018-01-01", "2019-12-31")
    settings = dict(lookback=40, train_window=200, retrain="quarterly", start="2019-01-01")
    if model == "signal":
        settings["signal"] = tiny_forecaster()
        choices = {"allocator": [HRP(), "ivp"]}
    else:
        settings["allocator"] = tiny_allocator()
        choices = {"rebalance": ["monthly", "quarterly"]}

    def single(**extra):
        cerebro = _cerebro(prices)
        cerebro.addstrategy(RebalanceStrategy, **{**settings, **extra})
        cerebro.addanalyzer(FinalValue, _name="final")
        strategy = cerebro.run()[0]
        return cerebro, strategy, strategy.analyzers.final.get_analysis()

    ((name, values),) = choices.items()
    cerebro, strategy, first = single(**{name: values[0]})
    fires = strategy.timer_fires
    assert first["orders"]
    assert cerebro.run()[0].analyzers.final.get_analysis() == first
    assert strategy.timer_fires == fires  # the first run's strategy saw no timer of the second

    cerebro = _cerebro(prices)
    cerebro.optstrategy(RebalanceStrategy, **settings, **{name: values})
    cerebro.addanalyzer(FinalValue, _name="final")
    got = [run.analyzers.final.get_analysis() for (run,) in cerebro.run(maxcpus=1)]
    assert got == [first, single(**{name: values[1]})[2]]


# -- choosing the feeds; several strategies on one cerebro -------------------------------------
def _index_frame(prices):
    """A made-up index on the stocks' calendar: the feed a user adds for a Benchmark observer."""
    return prices.mean(axis=1).rename("SPX").to_frame()


def test_feeds_leave_an_index_feed_alone_and_give_the_plain_result(prices, alone):
    cerebro = _cerebro(prices)
    add_price_feeds(cerebro, _index_frame(prices))
    cerebro.addobserver(bt.observers.Benchmark, data=cerebro.datas[-1])
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60, feeds=list(prices.columns))
    cerebro.addanalyzer(FinalValue, _name="final")
    cerebro.addanalyzer(WeightsHistory, _name="weights")
    strategy = cerebro.run()[0]
    assert strategy.assets == list(prices.columns)
    assert strategy.analyzers.final.get_analysis() == alone[(60, "monthly")]
    assert "SPX" not in strategy.analyzers.weights.get_analysis()["daily"].columns


class BuyAndHold(bt.Strategy):
    """A second strategy: half the cash into one feed on the first bar, then hold."""

    params = dict(feed="SPX", share=0.5)

    def __init__(self):
        self.data_ = self.getdatabyname(self.p.feed)
        self.bought = None

    def next(self):
        if self.bought is None:
            self.bought = int(self.p.share * self.broker.getvalue() / self.data_.close[0])
            self.buy(data=self.data_, size=self.bought)


def test_two_strategies_each_trade_their_own_feeds_and_capital(prices):
    cerebro = _cerebro(prices)
    add_price_feeds(cerebro, _index_frame(prices))
    cerebro.addstrategy(BuyAndHold)
    cerebro.addstrategy(
        RebalanceStrategy, allocator=HRP(), lookback=60, feeds=list(prices.columns), capital=0.45
    )
    hold, rebalancer = cerebro.run()
    assert {o.asset for o in rebalancer.orders_log} <= set(prices.columns)
    assert rebalancer.n_rejected == 0
    assert cerebro.broker.getposition(cerebro.datas[-1]).size == hold.bought
    assert cerebro.broker.getcash() > 0
    # each rebalance manages 45 % of the broker's value
    for record in rebalancer.records[1:]:
        assert 0.3 * 1e6 < record.value < 0.8 * 1e6


def test_feeds_errors_name_the_feeds(prices):
    cerebro = _cerebro(prices)
    cerebro.addstrategy(RebalanceStrategy, feeds=["AAPL", "SPY"])
    with pytest.raises(ValueError, match=r"'SPY'.*its feeds are \['AAPL'"):
        cerebro.run()


# -- delisted assets and gaps -------------------------------------------------------------------
@pytest.fixture(scope="module")
def delisting(prices):
    out = prices.copy()
    out.loc["2019-06-15":, "XOM"] = float("nan")  # XOM's feed ends on 2019-06-14
    return out


@pytest.mark.parametrize("policy", ["cash", "hold"])
def test_a_delisted_position_is_cashed_out_or_held_with_a_warning(delisting, policy, caplog):
    from seqfolio.backtest import run_backtest

    with caplog.at_level("WARNING", logger="seqfolio"):
        result = run_backtest(
            delisting, allocator="hrp", lookback=60, strategy_kwargs={"delisted": policy}
        )
    last = delisting["XOM"].last_valid_index()
    after = result.weights.loc[last + pd.Timedelta(days=40) :, "XOM"]
    events = result.events()
    delisted = events[events["kind"] == "delisted"]
    assert len(delisted) == 1 and "XOM: feed ended on 2019-06-14 while held" in delisted.iloc[0, 2]
    assert any("XOM: feed ended" in r.message for r in caplog.records)
    if policy == "cash":
        assert (after == 0).all()
        sale = [o for o in result.orders if o.asset == "XOM" and o.date > last and o.size < 0][0]
        assert sale.status == "Completed"
        assert sale.executed_price == pytest.approx(delisting.loc[last, "XOM"])
    else:
        assert (after > 0).all()


def test_a_short_gap_keeps_the_asset_in_every_rebalance(prices, caplog):
    gapped = prices.copy()
    gapped.loc["2019-03-04":"2019-03-05", "JNJ"] = float("nan")  # two blank days
    with caplog.at_level("WARNING", logger="seqfolio"):
        cerebro = _cerebro(gapped)
        cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=120)
        bridged = cerebro.run()[0]
    cerebro = _cerebro(gapped)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=120, max_gap=0)
    dropped = cerebro.run()[0]
    assert all("JNJ" in r.target.index for r in bridged.records)
    assert (
        sum("JNJ" not in r.target.index for r in dropped.records) == 5
    )  # the old behaviour: Apr .. Aug
    assert any("bridged for ['JNJ']" in r.message for r in caplog.records)


# -- clear messages instead of raw crashes -------------------------------------------------------
def test_nan_close_in_a_pandasdata_feed_is_named(prices):
    cerebro = bt.Cerebro(stdstats=False)
    for column in prices.columns:
        frame = pd.DataFrame({"close": prices[column]}).assign(open=lambda d: d.close)
        if column == "KO":
            frame.loc["2019-02-01", "close"] = float("nan")
        cerebro.adddata(bt.feeds.PandasData(dataname=frame), name=column)
    cerebro.broker.setcash(1e6)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60)
    with pytest.raises(ValueError, match="feed 'KO' has a NaN close on 2019-02-01"):
        cerebro.run()


@pytest.mark.parametrize("late", [0, 2])
def test_allocator_weights_with_a_late_feed_are_the_same_under_runonce(prices, late):
    from seqfolio.allocators.indicators import AllocatorWeights

    ragged = prices.copy()
    ragged.iloc[:30, late] = float("nan")

    class Record(bt.Strategy):
        def __init__(self):
            self.w = AllocatorWeights(*self.datas, allocator=HRP(), lookback=60)
            self.rows = []

        def next(self):
            self.rows.append((self.datetime[0], tuple(self.w.weights())))

    rows = []
    for runonce in (True, False):
        cerebro = bt.Cerebro(stdstats=False, runonce=runonce)
        add_price_feeds(cerebro, ragged)
        cerebro.addstrategy(Record)
        rows.append(cerebro.run()[0].rows)
    assert len(rows[0]) > 500
    assert rows[0] == rows[1]


# -- resampled feeds ---------------------------------------------------------------------------
def test_weekly_resampled_feeds_decide_on_weekly_closes(prices):
    """With cerebro.resampledata(..., Weeks) a bar is a week: lookback counts weeks and every
    decision equals the allocator fitted on the weekly closes up to that week."""
    from seqfolio.strategies import price_feeds

    cerebro = bt.Cerebro(stdstats=False)
    for feed in price_feeds(prices):
        cerebro.resampledata(feed, name=feed._name, timeframe=bt.TimeFrame.Weeks)
    cerebro.broker.setcash(1_000_000.0)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=52)
    strategy = cerebro.run()[0]
    weekly = prices.groupby(prices.index.to_period("W-SUN")).tail(1)  # last day of each week
    assert len(strategy.records) >= 20
    for record in strategy.records:
        window = weekly.loc[: record.date].iloc[-53:]
        expected = HRP().fit(window.pct_change().iloc[1:]).weights_
        pd.testing.assert_series_equal(
            record.target, expected, check_names=False, check_exact=False, rtol=1e-12
        )


@pytest.mark.parametrize("cheat", ["open", "close"])
def test_cheating_fills_are_refused(prices, cheat):
    cerebro = _cerebro(prices, cheat_on_open=cheat == "open")
    if cheat == "close":
        cerebro.broker.set_coc(True)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=60)
    with pytest.raises(ValueError, match="cheat-on-open"):
        cerebro.run()

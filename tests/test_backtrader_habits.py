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
import pytest
from _btutil import small_prices

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


def _cerebro(prices, **kwargs) -> bt.Cerebro:
    cerebro = bt.Cerebro(stdstats=False, **kwargs)
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(1_000_000.0)
    cerebro.broker.setcommission(commission=0.001)
    return cerebro


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
    from _btutil import small_prices
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

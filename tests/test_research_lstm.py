"""LSTM pipelines on the research path: engine parity, honest windows, no look-ahead, caching, seeds.

Tiny networks (hidden size 4, 2 epochs) on 4 bundled stocks keep every test to a few seconds.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import tomllib

import numpy as np
import pandas as pd
import pytest

from seqfolio.data import load_sample
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.simulation import target_weights
from seqfolio.research.walkforward import walk_forward

TINY = dict(window=10, horizon=5, hidden_size=4, max_epochs=2, sample_stride=3, ffd=False)
TINY_WEIGHTS = dict(window=10, hidden_size=4, max_epochs=2)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_sample("2013-01-01", "2015-12-31").iloc[:, :4]


def lstm_vol(**kw) -> PortfolioConfig:
    return PortfolioConfig("hrp", lookback=40, signal="lstm-vol", model={**TINY, **kw})


@pytest.mark.parametrize(
    ("weights_model", "ensemble"),
    [(False, 1), (True, 1), (False, 3)],
    ids=["lstm-vol>hrp", "lstm-weights", "ensemble-of-3>hrp"],
)
def test_target_weights_equal_the_engines_exactly(prices, weights_model, ensemble):
    """Same signal, allocator, retrain schedule, training window and seed: the research path's
    targets equal backtrader's on every decision date, bit for bit (tolerance 0); also for a
    seed ensemble trained as one population (``[model] ensemble = 3``)."""
    from seqfolio.backtest import run_backtest

    config = (
        PortfolioConfig("lstm-weights", lookback=40, model=TINY_WEIGHTS)
        if weights_model
        else lstm_vol(**({"ensemble": ensemble} if ensemble > 1 else {}))
    )
    common = dict(lookback=40, rebalance="monthly", start="2014-02-01", retrain="quarterly",
                  train_window=200)  # fmt: skip
    model = config.make_model()
    engine = run_backtest(
        prices,
        allocator=model if weights_model else "hrp",
        signal=None if weights_model else model,
        **common,
    )
    fast = target_weights(prices, allocator="hrp", model=model, **common)
    expected = engine.target.reindex(columns=prices.columns).fillna(0.0)
    assert len(expected) >= 10
    pd.testing.assert_frame_equal(fast.weights, expected, check_names=False, check_freq=False)
    assert list(fast.retrains.index) == list(engine.retrains.index)


def test_walk_forward_has_no_look_ahead_with_a_model(prices):
    configs = [lstm_vol()]
    base = walk_forward(prices, configs, train=250, test=200)
    day = prices.index[base.windows[1].test_start + 30]
    shocked = prices.copy()
    later = shocked.index > day
    shocked.loc[later] *= np.random.default_rng(0).uniform(0.5, 1.5, shocked.loc[later].shape)
    after = walk_forward(shocked, configs, train=250, test=200)
    label = configs[0].label
    pd.testing.assert_frame_equal(base.weights[label].loc[:day], after.weights[label].loc[:day])
    pd.testing.assert_series_equal(base.returns[label].loc[:day], after.returns[label].loc[:day])
    assert not base.weights[label].loc[day:].equals(after.weights[label].loc[day:])


def test_purge_changes_what_the_first_model_is_trained_on(prices):
    """Same test parts (train + purge fixed); the training part's model ends purge bars earlier."""
    configs = [lstm_vol()]
    near = walk_forward(prices, configs, train=250, test=200, purge=5)
    far = walk_forward(prices, configs, train=192, test=200, purge=63)
    assert [w.test_start for w in near.windows] == [w.test_start for w in far.windows]
    for report, purge in ((near, 5), (far, 63)):
        first = report.retrains[report.retrains["trigger"] == "bootstrap"]
        starts = [prices.index[w.test_start - purge - 1] for w in report.windows]
        assert list(first["date"]) == starts[: len(first)] and len(first) >= 1
    label = configs[0].label
    assert not near.weights[label].equals(far.weights[label])
    with pytest.raises(ValueError, match=r"purge=0 is shorter than the label horizon \(5 bars\)"):
        walk_forward(prices, configs, train=250, test=200, purge=0)
    default = walk_forward(prices, [lstm_vol(horizon=7)], train=250, test=200)
    assert default.windows[0].test_start - default.windows[0].train_stop == 7


def test_purge_on_allocators_alone_warns_that_it_only_moves_the_test(prices):
    with pytest.warns(UserWarning, match="only move the start of the first test part"):
        walk_forward(prices, [PortfolioConfig("hrp", lookback=40)], train=250, test=200, purge=10)


def test_cached_models_are_loaded_not_trained_again(tmp_path, prices):
    configs = [lstm_vol(), PortfolioConfig("ew", lookback=40, signal="lstm-vol", model=TINY)]
    first = walk_forward(prices, configs, train=250, test=200, cache_dir=str(tmp_path))
    by_config = first.retrains.groupby("config")["source"].agg(set)
    # the two configurations share one model: the second loads what the first trained
    assert by_config[configs[0].label] == {"trained"}
    assert by_config[configs[1].label] == {"checkpoint"}
    again = walk_forward(prices, configs, train=250, test=200, cache_dir=str(tmp_path))
    assert set(again.retrains["source"]) == {"checkpoint"}
    pd.testing.assert_frame_equal(first.summary, again.summary)


def test_seeds_report_mean_and_dispersion(prices):
    configs = [lstm_vol(), PortfolioConfig("hrp", lookback=40)]
    report = walk_forward(prices, configs, train=250, test=200, seeds=2)
    assert len(report.summary) == 3  # two seeds of the LSTM, the allocator once
    row = report.seeds.loc[lstm_vol().label]
    seeded = [f"{lstm_vol().label}, random state {s}" for s in (0, 1)]  # told apart by the seed
    sharpes = [report.summary.loc[label, "sharpe"] for label in seeded]
    assert row["seeds"] == 2 and row["sharpe_mean"] == pytest.approx(np.mean(sharpes))
    assert row["sharpe_sd"] == pytest.approx(np.std(sharpes, ddof=1)) and row["sharpe_sd"] > 0


def test_a_model_config_round_trips_through_toml():
    config = PortfolioConfig(
        "herc", params={"linkage": "ward"}, signal="lstm-regime", retrain="monthly",
        model={"hidden_size": 8, "ffd": True, "learning_rate": 0.01, "seed": 3},
    )  # fmt: skip
    document = tomllib.loads(config.replace(train_window=504).to_toml())
    assert document["signal"] == "lstm-regime" and document["retrain"] == "monthly"
    assert document["train_window"] == 504
    assert document["model"] == {  # one name per setting: seed is random_state's
        "hidden_size": 8, "ffd": True, "learning_rate": 0.01, "random_state": 3
    }
    model = config.make_model()
    assert (model.target, model.hidden_size, model.ffd_d, model.random_state) == (
        "regime", 8, "auto", 3,
    )  # fmt: skip
    with pytest.raises(ValueError, match="unknown model setting"):
        PortfolioConfig("hrp", signal="lstm-vol", model={"hidden": 8})
    with pytest.raises(ValueError, match="no model is used"):
        PortfolioConfig("hrp", model={"hidden_size": 8})


def test_research_with_a_model_does_not_import_backtrader():
    code = textwrap.dedent(
        f"""
        import sys
        import seqfolio.research
        from seqfolio.data import load_sample
        from seqfolio.research.config import PortfolioConfig
        from seqfolio.research.walkforward import walk_forward
        prices = load_sample("2013-01-01", "2014-12-31").iloc[:, :3]
        config = PortfolioConfig("hrp", lookback=40, signal="lstm-vol", model={TINY!r})
        walk_forward(prices, [config], train=250, test=200)
        assert "backtrader" not in sys.modules, "backtrader was imported"
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]


def test_tune_searches_lstm_settings_and_writes_a_replayable_best(tmp_path, prices):
    from seqfolio.research.report import write_tune_report
    from seqfolio.research.tuning import SearchSpace, tune

    space_file = tmp_path / "space.toml"
    space_file.write_text(
        textwrap.dedent(
            """
            allocators = ["hrp", "lstm-weights"]
            lookback = [40, 60, 20]
            rebalance = ["monthly"]
            max_weight = ["none"]
            signals = ["none", "lstm-vol"]
            [model]
            window = [10]
            horizon = [5]
            hidden_size = [4]
            max_epochs = [2]
            learning_rate = {low = 0.001, high = 0.01, log = true}
            ffd = [false]
            """
        )
    )
    space = SearchSpace.from_toml(space_file)
    assert space.horizon() == 5
    kw = dict(n_trials=3, holdout=0.25, train=250, test=150, space=space, seed=1)
    result = tune(prices, **kw, cache_dir=str(tmp_path / "models"), pruner="none")
    assert result.study.best_trial.state.name == "COMPLETE"
    assert len(result.search_stats) and result.train_window == 250
    chosen = {(t.params.get("allocator"), t.params.get("signal")) for t in result.study.trials}
    assert any(a == "lstm-weights" or s == "lstm-vol" for a, s in chosen)
    folder = write_tune_report(result, tmp_path / "out")
    best = tomllib.loads((folder / "best.toml").read_text())
    assert best["allocator"] == result.best.allocator
    if result.best.uses_model:
        assert best["train_window"] == 250 and best["model"] == result.best.model
    with pytest.raises(ValueError, match="unknown key"):
        (tmp_path / "bad.toml").write_text('allocator = ["hrp"]\n')
        SearchSpace.from_toml(tmp_path / "bad.toml")
    with pytest.raises(ValueError, match="purge"):
        tune(prices, **kw, purge=2)


@pytest.mark.slow
def test_local_processes_give_the_serial_result_with_models(prices):
    configs = [lstm_vol(), PortfolioConfig("lstm-weights", lookback=40, model=TINY_WEIGHTS)]
    serial = walk_forward(prices, configs, train=250, test=200)
    parallel = walk_forward(prices, configs, train=250, test=200, workers=2)
    pd.testing.assert_frame_equal(serial.summary, parallel.summary)
    pd.testing.assert_frame_equal(serial.retrains.drop(columns="seconds"),
                                  parallel.retrains.drop(columns="seconds"))  # fmt: skip


def test_seeds_train_as_one_population_and_match_lone_fits(prices, monkeypatch):
    """With seeds, each window's retrains fit every seed at once (fit_population with 3 members);
    the result matches fitting each seed alone (members equal their lone fits to 1e-5)."""
    import seqfolio.signals as signals

    sizes = []
    real = signals.fit_population

    def counting(forecasters, *args, **kwargs):
        sizes.append(len(forecasters))
        return real(forecasters, *args, **kwargs)

    monkeypatch.setattr(signals, "fit_population", counting)
    configs = [lstm_vol(), PortfolioConfig("ew", lookback=40)]
    together = walk_forward(prices, configs, train=250, test=200, seeds=3)
    assert sizes and set(sizes) == {3}
    alone = walk_forward(prices, configs, train=250, test=200, seeds=3, population=False)
    np.testing.assert_allclose(together.summary["sharpe"], alone.summary["sharpe"], atol=1e-4)


def test_tune_groups_a_batch_into_populations(prices):
    from seqfolio.research.splits import walk_forward_windows
    from seqfolio.research.tasks import PopulationTask
    from seqfolio.research.tuning import PortfolioObjective, SearchSpace

    windows = walk_forward_windows(len(prices), train=250, test=200)
    objective = PortfolioObjective(prices, windows, SearchSpace())
    configs = [lstm_vol(seed=s) for s in range(3)] + [PortfolioConfig("hrp", lookback=40)]
    plan = objective.grouped_tasks(configs * 2, [0] * 4 + [1] * 4)
    kinds = [(type(task).__name__, members) for (_, task), members in plan]
    assert kinds == [("PopulationTask", [0, 1, 2]), ("WindowTask", [3]),
                     ("PopulationTask", [4, 5, 6]), ("WindowTask", [7])]  # fmt: skip
    assert isinstance(plan[0][0][1], PopulationTask)

"""Walk-forward studies, the batched Optuna search (pruning, resume) and Dask scale-out."""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd
import pytest

from seqfolio.data import load_sample
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.parallel import executor
from seqfolio.research.tuning import SearchSpace, run_batched_study, tune
from seqfolio.research.walkforward import walk_forward

optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_sample(
        "2012-01-01", "2017-12-31", assets=["AAPL", "JNJ", "KO", "XOM", "JPM", "PG", "MSFT", "WMT"]
    )


def _score(shared: None, point: tuple[float, str, int]) -> float:
    x, kind, window = point
    return -((x - 2.0) ** 2) - (0.0 if kind == "b" else 1.0) + 0.01 * window


@dataclass
class Quadratic:
    """Known optimum: x = 2, kind = "b" (each window adds a small constant)."""

    n_windows: int = 3

    def suggest(self, trial):
        return trial.suggest_float("x", -5, 5), trial.suggest_categorical("kind", ["a", "b", "c"])

    def task(self, params, window):
        return _score, (params[0], params[1], window)

    def scores(self, params, payloads):
        return list(payloads)


def test_batched_study_finds_the_known_optimum():
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=1))
    with executor(1) as run:
        run_batched_study(study, Quadratic(), n_trials=60, run=run, batch_size=2)
    assert study.best_params["kind"] == "b"
    assert abs(study.best_params["x"] - 2.0) < 0.5
    finished = [t for t in study.trials if t.state.is_finished()]
    assert len(finished) == 60


@dataclass
class Bad:
    n_windows: int = 4

    def suggest(self, trial):
        return trial.suggest_float("x", 0, 1)

    def task(self, params, window):
        return _score, (params, "b", window)

    def scores(self, params, payloads):
        # the same score in every window: a trial worse than the median after window 0 stays worse
        return [1.0 - params for _ in payloads]


def test_weak_trials_are_pruned_after_the_early_windows():
    study = optuna.create_study(
        direction="maximize",
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3, n_warmup_steps=0),
    )
    with executor(1) as run:
        run_batched_study(study, Bad(), n_trials=20, run=run, prune_after=1)
    pruned = [t for t in study.trials if t.state.name == "PRUNED"]
    complete = [t for t in study.trials if t.state.name == "COMPLETE"]
    assert pruned and complete
    assert all(len(t.user_attrs["window_scores"]) == 1 for t in pruned)  # stopped after one window
    assert all(len(t.user_attrs["window_scores"]) == 4 for t in complete)
    assert np.mean([t.params["x"] for t in pruned]) > np.mean([t.params["x"] for t in complete])


def test_walk_forward_report(prices):
    configs = [
        PortfolioConfig("hrp"),
        PortfolioConfig("ew"),
        PortfolioConfig("herc", params={"risk_measure": "cdar"}),
    ]
    report = walk_forward(prices, configs, train=300, test=250)
    assert list(report.per_window["window"].unique()) == list(range(len(report.windows)))
    assert set(report.summary.index) == {c.label for c in configs}
    for label, returns in report.returns.items():
        assert returns.index[0] == prices.index[report.windows[0].test_start]
        assert returns.notna().all() and np.isfinite(report.weights[label].to_numpy()).all()
    assert (report.summary["dsr"] <= report.summary["psr"] + 1e-12).all()
    verdict = report.overfitting  # PBO and DSR over the three configurations
    assert verdict["trials"] == 3 and 0 <= verdict["pbo"] <= 1 and 0 <= verdict["dsr"] <= 1
    assert verdict["best"] == report.summary.index[0]
    with pytest.raises(ValueError, match=r"train=100 bars is shorter than the lookback"):
        walk_forward(prices, configs, train=100, test=250)


def test_walk_forward_has_no_look_ahead(prices):
    config = [PortfolioConfig("hrp", lookback=126)]
    base = walk_forward(prices, config, train=200, test=250)
    day = prices.index[base.windows[1].test_start + 30]
    shocked = prices.copy()
    shocked.loc[shocked.index > day] *= np.random.default_rng(0).uniform(
        0.5, 1.5, shocked.loc[shocked.index > day].shape
    )
    after = walk_forward(shocked, config, train=200, test=250)
    label = config[0].label
    pd.testing.assert_series_equal(base.returns[label].loc[:day], after.returns[label].loc[:day])


def test_tune_persists_and_resumes(tmp_path, prices):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    space = SearchSpace(
        allocators=("hrp", "ew"), lookback=(63, 126, 63), rebalance=("monthly",), max_weight=(None,)
    )
    first = tune(
        prices,
        n_trials=3,
        holdout=0.25,
        train=300,
        test=250,
        space=space,
        storage=storage,
        study_name="s",
    )
    assert len(first.trials) == 3
    # an interrupted run leaves a RUNNING trial behind
    first.study.ask()
    again = tune(
        prices,
        n_trials=5,
        holdout=0.25,
        train=300,
        test=250,
        space=space,
        storage=storage,
        study_name="s",
    )
    states = again.trials["state"].value_counts().to_dict()
    assert states.get("FAIL") == 1 and states.get("COMPLETE", 0) + states.get("PRUNED", 0) == 5
    assert again.search_end < prices.index[-1]
    assert again.holdout is not None
    assert (
        again.holdout.returns[again.best.label].index[0] > again.search_end
    )  # the search never saw it
    toml = again.best.to_toml()
    assert f'allocator = "{again.best.allocator}"' in toml
    complete = again.trials["state"].eq("COMPLETE").sum()
    if complete > 1:  # PBO and DSR over the completed trials, the resumed ones included
        assert again.overfitting["trials"] == complete
        assert 0 <= again.overfitting["pbo"] <= 1


@pytest.mark.slow
def test_dask_local_cluster_equals_serial(prices):
    distributed = pytest.importorskip("distributed")
    configs = [PortfolioConfig("hrp"), PortfolioConfig("ivp")]
    serial = walk_forward(prices, configs, train=300, test=250)
    space = SearchSpace(
        allocators=("hrp", "ivp", "ew"), lookback=(63, 252, 63), rebalance=("monthly", "quarterly")
    )
    # the default batch size: the same search as the serial one (it once defaulted to 2 on Dask)
    # (12 trials: past the sampler's 10 random start-up trials, where the batch changes proposals)
    kwargs = dict(n_trials=12, holdout=0.2, train=300, test=250, space=space, seed=3)
    tuned_serial = tune(prices, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
        )
    try:
        on_dask = walk_forward(
            prices, configs, train=300, test=250, scheduler=cluster.scheduler_address
        )
        tuned_dask = tune(prices, **kwargs, scheduler=cluster.scheduler_address)
    finally:
        cluster.close()
    pd.testing.assert_frame_equal(serial.summary, on_dask.summary)
    for label in serial.returns:
        pd.testing.assert_series_equal(serial.returns[label], on_dask.returns[label])
    pd.testing.assert_frame_equal(tuned_serial.trials, tuned_dask.trials)
    assert tuned_serial.best == tuned_dask.best


@pytest.mark.slow
def test_local_processes_equal_serial(prices):
    configs = [PortfolioConfig("hrp"), PortfolioConfig("herc")]
    serial = walk_forward(prices, configs, train=300, test=250)
    parallel = walk_forward(prices, configs, train=300, test=250, workers=2)
    pd.testing.assert_frame_equal(serial.summary, parallel.summary)


# --- a study remembers what makes its trials comparable (issue 21, items 1 and 2) ---------------------

SMALL_SPACE = SearchSpace(
    allocators=("hrp", "ew"), lookback=(63, 126, 63), rebalance=("monthly",), max_weight=(None,)
)
SMALL_TUNE = dict(n_trials=2, holdout=0.25, train=300, test=250, prune_after=1)


def test_a_study_refuses_to_resume_with_other_settings(tmp_path, prices):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    tune(prices, **SMALL_TUNE, space=SMALL_SPACE, storage=storage, study_name="s")
    other = SearchSpace(allocators=("ivp", "herc"), lookback=(63, 126, 63), rebalance=("monthly",))
    with pytest.raises(ValueError, match="study 's'") as raised:
        tune(prices, **SMALL_TUNE, space=other, storage=storage, study_name="s")
    message = str(raised.value)
    assert "space.allocators: ['hrp', 'ew'] (now ['ivp', 'herc'])" in message
    assert "start a new study" in message and "study_name" in message
    with pytest.raises(ValueError, match=r"windows.train: 300 \(now 250\)"):
        tune(prices, **{**SMALL_TUNE, "train": 250}, space=SMALL_SPACE, storage=storage,
             study_name="s")  # fmt: skip
    with pytest.raises(ValueError, match="data.last"):
        tune(prices.iloc[:-100], **SMALL_TUNE, space=SMALL_SPACE, storage=storage, study_name="s")
    # the same settings resume it (more trials, another pruner or seed do not change what a trial is)
    again = tune(prices, **{**SMALL_TUNE, "n_trials": 3}, space=SMALL_SPACE, storage=storage,
                 study_name="s", seed=5)  # fmt: skip
    assert len(again.trials) == 3 and again.earlier_trials == 2


def test_each_space_has_its_own_default_study(tmp_path, prices):
    from seqfolio.research.tuning import LSTM_SPACE

    assert SearchSpace().name == "default" and LSTM_SPACE.name == "lstm"
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    first = tune(prices, **SMALL_TUNE, space=SMALL_SPACE, storage=storage)
    other = SearchSpace(allocators=("ivp",), lookback=(63, 126, 63), rebalance=("monthly",),
                        name="ivp-only")  # fmt: skip
    second = tune(prices, **SMALL_TUNE, space=other, storage=storage)
    assert first.study.study_name == "seqfolio-default"
    assert second.study.study_name == "seqfolio-ivp-only"
    assert second.best.allocator == "ivp" and second.earlier_trials == 0


def test_resuming_says_so(tmp_path, prices, caplog):
    storage = f"sqlite:///{tmp_path / 'study.db'}"
    tune(prices, **SMALL_TUNE, space=SMALL_SPACE, storage=storage)
    with caplog.at_level("INFO", logger="seqfolio.research"):
        tune(prices, **{**SMALL_TUNE, "n_trials": 3}, space=SMALL_SPACE, storage=storage)
    assert "resuming study 'seqfolio-default'" in caplog.text
    assert "2 of 3 trials already finished" in caplog.text and "running 1 more" in caplog.text
    caplog.clear()
    with caplog.at_level("INFO", logger="seqfolio.research"):
        done = tune(prices, **SMALL_TUNE, space=SMALL_SPACE, storage=storage)
    assert "already has 3 finished trials" in caplog.text and "no trial to run" in caplog.text
    assert len(done.trials) == 3 and done.earlier_trials == 3


@pytest.mark.slow
def test_the_default_batch_does_not_depend_on_where_trials_run(prices):
    # Locally the batch once defaulted to --workers (1), on a scheduler to 2: another search.
    # 12 trials: past the sampler's 10 random start-up trials, where the batch changes proposals
    space = SearchSpace(allocators=("hrp", "ivp", "ew"), lookback=(63, 252, 63),
                        rebalance=("monthly", "quarterly"))  # fmt: skip
    kwargs = dict(n_trials=12, holdout=0.2, train=300, test=250, space=space, seed=1)
    serial = tune(prices, **kwargs)
    in_processes = tune(prices, **kwargs, workers=2)
    pd.testing.assert_frame_equal(serial.trials, in_processes.trials)
    assert serial.best == in_processes.best


# --- one score per figure, and the figures agree (issue 21, item 7) -----------------------------------


def test_tune_figures_say_which_score_they_are_and_agree(tmp_path, prices):
    from seqfolio.research.report import write_tune_report

    space = SearchSpace(allocators=("hrp", "ivp", "ew", "mvo"), lookback=(63, 252, 63),
                        rebalance=("monthly", "quarterly"), max_weight=(None, 0.2))  # fmt: skip
    result = tune(prices, n_trials=14, holdout=0.25, train=300, test=150, space=space,
                  pruner="median", prune_after=1, seed=2)  # fmt: skip
    trials = result.trials.set_index("trial")
    winner = result.study.best_trial.number
    complete, pruned = trials[trials["state"] == "COMPLETE"], trials[trials["state"] == "PRUNED"]
    assert len(pruned) > 0, "the test needs pruned trials"
    # score: the mean Sharpe over every search window, for completed trials only; a pruned trial's
    # mean over the windows it ran is its partial_score (Optuna would store its last window's Sharpe)
    assert pruned["score"].isna().all() and complete["partial_score"].isna().all()
    assert (pruned["windows_run"] < len(result.windows)).all()
    for number, row in pruned.iterrows():
        window_scores = result.study.trials[number].user_attrs["window_scores"]
        assert row["partial_score"] == pytest.approx(np.mean(window_scores))
    assert trials.loc[winner, "score"] == result.study.best_value == complete["score"].max()
    assert trials.loc[winner, "rank"] == 1 and pruned["rank"].isna().all()
    assert sorted(complete["rank"]) == list(range(1, len(complete) + 1))
    # the winner's stitched Sharpe and its DSR are one figure wherever they are shown
    stats = result.search_stats
    assert result.overfitting["best"] == f"trial {winner}"
    assert stats["trial"] == winner and stats["score"] == result.study.best_value
    assert stats["sharpe"] == pytest.approx(trials.loc[winner, "stitched_sharpe"], rel=1e-12)
    assert stats["sharpe"] == pytest.approx(result.overfitting["best_sharpe"], rel=1e-12)
    assert stats["dsr"] == pytest.approx(result.overfitting["dsr"], rel=1e-9)
    finished = len(complete) + len(pruned)
    assert stats["dsr_trials"] == result.overfitting["dsr_trials"] == finished
    folder = write_tune_report(result, tmp_path)
    text = (folder / "trials.md").read_text()
    assert "partial_score" in text and "mean Sharpe over the windows it ran" in text

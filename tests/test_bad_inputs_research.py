"""Bad inputs and faults of the research package: the evaluator's inputs, blank holiday rows,
allocator failures inside walk-forward windows, and the last Dask worker dying mid-study."""

from __future__ import annotations

import contextlib
import logging
import os
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _daskutil import killing_a_busy_worker

from seqfolio.allocators import HRP, EqualWeight, Fallback
from seqfolio.research import evaluate_weights
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.report import write_walkforward_report
from seqfolio.research.simulation import simulate, target_weights
from seqfolio.research.walkforward import walk_forward


def random_prices(n_bars: int = 300, n_assets: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        100 * np.exp(np.cumsum(rng.normal(0, 0.01, (n_bars, n_assets)), axis=0)),
        index=pd.bdate_range("2020-01-01", periods=n_bars, name="date"),
        columns=[chr(ord("A") + i) for i in range(n_assets)],
    )


@pytest.fixture(autouse=True)
def _quiet_skip_warnings(caplog: pytest.LogCaptureFixture) -> None:
    """Skipped rebalances log a warning each on the seqfolio.strategies logger; keep the output short."""
    caplog.set_level(logging.ERROR, logger="seqfolio")


# -- evaluate_weights: bad inputs ------------------------------------------------------------------
def _small() -> tuple[pd.DataFrame, pd.DataFrame]:
    index = pd.bdate_range("2021-01-01", periods=10)
    prices = pd.DataFrame({"A": np.linspace(10, 11, 10), "B": np.linspace(20, 19, 10)}, index=index)
    targets = pd.DataFrame({"A": [0.5, 0.3], "B": [0.5, 0.7]}, index=index[[1, 5]])
    return prices, targets


def _with(frame: pd.DataFrame, row: int, column: int, value: float) -> pd.DataFrame:
    frame = frame.copy()
    frame.iloc[row, column] = value
    return frame


_P, _T = _small()
EVALUATOR_CASES = {
    "empty targets": (dict(prices=_P, targets=_T.iloc[:0]), r"targets has no rows; give at least one decision date"),
    "unsorted prices": (dict(prices=_P.iloc[::-1], targets=_T), r"the prices' index must be sorted and unique: row 1 \(2021-01-13\) comes before the row above it; sort it first \(prices\.sort_index\(\)\)"),
    "duplicate price dates": (dict(prices=pd.concat([_P.iloc[:3], _P.iloc[2:]]), targets=_T), r"the prices' index must be sorted and unique: 2021-01-05 appears 2 times; keep one row per date"),
    "zero price on a decision bar": (dict(prices=_with(_P, 5, 0, 0.0), targets=_T), r"column 'A' has a non-positive price \(0\) on 2021-01-08; prices must be positive and finite: fix it, or blank the cell \(NaN: no price that day\)"),
    "negative price": (dict(prices=_with(_P, 6, 0, -5.0), targets=_T), r"column 'A' has a non-positive price \(-5\) on 2021-01-11"),
    "initial_value 0": (dict(prices=_P, targets=_T, initial_value=0), r"The 'initial_value' parameter of evaluate_weights must be a finite float > 0\. Got 0 instead"),
    "initial_value NaN": (dict(prices=_P, targets=_T, initial_value=float("nan")), r"The 'initial_value' parameter of evaluate_weights must be a finite float > 0\. Got nan instead"),
    "initial_value negative": (dict(prices=_P, targets=_T, initial_value=-1.0), r"The 'initial_value' parameter .* Got -1\.0 instead"),
    "text price column": (dict(prices=_P.assign(C="x"), targets=_T), r"prices columns \['C'\] are not numeric \(e.g. 'x' on 2021-01-01\)"),
    "duplicate price columns": (dict(prices=pd.concat([_P, _P[["A"]]], axis=1), targets=_T), r"prices have duplicate columns \['A'\]; give each asset one column"),
}  # fmt: skip


@pytest.mark.parametrize("case", EVALUATOR_CASES, ids=list(EVALUATOR_CASES))
def test_evaluate_weights_rejects_bad_inputs(case: str) -> None:
    kwargs, message = EVALUATOR_CASES[case]
    with pytest.raises(ValueError, match=f"^(evaluate_weights: )?{message}"):
        evaluate_weights(**kwargs)


def test_evaluate_weights_accepts_numpy_scalars() -> None:
    prices, targets = _small()
    commission = np.float32(0.001)  # used to be rejected as "not a float"
    expected = evaluate_weights(prices, targets, commission=float(commission), initial_value=2.0)
    got = evaluate_weights(prices, targets, commission=commission, initial_value=np.int64(2))
    pd.testing.assert_series_equal(got.returns, expected.returns)
    pd.testing.assert_series_equal(got.values, expected.values)


# -- a blank holiday row is not a bar (as in backtrader) ---------------------------------------------
def _with_blank_rows(prices: pd.DataFrame, rows: list[int]) -> pd.DataFrame:
    blank = prices.copy()
    blank.iloc[rows] = np.nan
    return blank


def test_blank_row_does_not_kill_the_lookback_and_matches_backtrader() -> None:
    from seqfolio.backtest import run_backtest

    # blank rows: the fill bar of the first decision (2020-04-01), the first bar of June (the
    # schedule fires on the next bar instead) and one inside the lookback of later decisions
    blank = [66, 108, 150]
    prices = _with_blank_rows(random_prices(300), blank)
    assert [str(d.date()) for d in prices.index[blank]] == [
        "2020-04-02",
        "2020-06-01",
        "2020-07-29",
    ]
    targets = target_weights(prices, allocator="hrp", lookback=60)
    engine = run_backtest(
        prices, allocator="hrp", lookback=60, commission=0.001, cash_buffer=0.02,
        strategy_kwargs={"fractional": True},
    )  # fmt: skip
    assert list(targets.weights.index) == list(engine.rebalances.index)
    assert len(targets.weights) == 11  # the blank row 150 used to skip the 2 decisions after it
    assert pd.Timestamp("2020-06-02") in targets.weights.index
    assert [reason for _, reason in targets.skipped] == [r for _, r in engine.skipped]
    fast = simulate(prices, allocator="hrp", lookback=60, cash_buffer=0.02, commission=0.001)
    assert not fast.returns.index.isin(prices.index[blank]).any()  # no bar, as in backtrader
    common = fast.returns.index.intersection(engine.returns.index)
    assert len(common) == len(fast.returns)
    np.testing.assert_allclose(fast.returns[common], engine.returns[common], atol=1e-12)


def test_evaluate_weights_fills_on_the_next_bar_after_a_blank_row() -> None:
    prices = random_prices(30)
    blank = _with_blank_rows(prices, [6])
    targets = pd.DataFrame({"A": [0.5], "B": [0.5], "C": [0.0]}, index=prices.index[[5]])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no "held asset has no price" warning for a holiday
        got = evaluate_weights(blank, targets)
    expected = evaluate_weights(prices.drop(index=prices.index[6]), targets)
    pd.testing.assert_series_equal(got.returns, expected.returns)
    pd.testing.assert_frame_equal(got.weights, expected.weights)


def test_evaluate_weights_rejects_a_decision_on_a_blank_row() -> None:
    prices = _with_blank_rows(random_prices(30), [6])
    targets = pd.DataFrame({"A": [0.0]}, index=prices.index[[6]])
    with pytest.raises(ValueError, match=r"decision dates \['2020-01-09'\] are rows with no price"):
        evaluate_weights(prices, targets)


def test_walk_forward_ignores_blank_rows() -> None:
    prices = random_prices(300)
    blank = _with_blank_rows(prices, [100, 101, 230])
    configs = [PortfolioConfig("hrp", lookback=40), PortfolioConfig("ew", lookback=40)]
    got = walk_forward(blank, configs, train=60, test=40)
    expected = walk_forward(blank.dropna(how="all"), configs, train=60, test=40)
    pd.testing.assert_frame_equal(got.summary, expected.summary)
    pd.testing.assert_frame_equal(got.per_window, expected.per_window)
    for label in expected.returns:
        pd.testing.assert_series_equal(got.returns[label], expected.returns[label])
    assert got.events.empty and (got.per_window["skipped"] == 0).all()


# -- allocator failures and fallbacks inside walk-forward windows ------------------------------------
def _constant_stretch(prices: pd.DataFrame, rows: slice, column: str = "C") -> pd.DataFrame:
    flat = prices.copy()
    flat.loc[flat.index[rows], column] = 50.0
    return flat


ZERO_VARIANCE = "HRP failed: HRP.fit: columns ['C'] have zero variance"


def test_walk_forward_reports_allocator_failures() -> None:
    prices = _constant_stretch(random_prices(300), slice(100, 180))
    configs = [PortfolioConfig("hrp", lookback=40), PortfolioConfig("ew", lookback=40)]
    report = walk_forward(prices, configs, train=60, test=60)
    events = report.events
    assert list(events.columns) == ["config", "window", "date", "kind", "reason"]
    assert set(events["config"]) == {"HRP monthly"}  # equal weight does not mind
    assert (events["kind"] == "allocation_failed").all()
    assert events["reason"].str.startswith(ZERO_VARIANCE).all()
    assert [str(d.date()) for d in events["date"]] == ["2020-08-03", "2020-09-01"]
    hrp = report.per_window[report.per_window["config"] == "HRP monthly"]
    assert hrp["skipped"].tolist() == [0, 2, 0, 0] and hrp["failed"].tolist() == [0, 2, 0, 0]
    assert hrp["decisions"].sum() == 11 and (hrp["fallbacks"] == 0).all()
    lines = report.events_summary()
    assert list(lines) == ["HRP monthly"]
    assert lines["HRP monthly"].startswith(
        f"2 of 11 decisions skipped (2 allocator failures; first 2020-08-03: {ZERO_VARIANCE}"
    )


@pytest.mark.filterwarnings("ignore:Fallback. member 0:RuntimeWarning")
def test_walk_forward_reports_fallbacks(monkeypatch: pytest.MonkeyPatch) -> None:
    prices = _constant_stretch(random_prices(300), slice(100, 180))
    report = walk_forward(
        prices, [PortfolioConfig(Fallback([HRP(), EqualWeight()]), lookback=40)], train=60, test=60
    )
    events = report.events
    assert (events["kind"] == "fallback").all() and len(events) == 2
    assert events["reason"].str.startswith("EqualWeight used: ").all()
    assert events["reason"].str.contains("zero variance").all()
    assert report.per_window["fallbacks"].tolist() == [0, 2, 0, 0]
    assert report.per_window["skipped"].sum() == 0
    assert report.events_summary() == {
        "Fallback monthly": "2 decisions fell back to EqualWeight"
    }


@pytest.mark.filterwarnings("ignore:Fallback. member 0:RuntimeWarning")
def test_target_weights_keeps_failures_and_fallbacks() -> None:
    prices = _constant_stretch(random_prices(200), slice(60, 140))
    failed = target_weights(prices, allocator=HRP(), lookback=40)
    assert failed.failures and set(failed.failures) <= set(failed.skipped)
    assert all(reason.startswith(ZERO_VARIANCE) for _, reason in failed.failures)
    fell_back = target_weights(prices, allocator=Fallback([HRP(), EqualWeight()]), lookback=40)
    assert [d for d, _ in fell_back.fallbacks] == [d for d, _ in failed.failures]
    assert not fell_back.failures


def test_walk_forward_with_a_constant_asset_names_the_real_reason() -> None:
    prices = random_prices(300)
    prices["C"] = 50.0
    with pytest.raises(
        ValueError,
        match=r"HRP monthly: no window produced weights: all 11 decisions were skipped; "
        r"the first allocator failure \(2020-04-01\): HRP failed: HRP\.fit: columns \['C'\] have "
        r"zero variance \(constant price\)",
    ):
        walk_forward(prices, [PortfolioConfig("hrp", lookback=40)], train=60, test=60)


def test_walk_forward_report_writes_events_csv(tmp_path: Path) -> None:
    prices = _constant_stretch(random_prices(300), slice(100, 180))
    report = walk_forward(prices, [PortfolioConfig("hrp", lookback=40)], train=60, test=60)
    write_walkforward_report(report, tmp_path)
    events = pd.read_csv(tmp_path / "events.csv")
    assert list(events.columns) == ["config", "window", "date", "kind", "reason"]
    assert events["date"].tolist() == ["2020-08-03", "2020-09-01"]
    per_window = pd.read_csv(tmp_path / "per_window.csv")
    assert per_window["skipped"].tolist() == [0, 2, 0, 0]
    clean = walk_forward(
        random_prices(300), [PortfolioConfig("hrp", lookback=40)], train=60, test=60
    )
    write_walkforward_report(clean, tmp_path)
    assert not (tmp_path / "events.csv").exists()  # a stale file from the earlier run is removed


def test_cli_walkforward_mentions_skipped_decisions(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from seqfolio.cli import main

    data = tmp_path / "prices.csv"
    _constant_stretch(random_prices(300), slice(100, 180)).to_csv(data)
    out = tmp_path / "wf"
    args = ["walkforward", "--data", str(data), "--allocators", "hrp,ew", "--lookback", "40",
            "--train", "60", "--test", "60", "--start", "2020-01-01", "--end", "2021-12-31",
            "--out", str(out)]  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # read_prices warns about the constant stretch
        assert main(args) == 0
    printed = capsys.readouterr().out
    assert (
        f"HRP monthly: 2 of 11 decisions skipped (2 allocator failures; first 2020-08-03: "
        f"{ZERO_VARIANCE}" in printed
    )
    assert "; see events.csv" in printed and "weights.png, overfitting.md, overfitting.csv, events.csv" in printed
    assert "EqualWeight monthly:" not in printed
    assert len(pd.read_csv(out / "events.csv")) == 2


def test_tune_trials_count_skipped_decisions() -> None:
    from seqfolio.research.tuning import SearchSpace, tune

    prices = _constant_stretch(random_prices(300), slice(100, 180))
    space = SearchSpace(
        allocators=("hrp",), lookback=(40, 40, 1), rebalance=("monthly",), max_weight=(None,),
        choices={"hrp": {"linkage": ("single",)}},
    )  # fmt: skip
    result = tune(prices, n_trials=1, holdout=0.0, train=60, test=60, space=space, prune_after=4)
    trials = result.trials
    assert trials["state"].tolist() == ["COMPLETE"]
    assert trials["skipped"].tolist() == [2] and trials["fallbacks"].tolist() == [0]


# -- the last Dask worker dies mid-study -------------------------------------------------------------
def _alive(process: Any) -> bool:
    import psutil

    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def _multiprocessing_helper(process: Any) -> bool:
    """multiprocessing's resource tracker, started with the first spawned process, lives as long
    as this interpreter: it is not the cluster's."""
    import psutil

    try:
        return "resource_tracker" in " ".join(process.cmdline())
    except psutil.NoSuchProcess:
        return False


@contextlib.contextmanager
def one_worker_cluster(**config: Any) -> Iterator[Any]:
    """A 1-worker LocalCluster (processes); on exit every process it started must be gone."""
    distributed = pytest.importorskip("distributed")
    import dask
    import psutil

    me = psutil.Process()
    before = {p.pid for p in me.children(recursive=True)}
    with dask.config.set(config), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)  # fmt: skip
    try:
        yield cluster
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster.close()
        deadline = time.monotonic() + 20
        while True:
            left = [
                p
                for p in me.children(recursive=True)
                if p.pid not in before and _alive(p) and not _multiprocessing_helper(p)
            ]
            if not left or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert not left, f"the cluster left processes behind: {[p.cmdline() for p in left]}"


def _die_once_on_item_2(shared: dict[str, Any], item: int) -> int:
    """Kill the worker process the first time item 2 runs (a marker file remembers it)."""
    time.sleep(0.05)
    marker = Path(shared["marker"])
    if item == 2 and not marker.exists():
        marker.write_text("died")
        os._exit(1)
    return shared["offset"] + item


def _always_die(shared: Any, item: int) -> int:
    os._exit(1)


@pytest.mark.slow
def test_dask_task_that_kills_the_only_worker_is_rerun(tmp_path: Path) -> None:
    from seqfolio.research.parallel import executor

    marker = tmp_path / "killed.marker"
    with one_worker_cluster() as cluster:
        from distributed import Client

        with Client(cluster) as client:
            with executor(scheduler=client, shared={"marker": str(marker), "offset": 100}) as run:
                got = run(_die_once_on_item_2, list(range(6)))
    assert marker.exists(), "the task did not kill its worker"
    assert got == [100, 101, 102, 103, 104, 105]


@pytest.mark.slow
def test_dask_task_whose_workers_keep_dying_gives_up_clearly() -> None:
    from seqfolio.research.parallel import executor

    with one_worker_cluster(**{"distributed.scheduler.allowed-failures": 1}) as cluster:
        from distributed import Client

        with Client(cluster) as client:
            with executor(scheduler=client, shared={"x": 1}, label="walk-forward") as run:
                with pytest.raises(
                    RuntimeError,
                    match=r"^walk-forward: Dask workers died 2 times while running task "
                    r"'_always_die-.*'; giving up\. Check the workers' memory and logs",
                ):
                    run(_always_die, [1, 2])


@pytest.mark.slow
def test_dask_only_worker_killed_mid_study_completes_like_serial() -> None:
    data = random_prices(300, n_assets=6, seed=1)
    configs = [PortfolioConfig("hrp", lookback=lb) for lb in (20, 30, 40, 50)]
    kwargs: dict[str, Any] = dict(train=60, test=40)
    serial = walk_forward(data, configs, **kwargs)
    # after 3 walk-forward tasks were seen running, SIGKILL the (only) worker running one: the
    # shared prices live on that worker alone and die with it
    with one_worker_cluster() as cluster, killing_a_busy_worker(cluster, after=3) as killed:
        on_dask = walk_forward(data, configs, **kwargs, scheduler=cluster.scheduler_address)
    assert killed, "the test did not manage to kill the worker mid-study"
    pd.testing.assert_frame_equal(serial.summary, on_dask.summary)
    pd.testing.assert_frame_equal(serial.per_window, on_dask.per_window)
    for label in serial.returns:
        pd.testing.assert_series_equal(serial.returns[label], on_dask.returns[label])
        pd.testing.assert_frame_equal(serial.weights[label], on_dask.weights[label])

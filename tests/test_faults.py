"""Fault injection: an optimiser failing mid-run, a diverging retrain, a feed that ends early, a Dask
worker killed mid-study and local workers that die while starting. Each run must finish, or stop with
an error that says what went wrong, and lose nothing; none may hang."""

from __future__ import annotations

import logging
import math
import os
import signal
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from _btutil import FlakyMeanVariance, run, small_prices
from _daskutil import killing_a_busy_worker
from _wfutil import run_wf, tiny_forecaster

from seqfolio.allocators import HRP, Fallback, MeanVariance


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return small_prices("2018-06-01", "2019-12-31")


@pytest.fixture()
def flaky(prices: pd.DataFrame) -> Any:
    _, base = run(prices, allocator=MeanVariance(objective="min_variance"))
    dates = [r.date for r in base.records]
    FlakyMeanVariance.BAD = dates[len(dates) // 2]
    yield base, FlakyMeanVariance.BAD
    FlakyMeanVariance.BAD = None


def test_optimiser_failure_uses_the_fallback_and_counts_it(
    flaky: Any, prices: pd.DataFrame
) -> None:
    base, bad = flaky
    allocator = Fallback([FlakyMeanVariance(objective="min_variance"), HRP()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        _, strat = run(prices, allocator=allocator)
    assert [d for d, _ in strat.fallbacks] == [bad]
    assert "HRP used" in strat.fallbacks[0][1]
    assert "injected solver failure" in strat.fallbacks[0][1]
    assert strat.skipped == base.skipped and not strat.allocation_failures  # only the warm-ups
    assert [r.date for r in strat.records] == [r.date for r in base.records]  # nothing lost
    assert any("injected solver failure" in str(w.message) for w in caught)
    # the other rebalances are exactly the plain MeanVariance ones
    for ours, theirs in zip(strat.records, base.records, strict=True):
        if ours.date != bad:
            pd.testing.assert_series_equal(ours.target, theirs.target)
    assert np.isfinite(strat.analyzers.ts.returns.to_numpy()).all()


def test_optimiser_failure_without_fallback_skips_records_and_goes_on(
    flaky: Any, prices: pd.DataFrame, caplog: pytest.LogCaptureFixture
) -> None:
    base, bad = flaky
    with caplog.at_level(logging.WARNING, logger="seqfolio"):
        _, strat = run(prices, allocator=FlakyMeanVariance(objective="min_variance"))
    new = [s for s in strat.skipped if s not in base.skipped]
    assert [d for d, _ in new] == [bad]
    assert "FlakyMeanVariance failed: injected solver failure" in new[0][1]
    assert [d for d, _ in strat.allocation_failures] == [bad]
    assert [r.date for r in strat.records] == [r.date for r in base.records if r.date != bad]
    assert any("rebalance skipped" in m and "injected" in m for m in caplog.messages)
    returns = strat.analyzers.ts.returns
    assert returns.index[-1] == base.analyzers.ts.returns.index[-1]  # the run was not cut short
    assert np.isfinite(returns.to_numpy()).all()


def test_run_backtest_reports_the_skipped_rebalance(flaky: Any, prices: pd.DataFrame) -> None:
    from seqfolio.backtest import run_backtest

    _, bad = flaky
    result = run_backtest(
        prices, allocator=FlakyMeanVariance(objective="min_variance"), lookback=60
    )
    assert [d for d, r in result.skipped if "failed" in r] == [bad]
    assert np.isfinite(result.returns.to_numpy()).all()


# -- training that diverges ----------------------------------------------------------------------
class _Data:
    def __init__(self, n: int = 32) -> None:
        g = torch.Generator().manual_seed(0)
        self.x = torch.randn(n, 3, generator=g)
        self.y = self.x.sum(dim=1, keepdim=True)

    def __len__(self) -> int:
        return len(self.x)

    def batch(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.x[ids], self.y[ids]


@pytest.mark.parametrize("bad", [math.nan, math.inf])
def test_trainer_refuses_a_nan_or_infinite_loss(bad: float) -> None:
    from seqfolio.signals.trainer import TrainingDiverged, train

    model = torch.nn.Linear(3, 1)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    calls = {"n": 0}

    def loss_fn(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        calls["n"] += 1
        loss = torch.mean((output - target) ** 2)
        return loss * bad if calls["n"] == 3 else loss

    with pytest.raises(TrainingDiverged, match="diverged.*no model was produced"):
        train(model, loss_fn, _Data(), None, max_epochs=3, batch_size=8, learning_rate=0.01,
              patience=None, grad_clip=None,
              generator=torch.Generator().manual_seed(0))  # fmt: skip
    assert isinstance(TrainingDiverged("x"), ValueError)
    state = model.state_dict()
    assert all(torch.isfinite(v).all() for v in state.values())
    assert all(
        torch.equal(before[k], state[k]) for k in before
    )  # no check passed: incoming weights


def test_retrain_with_nan_loss_keeps_the_previous_model(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import seqfolio.signals.trainer as trainer

    real_train = trainer.train
    calls = {"n": 0}

    def train_nan_on_second_retrain(model: Any, loss_fn: Any, *args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            return real_train(model, lambda out, y: loss_fn(out, y) * math.nan, *args, **kwargs)
        return real_train(model, loss_fn, *args, **kwargs)

    monkeypatch.setattr(trainer, "train", train_nan_on_second_retrain)
    data = small_prices("2018-01-01", "2019-12-31")
    with caplog.at_level(logging.WARNING, logger="seqfolio"):
        _, strat = run_wf(data, signal=tiny_forecaster(), start="2019-01-01", retrain="quarterly")
    wf = strat.retrainer
    assert calls["n"] == 4  # 2019-01, -04 (NaN), -07, -10
    assert len(wf.failures) == 1 and "diverged" in wf.failures[0][1]
    assert wf.failures[0][0].strftime("%Y-%m") == "2019-04"
    assert [r.version for r in wf.history] == [1, 2, 3]
    assert any("retrain failed (model v1 kept)" in m for m in caplog.messages)
    assert any("1 of 4 retrains failed" in m for m in caplog.messages)
    assert not [r for _, r in strat.skipped if "warm-up" not in r]  # traded on the kept model
    assert np.isfinite(strat.analyzers.ts.returns.to_numpy()).all()


# -- a feed that ends early ----------------------------------------------------------------------
def test_a_feed_that_ends_early_does_not_cut_the_run(prices: pd.DataFrame) -> None:
    short = prices.copy()
    end = short.index[len(short) * 2 // 3]
    short.loc[short.index > end, "KO"] = np.nan  # KO's feed stops two thirds of the way
    _, strat = run(short, allocator="hrp")
    returns = strat.analyzers.ts.returns
    assert returns.index[-1] == prices.index[-1]  # the run covers every bar of the other feeds
    assert np.isfinite(returns.to_numpy()).all()
    after = [r for r in strat.records if r.date > end]
    assert after, "rebalances after the feed ended must still happen"
    for record in after:
        assert "KO" not in record.target.index or record.target["KO"] == 0
        assert np.isfinite(record.target.to_numpy()).all()
    assert not [o for o in strat.orders_log if o.asset == "KO" and o.date > end and o.size > 0]


# -- a Dask worker killed mid-study ---------------------------------------------------------------
@pytest.mark.slow
def test_dask_worker_killed_mid_study_completes_like_serial() -> None:
    distributed = pytest.importorskip("distributed")
    from seqfolio.data import load_sample
    from seqfolio.research.config import PortfolioConfig
    from seqfolio.research.walkforward import walk_forward

    data = load_sample("2012-01-01", "2016-12-31").iloc[:, :8]
    configs = [PortfolioConfig("hrp", lookback=lb) for lb in (63, 126, 189, 252)]
    kwargs = dict(train=260, test=120)
    serial = walk_forward(data, configs, **kwargs)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                           host="127.0.0.1", dashboard_address=None)  # fmt: skip
    try:
        with killing_a_busy_worker(cluster) as killed:
            on_dask = walk_forward(data, configs, **kwargs, scheduler=cluster.scheduler_address)
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster.close()
    assert killed, "the test did not manage to kill a worker mid-study"
    pd.testing.assert_frame_equal(serial.summary, on_dask.summary)
    pd.testing.assert_frame_equal(serial.per_window, on_dask.per_window)
    for label in serial.returns:
        pd.testing.assert_series_equal(serial.returns[label], on_dask.returns[label])
        pd.testing.assert_frame_equal(serial.weights[label], on_dask.weights[label])


@pytest.mark.slow
def test_local_worker_process_killed_mid_study_completes_like_serial() -> None:
    import multiprocessing

    from seqfolio.data import load_sample
    from seqfolio.research.config import PortfolioConfig
    from seqfolio.research.walkforward import walk_forward

    data = load_sample("2012-01-01", "2016-12-31").iloc[:, :8]
    configs = [PortfolioConfig("hrp", lookback=lb) for lb in (63, 126)]
    kwargs = dict(train=260, test=120)
    serial = walk_forward(data, configs, **kwargs)
    killed: list[int] = []
    done = threading.Event()

    def kill_first_worker() -> None:
        deadline = time.monotonic() + 120
        while not done.is_set() and time.monotonic() < deadline:
            children = [p for p in multiprocessing.active_children() if p.pid]
            if children:
                os.kill(children[0].pid, signal.SIGKILL)
                killed.append(children[0].pid)
                return
            time.sleep(0.001)

    killer = threading.Thread(target=kill_first_worker, daemon=True)
    killer.start()
    try:
        with pytest.warns(RuntimeWarning, match="worker process died"):
            parallel = walk_forward(data, configs, **kwargs, workers=2)
    finally:
        done.set()
        killer.join(timeout=10)
    assert killed
    pd.testing.assert_frame_equal(serial.summary, parallel.summary)
    for label in serial.returns:
        pd.testing.assert_series_equal(serial.returns[label], parallel.returns[label])


# -- local workers that die while starting --------------------------------------------------------
NO_MAIN_GUARD = """
from seqfolio.data import load_sample
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.walkforward import walk_forward

prices = load_sample("2015-01-01", "2018-12-31")  # ~160 kB pickled: more than a pipe's 64 kB buffer
report = walk_forward(prices, [PortfolioConfig("ew")], train=504, test=252, workers=2)
print(report.summary)
"""


@pytest.mark.slow
def test_a_script_without_a_main_guard_stops_with_a_clear_error_instead_of_hanging(
    tmp_path: Path,
) -> None:
    # Each spawned worker imports the script again, reaches walk_forward during its start-up and is
    # stopped by Python; the study must then end with one error that names the cause.
    script = tmp_path / "study.py"
    script.write_text(NO_MAIN_GUARD)
    try:
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True,
                              text=True, timeout=120)  # fmt: skip
    except subprocess.TimeoutExpired:
        pytest.fail("walk_forward(workers=2) hung when its workers died while starting")
    assert done.returncode == 1
    # the error ends the traceback; multiprocessing's resource tracker may still add a line about
    # the dead workers' semaphores as the interpreter exits
    errors = [x for x in done.stderr.splitlines() if x.startswith("RuntimeError: walk-forward:")]
    assert errors, done.stderr[-2000:]
    last = errors[-1]
    assert last.startswith("RuntimeError: walk-forward: the worker processes exited while starting")
    assert 'if __name__ == "__main__":' in last
    assert str(script) in last
    assert "workers=1" in last
    assert done.stderr.count("RuntimeError: walk-forward:") == 1  # one error, no retries


def _plus_one(shared: Any, item: int) -> int:
    return item + 1


@pytest.mark.slow
def test_a_dask_scheduler_without_workers_says_so_while_its_tasks_wait() -> None:
    # The Dask counterpart of workers that die while starting: none is connected. Waiting is right
    # (a cluster may still be starting them), but not in silence.
    distributed = pytest.importorskip("distributed")
    from seqfolio.research.parallel import executor

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cluster = distributed.LocalCluster(n_workers=0, threads_per_worker=1, host="127.0.0.1",
                                           dashboard_address=None)  # fmt: skip
    late_worker = threading.Timer(2.0, cluster.scale, args=(1,))
    try:
        late_worker.start()
        with pytest.warns(RuntimeWarning) as caught:
            with executor(scheduler=cluster.scheduler_address, label="walk-forward") as run:
                got = run(_plus_one, [1, 2, 3])
    finally:
        late_worker.cancel()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster.close()
    assert got == [2, 3, 4]
    messages = [str(w.message) for w in caught if "no workers" in str(w.message)]
    assert messages == [
        f"walk-forward: the Dask scheduler at {cluster.scheduler_address} has no workers; the "
        f"tasks wait until one connects (start one with `dask worker {cluster.scheduler_address}`)."
    ]

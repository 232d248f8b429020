"""Fault injection: an optimiser failing mid-run, a diverging retrain, a feed that ends early and a Dask
worker killed mid-study. Each run must finish, say what went wrong and lose nothing."""

from __future__ import annotations

import logging
import math
import os
import signal
import threading
import time
import warnings
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

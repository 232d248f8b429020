"""Checkpoints: every retrain saved atomically; a killed run restarted with the same arguments resumes
from the last checkpoint and ends with exactly the result of an uninterrupted run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from _btutil import order_tuples, small_prices
from _wfutil import run_wf, strategy_class, tiny_allocator, tiny_forecaster

from seqfolio.signals import LSTMAllocator


class Killed(RuntimeError):
    pass


def _killing_strategy(after: int) -> type:
    base = strategy_class()

    class KilledAfter(base):  # type: ignore[misc, valid-type]
        def notify_timer(self, timer: Any, when: Any, *args: Any, **kwargs: Any) -> None:
            super().notify_timer(timer, when, *args, **kwargs)
            if self.retrainer.version >= after:
                raise Killed(f"killed after retrain {after}")

    return KilledAfter


def _summary(cerebro, strat) -> tuple:  # type: ignore[no-untyped-def]
    return (order_tuples(strat), strat.analyzers.ts.returns, cerebro.broker.getvalue(),
            [r.date for r in strat.retrainer.history])  # fmt: skip


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(signal=tiny_forecaster("volatility")),
        dict(signal=tiny_forecaster("volatility"), warm_start=True),
        dict(allocator=tiny_allocator(), warm_start=True),
    ],
    ids=["vol", "vol-warm", "weights-warm"],
)
def test_resume_equals_uninterrupted(tmp_path: Path, kwargs: dict) -> None:
    prices = small_prices("2018-01-01", "2020-06-30")
    params = dict(start="2019-01-01", retrain="quarterly", **kwargs)
    reference = _summary(*run_wf(prices, **params))
    folder = tmp_path / "run" / "checkpoints"
    with pytest.raises(Killed):
        run_wf(prices, strategy=_killing_strategy(3), checkpoint_dir=folder, **params)
    saved = sorted(folder.glob("retrain-*.pt"))
    assert len(saved) == 3
    assert not [p for p in folder.iterdir() if ".tmp-" in p.name]  # atomic writes leave no temp
    cerebro, strat = run_wf(prices, checkpoint_dir=folder, **params)
    wf = strat.retrainer
    assert wf.n_loaded == 3 and [r.source for r in wf.history][:4] == ["checkpoint"] * 3 + [
        "trained"
    ]
    resumed = _summary(cerebro, strat)
    assert resumed[0] == reference[0]
    pd.testing.assert_series_equal(resumed[1], reference[1])
    assert resumed[2] == reference[2] and resumed[3] == reference[3]
    assert len(sorted(folder.glob("retrain-*.pt"))) == len(wf.history) == 6
    # a third run loads everything and trains nothing
    _, again = run_wf(prices, checkpoint_dir=folder, **params)
    assert again.retrainer.n_loaded == 6
    assert order_tuples(again) == reference[0]


def test_changed_arguments_do_not_reuse_checkpoints(tmp_path: Path) -> None:
    prices = small_prices("2018-01-01", "2019-12-31")
    params = dict(start="2019-01-01", checkpoint_dir=tmp_path)
    run_wf(prices, signal=tiny_forecaster(random_state=0), **params)
    _, strat = run_wf(prices, signal=tiny_forecaster(random_state=1), **params)
    assert strat.retrainer.n_loaded == 0
    _, strat = run_wf(prices, signal=tiny_forecaster(random_state=0), train_window=180, **params)
    assert strat.retrainer.n_loaded == 0


def test_checkpoints_need_save_and_load(tmp_path: Path) -> None:
    import backtrader as bt
    from _btutil import synthetic_prices
    from sklearn.base import BaseEstimator

    from seqfolio.strategies import Retrainer, add_price_feeds

    class NoSave(BaseEstimator):
        def fit(self, prices: pd.DataFrame) -> NoSave:
            return self

    class S(bt.Strategy):
        def __init__(self) -> None:
            Retrainer(self, NoSave(), checkpoint_dir=tmp_path)

    cerebro = bt.Cerebro()
    add_price_feeds(cerebro, synthetic_prices(n_bars=20, n_assets=2))
    cerebro.addstrategy(S)
    with pytest.raises(TypeError, match="needs a model with save"):
        cerebro.run()


def test_lstm_allocator_predict_save_load(tmp_path: Path) -> None:
    returns = small_prices("2019-01-01", "2019-12-31").pct_change().iloc[1:]
    est = tiny_allocator().fit(returns)
    # predict on the fitted window reproduces fit's weights_
    pd.testing.assert_series_equal(est.predict(returns), est.weights_, check_exact=False, rtol=1e-6)
    est.save(tmp_path / "a.pt")
    loaded = LSTMAllocator.load(tmp_path / "a.pt")
    pd.testing.assert_series_equal(loaded.predict(returns), est.predict(returns), check_exact=True)
    # a missing asset gets weight 0
    partial = loaded.predict(returns.drop(columns=["KO"]))
    assert partial["KO"] == 0.0 and partial.sum() == pytest.approx(1.0)
    with pytest.raises(ValueError, match="need at least 30 rows"):
        loaded.predict(returns.iloc[:5])
    tiny_forecaster().fit(small_prices("2018-06-01", "2019-12-31")).save(tmp_path / "f.pt")
    with pytest.raises(ValueError, match="not a saved LSTMAllocator"):
        LSTMAllocator.load(tmp_path / "f.pt")


def test_unreadable_checkpoint_is_retrained(tmp_path: Path) -> None:
    prices = small_prices("2018-01-01", "2019-12-31")
    params = dict(start="2019-01-01", signal=tiny_forecaster(), checkpoint_dir=tmp_path)
    reference = order_tuples(run_wf(prices, **params)[1])
    victim = sorted(tmp_path.glob("retrain-*.pt"))[1]
    victim.write_bytes(b"not a checkpoint")
    _, strat = run_wf(prices, **params)
    assert [r.source for r in strat.retrainer.history] == ["checkpoint", "trained"] + [
        "checkpoint"
    ] * 2
    assert order_tuples(strat) == reference


def test_asset_listing_after_the_first_retrain(tmp_path: Path) -> None:
    # Reported crash: at the first retrain the late feed has no bar yet; its empty column turned the
    # joined frame's index into a plain object Index and checkpoint_key failed on ``.asi8``.
    prices = small_prices("2018-01-01", "2020-06-30")
    late = prices.columns[-1]
    prices.loc[:"2019-05-31", late] = float("nan")
    params = dict(start="2019-01-01", retrain="quarterly", signal=tiny_forecaster())
    _, strat = run_wf(prices, checkpoint_dir=tmp_path, **params)
    history = strat.retrainer.history
    assert len(history) == 6 and not strat.retrainer.failures
    assert all(r.source == "trained" for r in history)
    held = [r for r in strat.records if r.date > pd.Timestamp("2019-10-01")]
    assert held and all(late in r.target.index for r in held[-2:])


def test_checkpoint_key_hashes_any_index() -> None:
    from seqfolio.pipeline.checkpoints import checkpoint_key

    prices = small_prices("2019-01-01", "2019-03-31")
    model, kw = tiny_forecaster(), dict(fit_kind="cold", parent=None)
    key = checkpoint_key(model, prices, **kw)
    as_ns = prices.set_axis(prices.index.as_unit("ns"))
    as_objects = prices.set_axis(pd.Index(list(prices.index), dtype=object))
    assert checkpoint_key(model, as_ns, **kw) == key == checkpoint_key(model, as_objects, **kw)
    moved = prices.set_axis(prices.index + pd.Timedelta(microseconds=1))  # resolution: 1 µs
    assert checkpoint_key(model, moved, **kw) != key
    numbered = prices.reset_index(drop=True)  # not dates at all: still a key, a different one
    assert checkpoint_key(model, numbered, **kw) not in (
        key,
        checkpoint_key(model, prices.iloc[1:].reset_index(drop=True), **kw),
    )

"""LSTMEnsemble: the mean of N seeds trained as one population, usable wherever a forecaster is."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from _btutil import small_prices
from _wfutil import TINY, run_wf
from sklearn.base import clone

from seqfolio.pipeline.checkpoints import checkpoint_key
from seqfolio.signals import LSTMEnsemble, LSTMForecaster


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return small_prices("2018-01-01", "2020-06-30")


def _ensemble(**kw: object) -> LSTMEnsemble:
    return LSTMEnsemble(LSTMForecaster(**{**TINY, **kw}), n_members=3, random_state=10)


def test_mean_of_members_equal_to_lone_seeds(prices: pd.DataFrame) -> None:
    train = prices.iloc[:300]
    ens = _ensemble().fit(train)
    alone = [LSTMForecaster(**{**TINY, "random_state": 10 + k}).fit(train) for k in range(3)]
    mean = sum(f.predict(train) for f in alone) / 3
    assert np.allclose(ens.predict(train), mean, rtol=1e-5, atol=0)
    history = ens.predict_history(train, start=train.index[-5])
    assert np.allclose(history.iloc[-1], ens.predict(train), rtol=1e-12)
    assert ens.history_needed() == alone[0].history_needed()
    assert (ens.target, ens.horizon) == ("volatility", TINY["horizon"])


def test_sklearn_params_clone_and_save_load(prices: pd.DataFrame, tmp_path: Path) -> None:
    ens = _ensemble()
    deep = ens.get_params(deep=True)
    assert deep["forecaster__hidden_size"] == TINY["hidden_size"] and deep["n_members"] == 3
    assert clone(ens).set_params(forecaster__hidden_size=5).forecaster.hidden_size == 5
    train = prices.iloc[:300]
    ens.fit(train)
    ens.save(tmp_path / "e.pt")
    loaded = LSTMEnsemble.load(tmp_path / "e.pt")
    pd.testing.assert_series_equal(loaded.predict(train), ens.predict(train))
    assert loaded.get_params(deep=True) == {
        k: v for k, v in ens.get_params(deep=True).items() if k != "forecaster"
    } | {"forecaster": loaded.forecaster}


def test_checkpoint_key_sees_nested_parameters(prices: pd.DataFrame) -> None:
    key = checkpoint_key(_ensemble(), prices, fit_kind="fit", parent=None)
    assert key == checkpoint_key(_ensemble(), prices, fit_kind="fit", parent=None)
    # a change deep inside the nested forecaster (hidden from a shortened repr) gives a new key
    assert key != checkpoint_key(
        _ensemble(winsorize_limit=4.0), prices, fit_kind="fit", parent=None
    )
    # the thread count cannot change the model, at either level
    same = LSTMEnsemble(LSTMForecaster(**{**TINY, "n_threads": 2}), 3, 10, n_threads=2)
    assert key == checkpoint_key(same, prices, fit_kind="fit", parent=None)
    # a plain forecaster's key is unchanged by hashing deep parameters (no nested estimators)
    f = LSTMForecaster(**TINY)
    assert f.get_params(deep=True) == f.get_params(deep=False)


def test_in_a_backtrader_walk_forward(prices: pd.DataFrame, tmp_path: Path) -> None:
    params = dict(signal=_ensemble(), start="2019-07-01", retrain="quarterly",
                  checkpoint_dir=tmp_path)  # fmt: skip
    _, strat = run_wf(prices, **params)
    wf = strat.retrainer
    assert len(wf.history) == 4 and not wf.failures
    assert strat.records and not strat.skipped
    _, again = run_wf(prices, **params)  # resumed from the ensembles' checkpoints
    assert [r.source for r in again.retrainer.history] == ["checkpoint"] * 4
    assert [r.date for r in again.records] == [r.date for r in strat.records]

"""LSTMAllocator follows the allocators' protocol: fit(returns, *, covariance, expected_returns) -> self."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

torch = pytest.importorskip("torch")

from seqfolio.signals import LSTMAllocator  # noqa: E402

TINY = dict(window=10, hidden_size=4, max_epochs=3, batch_size=32, n_threads=1, device="cpu")


def _returns(n_bars: int = 200, n_assets: int = 4, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2018-01-01", periods=n_bars, name="date")
    data = rng.normal(0.0005, 0.01, size=(n_bars, n_assets))
    return pd.DataFrame(data, index=index, columns=[f"S{i}" for i in range(n_assets)])


def test_weights_are_long_only_and_sum_to_one():
    returns = _returns()
    a = LSTMAllocator(random_state=0, **TINY)
    assert a.fit(returns) is a
    w = a.weights_
    assert isinstance(w, pd.Series) and list(w.index) == list(returns.columns)
    assert (w >= 0).all() and w.sum() == pytest.approx(1.0, abs=1e-12)
    assert a.n_assets_ == 4


def test_accepts_allocator_keywords():
    returns = _returns()
    cov = returns.cov()
    mu = returns.mean()
    a = LSTMAllocator(random_state=0, **TINY).fit(returns, covariance=cov, expected_returns=mu)
    b = LSTMAllocator(random_state=0, **TINY).fit(returns)
    np.testing.assert_array_equal(a.weights_.to_numpy(), b.weights_.to_numpy())


def test_same_seed_same_weights_and_clone():
    returns = _returns()
    a = LSTMAllocator(random_state=1, **TINY).fit(returns)
    b = clone(a).fit(returns)
    assert not hasattr(clone(a), "weights_")
    np.testing.assert_array_equal(a.weights_.to_numpy(), b.weights_.to_numpy())
    c = LSTMAllocator(random_state=2, **TINY).fit(returns)
    assert not np.allclose(a.weights_.to_numpy(), c.weights_.to_numpy())


def test_learns_to_prefer_the_asset_with_the_better_sharpe():
    rng = np.random.default_rng(0)
    n = 600
    good = rng.normal(0.003, 0.01, n)  # Sharpe 0.3 per bar
    bad = rng.normal(-0.002, 0.01, n)
    noise = rng.normal(0.0, 0.01, (n, 2))
    returns = pd.DataFrame(
        np.column_stack([good, bad, noise]),
        index=pd.bdate_range("2018-01-01", periods=n),
        columns=["good", "bad", "n1", "n2"],
    )
    a = LSTMAllocator(
        window=10,
        hidden_size=8,
        max_epochs=30,
        learning_rate=1e-2,
        random_state=0,
        n_threads=1,
        device="cpu",
    ).fit(returns)
    assert a.weights_["good"] > 0.5
    assert a.weights_["good"] > a.weights_["bad"]


def test_errors():
    returns = _returns()
    with pytest.raises(
        ValueError,
        match="The 'window' parameter of LSTMAllocator must be an int >= 2. Got 1 instead.",
    ):
        LSTMAllocator(window=1).fit(returns)
    nan = returns.copy()
    nan.iloc[3, 1] = np.nan
    with pytest.raises(ValueError, match=r"returns contain NaN in columns \['S1'\]"):
        LSTMAllocator(**TINY).fit(nan)
    with pytest.raises(ValueError, match="need at least"):
        LSTMAllocator(**TINY).fit(returns.iloc[:40])
    with pytest.raises(TypeError, match="DataFrame"):
        LSTMAllocator(**TINY).fit(returns.to_numpy())


def test_warm_start_reuses_network_and_needs_same_assets():
    returns = _returns(300)
    a = LSTMAllocator(random_state=0, warm_start=True, **TINY).fit(returns.iloc[:250])
    first_model = a.model_
    a.fit(returns)
    assert a.model_ is first_model  # trained further in place, not re-initialised
    cold = LSTMAllocator(random_state=0, **TINY).fit(returns)
    assert not cold.weights_.equals(a.weights_)
    with pytest.raises(ValueError, match="same assets"):
        a.fit(returns[["S1", "S0", "S2", "S3"]])

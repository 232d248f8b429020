"""One suite run over every allocator: the estimator protocol and the invariants of weights."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from seqfolio.allocators import (
    HERC,
    HRP,
    EqualWeight,
    Fallback,
    InverseVariance,
    InverseVolatility,
    MeanVariance,
)

# (allocator, permutation-equivariant, scale-invariant)
CASES = [
    (HRP(), True, True),
    (HRP(ordering="pre_order"), False, True),
    (HRP(linkage="average", distance="distance_of_distances"), True, True),
    (HRP(covariance="ledoit_wolf", max_weight=0.1), True, True),
    (HERC(), True, True),
    (HERC(n_clusters=3, risk_measure="std"), True, True),
    (HERC(risk_measure="cvar"), True, True),
    (HERC(risk_measure="cdar", min_weight=0.02, max_weight=0.15), True, True),
    (MeanVariance(), True, True),
    (MeanVariance(objective="max_sharpe", covariance="sample"), True, True),
    (MeanVariance(objective="max_utility", risk_aversion=5.0), True, False),
    (MeanVariance(l2_gamma=0.1, weight_bounds=(0.01, 0.2)), True, False),
    (EqualWeight(), True, True),
    (InverseVolatility(), True, True),
    (InverseVariance(covariance="oas"), True, True),
    (
        Fallback([MeanVariance(objective="efficient_risk", target_volatility=1e-4), HRP()]),
        True,
        True,
    ),
]
IDS = [repr(c[0]).replace("\n", "").replace(" ", "") for c in CASES]


def bounds_of(allocator) -> tuple[float, float]:
    if isinstance(allocator, MeanVariance):
        return allocator.weight_bounds
    if isinstance(allocator, Fallback):
        return 0.0, 1.0
    return allocator.min_weight, allocator.max_weight


def fit_quietly(allocator, returns):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # Fallback's "member failed" notice
        return allocator.fit(returns)


def check_weights(allocator, weights: pd.Series, columns: pd.Index) -> None:
    assert isinstance(weights, pd.Series)
    assert list(weights.index) == list(columns)
    assert np.isfinite(weights).all()
    assert weights.sum() == pytest.approx(1.0, abs=1e-9)
    low, high = bounds_of(allocator)
    assert (weights >= low - 1e-7).all() and (weights <= high + 1e-7).all()


@pytest.mark.parametrize(("allocator", "equivariant", "scale_invariant"), CASES, ids=IDS)
def test_protocol_and_invariants(allocator, equivariant, scale_invariant, sample_returns):
    returns = sample_returns.iloc[-300:]
    fitted = clone(allocator)
    assert fit_quietly(fitted, returns) is fitted, "fit must return self"
    check_weights(allocator, fitted.weights_, returns.columns)
    assert not hasattr(allocator, "weights_"), "fitting a clone must leave the original unfitted"

    # clone round-trip: same parameters, same weights
    twin = clone(fitted)
    assert repr(twin.get_params()) == repr(fitted.get_params())
    pd.testing.assert_series_equal(fit_quietly(twin, returns).weights_, fitted.weights_)

    if equivariant:
        rng = np.random.default_rng(7)
        shuffled = returns.iloc[:, rng.permutation(returns.shape[1])]
        permuted = fit_quietly(clone(allocator), shuffled).weights_
        np.testing.assert_allclose(permuted[returns.columns], fitted.weights_, atol=1e-4)

    if scale_invariant:
        scaled = fit_quietly(clone(allocator), returns * 3.0).weights_
        np.testing.assert_allclose(scaled, fitted.weights_, atol=1e-4)


def test_set_params_round_trip():
    hrp = HRP().set_params(linkage="average", max_weight=0.3)
    assert hrp.get_params()["linkage"] == "average" and hrp.max_weight == 0.3
    fallback = Fallback([HRP(), EqualWeight()])
    assert (
        clone(fallback).get_params(deep=False)["allocators"][0].get_params() == HRP().get_params()
    )


def test_forecast_covariance_changes_hrp_weights(sample_returns):
    returns = sample_returns.iloc[-250:]
    base = HRP().fit(returns).weights_
    forecast = returns.cov()
    forecast.loc["AAPL", :] *= 4.0
    forecast.loc[:, "AAPL"] *= 4.0  # AAPL's forecast volatility quadruples
    shifted = HRP().fit(returns, covariance=forecast).weights_
    assert shifted["AAPL"] < base["AAPL"] / 4
    # the forecast is used instead of the sample estimate: same as fitting on it directly
    direct = HRP().fit(returns, covariance=returns.cov()).weights_
    np.testing.assert_allclose(direct, base, atol=1e-12)


def test_expected_returns_steer_max_sharpe(sample_returns):
    returns = sample_returns.iloc[-250:]
    mu = pd.Series(0.0001, index=returns.columns)
    mu["KO"] = 0.002
    weights = MeanVariance(objective="max_sharpe").fit(returns, expected_returns=mu).weights_
    assert weights.idxmax() == "KO"


def test_fallback_records_member_used(sample_returns):
    infeasible = MeanVariance(objective="efficient_risk", target_volatility=1e-4)
    fallback = Fallback([infeasible, HRP()])
    with pytest.warns(RuntimeWarning, match="member 0 .*MeanVariance.* failed"):
        fallback.fit(sample_returns)
    assert isinstance(fallback.used_, HRP) and fallback.used_index_ == 1
    assert len(fallback.errors_) == 1
    pd.testing.assert_series_equal(fallback.weights_, HRP().fit(sample_returns).weights_)


def test_fallback_first_member_wins_when_feasible(sample_returns):
    fallback = Fallback([MeanVariance(), HRP()]).fit(sample_returns)
    assert fallback.used_index_ == 0 and fallback.errors_ == []


def test_duplicated_asset_still_gives_finite_hierarchical_weights(sample_returns):
    returns = sample_returns.iloc[-250:, :6].copy()
    returns["AAPL_copy"] = returns["AAPL"]
    for allocator in (HRP(), HERC(), HRP(ordering="pre_order"), HERC(risk_measure="cdar")):
        weights = allocator.fit(returns).weights_
        assert np.isfinite(weights).all() and weights.sum() == pytest.approx(1.0)
        if isinstance(allocator, HERC):  # twins share a cluster, hence equal inverse-risk weights
            assert weights["AAPL"] == pytest.approx(weights["AAPL_copy"], rel=1e-6)


def test_single_asset_gets_everything(sample_returns):
    one = sample_returns[["KO"]]
    for allocator in (HRP(), HERC(), EqualWeight(), InverseVariance(), MeanVariance()):
        assert allocator.fit(one).weights_.tolist() == pytest.approx([1.0])


@st.composite
def return_panels(draw):
    n_assets = draw(st.integers(2, 12))
    n_obs = draw(st.integers(30, 150))
    seed = draw(st.integers(0, 2**32 - 1))
    rng = np.random.default_rng(seed)
    vols = rng.uniform(0.003, 0.05, n_assets)
    loadings = rng.uniform(-1, 1, n_assets)
    market = rng.standard_normal(n_obs)
    noise = rng.standard_normal((n_obs, n_assets))
    returns = (loadings * market[:, None] + noise) * vols
    return pd.DataFrame(returns, columns=[f"A{i}" for i in range(n_assets)])


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(returns=return_panels(), cap=st.floats(0.5, 1.0))
def test_hierarchical_weights_property(returns, cap):
    n_assets = returns.shape[1]
    max_weight = max(cap, 1.0 / n_assets)
    for allocator in (
        HRP(max_weight=max_weight),
        HERC(max_weight=max_weight),
        HERC(risk_measure="cvar"),
        InverseVolatility(),
    ):
        weights = allocator.fit(returns).weights_
        check_weights(allocator, weights, returns.columns)
        reversed_columns = returns.columns[::-1]
        if not (isinstance(allocator, HERC) and allocator.risk_measure == "cvar"):
            again = clone(allocator).fit(returns[reversed_columns]).weights_[returns.columns]
            np.testing.assert_allclose(again, weights, atol=1e-9)

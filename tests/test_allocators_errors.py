"""Bad input gets a clear error naming the parameter or column and the fix."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqfolio.allocators import (
    HERC,
    HRP,
    AllocationError,
    EqualWeight,
    Fallback,
    InverseVariance,
    MeanVariance,
)


@pytest.fixture
def returns(sample_returns) -> pd.DataFrame:
    return sample_returns.iloc[-120:, :5].copy()


@pytest.mark.parametrize(
    ("allocator", "message"),
    [
        (HRP(linkage="singel"), r"The 'linkage' parameter of HRP must be one of \['single'"),
        (
            HRP(ordering="leaves"),
            r"'ordering' parameter of HRP must be one of \['optimal_leaf', 'pre_order'\]",
        ),
        (HRP(distance="euclid"), r"'distance' parameter of HRP"),
        (
            HRP(covariance="shrunk"),
            r"'covariance' parameter of HRP must be one of \['sample', 'ledoit_wolf'",
        ),
        (
            HRP(max_weight=1.5),
            r"The 'max_weight' parameter of HRP must be a float in \(0.0, 1.0\]. Got 1.5",
        ),
        (HRP(min_weight=-0.1), r"'min_weight' parameter of HRP must be a float in \[0.0, 1.0\]"),
        (
            HRP(min_weight=0.5, max_weight=0.4),
            r"'min_weight' parameter of HRP \(0.5\) must not exceed",
        ),
        (HERC(n_clusters=0), r"'n_clusters' parameter of HERC must be an int >= 1 or None. Got 0"),
        (HERC(risk_measure="var"), r"'risk_measure' parameter of HERC must be one of \['variance'"),
        (HERC(alpha=0), r"'alpha' parameter of HERC"),
        (
            MeanVariance(objective="max_return"),
            r"'objective' parameter of MeanVariance must be one of",
        ),
        (
            MeanVariance(objective="efficient_risk"),
            r"'target_volatility' parameter of MeanVariance",
        ),
        (MeanVariance(weight_bounds=(-0.5, 1)), r"'weight_bounds\[0\]' parameter of MeanVariance"),
        (
            MeanVariance(weight_bounds=0.3),
            r"'weight_bounds' parameter of MeanVariance must be a \(min, max\)",
        ),
        (Fallback([]), r"'allocators' parameter of Fallback must be a non-empty list"),
        (Fallback(["hrp"]), r"'allocators' parameter of Fallback must hold allocators"),
    ],
)
def test_bad_parameters(allocator, message, returns):
    with pytest.raises(ValueError, match=message):
        allocator.fit(returns)


@pytest.mark.parametrize(
    "allocator", [HRP(), HERC(), MeanVariance(), EqualWeight(), InverseVariance()]
)
def test_nan_in_returns_names_the_column(allocator, returns):
    returns.iloc[3, 1] = np.nan
    with pytest.raises(
        ValueError, match=r"fit: returns contain NaN in columns \['AMD'\]; drop or fill"
    ):
        allocator.fit(returns)


def test_inf_in_returns_names_the_column(returns):
    returns.iloc[0, 2] = np.inf
    with pytest.raises(ValueError, match=r"HRP.fit: returns contain inf in columns \['BAC'\]"):
        HRP().fit(returns)


def test_too_few_observations(returns):
    with pytest.raises(ValueError, match=r"HERC.fit: returns have 1 observation\(s\); at least 2"):
        HERC().fit(returns.iloc[:1])


def test_wrong_types(returns):
    with pytest.raises(TypeError, match="returns must be a pandas DataFrame .* Got Series instead"):
        HRP().fit(returns["AAPL"])
    with pytest.raises(TypeError, match="returns must be a pandas DataFrame"):
        HRP().fit([[0.1, 0.2]])
    text = returns.astype(object)
    text["AAPL"] = "x"
    with pytest.raises(ValueError, match=r"columns \['AAPL'\] are not numeric"):
        HRP().fit(text)


def test_zero_variance_asset(returns):
    returns["FLAT"] = 0.0
    with pytest.raises(ValueError, match=r"columns \['FLAT'\] have zero variance"):
        HRP().fit(returns)


@pytest.mark.parametrize(
    ("allocator", "message"),
    [
        (
            HRP(max_weight=0.1),
            r"'max_weight' parameter of HRP \(0.1\) cannot be met with 5 assets: 5 x 0.1 < 1",
        ),
        (
            HERC(min_weight=0.3),
            r"'min_weight' parameter of HERC \(0.3\) cannot be met with 5 assets",
        ),
        (
            MeanVariance(weight_bounds=(0, 0.1)),
            r"'weight_bounds' parameter of MeanVariance \(0, 0.1\) cannot sum",
        ),
    ],
)
def test_infeasible_bounds(allocator, message, returns):
    with pytest.raises(ValueError, match=message):
        allocator.fit(returns)


def test_covariance_checks(returns):
    cov = returns.cov()
    with pytest.raises(ValueError, match=r"covariance has no row/column for assets \['XOM'\]"):
        HRP().fit(returns.assign(XOM=returns["AAPL"] * 0.5), covariance=cov)
    asymmetric = cov.copy()
    asymmetric.iloc[0, 1] *= 2
    with pytest.raises(ValueError, match="covariance is not symmetric"):
        HRP().fit(returns, covariance=asymmetric)
    indefinite = cov.copy()
    indefinite.iloc[0, 0] = -indefinite.iloc[0, 0]
    with pytest.raises(ValueError, match="not positive semi-definite"):
        HERC().fit(returns, covariance=indefinite)
    with pytest.raises(ValueError, match=r"covariance has shape \(2, 2\); expected \(5, 5\)"):
        HRP().fit(returns, covariance=np.eye(2))
    with_nan = cov.copy()
    with_nan.iloc[1, 1] = np.nan
    with pytest.raises(ValueError, match=r"covariance has NaN or inf for assets \['AMD'\]"):
        MeanVariance().fit(returns, covariance=with_nan)


def test_covariance_labels_are_aligned(returns):
    cov = returns.cov()
    reordered = cov.iloc[::-1, ::-1]
    pd.testing.assert_series_equal(
        HRP().fit(returns, covariance=reordered).weights_,
        HRP().fit(returns, covariance=cov).weights_,
    )


def test_expected_returns_missing_assets(returns):
    mu = returns.mean().drop("BBY")
    with pytest.raises(ValueError, match=r"expected_returns has no value for assets \['BBY'\]"):
        MeanVariance(objective="max_sharpe").fit(returns, expected_returns=mu)


def test_infeasible_optimisation_is_an_allocation_error(returns):
    with pytest.raises(
        AllocationError, match=r"MeanVariance\(objective='efficient_risk'\).fit found no solution"
    ):
        MeanVariance(objective="efficient_risk", target_volatility=1e-5).fit(returns)
    negative = pd.Series(-0.01, index=returns.columns)
    with pytest.raises(AllocationError, match="found no solution"):
        MeanVariance(objective="max_sharpe").fit(returns, expected_returns=negative)


def test_fallback_raises_when_every_member_fails(returns):
    infeasible = MeanVariance(objective="efficient_risk", target_volatility=1e-5)
    with pytest.warns(RuntimeWarning), pytest.raises(AllocationError, match="every member failed"):
        Fallback([infeasible, infeasible]).fit(returns)


def test_fallback_does_not_swallow_parameter_errors(returns):
    with pytest.raises(ValueError, match="'linkage' parameter of HRP"):
        Fallback([HRP(linkage="nope"), EqualWeight()]).fit(returns)

"""Forecasts -> allocator inputs: covariance, expected returns, shrunk correlation, exposure rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqfolio.signals import (
    exposure_multiplier,
    returns_to_expected,
    shrink_correlation,
    volatility_to_covariance,
)


def _corr() -> pd.DataFrame:
    labels = ["A", "B", "C"]
    return pd.DataFrame(
        [[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]], index=labels, columns=labels
    )


def test_covariance_from_vol_and_correlation():
    vol = pd.Series({"C": 0.03, "A": 0.01, "B": 0.02})
    cov = volatility_to_covariance(vol, _corr())
    assert list(cov.index) == ["C", "A", "B"] == list(cov.columns)
    np.testing.assert_allclose(np.diag(cov), vol.to_numpy() ** 2)
    assert cov.loc["A", "B"] == pytest.approx(0.5 * 0.01 * 0.02)
    np.testing.assert_allclose(cov, cov.T)


def test_covariance_errors():
    with pytest.raises(ValueError, match=r"see assets \['A'\]"):
        volatility_to_covariance(pd.Series({"A": np.nan, "B": 0.1}), _corr())
    with pytest.raises(ValueError, match=r"lacks assets \['D'\]"):
        volatility_to_covariance(pd.Series({"A": 0.1, "D": 0.1}), _corr())


def test_expected_returns_compound_to_forecast():
    mu = returns_to_expected(pd.Series({"A": 0.021, "B": -0.042}), horizon=21)
    np.testing.assert_allclose((1 + mu) ** 21, np.exp([0.021, -0.042]))
    with pytest.raises(ValueError, match="NaN for assets"):
        returns_to_expected(pd.Series({"A": np.nan}), horizon=21)


@pytest.mark.parametrize(("target", "weight"), [(0.0, 0.5), (0.6, 0.5), (0.9, 0.25), (0.9, 1.0)])
def test_shrink_correlation_moves_mean_toward_target(target, weight):
    before = _corr().to_numpy()[~np.eye(3, dtype=bool)].mean()
    out = shrink_correlation(_corr(), target, weight=weight)
    off = out.to_numpy()[~np.eye(3, dtype=bool)]
    assert off.mean() == pytest.approx((1 - weight) * before + weight * target, abs=1e-12)
    np.testing.assert_allclose(np.diag(out), 1.0)
    assert np.linalg.eigvalsh(out.to_numpy()).min() >= -1e-12
    if weight < 1:  # the cross-sectional structure is kept: A-B stays the most correlated pair
        assert out.loc["A", "B"] == off.max()
    else:
        np.testing.assert_allclose(off, target)


def test_shrink_correlation_weight_zero_is_identity_and_level_is_clipped():
    np.testing.assert_allclose(shrink_correlation(_corr(), 0.9, weight=0.0), _corr())
    out = shrink_correlation(
        _corr(), -0.9, weight=1.0
    )  # below -1/(n-1) = -0.5: not a correlation level
    np.testing.assert_allclose(out.to_numpy()[0, 1], -0.5)
    assert np.linalg.eigvalsh(out.to_numpy()).min() >= -1e-12
    with pytest.raises(ValueError, match="weight must be in"):
        shrink_correlation(_corr(), 0.5, weight=2.0)


def test_exposure_rule():
    assert exposure_multiplier(0.2) == 1.0
    assert exposure_multiplier(0.5) == 1.0
    assert exposure_multiplier(1.0) == pytest.approx(0.25)
    assert exposure_multiplier(0.75) == pytest.approx(0.625)
    assert exposure_multiplier(pd.Series([0.7, 0.8, np.nan])) == pytest.approx(
        exposure_multiplier(0.75)
    )
    assert exposure_multiplier(0.9, floor=0.0, threshold=0.0) == pytest.approx(0.1)
    with pytest.raises(ValueError, match="probability must be in"):
        exposure_multiplier(1.5)

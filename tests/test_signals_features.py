"""Features: causality, FFD against a hand computation, the minimum-d search, NaN handling."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from seqfolio.signals.features import (
    FEATURE_NAMES,
    build_features,
    ffd_orders,
    ffd_weights,
    frac_diff_ffd,
    log_returns,
    min_ffd_d,
    realised_volatility,
    rolling_mean_correlation,
    rolling_sum,
    universe_mean_correlation,
    winsorize,
)


def _prices(n_bars: int = 400, n_assets: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logp = np.cumsum(rng.normal(0, 0.01, size=(n_bars, n_assets)), axis=0)
    index = pd.bdate_range("2010-01-01", periods=n_bars, name="date")
    return pd.DataFrame(100 * np.exp(logp), index=index, columns=[f"A{i}" for i in range(n_assets)])


# ----------------------------------------------------------------------------------------------
# FFD
# ----------------------------------------------------------------------------------------------
def test_ffd_weights_hand_computed():
    # w0 = 1, w1 = -d, w2 = -w1 (d - 1) / 2, ...; d = 0.5: 1, -0.5, -0.125, -0.0625, -0.0390625
    np.testing.assert_allclose(ffd_weights(0.5, threshold=0.05), [1.0, -0.5, -0.125, -0.0625])
    np.testing.assert_allclose(ffd_weights(0.5, threshold=0.1), [1.0, -0.5, -0.125])
    np.testing.assert_allclose(ffd_weights(1.0, threshold=1e-5), [1.0, -1.0])
    np.testing.assert_allclose(ffd_weights(0.0, threshold=1e-5), [1.0])


def test_frac_diff_ffd_hand_computed():
    x = np.array([1.0, 2.0, 4.0, 7.0, 11.0])
    out = frac_diff_ffd(x, 0.5, threshold=0.1)  # weights 1, -0.5, -0.125
    assert np.isnan(out[:2]).all()
    np.testing.assert_allclose(out[2:], [4 - 1 - 0.125, 7 - 2 - 0.25, 11 - 3.5 - 0.5])


def test_frac_diff_integer_orders():
    x = np.array([3.0, 5.0, 4.0, 8.0])
    np.testing.assert_allclose(frac_diff_ffd(x, 1.0)[1:], np.diff(x))
    np.testing.assert_allclose(frac_diff_ffd(x, 0.0), x)


def test_frac_diff_nan_propagates_only_through_its_window():
    x = np.arange(20, dtype=float)
    x[5] = np.nan
    out = frac_diff_ffd(x, 0.5, threshold=0.1)  # width 3
    assert np.isnan(out[5:8]).all()
    assert np.isfinite(out[8:]).all()


def test_min_ffd_d_random_walk_needs_differencing_white_noise_does_not():
    rng = np.random.default_rng(42)
    noise = rng.normal(size=2000)
    walk = np.cumsum(rng.normal(size=2000))
    assert min_ffd_d(noise) == 0.0
    d_walk = min_ffd_d(walk)
    assert 0.0 < d_walk <= 1.0


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_min_ffd_d_is_the_smallest_passing_order():
    from statsmodels.tsa.stattools import adfuller

    rng = np.random.default_rng(7)
    walk = np.cumsum(rng.normal(size=1500))
    d = min_ffd_d(walk)

    def adf_stat(order: float) -> tuple[float, float]:
        y = frac_diff_ffd(walk, order, threshold=1e-2)
        res = adfuller(y[np.isfinite(y)], maxlag=1, regression="c", autolag=None)
        return res[0], res[4]["5%"]

    stat, crit = adf_stat(d)
    assert stat < crit
    assert crit == pytest.approx(-2.8623, abs=0.01)  # AFML ch. 5's value
    if d > 0:
        stat_below, crit_below = adf_stat(round(d - 0.1, 10))
        assert stat_below >= crit_below


def test_min_ffd_d_too_short_raises():
    with pytest.raises(ValueError, match="need at least 30"):
        min_ffd_d(np.cumsum(np.ones(20)))


def test_ffd_orders_falls_back_for_short_assets():
    prices = _prices(400, 2)
    prices.iloc[:380, 1] = np.nan  # lists 20 bars before the end
    orders = ffd_orders(prices)
    assert orders[1] == 1.0


@pytest.mark.parametrize("listed", range(36, 44))
def test_ffd_orders_never_fails_on_a_short_history(listed):
    # The widest FFD window of the grid is d = 0.3's (12 weights at threshold 1e-2), not d = 0.1's
    # (8): an asset listed 37-41 bars passed the length check and then failed the search, which
    # made a whole walk-forward retrain fail (500-asset scale benchmark).
    prices = _prices(400, 2)
    prices.iloc[: 400 - listed, 1] = np.nan
    assert ffd_orders(prices)[1] in np.round(np.arange(0.0, 1.01, 0.1), 10)


# ----------------------------------------------------------------------------------------------
# Elementary features
# ----------------------------------------------------------------------------------------------
def test_rolling_sum_and_volatility_match_pandas():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(100, 2))
    x[10, 0] = np.nan
    expected = pd.DataFrame(x).rolling(7, min_periods=7).sum().to_numpy()
    np.testing.assert_allclose(rolling_sum(x, 7), expected, equal_nan=True)
    vol = realised_volatility(x, 7)
    np.testing.assert_allclose(vol[20], np.sqrt((x[14:21] ** 2).mean(axis=0)))


def test_rolling_mean_correlation_matches_pandas():
    rng = np.random.default_rng(2)
    common = rng.normal(size=(200, 1))
    r = common + rng.normal(size=(200, 4))
    out = rolling_mean_correlation(r, 50)
    corr = np.corrcoef(r[150:200].T)
    np.fill_diagonal(corr, np.nan)
    np.testing.assert_allclose(out[199], np.nanmean(corr, axis=1), rtol=1e-8)
    assert universe_mean_correlation(out)[199] == pytest.approx(np.nanmean(corr))
    assert np.isnan(out[:49]).all()


def _pairwise_mean_correlation(r: np.ndarray, window: int) -> np.ndarray:
    """The former O(N^2 T) implementation (the N x N rolling correlations, averaged): the oracle."""
    n = r.shape[1]
    mean = rolling_sum(r, window) / window
    var = rolling_sum(r * r, window) / window - mean**2
    cov = rolling_sum(r[:, :, None] * r[:, None, :], window) / window
    cov -= mean[:, :, None] * mean[:, None, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.sqrt(var[:, :, None] * var[:, None, :])
    corr[:, np.arange(n), np.arange(n)] = np.nan
    corr = np.where(np.isfinite(corr), corr, np.nan)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(corr, axis=2)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rolling_mean_correlation_matches_the_pairwise_oracle(seed):
    rng = np.random.default_rng(seed)
    n_bars, n_assets = 400, 12
    r = rng.normal(size=(n_bars, 1)) * 0.01 + rng.standard_t(4, size=(n_bars, n_assets)) * 0.02
    r[0] = np.nan
    late = rng.integers(1, 300, size=4)
    for k, first in enumerate(late):  # late listings
        r[:first, k] = np.nan
    r[250:, 4] = np.nan  # a delisting
    r[150:155, 5] = np.nan  # a gap
    r[200:300, 6] = 0.0  # a flat stretch (zero variance: no correlation defined)
    r[:, 7] *= 1e3  # very different scales
    expected = _pairwise_mean_correlation(r, 63)
    out = rolling_mean_correlation(r, 63)
    np.testing.assert_array_equal(np.isnan(out), np.isnan(expected))
    np.testing.assert_allclose(out, expected, rtol=0, atol=1e-10, equal_nan=True)
    assert np.isnan(out[262:300, 6]).all() and np.isfinite(out[362:, 8]).all()


def test_rolling_mean_correlation_alone_or_too_short():
    r = np.random.default_rng(0).normal(size=(80, 2))
    r[:, 1] = np.nan  # the other asset never lists: nobody to correlate with
    assert np.isnan(rolling_mean_correlation(r, 20)).all()
    assert np.isnan(rolling_mean_correlation(r[:10], 20)).all()


def test_winsorize_clips_and_keeps_nan():
    out = winsorize(np.array([-10.0, 0.5, np.nan, 7.0]), 5.0)
    np.testing.assert_array_equal(out[[0, 1, 3]], [-5.0, 0.5, 5.0])
    assert np.isnan(out[2])


# ----------------------------------------------------------------------------------------------
# The feature panel: causality and listing
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("t", [150, 250, 398])
def test_features_are_causal(t):
    prices = _prices(400, 3)
    prices.iloc[:120, 2] = np.nan  # a late listing
    orders = [0.4, 0.3, 0.5]
    before = build_features(prices, ffd_d=orders)
    shocked = prices.copy()
    rng = np.random.default_rng(3)
    shocked.iloc[t + 1 :] *= rng.uniform(0.5, 1.5, size=shocked.iloc[t + 1 :].shape)
    after = build_features(shocked, ffd_d=orders)
    # Exact on NumPy 2; NumPy 1.26's einsum (mean_corr_63) rounds the same sum ±1 ulp depending on
    # the rest of its operand, hence 1e-12: a look-ahead moves features by far more (~1e-2).
    np.testing.assert_allclose(before[: t + 1], after[: t + 1], rtol=0, atol=1e-12)
    if t + 1 < len(prices):  # the test can fail: the future does change later features
        assert not np.allclose(before[t + 1 :], after[t + 1 :], equal_nan=True)


def test_feature_panel_shape_and_late_listing():
    prices = _prices(300, 3)
    prices.iloc[:100, 1] = np.nan
    panel = build_features(prices, ffd_d=[0.4, 0.4, 0.4])
    assert panel.shape == (300, 3, len(FEATURE_NAMES))
    assert (
        np.isnan(panel[:101, 1]).all(axis=1).all()
    )  # nothing before listing (first return at bar 101)
    assert np.isfinite(panel[-1]).all()


def test_log_returns_first_row_nan():
    r = log_returns(np.array([[1.0], [np.e], [np.e**3]]))
    assert np.isnan(r[0, 0])
    np.testing.assert_allclose(r[1:, 0], [1.0, 2.0])

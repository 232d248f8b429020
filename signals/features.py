"""Causal features for the sequence models (numpy / pandas only, no torch).

Every function here is *causal*: the value at bar ``t`` reads prices up to and including ``t`` and nothing
later (``tests/test_signals_features.py`` checks it by perturbing prices after ``t``).

Missing values: an asset that is not yet listed (or has stopped trading) has NaN prices. NaN propagates:
any feature whose look-back touches a NaN price is NaN, and the windowed dataset
(:mod:`seqfolio.signals.windows`) drops every sample whose window or label contains a NaN — so an asset
contributes no samples before it lists. Nothing is forward-filled.

References
----------
López de Prado, M. (2018). *Advances in Financial Machine Learning*, ch. 5 (fractional differentiation,
fixed-width window "FFD", and the minimum-d search with an ADF test).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd

from seqfolio import defaults

#: Names of the per-asset feature columns produced by :func:`build_features`, in order.
FEATURE_NAMES: tuple[str, ...] = (
    "log_return",  # r_t = log(P_t / P_{t-1})
    "log_vol_21",  # log of the 21-bar realised volatility sqrt(mean r^2)
    "log_vol_63",  # log of the 63-bar realised volatility
    "momentum_21",  # sum of the last 21 log returns
    "ffd",  # FFD fractional difference of log prices (order d per asset, AFML ch. 5)
    "market_return",  # cross-asset mean log return at t (assets listed at t)
    "dispersion",  # cross-asset standard deviation of log returns at t
    "mean_corr_63",  # the asset's mean 63-bar correlation with the other assets
)

#: Features scaled per asset rather than pooled over the panel (their level differs by asset).
PER_ASSET_FEATURES: tuple[str, ...] = ("ffd",)

#: The FFD orders the ``ffd_d="auto"`` search tries, smallest first: 0, 0.1, ..., 1 (AFML ch. 5).
FFD_GRID: tuple[float, ...] = tuple(k / 10 for k in range(11))


# --------------------------------------------------------------------------------------------------
# Elementary transforms
# --------------------------------------------------------------------------------------------------
def log_returns(prices: pd.DataFrame | np.ndarray) -> np.ndarray:
    """Log returns ``log(P_t / P_{t-1})``; the first row and any row next to a NaN price are NaN.

    Parameters
    ----------
    prices : DataFrame or ndarray of shape (T, N)
        Positive prices, NaN where an asset has no price.

    Returns
    -------
    ndarray of shape (T, N)
    """
    logp = np.log(np.asarray(prices, dtype=float))
    out = np.full_like(logp, np.nan)
    out[1:] = logp[1:] - logp[:-1]
    return out


def rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Sum over the last ``window`` rows (``t - window + 1 .. t``); NaN if any of them is NaN.

    Works on arrays of any trailing shape (axis 0 is time) through cumulative sums.
    """
    x = np.asarray(values, dtype=float)
    valid = ~np.isnan(x)
    zeros = np.zeros((1,) + x.shape[1:])
    csum = np.concatenate([zeros, np.cumsum(np.where(valid, x, 0.0), axis=0)])
    ccount = np.concatenate([zeros, np.cumsum(valid, axis=0)])
    out = np.full(x.shape, np.nan)
    if window <= x.shape[0]:
        sums = csum[window:] - csum[:-window]
        counts = ccount[window:] - ccount[:-window]
        out[window - 1 :] = np.where(counts == window, sums, np.nan)
    return out


def realised_volatility(log_rets: np.ndarray, window: int) -> np.ndarray:
    """Trailing realised volatility ``sqrt(mean(r^2))`` over the last ``window`` bars (per bar, not annualised)."""
    r = np.asarray(log_rets, dtype=float)
    return np.sqrt(rolling_sum(r * r, window) / window)


def winsorize(values: np.ndarray, limit: float) -> np.ndarray:
    """Clip standardised values to ``[-limit, limit]`` (NaN stays NaN).

    The inputs are scaled with statistics of the training slice, so the clipping bounds are
    ``mean ± limit·std`` of the training data: outliers (bad ticks, the coarse 1990s prices of the bundled
    sample) cannot dominate a gradient step.
    """
    return np.clip(values, -limit, limit)


# --------------------------------------------------------------------------------------------------
# Fractional differentiation (AFML ch. 5)
# --------------------------------------------------------------------------------------------------
def ffd_weights(d: float, threshold: float = defaults.FFD_THRESHOLD) -> np.ndarray:
    """Weights ``w_0, w_1, ...`` of the fixed-width fractional difference of order ``d``.

    ``w_0 = 1`` and ``w_k = -w_{k-1} (d - k + 1) / k``; the sequence stops before the first weight with
    ``|w_k| < threshold``. For integer ``d`` the weights end exactly (``d = 1`` gives ``[1, -1]``).

    Parameters
    ----------
    d : float
        Order of differentiation, ``d >= 0``.
    threshold : float
        Drop weights smaller than this in absolute value (1e-2 in the book's search, 1e-5 for production).

    Returns
    -------
    ndarray
        ``w_0`` first.
    """
    if d < 0:
        raise ValueError(f"ffd_weights: d must be >= 0. Got {d!r} instead.")
    if not threshold > 0:
        raise ValueError(f"ffd_weights: threshold must be > 0. Got {threshold!r} instead.")
    weights = [1.0]
    k = 1
    while True:
        w = -weights[-1] * (d - k + 1) / k
        if abs(w) < threshold:
            break
        weights.append(w)
        k += 1
        if (
            k > 100_000
        ):  # d within 1e-12 of an integer never decays below a tiny threshold otherwise
            break
    return np.asarray(weights)


def frac_diff_ffd(
    series: np.ndarray | pd.Series, d: float, threshold: float = defaults.FFD_THRESHOLD
) -> np.ndarray:
    """Fixed-width-window fractional difference ``x~_t = sum_k w_k x_{t-k}``.

    The first ``len(weights) - 1`` values are NaN (not enough history), as is any value whose window
    touches a NaN input. Causal: ``x~_t`` reads ``x_{t-K} .. x_t`` only.

    Parameters
    ----------
    series : 1-D array or Series
        Usually log prices.
    d : float
        Order of differentiation (``0`` returns the series, ``1`` its first difference).
    threshold : float
        Weight cut-off passed to :func:`ffd_weights`.
    """
    x = np.asarray(series, dtype=float)
    if x.ndim != 1:
        raise ValueError(f"frac_diff_ffd: expected a 1-D series, got shape {x.shape}.")
    w = ffd_weights(d, threshold)
    width = len(w)
    out = np.full(x.shape, np.nan)
    if width > len(x):
        return out
    # sliding_window_view rows are x[t-width+1 .. t]; reverse the weights to line up w_0 with x_t.
    windows = np.lib.stride_tricks.sliding_window_view(x, width)
    out[width - 1 :] = windows @ w[::-1]
    return out


def min_ffd_d(
    log_prices: np.ndarray | pd.Series,
    *,
    grid: Sequence[float] | None = None,
    threshold: float = 1e-2,
    significance: float = 0.05,
) -> float:
    """Smallest ``d`` on a grid whose FFD series passes an ADF test (1 lag, constant) at ``significance``.

    Follows AFML ch. 5: ``d`` in 0, 0.1, ..., 1; the test is ``adfuller(x, maxlag=1, regression="c",
    autolag=None)`` and passes when the statistic is below the critical value (about -2.86 at 5 %).
    Leading / trailing NaN (an asset not yet listed) are dropped first.

    Returns
    -------
    float
        The smallest passing ``d``; ``1.0`` if none passes (plain returns).

    Raises
    ------
    ValueError
        If fewer than 30 finite values are left after differencing at ``d = 1``.
    """
    from statsmodels.tsa.stattools import adfuller  # statsmodels is slow to import: import lazily

    if significance not in (0.01, 0.05, 0.10):
        raise ValueError(
            f"min_ffd_d: significance must be 0.01, 0.05 or 0.10. Got {significance!r}."
        )
    key = {0.01: "1%", 0.05: "5%", 0.10: "10%"}[significance]
    x = np.asarray(log_prices, dtype=float)
    x = x[np.isfinite(x)]
    ds = np.asarray(FFD_GRID if grid is None else grid, dtype=float)
    for d in ds:
        diffed = frac_diff_ffd(x, float(d), threshold)
        diffed = diffed[np.isfinite(diffed)]
        if len(diffed) < 30:
            raise ValueError(
                f"min_ffd_d: only {len(diffed)} values left after differencing at d={d:.2f}; "
                "need at least 30. Use a longer history or a larger threshold."
            )
        if np.ptp(diffed) == 0:
            continue
        with warnings.catch_warnings():  # statsmodels >= 0.15 warns about its future return type
            warnings.simplefilter("ignore", FutureWarning)
            result = adfuller(diffed, maxlag=1, regression="c", autolag=None)
        stat, crit = result[0], result[4]  # (adf, pvalue, usedlag, nobs, critical values)
        if stat < crit[key]:
            return float(d)
    return 1.0


# --------------------------------------------------------------------------------------------------
# Cross-asset context
# --------------------------------------------------------------------------------------------------
def rolling_mean_correlation(log_rets: np.ndarray, window: int) -> np.ndarray:
    """Each asset's mean correlation with the other assets over the last ``window`` bars.

    Cost O(N·T·window) time and O(N·T) memory: the N×N correlation matrices are never formed. With
    ``s_j`` the standard deviation and ``m_j`` the mean of asset ``j`` over the window, the sum of
    asset ``i``'s correlations with the valid assets ``V`` is
    ``(sum_k r_ik u_k / window - m_i sum_j m_j / s_j) / s_i`` with ``u_k = sum_j r_jk / s_j`` (one
    cross-sectional sum per bar of the window), minus its correlation with itself (1).

    Parameters
    ----------
    log_rets : ndarray of shape (T, N)
    window : int
        Number of bars ``t - window + 1 .. t``.

    Returns
    -------
    ndarray of shape (T, N)
        ``out[t, i]`` = mean over the assets ``j != i`` with a full window and non-zero variance of
        ``corr(r_i, r_j)``; NaN when the asset's own window is incomplete or flat, or no other asset
        qualifies. The mean of a row over its assets equals the mean pairwise correlation of the
        universe at ``t``.
    """
    r = np.asarray(log_rets, dtype=float)
    out = np.full(r.shape, np.nan)
    if window > r.shape[0]:
        return out
    mean = rolling_sum(r, window)[window - 1 :] / window  # NaN unless the window is full
    with np.errstate(invalid="ignore"):
        sd = np.sqrt(rolling_sum(r * r, window)[window - 1 :] / window - mean**2)
        valid = sd > 0  # False for NaN (incomplete window) and for a flat window
    inv_sd = np.where(valid, 1.0 / np.where(valid, sd, 1.0), 0.0)
    # (T - window + 1, N, window) strided view, no copy; invalid assets get weight 0 so their
    # NaN returns are zeroed first.
    windows = np.lib.stride_tricks.sliding_window_view(np.nan_to_num(r), window, axis=0)
    u = np.einsum("tnk,tn->tk", windows, inv_sd)
    cross = np.einsum("tnk,tk->tn", windows, u) / window
    m = np.where(valid, mean, 0.0)
    total = (cross - m * (m * inv_sd).sum(axis=1, keepdims=True)) * inv_sd
    others = valid.sum(axis=1, keepdims=True) - 1
    with np.errstate(invalid="ignore", divide="ignore"):
        out[window - 1 :] = np.where(valid & (others > 0), (total - 1.0) / others, np.nan)
    return out


def universe_mean_correlation(asset_mean_corr: np.ndarray) -> np.ndarray:
    """Mean pairwise correlation of the universe from :func:`rolling_mean_correlation`'s output (per row)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.asarray(asset_mean_corr, dtype=float), axis=1)


def cross_section_context(log_rets: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Market return (cross-asset mean) and dispersion (cross-asset std, ddof 0) of log returns per bar.

    Only assets with a return at ``t`` count; a bar with no asset gives NaN.
    """
    r = np.asarray(log_rets, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(r, axis=1), np.nanstd(r, axis=1)


# --------------------------------------------------------------------------------------------------
# The feature panel
# --------------------------------------------------------------------------------------------------
def ffd_orders(
    prices: pd.DataFrame, *, threshold: float = 1e-2, significance: float = 0.05
) -> np.ndarray:
    """The :func:`min_ffd_d` of each asset's log prices (call it on the training slice only)."""
    out = []
    longest = max(len(ffd_weights(d, threshold)) for d in FFD_GRID)
    for col in prices.columns:
        logp = np.log(prices[col].to_numpy(dtype=float))
        if np.isfinite(logp).sum() < longest + 30:
            out.append(1.0)  # too little history for the search: fall back to plain returns
        else:
            out.append(min_ffd_d(logp, threshold=threshold, significance=significance))
    return np.asarray(out)


def feature_warmup(ffd_d: Sequence[float] | None, ffd_threshold: float) -> int:
    """Number of leading bars for which some feature is NaN even with complete prices."""
    warm = 63 + 1  # log_vol_63 / mean_corr_63 need 63 returns, i.e. 64 prices
    if ffd_d is not None:
        width = max(len(ffd_weights(float(d), ffd_threshold)) for d in ffd_d)
        warm = max(warm, width)
    return warm


def build_features(
    prices: pd.DataFrame,
    *,
    ffd_d: Sequence[float] | None = None,
    ffd_threshold: float = defaults.FFD_THRESHOLD,
) -> np.ndarray:
    """The raw (unscaled) feature panel of :data:`FEATURE_NAMES`.

    Parameters
    ----------
    prices : DataFrame of shape (T, N)
        Positive prices, NaN before listing / after delisting.
    ffd_d : sequence of float, optional
        FFD order per asset (from :func:`ffd_orders` on the training slice). ``None`` fills the ``ffd``
        feature with zeros (the feature is switched off).
    ffd_threshold : float
        FFD weight cut-off (1e-3: windows of about 60-70 bars for d in 0.1-0.5).

    Returns
    -------
    ndarray of shape (T, N, len(FEATURE_NAMES))
        Causal features; NaN where the history needed is missing.
    """
    values = prices.to_numpy(dtype=float)
    n_bars, n_assets = values.shape
    r = log_returns(values)
    with np.errstate(divide="ignore"):
        vol21 = np.log(realised_volatility(r, 21))
        vol63 = np.log(realised_volatility(r, 63))
    vol21[np.isneginf(vol21)] = np.nan  # a flat window (zero volatility) carries no information
    vol63[np.isneginf(vol63)] = np.nan
    mom21 = rolling_sum(r, 21)
    if ffd_d is None:
        ffd = np.where(np.isnan(values), np.nan, 0.0)
    else:
        if len(ffd_d) != n_assets:
            raise ValueError(f"build_features: {len(ffd_d)} FFD orders for {n_assets} assets.")
        logp = np.log(values)
        ffd = np.column_stack(
            [frac_diff_ffd(logp[:, i], float(ffd_d[i]), ffd_threshold) for i in range(n_assets)]
        )
    market, dispersion = cross_section_context(r)
    corr63 = rolling_mean_correlation(r, 63)
    # An asset with a full window but no other asset to compare with (a one-asset universe, or the only
    # asset listed so far) gets 0 rather than NaN, so it still contributes samples.
    corr63 = np.where(np.isnan(corr63) & np.isfinite(vol63), 0.0, corr63)
    # Cross-asset context is only defined for an asset on bars where it is itself listed.
    alive = ~np.isnan(r)
    market_i = np.where(alive, market[:, None], np.nan)
    dispersion_i = np.where(alive, dispersion[:, None], np.nan)
    panel = np.stack([r, vol21, vol63, mom21, ffd, market_i, dispersion_i, corr63], axis=2)
    if panel.shape != (
        n_bars,
        n_assets,
        len(FEATURE_NAMES),
    ):  # pragma: no cover - internal invariant
        raise RuntimeError("build_features: feature panel has an unexpected shape.")
    return panel

"""From forecasts to allocator inputs: small pure functions (pandas in, pandas out).

They connect :class:`~seqfolio.signals.LSTMForecaster` output to the ``covariance=`` /
``expected_returns=`` arguments of any allocator's ``fit`` without either package importing the other.
"""

from __future__ import annotations

import numpy as np
import pandas as pd


def _check_square(frame: pd.DataFrame, name: str, where: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame) or frame.shape[0] != frame.shape[1]:
        raise TypeError(f"{where}: {name} must be a square DataFrame labelled by asset.")
    if list(frame.index) != list(frame.columns):
        raise ValueError(f"{where}: {name} must have the same labels on its index and columns.")
    values = frame.to_numpy(dtype=float)
    if not np.isfinite(values).all():
        raise ValueError(f"{where}: {name} contains NaN or inf.")
    return frame


def volatility_to_covariance(volatility: pd.Series, correlation: pd.DataFrame) -> pd.DataFrame:
    """Covariance ``D C D`` from per-asset volatility forecasts ``D = diag(vol)`` and a correlation ``C``.

    Parameters
    ----------
    volatility : pandas.Series
        Per-period volatility forecasts (e.g. ``LSTMForecaster(target="volatility").predict(prices)``:
        daily, so the covariance is daily too), indexed by asset.
    correlation : pandas.DataFrame
        Estimated correlation matrix (e.g. ``returns.corr()`` or :func:`shrink_correlation`'s output);
        must contain every asset of ``volatility``.

    Returns
    -------
    pandas.DataFrame
        Covariance labelled by ``volatility.index`` on both axes.

    Raises
    ------
    ValueError
        If a volatility is NaN, negative or infinite, or an asset is missing from ``correlation``.
    """
    where = "volatility_to_covariance"
    vol = pd.Series(volatility, dtype=float)
    bad = vol.index[~(np.isfinite(vol.to_numpy()) & (vol.to_numpy() >= 0))]
    if len(bad):
        raise ValueError(
            f"{where}: volatility must be finite and >= 0; see assets {[str(b) for b in bad]}."
        )
    _check_square(correlation, "correlation", where)
    missing = [a for a in vol.index if a not in correlation.index]
    if missing:
        raise ValueError(f"{where}: correlation lacks assets {[str(m) for m in missing]}.")
    corr = correlation.loc[vol.index, vol.index].to_numpy(dtype=float)
    d = vol.to_numpy()
    return pd.DataFrame(corr * np.outer(d, d), index=vol.index.copy(), columns=vol.index.copy())


def returns_to_expected(log_return_forecast: pd.Series, horizon: int) -> pd.Series:
    """Per-period simple expected returns from forecast log returns over ``horizon`` bars.

    ``mu = exp(forecast / horizon) - 1``: the constant per-bar simple return that compounds to the
    forecast (the unit allocators expect, e.g. ``MeanVariance(...).fit(returns, expected_returns=mu)``).
    NaN forecasts raise: drop those assets first.
    """
    if not isinstance(horizon, int) or isinstance(horizon, bool) or horizon < 1:
        raise ValueError(
            f"returns_to_expected: horizon must be an int >= 1. Got {horizon!r} instead."
        )
    forecast = pd.Series(log_return_forecast, dtype=float)
    if not np.isfinite(forecast.to_numpy()).all():
        nan = [str(a) for a in forecast.index[~np.isfinite(forecast.to_numpy())]]
        raise ValueError(
            f"returns_to_expected: forecasts are NaN for assets {nan}; drop them first."
        )
    return np.expm1(forecast / horizon).rename("expected_return")


def shrink_correlation(
    correlation: pd.DataFrame, target_mean: float, *, weight: float = 0.5
) -> pd.DataFrame:
    """Shrink an estimated correlation matrix toward a constant-correlation matrix at a forecast level.

    ``C' = (1 - weight) C + weight T`` where ``T`` has ones on the diagonal and ``target_mean`` elsewhere
    (the constant-correlation target of Ledoit & Wolf, set at the forecast level instead of the sample
    mean). The mean pairwise correlation moves from ``mean(C)`` to
    ``(1 - weight) mean(C) + weight target_mean``; the ranking of the pairs is kept (for ``weight < 1``);
    the result is positive semi-definite whenever ``C`` is, because ``T`` is for any level in
    ``[-1/(n-1), 1]`` (``target_mean`` is clipped to that range).

    Parameters
    ----------
    correlation : pandas.DataFrame
        Estimated correlation (unit diagonal), labelled by asset.
    target_mean : float
        Forecast mean pairwise correlation, e.g. the mean of
        ``LSTMForecaster(target="correlation").predict(prices)``.
    weight : float, default 0.5
        Shrinkage intensity in [0, 1]; 1 replaces the matrix by the constant-correlation target.

    Returns
    -------
    pandas.DataFrame
    """
    where = "shrink_correlation"
    _check_square(correlation, "correlation", where)
    if not np.isfinite(target_mean) or not -1.0 <= target_mean <= 1.0:
        raise ValueError(f"{where}: target_mean must be in [-1, 1]. Got {target_mean!r} instead.")
    if not 0.0 <= weight <= 1.0:
        raise ValueError(f"{where}: weight must be in [0, 1]. Got {weight!r} instead.")
    c = correlation.to_numpy(dtype=float)
    n = c.shape[0]
    level = max(float(target_mean), -1.0 / (n - 1)) if n > 1 else 0.0
    target = np.full((n, n), level)
    np.fill_diagonal(target, 1.0)
    out = (1.0 - weight) * c + weight * target
    np.fill_diagonal(out, 1.0)
    return pd.DataFrame(out, index=correlation.index.copy(), columns=correlation.columns.copy())


def exposure_multiplier(
    probability: float | pd.Series,
    *,
    floor: float = 0.25,
    threshold: float = 0.5,
) -> float:
    """Gross exposure in [``floor``, 1] from a stress-regime or drawdown probability.

    Rule: full exposure while the probability is at or below ``threshold``; above it, exposure falls
    linearly to ``floor`` at probability 1::

        m(p) = 1                                              if p <= threshold
        m(p) = 1 - (1 - floor) * (p - threshold) / (1 - threshold)   otherwise

    A Series (one probability per asset) is averaged first — the multiplier scales the whole book.

    Parameters
    ----------
    probability : float or pandas.Series
        Forecast probability in [0, 1] (NaN entries of a Series are ignored).
    floor : float, default 0.25
        Exposure kept at probability 1.
    threshold : float, default 0.5
        Probability up to which exposure stays full.

    Returns
    -------
    float
    """
    where = "exposure_multiplier"
    if not 0.0 <= floor <= 1.0:
        raise ValueError(f"{where}: floor must be in [0, 1]. Got {floor!r} instead.")
    if not 0.0 <= threshold < 1.0:
        raise ValueError(f"{where}: threshold must be in [0, 1). Got {threshold!r} instead.")
    p = (
        float(np.nanmean(np.asarray(probability, dtype=float)))
        if isinstance(probability, pd.Series)
        else float(probability)
    )
    if not np.isfinite(p) or not 0.0 <= p <= 1.0:
        raise ValueError(f"{where}: probability must be in [0, 1]. Got {probability!r} instead.")
    if p <= threshold:
        return 1.0
    return 1.0 - (1.0 - floor) * (p - threshold) / (1.0 - threshold)

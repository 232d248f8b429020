"""Honest performance statistics: Sharpe ratio, bootstrap intervals, probabilistic and deflated Sharpe.

Conventions (the same in every function here and in :mod:`seqfolio.research.overfitting`):

- The risk-free rate is 0. The Sharpe ratio is ``mean / std`` of the per-bar returns with ``ddof=1``;
  functions that report it annualise it with ``sqrt(periods_per_year)`` (252 for daily bars, 52 weekly,
  12 monthly: give the data's own, :func:`seqfolio.reporting.bars_per_year`). The PSR and DSR formulas
  take *per-period* (not annualised) Sharpe ratios and their variance.
- ``kurtosis`` is the plain (non-excess, "Pearson") kurtosis: 3 for normal returns.
- A series is *flat* when its standard deviation is at most :data:`FLAT_RTOL` times the magnitude of
  its mean (:func:`is_flat`; a constant series, whatever its level, or all zeros): its Sharpe ratio is 0,
  and its skewness and kurtosis are the normal's (0 and 3), so its PSR against 0 is 0.5.

References
----------
Bailey, D. H. & López de Prado, M. (2012). The Sharpe Ratio Efficient Frontier. Journal of Risk 15(2).
Bailey, D. H. & López de Prado, M. (2014). The Deflated Sharpe Ratio: Correcting for Selection Bias,
Backtest Overfitting and Non-Normality. Journal of Portfolio Management 40(5), 94-107.
Politis, D. N. & Romano, J. P. (1994). The Stationary Bootstrap. JASA 89(428).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from seqfolio import defaults

EULER_GAMMA = 0.5772156649015329
_CHUNK = 250  # resamples drawn at once (bounds memory at ~250 x n_obs)

FLAT_RTOL = 1e-9
"""A series whose standard deviation is at most this fraction of its mean's magnitude is flat.

Rounding leaves the standard deviation of a constant series at ~1e-16 of its level (a Sharpe ratio of
~1e16 per bar, not 0); a real series never has a per-bar Sharpe ratio near ``1 / FLAT_RTOL``."""


def is_flat(mean: np.ndarray | float, std: np.ndarray | float) -> np.ndarray:
    """Whether returns with this mean and standard deviation are flat (see :data:`FLAT_RTOL`).

    Element-wise; ``std == 0`` is always flat. The tolerance is relative, so returns of 1e-9 a bar that
    vary by 10 % are not flat.
    """
    return np.asarray(std) <= FLAT_RTOL * np.abs(np.asarray(mean))


def per_period_sharpe(mean: np.ndarray | float, std: np.ndarray | float) -> np.ndarray:
    """``mean / std`` element-wise, 0 where the returns are flat (:func:`is_flat`)."""
    flat = is_flat(mean, std)
    return np.where(flat, 0.0, np.asarray(mean) / np.where(flat, 1.0, std))


def skew_kurtosis(values: np.ndarray) -> tuple[float, float]:
    """Skewness and plain (non-excess) kurtosis of returns; the normal's ``(0, 3)`` for a flat series."""
    if is_flat(values.mean(), values.std(ddof=1)):
        return 0.0, 3.0
    return float(stats.skew(values)), float(stats.kurtosis(values, fisher=False))


def _as_array(returns: pd.Series | np.ndarray) -> np.ndarray:
    values = np.asarray(returns, dtype=float).ravel()
    if values.size < 3:
        raise ValueError(f"At least 3 returns are needed for Sharpe statistics; got {values.size}.")
    if not np.isfinite(values).all():
        raise ValueError("Returns contain NaN or inf; drop them before computing statistics.")
    return values


def sharpe_ratio(returns: pd.Series | np.ndarray, periods_per_year: int = defaults.PERIODS_PER_YEAR) -> float:
    """Annualised Sharpe ratio: ``mean / std (ddof=1) * sqrt(periods_per_year)``, risk-free rate 0;
    0.0 for a flat series (:func:`is_flat`)."""
    values = _as_array(returns)
    return float(per_period_sharpe(values.mean(), values.std(ddof=1)) * np.sqrt(periods_per_year))


def _resampled_sharpes(
    values: np.ndarray, rng: np.random.Generator, n_resamples: int, mean_block: int
) -> np.ndarray:
    """Per-period Sharpe ratios of ``n_resamples`` stationary-bootstrap resamples of ``values``."""
    n_obs = values.size
    positions = np.arange(n_obs)
    new_block = rng.random((n_resamples, n_obs)) < 1.0 / mean_block
    new_block[:, 0] = True
    block_began = np.maximum.accumulate(np.where(new_block, positions, 0), axis=1)
    block_origin = np.take_along_axis(
        rng.integers(0, n_obs, (n_resamples, n_obs)), block_began, axis=1
    )
    samples = values[(block_origin + positions - block_began) % n_obs]
    return per_period_sharpe(samples.mean(axis=1), samples.std(axis=1, ddof=1))


def bootstrap_sharpe_interval(
    returns: pd.Series | np.ndarray,
    *,
    level: float = 0.95,
    n_resamples: int = 2000,
    mean_block: int = 21,
    periods_per_year: int = defaults.PERIODS_PER_YEAR,
    random_state: int | None = 0,
) -> tuple[float, float]:
    """Stationary-bootstrap confidence interval of the annualised Sharpe ratio.

    Blocks of geometric length (mean ``mean_block`` bars) keep the serial dependence of daily returns
    (Politis & Romano 1994). Returns the ``(low, high)`` percentile interval at ``level``.
    """
    values = _as_array(returns)
    rng = np.random.default_rng(random_state)
    sharpes = np.concatenate(
        [
            _resampled_sharpes(values, rng, min(_CHUNK, n_resamples - done), mean_block)
            for done in range(0, n_resamples, _CHUNK)
        ]
    ) * np.sqrt(periods_per_year)
    tail = (1.0 - level) / 2.0
    low, high = np.quantile(sharpes, [tail, 1.0 - tail])
    return float(low), float(high)


def probabilistic_sharpe_ratio(
    sharpe: float, *, n_obs: int, skew: float, kurtosis: float, benchmark: float = 0.0
) -> float:
    """Probability that the true Sharpe ratio exceeds ``benchmark`` (Bailey & López de Prado 2012).

    ``PSR = Φ((SR - SR*) sqrt(T - 1) / sqrt(1 - γ3 SR + (γ4 - 1) / 4 SR²))``.

    Parameters
    ----------
    sharpe : float
        The observed Sharpe ratio, **per period** (not annualised: divide an annual one by
        ``sqrt(periods_per_year)``).
    n_obs : int
        Number of returns T behind ``sharpe``.
    skew : float
        Skewness γ3 of those returns.
    kurtosis : float
        Their **plain** (non-excess) kurtosis γ4: 3 for normal returns (``scipy.stats.kurtosis(x,
        fisher=False)``).
    benchmark : float, default 0.0
        SR*, per period.

    Raises
    ------
    ValueError
        If the moments make the variance term non-positive (e.g. an excess kurtosis given as plain).
    """
    denominator = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if not denominator > 0:
        raise ValueError(
            f"probabilistic_sharpe_ratio: the moments give a non-positive variance term "
            f"1 - skew * sharpe + (kurtosis - 1) / 4 * sharpe**2 = {denominator:.3g} (sharpe "
            f"{sharpe:.3g} per period, skew {skew:.3g}, kurtosis {kurtosis:.3g}); give a per-period "
            "Sharpe ratio and the plain (non-excess) kurtosis."
        )
    z = (sharpe - benchmark) * np.sqrt(n_obs - 1) / np.sqrt(denominator)
    return float(stats.norm.cdf(z))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """Expected maximum of ``n_trials`` Sharpe ratios whose true value is zero (the DSR benchmark).

    ``sqrt(V) ((1 - γ) Φ⁻¹(1 - 1/N) + γ Φ⁻¹(1 - 1/(N e)))``, γ Euler's constant, V
    ``sharpe_variance``: the variance (ddof=1) of the trials' per-period Sharpe ratios. The result is
    per period too.
    """
    if n_trials < 1:
        raise ValueError(f"n_trials must be >= 1. Got {n_trials}.")
    if n_trials == 1:
        return 0.0
    quantile = (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n_trials) + EULER_GAMMA * stats.norm.ppf(
        1 - 1 / (n_trials * np.e)
    )
    return float(np.sqrt(sharpe_variance) * quantile)


def deflated_sharpe_ratio(
    sharpe: float,
    *,
    n_trials: int,
    sharpe_variance: float,
    n_obs: int,
    skew: float,
    kurtosis: float,
) -> float:
    """Deflated Sharpe ratio (Bailey & López de Prado 2014): the PSR against the expected maximum.

    Parameters
    ----------
    sharpe : float
        The selected configuration's Sharpe ratio, per period (not annualised).
    n_trials : int
        Number N of configurations tried: every one that was run, the selected one included (each
        seed of a configuration and each pruned trial of a search count).
    sharpe_variance : float
        Variance (ddof=1) of the trials' per-period Sharpe ratios.
    n_obs : int
        Number of returns behind ``sharpe``.
    skew, kurtosis : float
        Skewness and plain (non-excess) kurtosis of those returns (3 for normal returns).
    """
    benchmark = expected_max_sharpe(n_trials, sharpe_variance)
    return probabilistic_sharpe_ratio(
        sharpe, n_obs=n_obs, skew=skew, kurtosis=kurtosis, benchmark=benchmark
    )


def sharpe_summary(
    returns: pd.Series,
    *,
    n_trials: int = 1,
    trial_sharpes: np.ndarray | None = None,
    periods_per_year: int = defaults.PERIODS_PER_YEAR,
) -> dict[str, float]:
    """Sharpe, its bootstrap interval, PSR (vs 0) and DSR for one return series.

    Parameters
    ----------
    returns : pandas.Series
        Per-bar returns.
    n_trials : int, default 1
        Configurations tried (every seed and every pruned trial counts; see
        :func:`deflated_sharpe_ratio`).
    trial_sharpes : array-like, optional
        The Sharpe ratios of the trials, annualised with the same ``periods_per_year``; their
        per-period variance (ddof=1) is the DSR's ``sharpe_variance``. Without them (or with one) the
        DSR equals the PSR.
    periods_per_year : int, default 252
        Bars a year of ``returns`` (252 daily, 52 weekly, 12 monthly). The PSR and DSR do not depend
        on it as long as ``trial_sharpes`` use the same one.

    Returns
    -------
    dict
        ``sharpe`` (annualised), ``sharpe_ci_low`` / ``sharpe_ci_high`` (stationary bootstrap, 95 %),
        ``psr`` and ``dsr``. A flat series (:func:`is_flat`) has Sharpe 0 and PSR 0.5.
    """
    values = _as_array(returns)
    per_period = float(per_period_sharpe(values.mean(), values.std(ddof=1)))
    skew, kurtosis = skew_kurtosis(values)
    low, high = bootstrap_sharpe_interval(values, periods_per_year=periods_per_year)
    variance = 0.0
    if trial_sharpes is not None and len(trial_sharpes) > 1:
        variance = float(np.var(np.asarray(trial_sharpes) / np.sqrt(periods_per_year), ddof=1))
    return {
        "sharpe": float(per_period * np.sqrt(periods_per_year)),
        "sharpe_ci_low": low,
        "sharpe_ci_high": high,
        "psr": probabilistic_sharpe_ratio(
            per_period, n_obs=values.size, skew=skew, kurtosis=kurtosis
        ),
        "dsr": deflated_sharpe_ratio(
            per_period,
            n_trials=max(n_trials, 1),
            sharpe_variance=variance,
            n_obs=values.size,
            skew=skew,
            kurtosis=kurtosis,
        ),
    }

"""Honest performance statistics: Sharpe ratio, bootstrap intervals, probabilistic and deflated Sharpe.

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

EULER_GAMMA = 0.5772156649015329
_CHUNK = 250  # resamples drawn at once (bounds memory at ~250 x n_obs)


def _as_array(returns: pd.Series | np.ndarray) -> np.ndarray:
    values = np.asarray(returns, dtype=float).ravel()
    if values.size < 3:
        raise ValueError(f"At least 3 returns are needed for Sharpe statistics; got {values.size}.")
    if not np.isfinite(values).all():
        raise ValueError("Returns contain NaN or inf; drop them before computing statistics.")
    return values


def sharpe_ratio(returns: pd.Series | np.ndarray, periods_per_year: int = 252) -> float:
    """Annualised Sharpe ratio (zero risk-free rate); 0.0 for a flat series."""
    values = _as_array(returns)
    std = values.std(ddof=1)
    return 0.0 if std == 0 else float(values.mean() / std * np.sqrt(periods_per_year))


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
    std = samples.std(axis=1, ddof=1)
    safe_std = np.where(std > 0, std, 1.0)
    return np.where(std > 0, samples.mean(axis=1) / safe_std, 0.0)


def bootstrap_sharpe_interval(
    returns: pd.Series | np.ndarray,
    *,
    level: float = 0.95,
    n_resamples: int = 2000,
    mean_block: int = 21,
    periods_per_year: int = 252,
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
    """Probability that the true Sharpe exceeds ``benchmark`` (Bailey & López de Prado 2012).

    All Sharpe ratios are per period (not annualised); ``kurtosis`` is the plain (non-excess) kurtosis.
    """
    denominator = 1.0 - skew * sharpe + (kurtosis - 1.0) / 4.0 * sharpe**2
    if denominator <= 0:
        raise ValueError(
            "probabilistic_sharpe_ratio: the moments give a non-positive variance term."
        )
    z = (sharpe - benchmark) * np.sqrt(n_obs - 1) / np.sqrt(denominator)
    return float(stats.norm.cdf(z))


def expected_max_sharpe(n_trials: int, sharpe_variance: float) -> float:
    """Expected maximum of ``n_trials`` Sharpe ratios whose true value is zero (the DSR benchmark)."""
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
        The selected configuration's Sharpe ratio, per period.
    n_trials : int
        Number of (independent) configurations tried.
    sharpe_variance : float
        Variance of the per-period Sharpe ratios across the trials.
    n_obs : int
        Number of returns behind ``sharpe``.
    skew, kurtosis : float
        Skewness and plain (non-excess) kurtosis of those returns.
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
    periods_per_year: int = 252,
) -> dict[str, float]:
    """Sharpe, its bootstrap interval, PSR (vs 0) and DSR for one return series.

    ``trial_sharpes`` are the annualised Sharpe ratios of every configuration tried (for the DSR's
    variance); without them the DSR equals the PSR.
    """
    values = _as_array(returns)
    per_period = values.mean() / values.std(ddof=1) if values.std(ddof=1) > 0 else 0.0
    skew = float(stats.skew(values))
    kurtosis = float(stats.kurtosis(values, fisher=False))
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

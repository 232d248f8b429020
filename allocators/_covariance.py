"""Covariance estimators by name, shared by every allocator that takes ``covariance="..."``."""

from __future__ import annotations

import numpy as np
import pandas as pd

COVARIANCE_ESTIMATORS = ("sample", "ledoit_wolf", "oas", "exponential")
_EWMA_HALFLIFE = 60  # bars; a common choice for daily data


def estimate_covariance(returns: pd.DataFrame, method: str) -> np.ndarray:
    """Estimate the per-period covariance of ``returns`` with the named method.

    ``sample`` is the unbiased sample covariance; ``ledoit_wolf`` and ``oas`` shrink it toward a scaled
    identity (scikit-learn's estimators, rescaled to the unbiased denominator); ``exponential`` weights
    observations with a 60-bar half-life.
    """
    x = returns.to_numpy(dtype=float)
    n_obs = x.shape[0]
    if method == "sample":
        return np.atleast_2d(np.cov(x, rowvar=False, ddof=1))
    if method in ("ledoit_wolf", "oas"):
        from sklearn.covariance import ledoit_wolf, oas

        estimator = ledoit_wolf if method == "ledoit_wolf" else oas
        shrunk, _ = estimator(x, assume_centered=False)
        return np.atleast_2d(shrunk) * n_obs / max(n_obs - 1, 1)
    if method == "exponential":
        centered = x - x.mean(axis=0)
        decay = 0.5 ** (1.0 / _EWMA_HALFLIFE)
        weights = decay ** np.arange(n_obs - 1, -1, -1)
        weights /= weights.sum()
        return (centered * weights[:, None]).T @ centered / (1.0 - (weights**2).sum())
    raise ValueError(
        f"Unknown covariance estimator {method!r}; use one of {list(COVARIANCE_ESTIMATORS)}."
    )


def covariance_to_correlation(covariance: np.ndarray) -> np.ndarray:
    """Correlation matrix of a covariance matrix (zero-variance rows give zero correlation)."""
    std = np.sqrt(np.clip(np.diag(covariance), 0.0, None))
    with np.errstate(divide="ignore", invalid="ignore"):
        corr = covariance / np.outer(std, std)
    corr = np.nan_to_num(corr, nan=0.0, posinf=0.0, neginf=0.0)
    corr = np.clip((corr + corr.T) / 2, -1.0, 1.0)
    np.fill_diagonal(corr, 1.0)
    return corr

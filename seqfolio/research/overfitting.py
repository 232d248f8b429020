"""Overfitting verdicts over every trial of a study: PBO (CSCV) and the deflated Sharpe of the best.

References
----------
Bailey, D. H., Borwein, J., López de Prado, M. & Zhu, Q. J. (2017). The Probability of Backtest
Overfitting. Journal of Computational Finance 20(4), 39-69.
Bailey, D. H. & López de Prado, M. (2014). The Deflated Sharpe Ratio. Journal of Portfolio Management
40(5), 94-107 (the formula lives in :func:`seqfolio.stats.deflated_sharpe_ratio`).
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
import pandas as pd
from scipy import stats

from seqfolio._validation import check_int
from seqfolio.stats import deflated_sharpe_ratio

__all__ = [
    "PBOResult",
    "deflated_sharpe_of_best",
    "overfitting_summary",
    "probability_of_overfitting",
]

_OWNER = "probability_of_overfitting"


@dataclass(frozen=True)
class PBOResult:
    """What :func:`probability_of_overfitting` found.

    Attributes
    ----------
    pbo : float
        Share of the splits in which the in-sample best trial ranks at or below the out-of-sample
        median (logit <= 0): the probability of backtest overfitting.
    logits : ndarray
        One logit ``ln(w / (1 - w))`` per split, ``w`` the relative out-of-sample rank of the
        in-sample best trial (rank / (N + 1)).
    is_sharpe, oos_sharpe : ndarray
        Per split, the in-sample best trial's per-period Sharpe ratio in sample and out of sample
        (the performance-degradation pairs).
    degradation_slope, degradation_intercept : float
        Least-squares line of ``oos_sharpe`` on ``is_sharpe`` (a negative slope: the better it looked,
        the worse it did).
    prob_oos_loss : float
        Share of the splits in which the in-sample best trial lost out of sample (Sharpe < 0).
    n_blocks, n_trials : int
    """

    pbo: float
    logits: np.ndarray
    is_sharpe: np.ndarray
    oos_sharpe: np.ndarray
    degradation_slope: float
    degradation_intercept: float
    prob_oos_loss: float
    n_blocks: int
    n_trials: int


def _as_matrix(returns: pd.DataFrame | np.ndarray, owner: str) -> np.ndarray:
    values = np.asarray(returns, dtype=float)
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError(
            f"{owner}: give a T x N matrix of daily returns with N >= 2 trials (one column each); "
            f"got shape {values.shape}."
        )
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        name = returns.columns[col] if isinstance(returns, pd.DataFrame) else col
        raise ValueError(
            f"{owner}: returns hold NaN or inf (first at row {row}, trial {name!r}); give every "
            "trial the same dates, with 0.0 where it held cash."
        )
    return values


def _sharpes(total: np.ndarray, squares: np.ndarray, count: np.ndarray) -> np.ndarray:
    """Per-period Sharpe ratios (ddof=1) from sums, sums of squares and counts; 0 for a flat one."""
    mean = total / count
    var = (squares - count * mean**2) / (count - 1)
    std = np.sqrt(np.clip(var, 0.0, None))
    flat = std <= 1e-15 * np.maximum(np.abs(mean), 1e-300)
    return np.where(flat, 0.0, mean / np.where(flat, 1.0, std))


def probability_of_overfitting(returns: pd.DataFrame | np.ndarray, n_blocks: int = 16) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

    The T rows are cut into ``n_blocks`` consecutive blocks (``numpy.array_split``: sizes differ by
    at most one row). Every way of choosing half the blocks gives an in-sample set and its
    complement; in each, the trial with the best in-sample Sharpe ratio is ranked out of sample
    (Bailey, Borwein, López de Prado & Zhu 2017). ``n_blocks = 16`` gives C(16, 8) = 12,870 splits.

    Parameters
    ----------
    returns : DataFrame or ndarray of shape (T, N)
        Daily out-of-sample returns of N >= 2 trials on the same T dates.
    n_blocks : int, default 16
        Even number of blocks S, with at least 2 rows per block.

    Returns
    -------
    PBOResult

    Raises
    ------
    ValueError
        For NaN / inf returns, fewer than 2 trials, an odd ``n_blocks`` or blocks under 2 rows.
    """
    values = _as_matrix(returns, _OWNER)
    check_int(_OWNER, "n_blocks", n_blocks, low=2)
    if n_blocks % 2:
        raise ValueError(f"{_OWNER}: n_blocks must be even (half in, half out); got {n_blocks}.")
    if len(values) < 2 * n_blocks:
        raise ValueError(
            f"{_OWNER}: {len(values)} rows cannot make {n_blocks} blocks of >= 2 rows; use fewer "
            "blocks or a longer out-of-sample period."
        )
    blocks = np.array_split(np.arange(len(values)), n_blocks)
    block_sum = np.array([values[b].sum(axis=0) for b in blocks])
    block_sq = np.array([(values[b] ** 2).sum(axis=0) for b in blocks])
    block_n = np.array([len(b) for b in blocks], dtype=float)
    picks = np.array(list(combinations(range(n_blocks), n_blocks // 2)))
    chosen = np.zeros((len(picks), n_blocks), dtype=bool)
    np.put_along_axis(chosen, picks, True, axis=1)
    rest = ~chosen
    in_sample = _sharpes(chosen @ block_sum, chosen @ block_sq, (chosen @ block_n)[:, None])
    out_sample = _sharpes(rest @ block_sum, rest @ block_sq, (rest @ block_n)[:, None])
    n_trials = values.shape[1]
    best = in_sample.argmax(axis=1)
    splits = np.arange(len(picks))
    ranks = stats.rankdata(out_sample, axis=1)[splits, best]
    relative = ranks / (n_trials + 1)
    logits = np.log(relative / (1 - relative))
    is_best, oos_best = in_sample[splits, best], out_sample[splits, best]
    slope, intercept = np.polyfit(is_best, oos_best, 1) if np.ptp(is_best) > 0 else (0.0, 0.0)
    return PBOResult(
        pbo=float(np.mean(logits <= 0)),
        logits=logits,
        is_sharpe=is_best,
        oos_sharpe=oos_best,
        degradation_slope=float(slope),
        degradation_intercept=float(intercept),
        prob_oos_loss=float(np.mean(oos_best < 0)),
        n_blocks=n_blocks,
        n_trials=n_trials,
    )


def deflated_sharpe_of_best(returns: pd.DataFrame | np.ndarray) -> dict[str, float]:
    """The deflated Sharpe ratio of the best of N trials, deflated for all N.

    The best trial (highest per-period Sharpe) is tested against the expected maximum Sharpe of N
    zero-skill trials whose Sharpe ratios vary as the N trials' do, with its own skewness and
    kurtosis (:func:`~seqfolio.stats.deflated_sharpe_ratio`).

    Returns
    -------
    dict
        ``best`` (column position), ``sharpe`` (annualised, 252 days), ``dsr``, ``n_trials``.
    """
    values = _as_matrix(returns, "deflated_sharpe_of_best")
    n_obs = len(values)
    sharpes = _sharpes(values.sum(axis=0), (values**2).sum(axis=0), np.full(1, float(n_obs)))
    best = int(np.argmax(sharpes))
    column = values[:, best]
    dsr = deflated_sharpe_ratio(
        float(sharpes[best]),
        n_trials=values.shape[1],
        sharpe_variance=float(np.var(sharpes, ddof=1)),
        n_obs=n_obs,
        skew=float(stats.skew(column)),
        kurtosis=float(stats.kurtosis(column, fisher=False)),
    )
    return {
        "best": best,
        "sharpe": float(sharpes[best] * np.sqrt(252)),
        "dsr": dsr,
        "n_trials": values.shape[1],
    }


def overfitting_summary(returns: pd.DataFrame, n_blocks: int = 16) -> dict[str, object]:
    """PBO and the best trial's DSR over every trial's daily returns (one column each), in one dict.

    ``n_blocks`` is lowered (to an even number) when the period is too short for blocks of >= 2
    rows; the dict says which was used. Keys: ``trials``, ``best``, ``best_sharpe``, ``dsr``,
    ``pbo``, ``n_blocks``, ``prob_oos_loss``, ``degradation_slope``.
    """
    blocks = min(n_blocks, len(returns) // 2 // 2 * 2)
    dsr = deflated_sharpe_of_best(returns)
    pbo = probability_of_overfitting(returns, blocks)
    return {
        "trials": returns.shape[1],
        "best": str(returns.columns[dsr["best"]]),
        "best_sharpe": dsr["sharpe"],
        "dsr": dsr["dsr"],
        "pbo": pbo.pbo,
        "n_blocks": blocks,
        "prob_oos_loss": pbo.prob_oos_loss,
        "degradation_slope": pbo.degradation_slope,
    }

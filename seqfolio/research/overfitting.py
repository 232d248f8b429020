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

from seqfolio import defaults
from seqfolio._validation import check_int
from seqfolio.stats import deflated_sharpe_ratio, per_period_sharpe, skew_kurtosis

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


def _as_matrix(returns: pd.DataFrame | np.ndarray, owner: str, min_rows: int) -> np.ndarray:
    values = np.asarray(returns, dtype=float)
    if values.ndim != 2 or values.shape[1] < 2:
        raise ValueError(
            f"{owner}: give a T x N matrix of daily returns with N >= 2 trials (one column each); "
            f"got shape {values.shape}."
        )
    if len(values) < min_rows:
        raise ValueError(
            f"{owner}: {len(values)} rows of returns are too few; give at least {min_rows} (one row "
            "per bar of the out-of-sample period)."
        )
    bad = ~np.isfinite(values)
    if bad.any():
        row, col = np.argwhere(bad)[0]
        where = f"row {row}"
        if isinstance(returns, pd.DataFrame) and isinstance(returns.index, pd.DatetimeIndex):
            where = f"{returns.index[row]:%Y-%m-%d} (row {row})"
        trial = returns.columns[col] if isinstance(returns, pd.DataFrame) else None
        where += f", trial {str(trial)!r}" if trial is not None else f", column {col}"
        raise ValueError(
            f"{owner}: returns hold NaN or inf (first at {where}); give every trial the same dates, "
            "with 0.0 where it held cash."
        )
    return values


def _sharpes(
    total: np.ndarray, squares: np.ndarray, count: np.ndarray, centre: np.ndarray
) -> np.ndarray:
    """Per-period Sharpe ratios (ddof=1) of row sets, from their sums and sums of squares of the
    returns minus ``centre`` (each column's mean over every row) and their row counts.

    Centring keeps the one-pass variance exact to rounding (a constant column leaves ~1e-20 rather
    than ~1e-8 of its level, which made a Sharpe of 2e7); flat columns get 0
    (:func:`seqfolio.stats.is_flat`).
    """
    shifted_mean = total / count
    var = np.clip((squares - count * shifted_mean**2) / (count - 1), 0.0, None)
    return per_period_sharpe(shifted_mean + centre, np.sqrt(var))


def probability_of_overfitting(returns: pd.DataFrame | np.ndarray, n_blocks: int = 16) -> PBOResult:
    """Probability of backtest overfitting by combinatorially symmetric cross-validation (CSCV).

    The T rows are cut into ``n_blocks`` = S consecutive blocks in order; when T is not a multiple
    of S, the first ``T mod S`` blocks have one row more than the others (``numpy.array_split``).
    Every way of choosing S/2 blocks gives an in-sample set and its complement (C(S, S/2) splits:
    12,870 for S = 16). In each split, the trial with the highest in-sample Sharpe ratio (ties: the
    first column) is ranked among the N trials out of sample, rank 1 the lowest, tied trials
    sharing their mean rank (``scipy.stats.rankdata``); ``w = rank / (N + 1)`` and the logit is
    ``ln(w / (1 - w))`` (Bailey, Borwein, López de Prado & Zhu 2017). PBO is the share of splits
    with a logit <= 0. Sharpe ratios are per period, ddof=1, 0 for a flat set of rows
    (:mod:`seqfolio.stats` conventions).

    Parameters
    ----------
    returns : DataFrame or ndarray of shape (T, N)
        Per-bar out-of-sample returns of N >= 2 trials on the same T >= 4 dates (each seed of a
        configuration is a trial).
    n_blocks : int, default 16
        Even number of blocks S, with at least 2 rows per block.

    Returns
    -------
    PBOResult

    Raises
    ------
    ValueError
        For NaN / inf returns (naming the first row and trial), fewer than 2 trials or 4 rows, an
        odd ``n_blocks`` or blocks under 2 rows.
    """
    values = _as_matrix(returns, _OWNER, min_rows=4)
    check_int(_OWNER, "n_blocks", n_blocks, low=2)
    if n_blocks % 2:
        raise ValueError(f"{_OWNER}: n_blocks must be even (half in, half out); got {n_blocks}.")
    if len(values) < 2 * n_blocks:
        raise ValueError(
            f"{_OWNER}: {len(values)} rows cannot make {n_blocks} blocks of >= 2 rows; use fewer "
            "blocks or a longer out-of-sample period."
        )
    blocks = np.array_split(np.arange(len(values)), n_blocks)
    centre = values.mean(axis=0)
    shifted = values - centre
    block_sum = np.array([shifted[b].sum(axis=0) for b in blocks])
    block_sq = np.array([(shifted[b] ** 2).sum(axis=0) for b in blocks])
    block_n = np.array([len(b) for b in blocks], dtype=float)
    picks = np.array(list(combinations(range(n_blocks), n_blocks // 2)))
    chosen = np.zeros((len(picks), n_blocks), dtype=bool)
    np.put_along_axis(chosen, picks, True, axis=1)
    rest = ~chosen
    in_sample = _sharpes(chosen @ block_sum, chosen @ block_sq, (chosen @ block_n)[:, None], centre)
    out_sample = _sharpes(rest @ block_sum, rest @ block_sq, (rest @ block_n)[:, None], centre)
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


def deflated_sharpe_of_best(
    returns: pd.DataFrame | np.ndarray,
    *,
    periods_per_year: int = defaults.PERIODS_PER_YEAR,
    n_trials: int | None = None,
    selected: int | str | None = None,
) -> dict[str, float]:
    """The deflated Sharpe ratio of the best of N trials, deflated for all N.

    The best trial is tested against the expected maximum Sharpe of N zero-skill trials whose
    per-period Sharpe ratios vary (variance with ddof=1) as the given trials' do, with its own
    skewness and plain kurtosis (:func:`~seqfolio.stats.deflated_sharpe_ratio`; conventions in
    :mod:`seqfolio.stats`: per-period Sharpe ratios, flat columns have Sharpe 0).

    Parameters
    ----------
    returns : DataFrame or ndarray of shape (T, N)
        Per-bar out-of-sample returns of N >= 2 trials on the same T >= 3 dates.
    periods_per_year : int, default 252
        Bars a year of ``returns``, to annualise the reported ``sharpe`` (the DSR does not depend
        on it).
    n_trials : int, optional
        Trials tried, when more were run than have a column here (e.g. a search's pruned trials,
        which have no full-period returns); default: the columns. Each seed of a configuration is
        a trial.
    selected : int or str, optional
        The trial that was selected by another rule (a search's own objective), by position or
        column label; default: the highest per-period Sharpe ratio (ties: the first column).

    Returns
    -------
    dict
        ``best`` (column position), ``sharpe`` (annualised with ``periods_per_year``), ``dsr``,
        ``n_trials`` (the N deflated for).
    """
    owner = "deflated_sharpe_of_best"
    values = _as_matrix(returns, owner, min_rows=3)
    n_obs, columns = values.shape
    found = check_int(owner, "n_trials", columns if n_trials is None else n_trials, low=columns)
    sharpes = per_period_sharpe(values.mean(axis=0), values.std(axis=0, ddof=1))
    if selected is None:
        best = int(np.argmax(sharpes))
    elif isinstance(returns, pd.DataFrame) and selected in returns.columns:
        best = int(returns.columns.get_loc(selected))
    else:
        best = check_int(owner, "selected", selected, low=0, high=columns - 1)
    skew, kurtosis = skew_kurtosis(values[:, best])
    dsr = deflated_sharpe_ratio(
        float(sharpes[best]),
        n_trials=found,
        sharpe_variance=float(np.var(sharpes, ddof=1)),
        n_obs=n_obs,
        skew=skew,
        kurtosis=kurtosis,
    )
    return {
        "best": best,
        "sharpe": float(sharpes[best] * np.sqrt(periods_per_year)),
        "dsr": dsr,
        "n_trials": found,
    }


def overfitting_summary(
    returns: pd.DataFrame,
    n_blocks: int = 16,
    *,
    periods_per_year: int = defaults.PERIODS_PER_YEAR,
    n_trials: int | None = None,
    selected: str | None = None,
) -> dict[str, object]:
    """PBO and the best trial's DSR over every trial's per-bar returns (one column each), in one dict.

    ``n_blocks`` is lowered (to an even number) when the period is too short for blocks of >= 2
    rows; the dict says which was used. ``periods_per_year``, ``n_trials`` and ``selected`` are
    :func:`deflated_sharpe_of_best`'s. Keys: ``trials`` (the columns, over which PBO is taken),
    ``best``, ``best_sharpe`` (annualised), ``dsr``, ``dsr_trials`` (the N it is deflated for),
    ``pbo``, ``n_blocks``, ``prob_oos_loss``, ``degradation_slope``.

    Raises
    ------
    ValueError
        For fewer than 4 rows (CSCV needs 2 blocks of 2), fewer than 2 trials, NaN or inf.
    """
    _as_matrix(returns, "overfitting_summary", min_rows=4)
    blocks = min(n_blocks, len(returns) // 2 // 2 * 2)
    dsr = deflated_sharpe_of_best(
        returns, periods_per_year=periods_per_year, n_trials=n_trials, selected=selected
    )
    pbo = probability_of_overfitting(returns, blocks)
    return {
        "trials": returns.shape[1],
        "best": str(returns.columns[dsr["best"]]),
        "best_sharpe": dsr["sharpe"],
        "dsr": dsr["dsr"],
        "dsr_trials": dsr["n_trials"],
        "pbo": pbo.pbo,
        "n_blocks": blocks,
        "prob_oos_loss": pbo.prob_oos_loss,
        "degradation_slope": pbo.degradation_slope,
    }

"""Portfolio risk measures used by HERC (all positive, larger = riskier)."""

from __future__ import annotations

import numpy as np

RISK_MEASURES = ("variance", "std", "cvar", "cdar")


def _tail_mean(losses: np.ndarray, alpha: float) -> float:
    """Mean of the worst ``alpha`` probability mass of ``losses`` (Rockafellar-Uryasev CVaR).

    With ``alpha * n`` not a whole number, the boundary observation counts with its fractional mass.
    """
    mass = alpha * losses.size
    worst_first = np.sort(losses)[::-1]
    whole = int(np.floor(mass))
    tail = worst_first[:whole].sum()
    if whole < worst_first.size:
        tail += (mass - whole) * worst_first[whole]
    return float(tail / mass)


def portfolio_risk(
    weights: np.ndarray,
    returns: np.ndarray,
    covariance: np.ndarray,
    measure: str,
    alpha: float,
) -> float:
    """Risk of a weights vector under ``measure``.

    ``variance`` and ``std`` use ``covariance``; ``cvar`` is the mean loss in the worst ``alpha`` tail of
    the portfolio's historical returns; ``cdar`` the same for its drawdowns, measured on cumulative
    (non-compounded) returns so the measure scales linearly with returns.
    """
    if measure == "variance":
        return float(weights @ covariance @ weights)
    if measure == "std":
        return float(np.sqrt(max(weights @ covariance @ weights, 0.0)))
    path = returns @ weights
    if measure == "cvar":
        return _tail_mean(-path, alpha)
    if measure == "cdar":
        wealth = np.concatenate(([0.0], np.cumsum(path)))
        drawdown = np.maximum.accumulate(wealth) - wealth
        return _tail_mean(drawdown[1:], alpha)
    raise ValueError(f"Unknown risk measure {measure!r}; use one of {list(RISK_MEASURES)}.")

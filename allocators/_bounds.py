"""Post-hoc weight bounds: the closest bounded weights that keep the allocator's proportions."""

from __future__ import annotations

import numpy as np
from scipy.optimize import brentq

from seqfolio.allocators._validation import AllocationError


def check_bounds_feasible(owner: str, n_assets: int, min_weight: float, max_weight: float) -> None:
    """Raise AllocationError if no fully invested weights meet the bounds for ``n_assets`` assets.

    The bounds themselves are valid (``check_params`` checked them); whether they can be met
    depends on how many assets this window has, so :class:`~seqfolio.allocators.Fallback` may try a
    member whose bounds fit.
    """
    if max_weight * n_assets < 1 - 1e-12:
        raise AllocationError(
            f"The 'max_weight' parameter of {owner} ({max_weight}) cannot be met with {n_assets} "
            f"assets: {n_assets} x {max_weight} < 1. Raise it to at least {1 / n_assets:.4g}."
        )
    if min_weight * n_assets > 1 + 1e-12:
        raise AllocationError(
            f"The 'min_weight' parameter of {owner} ({min_weight}) cannot be met with {n_assets} "
            f"assets: {n_assets} x {min_weight} > 1. Lower it to at most {1 / n_assets:.4g}."
        )


def apply_weight_bounds(weights: np.ndarray, min_weight: float, max_weight: float) -> np.ndarray:
    """Clip weights into ``[min_weight, max_weight]`` while keeping them summing to one.

    The result is ``clip(lam * weights, min_weight, max_weight)`` with the scalar ``lam`` chosen so the
    sum is one: assets at a bound are pinned there and the others keep their relative proportions.
    Callers check feasibility first with :func:`check_bounds_feasible`.
    """
    w = np.asarray(weights, dtype=float)
    if np.all(w >= min_weight - 1e-12) and np.all(w <= max_weight + 1e-12):
        return w

    def excess(lam: float) -> float:
        return float(np.clip(lam * w, min_weight, max_weight).sum() - 1.0)

    positive = w[w > 0]
    upper = max_weight / positive.min() if positive.size else 1.0
    if excess(upper) < 0:  # zero weights pinned at min_weight cannot absorb the rest
        return np.full_like(w, 1.0 / w.size)
    lam = brentq(excess, 0.0, upper, xtol=1e-15, rtol=1e-15, maxiter=500)
    bounded = np.clip(lam * w, min_weight, max_weight)
    return bounded / bounded.sum()

"""Hierarchical Risk Parity (López de Prado 2016)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from seqfolio._validation import check_choice
from seqfolio.allocators._base import BaseAllocator
from seqfolio.allocators._covariance import covariance_to_correlation
from seqfolio.allocators._hierarchy import (
    DISTANCES,
    LINKAGES,
    ORDERINGS,
    build_linkage,
    condensed_distance,
    leaf_order,
)


def _inverse_variance_risk(
    covariance: np.ndarray, diag: np.ndarray, start: int, stop: int
) -> float:
    """Variance of the inverse-variance portfolio of the block ``start:stop`` of ``covariance``."""
    ivp = 1.0 / diag[start:stop]
    ivp /= ivp.sum()
    # a C-contiguous copy of the block, laid out like the fancy-indexed submatrix it replaces, so
    # the product (and the weights) are bit-for-bit what they were
    return float(ivp @ np.ascontiguousarray(covariance[start:stop, start:stop]) @ ivp)


def recursive_bisection(covariance: np.ndarray, order: np.ndarray) -> np.ndarray:
    """Split weight top-down over halves of the ordered list, inversely to each half's variance."""
    # Permute the covariance into ``order`` once, so that every cluster is a contiguous block (a
    # slice, not a fancy-indexed copy per split: this runs at every rebalance of a backtest).
    ordered = covariance[np.ix_(order, order)]
    diag = np.diag(ordered).copy()
    weights = np.ones(order.size)  # in ``order``'s positions
    stack = [(0, order.size)]
    while stack:
        start, stop = stack.pop()
        if stop - start < 2:
            continue
        half = start + (stop - start) // 2
        var_left = _inverse_variance_risk(ordered, diag, start, half)
        var_right = _inverse_variance_risk(ordered, diag, half, stop)
        alpha = 1.0 - var_left / (var_left + var_right)
        weights[start:half] *= alpha
        weights[half:stop] *= 1.0 - alpha
        stack.extend(((start, half), (half, stop)))
    result = np.ones(covariance.shape[0])
    result[order] = weights
    return result


def hrp_weights(
    covariance: np.ndarray,
    correlation: np.ndarray,
    *,
    linkage: str = "single",
    ordering: str = "optimal_leaf",
    distance: str = "correlation",
) -> np.ndarray:
    """HRP weights for a covariance and its correlation matrix (numpy in, numpy out).

    Parameters
    ----------
    covariance, correlation : ndarray of shape (n, n)
    linkage : str
        scipy linkage method.
    ordering : {"optimal_leaf", "pre_order"}
    distance : {"correlation", "distance_of_distances"}

    Returns
    -------
    ndarray of shape (n,)
        Weights summing to one.
    """
    order = quasi_diagonal_order(
        covariance, correlation, linkage=linkage, ordering=ordering, distance=distance
    )
    weights = recursive_bisection(covariance, order)
    return weights / weights.sum()


def quasi_diagonal_order(
    covariance: np.ndarray, correlation: np.ndarray, *, linkage: str, ordering: str, distance: str
) -> np.ndarray:
    """Asset positions in the order HRP bisects them (see :func:`hrp_weights`)."""
    if covariance.shape[0] == 1:
        return np.zeros(1, dtype=int)
    condensed = condensed_distance(correlation, distance)
    link = build_linkage(condensed, linkage)
    return leaf_order(link, condensed, ordering, np.diag(covariance))


class HRP(BaseAllocator):
    """Hierarchical Risk Parity.

    Clusters assets on the correlation distance ``sqrt((1 - rho) / 2)``, orders them so that similar
    assets sit together (quasi-diagonalisation) and splits the budget top-down between halves of that
    order in inverse proportion to each half's inverse-variance-portfolio variance.

    Parameters
    ----------
    linkage : str, default "single"
        scipy linkage method: one of "single", "complete", "average", "weighted", "ward", "centroid",
        "median".
    ordering : {"optimal_leaf", "pre_order"}, default "optimal_leaf"
        ``optimal_leaf`` makes weights independent of the column order; ``pre_order`` is the paper's
        (and PyPortfolioOpt's) order, which is not.
    distance : {"correlation", "distance_of_distances"}, default "correlation"
        ``distance_of_distances`` clusters on the Euclidean distance between columns of the correlation
        distance matrix, as the paper's code does.
    covariance : {"sample", "ledoit_wolf", "oas", "exponential"}, default "sample"
        Estimator used when ``fit`` gets no ``covariance=``.
    min_weight, max_weight : float, default 0 and 1
        Bounds applied after the bisection (proportions between unbounded assets are kept).

    Attributes
    ----------
    weights_ : pandas.Series
    order_ : list
        The asset labels in quasi-diagonal order.

    References
    ----------
    López de Prado, M. (2016). Building Diversified Portfolios that Outperform Out of Sample. Journal of
    Portfolio Management 42(4), 59-69.

    Examples
    --------
    >>> from seqfolio.data import load_sample
    >>> returns = load_sample("2018", "2022").pct_change().dropna()
    >>> HRP().fit(returns).weights_.round(3).sum()
    np.float64(1.0)
    """

    needs_positive_variance: ClassVar[bool] = True
    search_space: ClassVar[Mapping[str, Any]] = {
        "linkage": ("single", "average", "complete", "ward"),
        "covariance": ("sample", "ledoit_wolf"),
    }

    def __init__(
        self,
        linkage: str = "single",
        ordering: str = "optimal_leaf",
        distance: str = "correlation",
        covariance: str = "sample",
        min_weight: float = 0.0,
        max_weight: float = 1.0,
    ) -> None:
        self.linkage = linkage
        self.ordering = ordering
        self.distance = distance
        self.covariance = covariance
        self.min_weight = min_weight
        self.max_weight = max_weight

    def _validate_params(self) -> None:
        check_choice("HRP", "linkage", self.linkage, LINKAGES)
        check_choice("HRP", "ordering", self.ordering, ORDERINGS)
        check_choice("HRP", "distance", self.distance, DISTANCES)
        self._check_covariance_name()

    def _allocate(
        self,
        returns: pd.DataFrame,
        covariance: np.ndarray | None,
        expected_returns: np.ndarray | None,
    ) -> np.ndarray:
        cov = self._covariance_matrix(returns, covariance)
        corr = covariance_to_correlation(cov)
        order = quasi_diagonal_order(
            cov, corr, linkage=self.linkage, ordering=self.ordering, distance=self.distance
        )
        self.order_ = [returns.columns[i] for i in order]
        return recursive_bisection(cov, order)

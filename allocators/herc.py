"""Hierarchical Equal Risk Contribution (Raffinot 2018)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import scipy.cluster.hierarchy as sch

from seqfolio._validation import check_choice, check_int, check_real
from seqfolio.allocators._base import BaseAllocator
from seqfolio.allocators._covariance import covariance_to_correlation
from seqfolio.allocators._hierarchy import (
    LINKAGES,
    build_linkage,
    condensed_distance,
    correlation_distance,
    two_order_difference_n_clusters,
)
from seqfolio.allocators._risk import RISK_MEASURES, portfolio_risk

_RISK_FLOOR = (
    1e-300  # a window with no measured risk (e.g. no losses for CVaR) must not divide by 0
)


def herc_weights(
    returns: np.ndarray,
    covariance: np.ndarray,
    correlation: np.ndarray,
    *,
    linkage: str = "ward",
    n_clusters: int | None = None,
    risk_measure: str = "variance",
    alpha: float = 0.05,
) -> tuple[np.ndarray, np.ndarray]:
    """HERC weights and cluster labels (numpy in, numpy out).

    1. Cluster the assets (``linkage`` on the correlation distance) and cut the tree into
       ``n_clusters`` clusters (None: the two-order-difference gap statistic).
    2. Inside each cluster, naive risk parity: weights proportional to 1 / (asset's risk).
    3. Top-down through the dendrogram, each node's weight is split between its two children in
       inverse proportion to the summed risk of the clusters each child holds.

    Returns
    -------
    weights : ndarray of shape (n,)
    labels : ndarray of shape (n,)
        Cluster label (0 .. k-1) of each asset.
    """
    n_assets = covariance.shape[0]
    if n_assets == 1:
        return np.ones(1), np.zeros(1, dtype=int)
    dist = correlation_distance(correlation)
    link = build_linkage(condensed_distance(correlation, "correlation"), linkage)
    k = n_clusters if n_clusters is not None else two_order_difference_n_clusters(dist, link)
    labels = sch.fcluster(link, t=min(k, n_assets), criterion="maxclust") - 1
    n_found = int(labels.max()) + 1

    def risk(weights: np.ndarray) -> float:
        return max(portfolio_risk(weights, returns, covariance, risk_measure, alpha), _RISK_FLOOR)

    asset_risk = np.array([risk(np.eye(n_assets)[i]) for i in range(n_assets)])
    weights = np.zeros(n_assets)
    cluster_risk = np.empty(n_found)
    for c in range(n_found):
        members = labels == c
        inverse = np.where(members, 1.0 / asset_risk, 0.0)
        inverse /= inverse.sum()
        weights[members] = inverse[members]
        cluster_risk[c] = risk(inverse)

    cluster_weight = np.ones(n_found)
    clusters_under = {}  # node id -> the clusters entirely inside it

    def clusters_in(node: sch.ClusterNode) -> np.ndarray:
        if node.id not in clusters_under:
            clusters_under[node.id] = np.unique(labels[node.pre_order()])
        return clusters_under[node.id]

    stack = [sch.to_tree(link)]
    while stack:
        node = stack.pop()
        if node.is_leaf() or clusters_in(node).size == 1:
            continue
        left, right = clusters_in(node.get_left()), clusters_in(node.get_right())
        risk_left, risk_right = cluster_risk[left].sum(), cluster_risk[right].sum()
        split = 1.0 - risk_left / (risk_left + risk_right)
        cluster_weight[left] *= split
        cluster_weight[right] *= 1.0 - split
        stack.extend((node.get_left(), node.get_right()))
    weights *= cluster_weight[labels]
    return weights / weights.sum(), labels


class HERC(BaseAllocator):
    """Hierarchical Equal Risk Contribution.

    Parameters
    ----------
    linkage : str, default "ward"
        scipy linkage method on the correlation distance ``sqrt((1 - rho) / 2)``.
    n_clusters : int or None, default None
        Number of clusters the tree is cut into; None chooses it with the two-order difference to the
        gap statistic (Yue, Wang & Wei 2009), as skfolio does.
    risk_measure : {"variance", "std", "cvar", "cdar"}, default "variance"
        Risk used for the inverse-risk weights inside clusters and the splits between them.
        ``cvar`` / ``cdar`` are measured on the historical returns at level ``alpha``.
    alpha : float, default 0.05
        Tail fraction for ``cvar`` and ``cdar``.
    covariance : {"sample", "ledoit_wolf", "oas", "exponential"}, default "sample"
        Estimator used when ``fit`` gets no ``covariance=``.
    min_weight, max_weight : float, default 0 and 1
        Bounds applied after the allocation (proportions between unbounded assets are kept).

    Attributes
    ----------
    weights_ : pandas.Series
    labels_ : pandas.Series
        Cluster label of each asset.
    n_clusters_ : int

    References
    ----------
    Raffinot, T. (2018). The Hierarchical Equal Risk Contribution Portfolio. SSRN 3237540.
    """

    needs_positive_variance: ClassVar[bool] = True
    search_space: ClassVar[Mapping[str, Any]] = {
        "linkage": ("ward", "average", "single"),
        "risk_measure": ("variance", "std", "cvar", "cdar"),
    }

    def __init__(
        self,
        linkage: str = "ward",
        n_clusters: int | None = None,
        risk_measure: str = "variance",
        alpha: float = 0.05,
        covariance: str = "sample",
        min_weight: float = 0.0,
        max_weight: float = 1.0,
    ) -> None:
        self.linkage = linkage
        self.n_clusters = n_clusters
        self.risk_measure = risk_measure
        self.alpha = alpha
        self.covariance = covariance
        self.min_weight = min_weight
        self.max_weight = max_weight

    def _validate_params(self) -> None:
        check_choice("HERC", "linkage", self.linkage, LINKAGES)
        check_int("HERC", "n_clusters", self.n_clusters, low=1, allow_none=True)
        check_choice("HERC", "risk_measure", self.risk_measure, RISK_MEASURES)
        check_real("HERC", "alpha", self.alpha, low=0.0, high=1.0, low_open=True)
        self._check_covariance_name()

    def _allocate(
        self,
        returns: pd.DataFrame,
        covariance: np.ndarray | None,
        expected_returns: np.ndarray | None,
    ) -> np.ndarray:
        cov = self._covariance_matrix(returns, covariance)
        weights, labels = herc_weights(
            returns.to_numpy(),
            cov,
            covariance_to_correlation(cov),
            linkage=self.linkage,
            n_clusters=self.n_clusters,
            risk_measure=self.risk_measure,
            alpha=self.alpha,
        )
        self.labels_ = pd.Series(labels, index=returns.columns.copy(), name="cluster")
        self.n_clusters_ = int(labels.max()) + 1
        return weights

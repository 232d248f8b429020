"""Hierarchical clustering of assets: distances, linkage, leaf order and cluster counts.

Pure functions on numpy arrays, shared by HRP and HERC.
"""

from __future__ import annotations

import numpy as np
import scipy.cluster.hierarchy as sch
from scipy.spatial.distance import pdist, squareform

LINKAGES = ("single", "complete", "average", "weighted", "ward", "centroid", "median")
DISTANCES = ("correlation", "distance_of_distances")
ORDERINGS = ("optimal_leaf", "pre_order")


def correlation_distance(corr: np.ndarray) -> np.ndarray:
    """López de Prado's correlation distance ``sqrt((1 - rho) / 2)`` as a square matrix."""
    dist = np.sqrt(np.clip((1.0 - corr) / 2.0, 0.0, 1.0))
    np.fill_diagonal(dist, 0.0)
    return dist


def condensed_distance(corr: np.ndarray, distance: str) -> np.ndarray:
    """The condensed distance vector that the linkage is built on.

    ``correlation``: the correlation distance itself. ``distance_of_distances``: the Euclidean distance
    between the columns of the correlation distance matrix (López de Prado 2016's d-tilde).
    """
    dist = correlation_distance(corr)
    if distance == "distance_of_distances":
        return pdist(dist, metric="euclidean")
    return squareform(dist, checks=False)


def build_linkage(condensed: np.ndarray, method: str) -> np.ndarray:
    """scipy linkage matrix for a condensed distance vector."""
    return sch.linkage(condensed, method=method)


def leaf_order(
    link: np.ndarray, condensed: np.ndarray, ordering: str, variances: np.ndarray
) -> np.ndarray:
    """Quasi-diagonal order of the leaves.

    ``pre_order`` is the tree's pre-order (the 2016 paper's ``getQuasiDiag``). ``optimal_leaf`` flips
    subtrees to minimise the distance between neighbouring leaves (Bar-Joseph et al. 2001); its only
    remaining freedom, reading the whole order backwards, is fixed from the data (the end with the
    lower-variance leaf comes first) so that the result does not depend on the column order.
    """
    if ordering == "pre_order":
        return np.asarray(sch.to_tree(link).pre_order(), dtype=int)
    order = sch.leaves_list(sch.optimal_leaf_ordering(link, condensed))
    if variances[order[0]] > variances[order[-1]]:
        order = order[::-1]
    return np.asarray(order, dtype=int)


def two_order_difference_n_clusters(dist: np.ndarray, link: np.ndarray) -> int:
    """Number of clusters from the two-order difference to the gap statistic (Yue, Wang & Wei 2009).

    The within-cluster dispersion ``W_k`` (sum over clusters of their mean pairwise distance) is
    computed for k = 1 .. max(8, sqrt(n)) clusters cut from the tree; k maximises
    ``W_{k+2} + W_k - 2 W_{k+1}`` plus one. This replaces the gap statistic's random reference
    distribution with a deterministic second difference (as skfolio does).
    """
    n_assets = dist.shape[0]
    if n_assets <= 2:
        return n_assets
    cuts = sch.cut_tree(link)
    max_clusters = min(n_assets, max(8, round(np.sqrt(n_assets))))
    dispersion = np.empty(max_clusters)
    for k in range(max_clusters):
        labels = cuts[:, n_assets - k - 1]
        total = 0.0
        for label in np.unique(labels):
            members = np.flatnonzero(labels == label)
            if members.size > 1:
                total += float(squareform(dist[np.ix_(members, members)], checks=False).mean())
        dispersion[k] = total
    gaps = dispersion[2:] + dispersion[:-2] - 2 * dispersion[1:-1]
    return int(np.argmax(gaps)) + 2 if gaps.size else n_assets

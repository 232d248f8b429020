"""Oracle tests: PyPortfolioOpt and skfolio on the same data."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from seqfolio.allocators import HERC, HRP, MeanVariance
from seqfolio.allocators._covariance import covariance_to_correlation
from seqfolio.allocators.hrp import quasi_diagonal_order, recursive_bisection

pypfopt = pytest.importorskip("pypfopt")
skfolio = pytest.importorskip("skfolio")


@pytest.fixture(scope="module")
def universes(sample_returns) -> list[pd.DataFrame]:
    rng = np.random.default_rng(11)
    picks = [sample_returns.iloc[-500:, :n] for n in (2, 5, 10, 20)]
    for n in (3, 7, 13):
        picks.append(sample_returns.iloc[-500:, rng.choice(20, n, replace=False)])
    return picks


def test_hrp_pre_order_matches_pypfopt_hrpopt(universes):
    for returns in universes:
        theirs = pd.Series(pypfopt.HRPOpt(returns).optimize(linkage_method="single"))
        ours = HRP(linkage="single", ordering="pre_order").fit(returns).weights_
        np.testing.assert_allclose(ours[theirs.index], theirs, atol=1e-12)


def test_hrp_pre_order_on_paper_data_matches_hrpopt_not_the_paper(paper_returns):
    # anchors.md section 2: HRPOpt links the condensed d (no distance of distances): asset 4 = 13.09 %.
    ours = HRP(ordering="pre_order").fit(paper_returns).weights_
    theirs = pd.Series(pypfopt.HRPOpt(paper_returns).optimize(linkage_method="single"))
    np.testing.assert_allclose(ours[theirs.index], theirs, atol=1e-12)
    assert round(ours[4] * 100, 2) == 13.09


def test_min_variance_matches_pypfopt_min_volatility(universes):
    for returns in universes[1:]:
        cov = returns.cov() * 252
        frontier = pypfopt.EfficientFrontier(None, cov, weight_bounds=(0, 1))
        theirs = pd.Series(frontier.min_volatility())
        ours = MeanVariance(objective="min_variance", covariance="sample").fit(returns).weights_
        np.testing.assert_allclose(ours[theirs.index], theirs, atol=1e-5)


def _skfolio_hrp(returns: pd.DataFrame) -> np.ndarray:
    from skfolio.cluster import HierarchicalClustering, LinkageMethod
    from skfolio.optimization import HierarchicalRiskParity

    clustering = HierarchicalClustering(linkage_method=LinkageMethod.SINGLE)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # skfolio's deprecation notice for the clustering argument
        model = HierarchicalRiskParity(hierarchical_clustering_estimator=clustering)
        return model.fit(returns).weights_


def test_hrp_optimal_leaf_matches_skfolio_up_to_orientation(universes):
    """skfolio also bisects the optimal-leaf order; we read that order in a data-fixed direction."""
    for returns in universes:
        theirs = _skfolio_hrp(returns)
        cov = returns.cov().to_numpy()
        order = quasi_diagonal_order(
            cov,
            covariance_to_correlation(cov),
            linkage="single",
            ordering="optimal_leaf",
            distance="correlation",
        )
        candidates = [recursive_bisection(cov, order), recursive_bisection(cov, order[::-1])]
        ours = HRP().fit(returns).weights_.to_numpy()
        assert any(np.allclose(ours, c / c.sum(), atol=1e-12) for c in candidates)
        assert any(np.allclose(theirs, c / c.sum(), atol=1e-10) for c in candidates), (
            returns.columns
        )


@pytest.mark.parametrize("measure", ["variance", "std", "cvar", "cdar"])
def test_herc_matches_skfolio(universes, measure):
    from skfolio import RiskMeasure
    from skfolio.optimization import HierarchicalEqualRiskContribution

    theirs_measure = {
        "variance": RiskMeasure.VARIANCE,
        "std": RiskMeasure.STANDARD_DEVIATION,
        "cvar": RiskMeasure.CVAR,
        "cdar": RiskMeasure.CDAR,
    }[measure]
    for returns in universes:
        theirs = HierarchicalEqualRiskContribution(risk_measure=theirs_measure).fit(returns)
        ours = HERC(risk_measure=measure).fit(returns)
        np.testing.assert_allclose(ours.weights_.to_numpy(), theirs.weights_, atol=1e-10)
        assert ours.n_clusters_ == theirs.hierarchical_clustering_estimator_.n_clusters_

"""Golden numbers: López de Prado (2016), Table 16.1 (anchors.md section 1)."""

from __future__ import annotations

import numpy as np
import pytest

from seqfolio.allocators import HRP, InverseVariance, MeanVariance

# Published weights in per cent, assets 1..10.
TABLE_16_1 = {
    "CLA": [14.44, 19.93, 19.73, 19.87, 18.68, 0.00, 5.86, 1.49, 0.00, 0.00],
    "HRP": [7.00, 7.59, 10.84, 19.03, 9.72, 10.19, 6.62, 9.10, 7.12, 12.79],
    "IVP": [10.36, 10.28, 10.36, 10.25, 10.31, 9.74, 9.80, 9.65, 9.64, 9.61],
}


def test_paper_data_recipe(paper_returns):
    assert paper_returns.shape == (10000, 10)
    # The recipe's cols = [2, 0, 4, 1, 1]: column 6 is a noisy copy of column 3.
    corr = paper_returns.corr()
    assert corr.loc[6, 3] > 0.95 and corr.loc[9, 2] > 0.95 and corr.loc[10, 2] > 0.95
    assert np.isclose(np.linalg.cond(paper_returns.cov().to_numpy()), 150.9324, atol=1e-4)


def test_hrp_reproduces_table_16_1(paper_returns):
    hrp = HRP(linkage="single", ordering="pre_order", distance="distance_of_distances")
    weights = hrp.fit(paper_returns).weights_
    assert (weights * 100).round(2).tolist() == TABLE_16_1["HRP"]
    assert hrp.order_ == [9, 2, 10, 1, 7, 3, 6, 4, 5, 8]


def test_min_variance_reproduces_cla_column(paper_returns):
    weights = (
        MeanVariance(objective="min_variance", covariance="sample").fit(paper_returns).weights_
    )
    np.testing.assert_allclose(weights * 100, TABLE_16_1["CLA"], atol=0.005 + 1e-9)


def test_inverse_variance_reproduces_ivp_column(paper_returns):
    weights = InverseVariance().fit(paper_returns).weights_
    assert (weights * 100).round(2).tolist() == TABLE_16_1["IVP"]


@pytest.mark.parametrize("distance", ["correlation", "distance_of_distances"])
def test_default_ordering_differs_from_paper_but_is_a_valid_hrp(paper_returns, distance):
    weights = HRP(distance=distance).fit(paper_returns).weights_
    assert np.isclose(weights.sum(), 1.0) and (weights > 0).all()

"""Shared fixtures: the 2016 paper's simulated returns and small windows of the bundled data."""

from __future__ import annotations

import random

import numpy as np
import pandas as pd
import pytest

from seqfolio.data import load_sample


def make_paper_returns() -> pd.DataFrame:
    """López de Prado (2016)'s generateData(nObs=10000, size0=5, size1=5, sigma1=0.25), seed 12345.

    Python 2's ``random.randint(0, 4)`` was ``int(random.random() * 5)``; Python 3 draws differently.
    Columns are numbered 1..10 as in the paper's Table 16.1.
    """
    np.random.seed(12345)
    random.seed(12345)
    x = np.random.normal(0, 1, size=(10000, 5))
    cols = [int(random.random() * 5) for _ in range(5)]
    y = x[:, cols] + np.random.normal(0, 0.25, size=(10000, 5))
    return pd.DataFrame(np.append(x, y, axis=1), columns=range(1, 11))


@pytest.fixture(scope="session")
def paper_returns() -> pd.DataFrame:
    return make_paper_returns()


@pytest.fixture(scope="session")
def sample_returns() -> pd.DataFrame:
    """Two years of daily returns of the 20 bundled stocks (2020-2021)."""
    return load_sample("2020-01-01", "2021-12-31").pct_change().iloc[1:]

"""Allocators that need no optimisation: equal weight, inverse volatility, inverse variance."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd

from seqfolio.allocators._base import BaseAllocator


class EqualWeight(BaseAllocator):
    """1/N over the assets.

    Parameters
    ----------
    min_weight, max_weight : float, default 0 and 1
        Accepted for a uniform interface; 1/N satisfies any feasible bounds.
    """

    _min_observations = 1

    def __init__(self, min_weight: float = 0.0, max_weight: float = 1.0) -> None:
        self.min_weight = min_weight
        self.max_weight = max_weight

    def _allocate(
        self,
        returns: pd.DataFrame,
        covariance: np.ndarray | None,
        expected_returns: np.ndarray | None,
    ) -> np.ndarray:
        return np.full(returns.shape[1], 1.0 / returns.shape[1])


class _InverseRisk(BaseAllocator):
    """Weights proportional to ``variance ** -power``."""

    needs_positive_variance: ClassVar[bool] = True
    search_space: ClassVar[Mapping[str, Any]] = {"covariance": ("sample", "ledoit_wolf")}
    _power: float = 1.0

    def __init__(
        self, covariance: str = "sample", min_weight: float = 0.0, max_weight: float = 1.0
    ) -> None:
        self.covariance = covariance
        self.min_weight = min_weight
        self.max_weight = max_weight

    def _validate_params(self) -> None:
        self._check_covariance_name()

    def _allocate(
        self,
        returns: pd.DataFrame,
        covariance: np.ndarray | None,
        expected_returns: np.ndarray | None,
    ) -> np.ndarray:
        variances = np.diag(self._covariance_matrix(returns, covariance))
        inverse = variances ** (-self._power)
        return inverse / inverse.sum()


class InverseVolatility(_InverseRisk):
    """Weights proportional to 1 / volatility.

    Parameters
    ----------
    covariance : {"sample", "ledoit_wolf", "oas", "exponential"}, default "sample"
        Estimator of the variances when ``fit`` gets no ``covariance=``.
    min_weight, max_weight : float, default 0 and 1
    """

    _power = 0.5


class InverseVariance(_InverseRisk):
    """Weights proportional to 1 / variance (the IVP column of López de Prado 2016, Table 16.1).

    Parameters
    ----------
    covariance : {"sample", "ledoit_wolf", "oas", "exponential"}, default "sample"
        Estimator of the variances when ``fit`` gets no ``covariance=``.
    min_weight, max_weight : float, default 0 and 1
    """

    _power = 1.0

"""The estimator protocol every allocator follows (scikit-learn style, DESIGN.md section 2)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from seqfolio.allocators._bounds import apply_weight_bounds, check_bounds_feasible
from seqfolio.allocators._covariance import COVARIANCE_ESTIMATORS, estimate_covariance
from seqfolio.allocators._validation import (
    check_choice,
    check_covariance,
    check_expected_returns,
    check_positive_variance,
    check_returns,
    check_weight_bounds,
)


class AllocationError(ValueError):
    """An allocation problem that has no solution for this data (e.g. an infeasible optimisation).

    :class:`~seqfolio.allocators.Fallback` catches it and tries its next member; parameter errors are
    plain ``ValueError`` and are never swallowed.
    """


class BaseAllocator(BaseEstimator):
    """Base class: ``fit(returns, *, covariance=None, expected_returns=None) -> self``.

    Subclasses store their keyword parameters unchanged in ``__init__``, validate them in
    :meth:`_validate_params` and compute raw weights in :meth:`_allocate`. This class validates inputs,
    applies ``min_weight`` / ``max_weight`` (for allocators that have them) and sets ``weights_``.

    Attributes
    ----------
    weights_ : pandas.Series
        Fitted long-only weights over the returns' columns, summing to one.
    n_assets_ : int
        Number of assets seen in ``fit``.
    """

    _min_observations: int = 2
    _has_weight_bounds: bool = True
    _needs_positive_variance: bool = False

    # -- hooks for subclasses -------------------------------------------------------------------
    def _validate_params(self) -> None:
        """Raise ValueError for an invalid parameter (called at the top of ``fit``)."""

    def _allocate(
        self,
        returns: pd.DataFrame,
        covariance: np.ndarray | None,
        expected_returns: np.ndarray | None,
    ) -> np.ndarray:
        raise NotImplementedError

    # -- shared machinery -----------------------------------------------------------------------
    @property
    def _owner(self) -> str:
        return type(self).__name__

    def _covariance_matrix(
        self, returns: pd.DataFrame, covariance: np.ndarray | None
    ) -> np.ndarray:
        """The given (forecast) covariance, or one estimated with ``self.covariance``."""
        if covariance is not None:
            return covariance
        return estimate_covariance(returns, self.covariance)

    def _check_covariance_name(self) -> None:
        check_choice(self._owner, "covariance", self.covariance, COVARIANCE_ESTIMATORS)

    def fit(
        self,
        returns: pd.DataFrame,
        *,
        covariance: pd.DataFrame | np.ndarray | None = None,
        expected_returns: pd.Series | np.ndarray | None = None,
    ) -> BaseAllocator:
        """Compute weights from a window of asset returns.

        Parameters
        ----------
        returns : pandas.DataFrame
            Per-period simple returns, rows = dates, columns = assets. No NaN or inf (use
            :func:`seqfolio.data.trailing_returns` to keep only assets alive over the window).
        covariance : pandas.DataFrame or ndarray, optional
            A per-period covariance to use instead of estimating one (e.g. built from LSTM volatility
            forecasts). A DataFrame is aligned by label; it must be symmetric positive semi-definite.
        expected_returns : pandas.Series or ndarray, optional
            Per-period expected returns (used by objectives that need them).

        Returns
        -------
        self
        """
        owner = self._owner
        self._validate_params()
        frame = check_returns(returns, owner, min_observations=self._min_observations)
        cov = None if covariance is None else check_covariance(covariance, frame.columns, owner)
        mu = (
            None
            if expected_returns is None
            else check_expected_returns(expected_returns, frame.columns, owner)
        )
        n_assets = frame.shape[1]
        if self._has_weight_bounds:
            low, high = check_weight_bounds(owner, self.min_weight, self.max_weight)
            check_bounds_feasible(owner, n_assets, low, high)
        if self._needs_positive_variance:
            variances = np.diag(cov) if cov is not None else frame.var(ddof=1).to_numpy()
            check_positive_variance(frame, variances, owner)

        raw = np.asarray(self._allocate(frame, cov, mu), dtype=float)
        if not np.isfinite(raw).all() or raw.sum() <= 0:
            raise AllocationError(
                f"{owner}.fit produced non-finite or zero weights for this window."
            )
        raw = np.clip(raw, 0.0, None)
        raw = raw / raw.sum()
        if self._has_weight_bounds:
            raw = apply_weight_bounds(raw, low, high)
        self.weights_ = pd.Series(raw, index=frame.columns.copy(), name="weight")
        self.n_assets_ = n_assets
        return self

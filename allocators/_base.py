"""The estimator protocol every allocator follows (scikit-learn style, docs/architecture.md, The estimator protocol)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from seqfolio._validation import check_choice
from seqfolio.allocators._bounds import apply_weight_bounds, check_bounds_feasible
from seqfolio.allocators._covariance import COVARIANCE_ESTIMATORS, estimate_covariance
from seqfolio.allocators._validation import AllocationError as AllocationError
from seqfolio.allocators._validation import (
    check_covariance,
    check_expected_returns,
    check_positive_variance,
    check_weight_bounds,
)
from seqfolio.data.frames import check_returns_frame


class BaseAllocator(BaseEstimator):
    """Base class: ``fit(returns, *, covariance=None, expected_returns=None) -> self``.

    Subclasses store their keyword parameters unchanged in ``__init__``, validate their own
    parameters in :meth:`_validate_params` and compute raw weights in :meth:`_allocate`;
    :meth:`check_params` (called by ``fit``) adds the ``min_weight`` / ``max_weight`` checks. This class validates inputs, applies ``min_weight`` /
    ``max_weight`` (for allocators that have them) and sets ``weights_``.

    Attributes
    ----------
    weights_ : pandas.Series
        Fitted long-only weights over the returns' columns, summing to one.
    n_assets_ : int
        Number of assets seen in ``fit``.
    """

    _min_observations: int = 2
    _has_weight_bounds: bool = True
    needs_positive_variance: ClassVar[bool] = False
    """Capability: True if an asset with zero variance (a constant price) in the window makes ``fit``
    raise an :class:`AllocationError` (risk-based weights divide by the variance). The CLI, the data
    reader's warning and the docs read it: :func:`~seqfolio.allocators.zero_variance_intolerant`."""
    needs_training: ClassVar[bool] = False
    """Capability: True for a network trained walk-forward (retrained on a schedule, applied at each
    rebalance) rather than fitted at every rebalance (:mod:`seqfolio.allocators.registry`)."""
    search_space: ClassVar[Mapping[str, Any]] = {}
    """The parameter values ``tune`` searches: ``{name: (value, ...)}`` (categorical) or ``{name:
    {"low": .., "high": .., "step": .., "log": ..}}`` (a range)."""

    # -- hooks for subclasses -------------------------------------------------------------------
    def _validate_params(self) -> None:
        """Raise ValueError for an invalid parameter of the subclass (type or range); see
        :meth:`check_params`."""

    def check_params(self) -> None:
        """Raise ValueError (or TypeError) for an invalid parameter, without looking at any data.

        Called at the top of ``fit`` and when a :class:`~seqfolio.strategies.RebalanceStrategy` (or
        the CLI) is built, so a bad parameter fails before the first bar instead of skipping every
        rebalance. Only what can be known without data is checked; e.g. whether ``max_weight`` can
        be met with a window's number of assets is checked in ``fit`` (an ``AllocationError``).
        """
        if self._has_weight_bounds:
            check_weight_bounds(self._owner, self.min_weight, self.max_weight)
        self._validate_params()

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
        # Returns of absurd magnitude overflow the estimate (scikit-learn's shrinkage estimators
        # then reject the NaN they made themselves): say so rather than pass on NaN or a raw error.
        with np.errstate(over="ignore", invalid="ignore"):
            try:
                estimate = estimate_covariance(returns, self.covariance)
            except ValueError:
                sample = np.cov(returns.to_numpy(), rowvar=False)
                if np.isfinite(sample).all():
                    raise  # not an overflow: the estimator's own message says what is wrong
                estimate = None
        if estimate is None or not np.isfinite(estimate).all():
            scale = float(np.abs(returns.to_numpy()).max())
            raise ValueError(
                f"{self._owner}.fit: the {self.covariance!r} covariance estimate of these returns "
                f"is not finite (returns reach {scale:.3g} in magnitude and overflow it); pass "
                "per-period simple returns (0.01 = 1%), not prices or rescaled values."
            )
        return estimate

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

        Raises
        ------
        ValueError, TypeError
            A bad parameter (the same check as :meth:`check_params`) or bad input data.
        AllocationError
            No solution for this window: bounds that its number of assets cannot meet, an infeasible
            or failed optimisation. :class:`~seqfolio.allocators.Fallback` then tries its next member.
        """
        owner = self._owner
        self.check_params()
        if isinstance(returns, np.ndarray) and returns.ndim == 2:
            returns = pd.DataFrame(returns, columns=[f"asset_{i}" for i in range(returns.shape[1])])
        # any index order, and returns in basis points too: neither is read in order nor compounded
        frame = check_returns_frame(returns, f"{owner}.fit", ordered=False, simple=False)
        if len(frame) < self._min_observations:
            raise ValueError(
                f"{owner}.fit: returns have {len(frame)} observation(s); at least "
                f"{self._min_observations} are needed. Use a longer lookback."
            )
        cov = None if covariance is None else check_covariance(covariance, frame.columns, owner)
        mu = (
            None
            if expected_returns is None
            else check_expected_returns(expected_returns, frame.columns, owner)
        )
        n_assets = frame.shape[1]
        if self._has_weight_bounds:
            # valid (checked by check_params); whether they fit this window is data-dependent
            low, high = float(self.min_weight), float(self.max_weight)
            check_bounds_feasible(owner, n_assets, low, high)
        if self.needs_positive_variance:
            with np.errstate(over="ignore", invalid="ignore"):  # huge returns: reported later
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

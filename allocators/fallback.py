"""Try allocators in order until one succeeds."""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import clone

from seqfolio.allocators._base import AllocationError, BaseAllocator


class Fallback(BaseAllocator):
    """Fit each member in turn and keep the first that produces weights.

    Only :class:`~seqfolio.allocators.AllocationError` (an infeasible or failed optimisation for this
    data) moves on to the next member, with a warning; a parameter error is a bug in the set-up and is
    raised at once. Members' parameters are checked with the list itself (so when a strategy is
    built, not at the first rebalance).

    Parameters
    ----------
    allocators : sequence of allocators
        Non-empty, of allocator instances, e.g. ``[MeanVariance(objective="max_sharpe"), HRP()]``.
        Each is cloned before fitting.

    Attributes
    ----------
    weights_ : pandas.Series
    used_ : allocator
        The fitted member that produced ``weights_``.
    used_index_ : int
        Its position in ``allocators``.
    errors_ : list of str
        Why the members before it failed.
    """

    _has_weight_bounds = False
    _min_observations = 1

    def __init__(self, allocators: Sequence[BaseAllocator] = ()) -> None:
        self.allocators = allocators

    def _validate_params(self) -> None:
        """Check the member list and each member's own parameters (a member's error is raised as is)."""
        members = self.allocators
        if (
            isinstance(members, (BaseAllocator, str))
            or not isinstance(members, Sequence)
            or not members
        ):
            raise ValueError(
                "The 'allocators' parameter of Fallback must be a non-empty list of allocators, "
                f"e.g. [MeanVariance(), HRP()]. Got {members!r} instead."
            )
        for index, member in enumerate(members):
            if isinstance(member, type):
                raise ValueError(
                    "The 'allocators' parameter of Fallback must hold allocator instances: member "
                    f"{index} is the class {member.__name__}; use {member.__name__}() instead."
                )
            if not hasattr(member, "fit") or not hasattr(member, "get_params"):
                raise ValueError(
                    "The 'allocators' parameter of Fallback must hold allocators (with fit and "
                    f"get_params). Got {member!r} (member {index}) instead."
                )
        # members' parameters too, so a bad one fails when the strategy is built, not at every fit
        for member in members:
            check = getattr(member, "check_params", None)
            if callable(check):
                check()

    def _allocate(
        self,
        returns: pd.DataFrame,
        covariance: np.ndarray | None,
        expected_returns: np.ndarray | None,
    ) -> np.ndarray:
        self.errors_: list[str] = []
        for index, member in enumerate(self.allocators):
            fitted = clone(member)
            try:
                fitted.fit(returns, covariance=covariance, expected_returns=expected_returns)
            except AllocationError as exc:
                self.errors_.append(f"{type(member).__name__}: {exc}")
                warnings.warn(
                    f"Fallback: member {index} ({type(member).__name__}) failed, trying the next: {exc}",
                    RuntimeWarning,
                    stacklevel=4,
                )
                continue
            self.used_ = fitted
            self.used_index_ = index
            return fitted.weights_.to_numpy()
        raise AllocationError("Fallback: every member failed:\n  " + "\n  ".join(self.errors_))

"""Engine-agnostic allocation estimators (scikit-learn protocol).

Every allocator has ``fit(returns, *, covariance=None, expected_returns=None) -> self`` and a fitted
``weights_`` Series over the returns' columns that sums to one. Nothing here imports backtrader or
torch; ``seqfolio.allocators.indicators`` is the backtrader adapter.

>>> from seqfolio.allocators import HRP
>>> HRP(linkage="single").fit(returns).weights_          # doctest: +SKIP
"""

from __future__ import annotations

from seqfolio.allocators._base import AllocationError, BaseAllocator
from seqfolio.allocators.fallback import Fallback
from seqfolio.allocators.herc import HERC, herc_weights
from seqfolio.allocators.hrp import HRP, hrp_weights
from seqfolio.allocators.mean_variance import MeanVariance
from seqfolio.allocators.naive import EqualWeight, InverseVariance, InverseVolatility
from seqfolio.allocators.registry import (
    ALLOCATORS,
    allocator_label,
    allocator_names,
    make_allocator,
    needs_training,
    register_allocator,
    search_space,
    trained_allocators,
    zero_variance_intolerant,
)

__all__ = [
    "ALLOCATORS",
    "AllocationError",
    "BaseAllocator",
    "EqualWeight",
    "Fallback",
    "HERC",
    "HRP",
    "InverseVariance",
    "InverseVolatility",
    "MeanVariance",
    "allocator_label",
    "allocator_names",
    "herc_weights",
    "hrp_weights",
    "make_allocator",
    "needs_training",
    "register_allocator",
    "search_space",
    "trained_allocators",
    "zero_variance_intolerant",
]

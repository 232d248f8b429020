"""The allocators' short names and capabilities: the one registry the CLI, the strategy, the data
reader and the research path read.

>>> from seqfolio.allocators import make_allocator
>>> make_allocator("herc", {"linkage": "average"})          # doctest: +SKIP
HERC(linkage='average')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seqfolio.allocators._base import BaseAllocator
from seqfolio.allocators.herc import HERC
from seqfolio.allocators.hrp import HRP
from seqfolio.allocators.mean_variance import MeanVariance
from seqfolio.allocators.naive import EqualWeight, InverseVariance, InverseVolatility

__all__ = ["ALLOCATORS", "allocator_names", "make_allocator", "zero_variance_intolerant"]

ALLOCATORS: dict[str, type[BaseAllocator]] = {
    "hrp": HRP,
    "herc": HERC,
    "mvo": MeanVariance,
    "ew": EqualWeight,
    "ivp": InverseVariance,
    "ivol": InverseVolatility,
}
"""Short names used by the CLI, configurations and ``RebalanceStrategy(allocator="hrp")``."""


def allocator_names() -> list[str]:
    """The registered short names, sorted."""
    return sorted(ALLOCATORS)


def make_allocator(
    allocator: Any = None, params: Mapping[str, Any] | None = None, *, owner: str = "make_allocator"
) -> Any:
    """An allocator instance from a short name (with ``params``), an instance, or None (``HRP()``).

    An instance's parameters are checked (``check_params``) so a bad one fails now, not as a
    skipped rebalance at every date.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones), or ``params`` the allocator does not
        take (listing those it does).
    TypeError
        For a class instead of an instance, or an object that is not an allocator.
    """
    if allocator is None:
        allocator = "hrp"
    if isinstance(allocator, str):
        key = allocator.strip().lower()
        if key not in ALLOCATORS:
            raise ValueError(
                f"The 'allocator' parameter of {owner} must be an allocator instance or one of "
                f"{allocator_names()}. Got {allocator!r} instead."
            )
        cls = ALLOCATORS[key]
        try:
            allocator = cls(**dict(params or {}))
        except TypeError:
            unknown = sorted(set(params or {}) - set(cls().get_params()))
            raise ValueError(
                f"{owner}: {key} ({cls.__name__}) has no parameter(s) {unknown}; its parameters "
                f"are {sorted(cls().get_params())}."
            ) from None
    elif params:
        raise ValueError(f"{owner}: params are for an allocator given by name, not an instance.")
    if isinstance(allocator, type):
        raise TypeError(
            f"The 'allocator' parameter of {owner} must be an allocator instance, e.g. "
            f"{allocator.__name__}(), not the class itself."
        )
    if not (hasattr(allocator, "fit") and hasattr(allocator, "get_params")):
        raise TypeError(
            f"The 'allocator' parameter of {owner} must be a seqfolio allocator (an estimator with "
            f"fit() and get_params()). Got {type(allocator).__name__} instead."
        )
    check = getattr(allocator, "check_params", None)
    if callable(check):
        check()
    return allocator


def zero_variance_intolerant() -> list[str]:
    """Short names of the allocators that cannot weight an asset with a constant price (their
    ``needs_positive_variance``)."""
    return [name for name, cls in ALLOCATORS.items() if cls.needs_positive_variance]

"""The allocator registry: short names, capabilities and search ranges, read by every path.

The strategy, the CLI (``--allocator``, ``compare``), research configurations and ``tune`` all find
allocators here, so an allocator registered once -- with :func:`register_allocator` or a Python entry
point in the group ``seqfolio.allocators`` -- is usable everywhere a built-in is.

What the paths need to know about an allocator is declared on its class, as class attributes:

``needs_positive_variance``
    ``fit`` fails on an asset with a constant price (risk-based weights divide by its variance).
``needs_training``
    The allocator is a network trained walk-forward (``lstm-weights``): it is retrained on the
    ``retrain`` schedule and applied at each rebalance, instead of being fitted at every rebalance.
``search_space``
    The parameter values ``tune`` searches: ``{name: (choice, ...)}`` or ``{name: {"low": ..,
    "high": .., "step": .., "log": ..}}``.

>>> from seqfolio.allocators import make_allocator
>>> make_allocator("herc", {"linkage": "average"})          # doctest: +SKIP
HERC(linkage='average')
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from seqfolio._validation import InvalidParameter, check_known, closest

__all__ = [
    "ALLOCATORS",
    "ENTRY_POINT_GROUP",
    "allocator_label",
    "allocator_names",
    "make_allocator",
    "needs_training",
    "register_allocator",
    "search_space",
    "trained_allocators",
    "zero_variance_intolerant",
]

ENTRY_POINT_GROUP = "seqfolio.allocators"
"""Entry-point group a package uses to register its allocators: ``name = "package.module:Class"``."""


@dataclass
class _Entry:
    """A registered allocator: its class, or ``"module:Class"`` imported on first use (the
    direct-weights network lives in the torch-backed signals package)."""

    target: type | str
    label: str | None = None

    def load(self) -> type:
        if isinstance(self.target, str):
            module, _, name = self.target.partition(":")
            self.target = getattr(importlib.import_module(module), name)
        return self.target  # type: ignore[return-value]


class _Registry(Mapping[str, type]):
    """``name -> allocator class``, loading lazily registered classes when looked up."""

    def __init__(self) -> None:
        self._entries: dict[str, _Entry] = {}
        self._plugins_loaded = False

    def _plugins(self) -> None:
        """Register the allocators other installed packages declare as entry points (once)."""
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for point in entry_points(group=ENTRY_POINT_GROUP):
            if point.name not in self._entries:
                self._entries[point.name] = _Entry(point.value)

    def entry(self, name: str) -> _Entry:
        self._plugins()
        return self._entries[name]

    def __getitem__(self, name: str) -> type:
        return self.entry(name).load()

    def __iter__(self) -> Iterator[str]:
        self._plugins()
        return iter(sorted(self._entries))

    def __len__(self) -> int:
        self._plugins()
        return len(self._entries)

    def __contains__(self, name: object) -> bool:
        self._plugins()
        return name in self._entries


ALLOCATORS = _Registry()
"""Short name -> allocator class, for the CLI, configurations, tuning and
``RebalanceStrategy(allocator="hrp")``."""


def register_allocator(
    name: str, allocator: type | str, *, label: str | None = None, replace: bool = False
) -> None:
    """Make ``allocator`` usable by ``name`` everywhere: ``--allocator NAME``, TOML configs,
    ``compare``, research configurations and ``tune``.

    Parameters
    ----------
    name : str
        Lower-case short name, e.g. ``"risk-budget"``.
    allocator : class or str
        An allocator class following the estimator protocol (docs/architecture.md), or
        ``"module:Class"`` to import it on first use.
    label : str, optional
        The name reports use (default: the class name).
    replace : bool, default False
        Replace an allocator already registered under ``name`` (else that is an error).

    Raises
    ------
    ValueError
        For a name that is not lower case, already taken (without ``replace``), or a class that is
        not an allocator (no ``fit`` / ``get_params``).
    """
    if not isinstance(name, str) or not name or name != name.strip().lower():
        raise ValueError(f"register_allocator: the name must be a lower-case string. Got {name!r}.")
    if name in ALLOCATORS and not replace:
        raise ValueError(
            f"register_allocator: {name!r} is already registered; pass replace=True to replace it."
        )
    if not isinstance(allocator, str) and not (
        isinstance(allocator, type) and hasattr(allocator, "fit") and hasattr(allocator, "get_params")
    ):
        raise ValueError(
            f"register_allocator: {name!r} must be an allocator class (with fit() and "
            f"get_params()) or 'module:Class'. Got {allocator!r}."
        )
    ALLOCATORS._entries[name] = _Entry(allocator, label)


for _name, _target, _label in (
    ("hrp", "seqfolio.allocators.hrp:HRP", None),
    ("herc", "seqfolio.allocators.herc:HERC", None),
    ("mvo", "seqfolio.allocators.mean_variance:MeanVariance", None),
    ("ew", "seqfolio.allocators.naive:EqualWeight", None),
    ("ivp", "seqfolio.allocators.naive:InverseVariance", None),
    ("ivol", "seqfolio.allocators.naive:InverseVolatility", None),
    # the direct-weights network of Zhang, Zohren & Roberts (2020): imported when first used
    ("lstm-weights", "seqfolio.signals.allocator:LSTMAllocator", "LSTM weights"),
):
    register_allocator(_name, _target, label=_label)


def allocator_names() -> list[str]:
    """The registered short names, sorted."""
    return list(ALLOCATORS)


def _class_of(allocator: Any) -> type:
    if isinstance(allocator, str):
        return ALLOCATORS[allocator.strip().lower()]
    return allocator if isinstance(allocator, type) else type(allocator)


def needs_training(allocator: Any) -> bool:
    """Whether an allocator (name, class or instance) is a network trained walk-forward."""
    if isinstance(allocator, str) and allocator.strip().lower() not in ALLOCATORS:
        return False
    return bool(getattr(_class_of(allocator), "needs_training", False))


def trained_allocators() -> list[str]:
    """Names of the registered allocators that are networks trained walk-forward."""
    return [name for name in ALLOCATORS if needs_training(name)]


def allocator_label(allocator: Any) -> str:
    """The name reports use: the registered label, else the class name (``HRP``, ``LSTM weights``)."""
    if isinstance(allocator, str) and allocator.strip().lower() in ALLOCATORS:
        entry = ALLOCATORS.entry(allocator.strip().lower())
        if entry.label:
            return entry.label
    cls = _class_of(allocator)
    for entry in ALLOCATORS._entries.values():  # an instance of a registered class: its label
        if entry.target is cls and entry.label:
            return entry.label
    return cls.__name__


def search_space(name: str) -> dict[str, Any]:
    """The parameter values ``tune`` searches for allocator ``name`` (its ``search_space``)."""
    return dict(getattr(ALLOCATORS[name], "search_space", {}))


def make_allocator(
    allocator: Any = None, params: Mapping[str, Any] | None = None, *, owner: str = "make_allocator"
) -> Any:
    """An allocator instance from a short name (with ``params``), an instance, or None (``HRP()``).

    An instance's parameters are checked (``check_params``) so a bad one fails now, not as a
    skipped rebalance at every date.

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones and the closest), or ``params`` the
        allocator does not take (listing those it does).
    TypeError
        For a class instead of an instance, or an object that is not an allocator.
    """
    if allocator is None:
        allocator = "hrp"
    if isinstance(allocator, str):
        key = allocator.strip().lower()
        names = allocator_names()
        if key not in ALLOCATORS:
            raise InvalidParameter(
                owner, "allocator", allocator, f"one of {names}", closest(key, names)
            )
        cls = ALLOCATORS[key]
        check_known(owner, f"{key} ({cls.__name__}) parameter(s)", params or {},
                    sorted(cls().get_params()))  # fmt: skip
        allocator = cls(**dict(params or {}))
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
    return [
        name for name in ALLOCATORS if getattr(ALLOCATORS[name], "needs_positive_variance", False)
    ]

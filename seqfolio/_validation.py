"""The one parameter-check vocabulary of seqfolio: int, real, choice, bool, date.

Every estimator, strategy, configuration and command checks its parameters here, so one value gets one
verdict everywhere. The NumPy-scalar policy is the same for all: NumPy integers count as ints
(``np.int64(252)``), NumPy floats as reals, ``np.True_`` as a bool; a bool is never a number.
Values come back as plain Python types. Messages follow one template::

    The 'lookback' parameter of RebalanceStrategy must be an int >= 2. Got 1 instead.

This module sits at the bottom of the package (docs/architecture.md): it imports nothing of seqfolio.
"""

from __future__ import annotations

import difflib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from numbers import Integral, Number, Real
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

__all__ = [
    "MAX_LABELS",
    "Boolean",
    "Constraint",
    "IntRange",
    "InvalidParameter",
    "OneOf",
    "RealRange",
    "check_bool",
    "check_choice",
    "check_date",
    "check_int",
    "check_real",
    "is_bool",
    "is_int",
    "is_real_number",
    "label_list",
]

MAX_LABELS = 10
"""Labels a message lists before ``(+N more)``."""


class InvalidParameter(ValueError, TypeError):
    """A parameter value outside its constraint; the message follows the one template.

    Both a ``ValueError`` and a ``TypeError`` (as scikit-learn's ``InvalidParameterError``): a value of
    the wrong type and a value out of range are one verdict.

    The parts stay readable so a front end can word the same verdict its own way (the CLI names
    ``--lookback`` rather than "the 'lookback' parameter of RebalanceSpec").

    Attributes
    ----------
    owner, name : str
        Who checked, and the parameter's name.
    value : object
        The value given.
    expected : str
        What the value must be, e.g. ``"an int >= 2"`` or ``"one of ['hrp', 'herc']"``.
    suggestion : str or None
        The closest valid choice for a misspelt name (``"hrp"`` for ``"hrpp"``).
    """

    def __init__(
        self, owner: str, name: str, value: object, expected: str, suggestion: str | None = None
    ) -> None:
        self.owner, self.name, self.value = owner, name, value
        self.expected, self.suggestion = expected, suggestion
        hint = f" Did you mean {suggestion!r}?" if suggestion else ""
        super().__init__(
            f"The '{name}' parameter of {owner} must be {expected}. Got {value!r} instead.{hint}"
        )


def closest(value: object, choices: Iterable[str]) -> str | None:
    """The choice closest to a misspelt ``value`` (difflib), or None."""
    if not isinstance(value, str):
        return None
    found = difflib.get_close_matches(value.strip().lower(), list(choices), n=1, cutoff=0.6)
    return found[0] if found else None


def check_known(owner: str, what: str, given: Iterable[str], valid: Sequence[str]) -> None:
    """Refuse names outside ``valid``: ``owner: unknown {what} ['hidden'] (did you mean
    'hidden_size'?); valid: window, hidden_size, ...``."""
    unknown = sorted(set(given) - set(valid))
    if unknown:
        hint = closest(unknown[0], valid)
        raise ValueError(
            f"{owner}: unknown {what} {unknown}"
            + (f" (did you mean {hint!r}?)" if hint else "")
            + f"; valid: {', '.join(valid)}."
        )


def is_bool(value: object) -> bool:
    """A bool, Python's or NumPy's (``np.True_``)."""
    return isinstance(value, (bool, np.bool_))


def is_int(value: object) -> bool:
    """An integer, Python's or NumPy's (``np.int64``), but not a bool."""
    return isinstance(value, Integral) and not is_bool(value)


def is_real_number(value: object) -> bool:
    """A real number, Python's or NumPy's (``np.float32``, ``np.int64``), but not a bool."""
    return isinstance(value, Real) and not is_bool(value)


def _none(allow_none: bool) -> str:
    return " or None" if allow_none else ""


@overload
def check_int(
    owner: str,
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: Literal[False] = False,
) -> int: ...


@overload
def check_int(
    owner: str,
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool,
) -> int | None: ...


def check_int(
    owner: str,
    name: str,
    value: object,
    *,
    low: int | None = None,
    high: int | None = None,
    allow_none: bool = False,
) -> int | None:
    """``value`` as an int if it is an integer within ``[low, high]`` (None when allowed).

    Raises
    ------
    ValueError
        ``The 'window' parameter of LSTMForecaster must be an int >= 2. Got 0 instead.``
    """
    if value is None and allow_none:
        return None
    number = int(value) if is_int(value) else None  # type: ignore[call-overload]
    if number is None or (low is not None and number < low) or (high is not None and number > high):
        if low is not None and high is not None:
            span = f" in [{low}, {high}]"
        elif low is not None:
            span = f" >= {low}"
        elif high is not None:
            span = f" <= {high}"
        else:
            span = ""
        raise InvalidParameter(owner, name, value, f"an int{span}{_none(allow_none)}")
    return number


def check_real(
    owner: str,
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    allow_none: bool = False,
) -> float | None:
    """``value`` as a float if it is a finite real number within the bounds given.

    Raises
    ------
    ValueError
        ``The 'max_weight' parameter of HRP must be a float in (0.0, 1.0]. Got 1.5 instead.``
    """
    if value is None and allow_none:
        return None
    number = float(value) if is_real_number(value) else np.nan  # type: ignore[arg-type]
    ok = bool(np.isfinite(number))
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        lo = "-inf" if low is None else low
        hi = "inf" if high is None else high
        raise InvalidParameter(
            owner, name, value, f"a float in {left}{lo}, {hi}{right}{_none(allow_none)}"
        )
    return number


def check_choice(
    owner: str, name: str, value: object, choices: Sequence[str], *, allow_none: bool = False
) -> str | None:
    """``value`` if it is one of ``choices`` (strings), else a ValueError listing them (and the
    closest one, for a misspelt name)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, str) or value not in choices:
        raise InvalidParameter(
            owner, name, value, f"one of {list(choices)}{_none(allow_none)}",
            closest(value, choices),
        )  # fmt: skip
    return value


def check_bool(owner: str, name: str, value: object) -> bool:
    """``value`` as a bool if it is one (``np.True_`` included); 1 or "yes" are refused."""
    if not is_bool(value):
        raise InvalidParameter(owner, name, value, "a bool")
    return bool(value)


def check_date(
    owner: str, name: str, value: object, *, example: str = "2021-06-30", allow_none: bool = False
) -> pd.Timestamp | None:
    """``value`` as a Timestamp (its time zone, if any, kept), or a ValueError naming it.

    ``pd.Timestamp`` takes almost anything: ``pd.Timestamp(2018)`` is 2018 nanoseconds after 1970,
    not the year 2018, so a number would silently mean "no bound". Numbers and bools are refused;
    what to do with a time zone is the caller's business (the data's, the feeds' or a model's).

    Raises
    ------
    ValueError
        ``The 'start' parameter of run_backtest must be a date (e.g. '2021-06-30') or None. Got
        2018 instead.`` for a number, a bool, an unparseable string or a missing value.
    """
    if value is None and allow_none:
        return None
    stamp = None
    if not isinstance(value, (bool, np.bool_, Number)):
        try:
            stamp = pd.Timestamp(value)  # type: ignore[arg-type]
        except (TypeError, ValueError, OverflowError):
            stamp = None
    if stamp is None or pd.isna(stamp):
        raise InvalidParameter(owner, name, value, f"a date (e.g. '{example}') or None")
    return stamp


def label_list(labels: Iterable[Any]) -> str:
    """``['A', 'B']`` for a message: at most :data:`MAX_LABELS` labels, then ``(+N more)``."""
    labels = list(labels)
    shown = [str(x) for x in labels[:MAX_LABELS]]
    more = len(labels) - MAX_LABELS
    return repr(shown) + (f" (+{more} more)" if more > 0 else "")


# -- declarative constraints: one table of these checks a whole settings object -------------------
class Constraint:
    """What a parameter's value must be: ``check`` returns it as a plain value or raises
    :class:`InvalidParameter`; ``describe`` says it in words (for help texts)."""

    def check(self, owner: str, name: str, value: object) -> Any:
        raise NotImplementedError

    def describe(self) -> str:
        raise NotImplementedError


@dataclass(frozen=True)
class IntRange(Constraint):
    """An int in ``[low, high]`` (None: unbounded), or None when ``none``."""

    low: int | None = None
    high: int | None = None
    none: bool = False

    def check(self, owner: str, name: str, value: object) -> int | None:
        return check_int(owner, name, value, low=self.low, high=self.high, allow_none=self.none)

    def describe(self) -> str:
        bound = f" >= {self.low}" if self.low is not None and self.high is None else ""
        if self.high is not None:
            bound = f" in [{self.low}, {self.high}]"
        return f"int{bound}" + (" or none" if self.none else "")


@dataclass(frozen=True)
class RealRange(Constraint):
    """A finite real in the interval given (open ends with ``low_open`` / ``high_open``)."""

    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    none: bool = False

    def check(self, owner: str, name: str, value: object) -> float | None:
        return check_real(
            owner, name, value, low=self.low, high=self.high, low_open=self.low_open,
            high_open=self.high_open, allow_none=self.none,
        )  # fmt: skip

    def describe(self) -> str:
        left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
        lo = "-inf" if self.low is None else f"{self.low:g}"
        hi = "inf" if self.high is None else f"{self.high:g}"
        return f"number in {left}{lo}, {hi}{right}" + (" or none" if self.none else "")


@dataclass(frozen=True)
class OneOf(Constraint):
    """One of ``choices``: a tuple of strings, or a callable giving them (a registry, read when
    checked so that names registered later count)."""

    choices: tuple[str, ...] | Callable[[], Sequence[str]]
    none: bool = False

    def options(self) -> list[str]:
        return list(self.choices() if callable(self.choices) else self.choices)

    def check(self, owner: str, name: str, value: object) -> str | None:
        if isinstance(value, str):
            value = value.strip().lower() if value.strip().lower() in self.options() else value
        return check_choice(owner, name, value, self.options(), allow_none=self.none)

    def describe(self) -> str:
        return ", ".join(self.options()) + (" or none" if self.none else "")


@dataclass(frozen=True)
class Boolean(Constraint):
    """True or False (NumPy's too); 1 or "yes" are refused."""

    def check(self, owner: str, name: str, value: object) -> bool:
        return check_bool(owner, name, value)

    def describe(self) -> str:
        return "true or false"

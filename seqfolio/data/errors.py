"""The exception raised for invalid price data, the warning for suspicious but usable data, and the
parameter checks shared by the data functions (messages in the project's template)."""

from __future__ import annotations

from numbers import Integral


class PriceDataError(ValueError):
    """Price data that cannot be used as given (the message names file, row and column)."""


class PriceDataWarning(UserWarning):
    """Price data that is used as given but looks wrong (a gap, a constant price, a likely unadjusted split)."""


def check_int_parameter(owner: str | None, name: str, value: object, *, low: int) -> int:
    """Return ``value`` as an int if it is an integer (NumPy's included, bool excluded) >= ``low``.

    Raises ``ValueError("The 'lookback' parameter of trailing_returns must be an int >= 1. Got 0
    instead.")``; ``owner=None`` leaves out the ``of ...`` part.
    """
    if isinstance(value, Integral) and not isinstance(value, bool) and int(value) >= low:
        return int(value)
    of = f" of {owner}" if owner else ""
    raise ValueError(f"The '{name}' parameter{of} must be an int >= {low}. Got {value!r} instead.")

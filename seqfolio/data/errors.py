"""The exception raised for invalid price data and the warning for suspicious but usable data."""

from __future__ import annotations


class PriceDataError(ValueError):
    """Price data that cannot be used as given (the message names file, row and column)."""


class PriceDataWarning(UserWarning):
    """Price data that is used as given but looks wrong (a gap, a constant price, a likely unadjusted split)."""

"""The exception raised for invalid price data."""

from __future__ import annotations


class PriceDataError(ValueError):
    """Price data that cannot be used as given (the message names file, row and column)."""

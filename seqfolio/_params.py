"""Reading date and number parameters the same way everywhere (``start`` / ``end``, ``cash``, ...).

``pd.Timestamp`` takes almost anything: ``pd.Timestamp(2018)`` is 2018 nanoseconds after 1970, not
the year 2018, so a number would silently mean "no bound". Numbers and bools are refused here;
what to do with a time zone depends on the caller (the data, the feeds or a model's index).
"""

from __future__ import annotations

from numbers import Number, Real

import numpy as np
import pandas as pd


def parse_date(value: object, name: str, owner: str, example: str = "2021-06-30") -> pd.Timestamp:
    """``value`` as a Timestamp (its time zone, if any, kept), or a ValueError naming the parameter.

    Raises
    ------
    ValueError
        ``The 'start' parameter of run_backtest must be a date (e.g. '2021-06-30') or None. Got 2018
        instead.`` for a number, a bool, an unparseable string or a missing value.
    """
    stamp = None
    if not isinstance(value, (bool, Number)):
        try:
            stamp = pd.Timestamp(value)
        except (TypeError, ValueError, OverflowError):
            stamp = None
    if stamp is None or pd.isna(stamp):
        raise ValueError(
            f"The '{name}' parameter of {owner} must be a date (e.g. '{example}') or None. "
            f"Got {value!r} instead."
        )
    return stamp


def is_real_number(value: object) -> bool:
    """A real number, Python's or NumPy's (``np.float32``, ``np.int64``), but not a bool."""
    return isinstance(value, Real) and not isinstance(value, (bool, np.bool_))

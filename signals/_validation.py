"""Parameter and input checks for the signal estimators.

Messages follow the package template (DESIGN.md section 5), e.g.
``The 'window' parameter of LSTMForecaster must be an int >= 2. Got 0 instead.`` and
``LSTMForecaster.fit: prices need at least 250 rows for window=60, horizon=21; got 100.``
``seqfolio.signals`` knows nothing of ``seqfolio.allocators`` (DESIGN.md section 1), so it keeps its own copy.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd


def check_int(
    owner: str, name: str, value: object, *, low: int, allow_none: bool = False
) -> int | None:
    """Return ``value`` if it is an int >= ``low`` (or None when allowed), else raise ValueError."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, Integral) or int(value) < low:
        extra = " or None" if allow_none else ""
        raise ValueError(
            f"The '{name}' parameter of {owner} must be an int >= {low}{extra}. Got {value!r} instead."
        )
    return int(value)


def check_real(
    owner: str,
    name: str,
    value: object,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it is a finite real number within the bounds given."""
    number = float(value) if isinstance(value, Real) and not isinstance(value, bool) else np.nan
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
        raise ValueError(
            f"The '{name}' parameter of {owner} must be a float in {left}{lo}, {hi}{right}. "
            f"Got {value!r} instead."
        )
    return number


def check_choice(owner: str, name: str, value: object, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be one of {list(choices)}. Got {value!r} instead."
        )
    return value


def check_bool(owner: str, name: str, value: object) -> bool:
    """Return ``value`` if it is a bool, else raise ValueError."""
    if not isinstance(value, (bool, np.bool_)):
        raise ValueError(
            f"The '{name}' parameter of {owner} must be a bool. Got {value!r} instead."
        )
    return bool(value)


def check_price_frame(prices: object, where: str) -> pd.DataFrame:
    """Validate a price panel: a DataFrame with a sorted unique DatetimeIndex, positive prices or NaN.

    NaN is allowed (an asset not yet listed, or delisted); zero, negative or infinite prices are not.
    """
    if not isinstance(prices, pd.DataFrame):
        raise TypeError(
            f"{where}: prices must be a pandas DataFrame with one column per asset. "
            f"Got {type(prices).__name__} instead."
        )
    if prices.shape[1] == 0:
        raise ValueError(f"{where}: prices have no columns.")
    if not prices.index.is_monotonic_increasing or not prices.index.is_unique:
        raise ValueError(f"{where}: the prices' index must be sorted and unique.")
    if not prices.columns.is_unique:
        raise ValueError(f"{where}: the prices' columns must be unique.")
    values = prices.to_numpy(dtype=float, na_value=np.nan)
    bad = ~np.isnan(values) & ~(np.isfinite(values) & (values > 0))
    if bad.any():
        cols = [str(c) for c in prices.columns[bad.any(axis=0)]]
        raise ValueError(
            f"{where}: prices must be positive and finite (or NaN); see columns {cols}."
        )
    return prices.astype(float)

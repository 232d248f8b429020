"""Input checks for the signal estimators (price and return frames).

The parameter checks are the package's one vocabulary (:mod:`seqfolio._validation`), re-exported
here for the signal modules. Messages follow the package template, e.g.
``The 'window' parameter of LSTMForecaster must be an int >= 2. Got 0 instead.`` and
``LSTMForecaster.fit: prices need at least 250 rows for window=60, horizon=21; got 100.``
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqfolio._validation import (
    check_bool,
    check_choice,
    check_int,
    check_real,
    check_sorted_index,
    date_label,
)
from seqfolio._validation import label_list as names

__all__ = [
    "check_above_minus_one",
    "check_bool",
    "check_choice",
    "check_frame",
    "check_int",
    "check_price_frame",
    "check_real",
    "check_returns_frame",
    "check_sorted_index",
    "date_label",
    "names",
    "numeric_values",
]


def check_frame(data: object, where: str, what: str, hint: str) -> pd.DataFrame:
    """Require a DataFrame with at least one column and unique column labels.

    ``what`` is the frame's name in messages (``"prices"``, ``"returns"``), ``hint`` what its
    columns are (``"one column per asset"``).
    """
    if not isinstance(data, pd.DataFrame):
        raise TypeError(
            f"{where}: {what} must be a pandas DataFrame with {hint}. "
            f"Got {type(data).__name__} instead."
        )
    if data.shape[1] == 0:
        raise ValueError(f"{where}: {what} have no columns; pass a DataFrame with {hint}.")
    if not data.columns.is_unique:
        dupes = list(dict.fromkeys(data.columns[data.columns.duplicated()]))
        raise ValueError(
            f"{where}: {what} columns {names(dupes)} appear more than once; give each asset "
            "one column (rename or drop the duplicates)."
        )
    return data


def _text_example(column: pd.Series) -> object | None:
    """None if every value of ``column`` reads as a float (``"101.5"``, ``"nan"``), else the first
    value that does not."""
    try:
        column.to_numpy(dtype=float, na_value=np.nan)
        return None
    except (TypeError, ValueError):
        pass
    for value in column:
        try:
            float(value)
        except (TypeError, ValueError):
            if not pd.isna(value):
                return value
    return "?"  # float() reads each value but the column as a whole does not convert


def numeric_values(frame: pd.DataFrame, where: str, what: str) -> np.ndarray:
    """``frame`` as a float array, or a ValueError naming the columns that do not hold numbers.

    Integer, float and nullable float columns pass, and so do text columns whose every value is a
    number (``"101.5"``); booleans, dates, complex numbers and text do not.
    """
    values = frame.to_numpy()
    if values.dtype.kind in "iuf":  # the usual case (all numbers): no per-column scan
        return values.astype(float, copy=False)
    bad: list[object] = []
    detail = ""
    for position, (column, dtype) in enumerate(frame.dtypes.items()):
        kind = getattr(dtype, "kind", "O")
        if pd.api.types.is_bool_dtype(dtype) or kind in "mMcV":
            bad.append(column)
            detail = detail or f"dtype {dtype}"
        elif not pd.api.types.is_numeric_dtype(dtype):
            example = _text_example(frame.iloc[:, position])
            if example is not None:
                bad.append(column)
                detail = detail or f"e.g. {example!r}"
    if bad:
        raise ValueError(
            f"{where}: {what} columns {names(bad)} are not numeric ({detail}); {what} must be "
            "numbers: convert them to float (NaN where there is no value)."
        )
    try:
        return frame.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:  # an exotic dtype the scan above let through
        raise ValueError(
            f"{where}: {what} cannot be read as numbers ({exc}); convert them to float."
        ) from None


def check_price_frame(prices: object, where: str) -> pd.DataFrame:
    """Validate a price panel: a DataFrame with a sorted unique index, positive prices or NaN.

    NaN is allowed (an asset not yet listed, or delisted); zero, negative or infinite prices are not,
    nor are duplicate asset columns or columns that are not numbers.
    """
    frame = check_frame(prices, where, "prices", "one column of prices per asset")
    check_sorted_index(frame, where, "prices")
    values = numeric_values(frame, where, "prices")
    bad = ~np.isnan(values) & ~(np.isfinite(values) & (values > 0))
    if bad.any():
        cols = [str(c) for c in frame.columns[bad.any(axis=0)]]
        raise ValueError(
            f"{where}: prices must be positive and finite (or NaN); see columns {cols}."
        )
    return frame.astype(float)


def check_returns_frame(returns: object, where: str) -> tuple[pd.DataFrame, np.ndarray]:
    """Validate a frame of simple returns; return it with its values as floats (NaN / inf kept).

    Rejects a non-DataFrame, duplicate columns, an unsorted or duplicated index, columns that are not
    numbers, and returns of -100 % or less (a price at or below zero). NaN and inf are left to the
    caller: ``fit`` rejects them, ``predict`` treats them as missing.
    """
    frame = check_frame(returns, where, "returns", "one column of returns per asset")
    check_sorted_index(frame, where, "returns")
    values = numeric_values(frame, where, "returns")
    check_above_minus_one(values, frame.columns, where)
    return frame, values


def check_above_minus_one(values: np.ndarray, columns: pd.Index, where: str) -> None:
    """Reject simple returns of -100 % or less (NaN passes): their log, the momentum feature, is
    -inf or NaN."""
    with np.errstate(invalid="ignore"):
        wiped = (values <= -1.0).any(axis=0)
    if wiped.any():
        raise ValueError(
            f"{where}: returns of -100 % or less in columns {names(columns[wiped])} (a price at or "
            "below zero); simple returns must be > -1: check the prices they come from."
        )

"""What a price or returns frame must be, checked in one place for every caller.

A frame has one column per asset: prices (> 0 and finite, NaN where an asset has no price) or
simple returns. Each caller names itself (``where``, e.g. ``"HRP.fit"``, ``"price_feeds"``) and asks
for what it needs: a ``DatetimeIndex`` (the engines), a sorted unique index (anything that reads
rows in time order), NaN allowed or not, returns above -100 % or not (allocators also take returns
in basis points). Messages start with ``where`` and name the columns, the row and the fix, e.g.
``HRP.fit: returns contain NaN in columns ['B']; drop or fill them first ...``.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from seqfolio._validation import label_list as names

__all__ = [
    "check_above_minus_one",
    "check_finite",
    "check_frame",
    "check_positive_prices",
    "check_price_frame",
    "check_prices",
    "check_returns_frame",
    "check_sorted_index",
    "date_label",
    "misread_dtype",
    "numeric_values",
]

Kind = Literal["prices", "returns"]

_FIX_NUMBERS = {
    "prices": "prices must be numbers: convert them to float (NaN where there is no price)",
    "returns": "returns must be numbers: pass per-period simple returns as floats, e.g. "
    "prices.pct_change()",
}


def date_label(label: object) -> str:
    """A naive date at midnight as ``2021-01-04``, anything else as ``str``."""
    if isinstance(label, pd.Timestamp) and label.tz is None and label == label.normalize():
        return str(label.date())
    return str(label)


def misread_dtype(dtype: object) -> bool:
    """True for bool, datetime, timedelta and complex dtypes: pandas and NumPy cast them to float
    without a word (a date becomes nanoseconds since 1970, a complex number loses its imaginary
    part), so they are refused by dtype."""
    return getattr(dtype, "kind", "O") in "bmMcV"


def _kind_of(data: object) -> str:
    return f"a {data.ndim}-D ndarray" if isinstance(data, np.ndarray) else type(data).__name__


def check_frame(
    data: object, where: str, what: Kind, *, dates: bool = False, ordered: bool = True
) -> pd.DataFrame:
    """``data`` if it is a DataFrame with at least one column and unique column labels.

    Parameters
    ----------
    data : object
        The frame to check.
    where : str
        Who asks; starts every message.
    what : {"prices", "returns"}
        The frame's name in messages.
    dates : bool, default False
        Require a ``DatetimeIndex`` (one row per bar).
    ordered : bool, default True
        Require a sorted, unique index (:func:`check_sorted_index`).

    Raises
    ------
    TypeError
        Not a DataFrame (a Series is told to use ``to_frame()``), or no ``DatetimeIndex`` when
        ``dates``.
    ValueError
        No columns, repeated column labels, or an unsorted / repeated index when ``ordered``.
    """
    if not isinstance(data, pd.DataFrame):
        hint = "; use series.to_frame() for a single asset" if isinstance(data, pd.Series) else ""
        raise TypeError(
            f"{where}: {what} must be a pandas DataFrame with one column per asset. "
            f"Got {_kind_of(data)} instead{hint}."
        )
    if dates and not isinstance(data.index, pd.DatetimeIndex):
        raise TypeError(
            f"{where}: {what} must have a DatetimeIndex (one row per bar); got a "
            f"{type(data.index).__name__}."
        )
    if data.shape[1] == 0:
        raise ValueError(f"{where}: {what} have no columns; pass one column per asset.")
    if data.columns.has_duplicates:
        repeated = data.columns[data.columns.duplicated()].unique()
        raise ValueError(
            f"{where}: {what} have duplicate columns {names(repeated)}; give each asset one column "
            "(rename or drop the duplicates)."
        )
    if ordered:
        check_sorted_index(data, where, what)
    return data


def check_sorted_index(frame: pd.DataFrame, where: str, what: str) -> None:
    """Require a sorted, unique index (a time series read in order); name the first offending row."""
    index = frame.index
    if index.is_monotonic_increasing and index.is_unique:
        return
    if not index.is_unique:
        label = index[index.duplicated()][0]
        count = int((index == label).sum())
        raise ValueError(
            f"{where}: the {what}' index must be sorted and unique: {date_label(label)} appears "
            f"{count} times; keep one row per date."
        )
    row = next((i for i in range(1, len(index)) if not _not_before(index[i], index[i - 1])), None)
    at = (
        ""
        if row is None
        else f" row {row} ({date_label(index[row])}) comes before the row above it;"
    )
    raise ValueError(
        f"{where}: the {what}' index must be sorted and unique:{at} sort it first "
        f"({what}.sort_index())."
    )


def _not_before(later: object, earlier: object) -> bool:
    try:
        return bool(later >= earlier)  # type: ignore[operator]
    except TypeError:  # labels of mixed types cannot be ordered at all
        return False


def _text_example(column: pd.Series) -> str | None:
    """None if every value of ``column`` reads as a float (``"101.5"``, ``"nan"``), else the first
    value that does not, with its row."""
    try:
        column.to_numpy(dtype=float, na_value=np.nan)
        return None
    except (TypeError, ValueError):
        pass
    for label, value in column.items():
        try:
            float(value)
        except (TypeError, ValueError):
            if not pd.isna(value):
                return f"e.g. {value!r} on {date_label(label)}"
    return "e.g. '?'"  # float() reads each value but the column as a whole does not convert


def numeric_values(frame: pd.DataFrame, where: str, what: Kind) -> np.ndarray:
    """``frame`` as a float array, or a ValueError naming the columns that do not hold numbers.

    Integer, float and nullable float columns pass, and so do text columns whose every value is a
    number (``"101.5"``); booleans, dates, durations, complex numbers and text do not (pandas would
    cast the first four to float without a word).
    """
    values = frame.to_numpy()
    if values.dtype.kind in "iuf":  # the usual case (all numbers): no per-column scan
        return values.astype(float, copy=False)
    bad: list[object] = []
    detail = ""
    for position, (column, dtype) in enumerate(frame.dtypes.items()):
        if misread_dtype(dtype):
            bad.append(column)
            detail = detail or f"dtype {dtype}"
        elif not pd.api.types.is_numeric_dtype(dtype):
            example = _text_example(frame.iloc[:, position])
            if example is not None:
                bad.append(column)
                detail = detail or example
    if bad:
        raise ValueError(
            f"{where}: {what} columns {names(bad)} are not numeric ({detail}); {_FIX_NUMBERS[what]}."
        )
    try:
        return frame.to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError) as exc:  # an exotic dtype the scan above let through
        raise ValueError(
            f"{where}: {what} cannot be read as numbers ({exc}); convert them to float."
        ) from None


def check_positive_prices(
    values: np.ndarray, index: pd.Index, columns: pd.Index, where: str
) -> None:
    """Reject prices that are zero, negative or infinite (NaN passes: no price that day), naming the
    first one, its column and date, and the other columns that have such prices."""
    with np.errstate(invalid="ignore"):
        bad = ~np.isnan(values) & ~(values > 0) | np.isposinf(values)
    if not bad.any():
        return
    row, col = np.argwhere(bad)[0]
    value = values[row, col]
    kind = "an infinite" if value == np.inf else "a non-positive"
    others = [c for c in columns[bad.any(axis=0)] if c != columns[col]]
    also = f" (columns {names(others)} have such prices too)" if others else ""
    raise ValueError(
        f"{where}: column '{columns[col]}' has {kind} price ({value:g}) on {date_label(index[row])}"
        f"{also}; prices must be positive and finite: fix it, or blank the cell (NaN: no price "
        "that day)."
    )


def check_finite(values: np.ndarray, columns: pd.Index, where: str) -> None:
    """Reject NaN and inf in returns, naming the columns of each."""
    nan = np.isnan(values).any(axis=0)
    inf = np.isinf(values).any(axis=0)
    if not (nan.any() or inf.any()):
        return
    found = [f"NaN in columns {names(columns[nan])}"] if nan.any() else []
    if inf.any():
        found.append(f"inf in columns {names(columns[inf])} (from a zero price)")
    keep = (
        " (seqfolio.data.trailing_returns keeps only assets alive over the whole window)"
        if nan.any()
        else ""
    )
    raise ValueError(
        f"{where}: returns contain {' and '.join(found)}; drop or fill them first{keep}."
    )


def check_above_minus_one(values: np.ndarray, columns: pd.Index, where: str) -> None:
    """Reject simple returns of -100 % or less (NaN passes): a price at or below zero."""
    with np.errstate(invalid="ignore"):
        wiped = (values <= -1.0).any(axis=0)
    if wiped.any():
        raise ValueError(
            f"{where}: returns of -100 % or less in columns {names(columns[wiped])} (a price at or "
            "below zero); simple returns must be > -1: check the prices they come from."
        )


def check_price_frame(prices: object, where: str, *, dates: bool = False) -> pd.DataFrame:
    """A price panel as floats: a DataFrame (:func:`check_frame`) of positive, finite prices or NaN."""
    frame = check_frame(prices, where, "prices", dates=dates)
    values = numeric_values(frame, where, "prices")
    check_positive_prices(values, frame.index, frame.columns, where)
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


def check_returns_frame(
    returns: object, where: str, *, ordered: bool = True, finite: bool = True, simple: bool = True
) -> pd.DataFrame:
    """A frame of returns as floats (:func:`check_frame`, :func:`numeric_values`).

    ``finite`` rejects NaN and inf (a ``fit``; a ``predict`` may treat them as missing); ``simple``
    rejects returns of -100 % or less (False for allocators, which also take returns in basis
    points).
    """
    frame = check_frame(returns, where, "returns", ordered=ordered)
    values = numeric_values(frame, where, "returns")
    if simple:
        check_above_minus_one(values, frame.columns, where)
    if finite:
        check_finite(values, frame.columns, where)
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


def check_prices(prices: object, where: str = "check_prices") -> pd.DataFrame:
    """What an engine adapter needs before it cuts its period: a DataFrame with a sorted unique
    ``DatetimeIndex``, at least one row and unique columns (values are checked by the feeds)."""
    frame = check_frame(prices, where, "prices", dates=True)
    if frame.empty:
        raise ValueError(f"{where}: prices have no rows; pass at least one date.")
    return frame

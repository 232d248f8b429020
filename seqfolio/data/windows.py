"""Trailing return windows restricted to the assets alive over the whole window."""

from __future__ import annotations

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype, is_object_dtype, is_string_dtype

from seqfolio.data.errors import check_int_parameter

_MAX_NAMES = 10


def _names(labels: list[object]) -> str:
    shown = repr([str(x) for x in labels[:_MAX_NAMES]])
    return shown + (f" (+{len(labels) - _MAX_NAMES} more)" if len(labels) > _MAX_NAMES else "")


def _check_window(window: pd.DataFrame) -> None:
    """Reject text / date / bool columns (pandas would fail inside ``pct_change``)."""
    text = []
    for column, dtype in window.dtypes.items():
        if is_numeric_dtype(dtype) and not is_bool_dtype(dtype):
            continue
        values = window[column]
        textual = is_object_dtype(dtype) or is_string_dtype(dtype)
        converted = pd.to_numeric(values, errors="coerce") if textual else None
        if converted is None or (converted.isna() & values.notna()).any():
            text.append(column)
    if text:
        raise ValueError(
            f"trailing_returns: prices columns {_names(text)} are not numeric; convert them to "
            "float (seqfolio.data.read_prices does)."
        )


def trailing_returns(prices: pd.DataFrame, lookback: int) -> pd.DataFrame:
    """Simple returns over the last ``lookback`` bars, for assets priced on every one of them.

    Parameters
    ----------
    prices : pandas.DataFrame
        Prices up to and including the decision bar (the last row), one column per asset. Nothing
        before the last ``lookback + 1`` rows is read.
    lookback : int
        Number of returns wanted (``lookback + 1`` price rows are read).

    Returns
    -------
    pandas.DataFrame
        ``lookback`` rows of returns. Columns with any NaN price in the window (not yet listed, already
        delisted, or a gap) are left out, so the allocator only sees assets alive at that date.

    Raises
    ------
    TypeError
        If ``prices`` is not a DataFrame.
    ValueError
        If ``lookback`` is not a positive integer, there are fewer than ``lookback + 1`` price rows,
        the columns repeat a name, or a column in the window is not numeric, or an asset alive over
        the window has a zero, negative or infinite price in it.
    """
    if not isinstance(prices, pd.DataFrame):
        hint = " (use series.to_frame())" if isinstance(prices, pd.Series) else ""
        raise TypeError(
            "trailing_returns: prices must be a pandas DataFrame with one column per asset"
            f"{hint}. Got {type(prices).__name__} instead."
        )
    lookback = check_int_parameter(None, "lookback", lookback, low=1)
    if len(prices) < lookback + 1:
        raise ValueError(
            f"trailing_returns: lookback={lookback} needs {lookback + 1} price rows; got {len(prices)}. "
            "Start later or use a shorter lookback."
        )
    if prices.columns.has_duplicates:
        repeated = list(prices.columns[prices.columns.duplicated()].unique())
        raise ValueError(
            f"trailing_returns: prices columns {_names(repeated)} appear more than once; give each "
            "asset one column."
        )
    window = prices.iloc[-(lookback + 1) :]
    values = window.to_numpy()  # one float block in the usual case: no per-column work
    as_floats = values.dtype.kind == "f"
    if values.dtype.kind not in "iuf":
        _check_window(window)  # text / dates / bools are refused; numeric text is converted
        values = window.to_numpy(dtype=float)
    alive_mask = ~np.isnan(values).any(axis=0)
    alive = window.columns[alive_mask]
    alive_values = values[:, alive_mask]
    unusable = ~(alive_values > 0) | np.isinf(alive_values)  # no NaN: alive columns have none
    if unusable.any():
        columns = list(alive[unusable.any(axis=0)])
        row, col = np.argwhere(unusable)[0]
        when = window.index[row]
        if isinstance(when, pd.Timestamp) and when == when.normalize():
            when = when.date()
        raise ValueError(
            f"trailing_returns: prices must be positive and finite; columns {_names(columns)} are not "
            f"(e.g. {alive_values[row, col]} for '{alive[col]}' at {when}). Fix or drop them "
            "(seqfolio.data.read_prices rejects such prices)."
        )
    kept = window[alive]
    if not as_floats:
        kept = kept.astype(float)  # ints or numeric text: float returns, as for float prices
    return kept.pct_change().iloc[1:]

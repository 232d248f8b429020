"""Trailing return windows restricted to the assets alive over the whole window, and the assets priced
inside a period."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd
from pandas.api.types import is_bool_dtype, is_numeric_dtype, is_object_dtype, is_string_dtype

from seqfolio import defaults
from seqfolio.data.errors import check_int_parameter

_MAX_NAMES = 10

logger = logging.getLogger("seqfolio.data")


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
    lookback = check_int_parameter(None, "lookback", lookback, low=defaults.MIN_LOOKBACK)
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


def _day(stamp: Any) -> str:
    return str(stamp.date()) if isinstance(stamp, pd.Timestamp) else str(stamp)


def assets_priced_in(
    prices: pd.DataFrame, start: Any = None, end: Any = None, *, owner: str
) -> pd.DataFrame:
    """``prices`` without the assets that have no price between ``start`` and ``end`` (inclusive).

    An asset that lists after the period or was delisted before it cannot be traded in it: it is left
    out with an INFO line on the ``seqfolio.data`` logger naming it and its first / last price. A
    column with no price anywhere in ``prices`` is a data error, not an asset outside the period.

    Parameters
    ----------
    prices : pandas.DataFrame
        Prices (NaN = no price), sorted ``DatetimeIndex``.
    start, end : date-like or None
        The period (None: from the first / to the last row), in the index's timezone.
    owner : str
        Who asks (starts the messages).

    Returns
    -------
    pandas.DataFrame
        ``prices`` itself when every asset has a price in the period, else its priced columns.

    Raises
    ------
    ValueError
        If a column has no price at all, or no asset has a price in the period.
    """
    priced = prices.notna()
    never = list(prices.columns[~priced.any().to_numpy()])
    if never:
        which = (
            f"column '{never[0]}' has no prices at all; drop it"
            if len(never) == 1
            else f"columns {_names(never)} have no prices at all; drop them"
        )
        raise ValueError(
            f"{owner}: {which} (an asset priced only outside the period is left out on its own)."
        )
    inside = priced.loc[start:end].any().to_numpy()
    if inside.all():
        return prices
    span = f"from {_day(start) if start is not None else 'the start'} to " + (
        _day(end) if end is not None else "the end"
    )
    if not inside.any():
        raise ValueError(
            f"{owner}: no asset has a price {span}; choose a period the prices cover (they run "
            f"from {_day(prices.index[0])} to {_day(prices.index[-1])})."
        )
    left_out = []
    for column in prices.columns[~inside]:
        first, last = priced.index[priced[column].to_numpy()][[0, -1]]
        left_out.append(f"{column} (priced {_day(first)} to {_day(last)})")
    logger.info("%s: %d asset(s) with no price %s are left out: %s", owner, len(left_out), span,
                ", ".join(left_out))  # fmt: skip
    return prices.loc[:, inside]


def period_prices(
    prices: pd.DataFrame, start: Any, end: Any, *, owner: str
) -> tuple[pd.DataFrame, pd.Timestamp | None, pd.Timestamp | None]:
    """The prices an engine run trades, and its period as tz-naive dates on the bars' clock.

    Every engine adapter starts here: the frame is checked (:func:`~seqfolio._validation.check_prices`),
    a tz-aware index loses its zone (a tz-aware ``start`` / ``end`` is converted to it first, a naive
    one read in it), rows after ``end`` are dropped and assets with no price in the period are left
    out (:func:`assets_priced_in`).

    Raises
    ------
    TypeError, ValueError
        For a frame the engines cannot read, an unparseable date, or an ``end`` before the prices.
    """
    from seqfolio._validation import check_prices
    from seqfolio.calendar import naive_date

    check_prices(prices, owner)
    tz = prices.index.tz
    first = naive_date(start, "start", owner, tz)
    last = naive_date(end, "end", owner, tz)
    if tz is not None:
        prices = prices.tz_localize(None)
    if last is not None and prices.index[0] > last:
        raise ValueError(
            f"{owner}: no prices on or before end={end!r}: the prices start on "
            f"{prices.index[0].date()}; pass a later end (or None)."
        )
    # assets listing after the run or delisted before it are left out (INFO) before the cut to
    # `end` would empty their columns; a column with no price at all is still an error
    return assets_priced_in(prices, first, last, owner=owner).loc[:last], first, last

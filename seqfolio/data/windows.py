"""Trailing return windows restricted to the assets alive over the whole window, and the assets priced
inside a period."""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from seqfolio import defaults
from seqfolio._validation import check_int
from seqfolio._validation import label_list as _names
from seqfolio.data.frames import check_frame, check_positive_prices, check_prices, numeric_values

logger = logging.getLogger("seqfolio.data")


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
    where = "trailing_returns"
    check_frame(prices, where, "prices", ordered=False)  # the index is not read
    lookback = check_int(where, "lookback", lookback, low=defaults.MIN_LOOKBACK)
    if len(prices) < lookback + 1:
        raise ValueError(
            f"{where}: lookback={lookback} needs {lookback + 1} price rows; got {len(prices)}. "
            "Start later or use a shorter lookback."
        )
    window = prices.iloc[-(lookback + 1) :]
    values = numeric_values(window, where, "prices")  # only the window is read, and checked
    alive_mask = ~np.isnan(values).any(axis=0)
    alive = window.columns[alive_mask]
    check_positive_prices(values[:, alive_mask], window.index, alive, where)
    kept = window[alive]
    if any(getattr(dtype, "kind", "O") != "f" for dtype in kept.dtypes):
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

    Every engine adapter starts here: the frame is checked (:func:`~seqfolio.data.frames.check_prices`),
    a tz-aware index loses its zone (a tz-aware ``start`` / ``end`` is converted to it first, a naive
    one read in it), rows after ``end`` are dropped and assets with no price in the period are left
    out (:func:`assets_priced_in`).

    Raises
    ------
    TypeError, ValueError
        For a frame the engines cannot read, an unparseable date, or an ``end`` before the prices.
    """
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

"""Trailing return windows restricted to the assets alive over the whole window."""

from __future__ import annotations

import pandas as pd


def trailing_returns(prices: pd.DataFrame, lookback: int) -> pd.DataFrame:
    """Simple returns over the last ``lookback`` bars, for assets priced on every one of them.

    Parameters
    ----------
    prices : pandas.DataFrame
        Prices up to and including the decision bar (the last row). Nothing after it is read.
    lookback : int
        Number of returns wanted (``lookback + 1`` price rows are read).

    Returns
    -------
    pandas.DataFrame
        ``lookback`` rows of returns. Columns with any NaN price in the window (not yet listed, already
        delisted, or a gap) are left out, so the allocator only sees assets alive at that date.

    Raises
    ------
    ValueError
        If ``lookback`` is not a positive integer or there are fewer than ``lookback + 1`` price rows.
    """
    if isinstance(lookback, bool) or not isinstance(lookback, int) or lookback < 1:
        raise ValueError(f"The 'lookback' parameter must be an int >= 1. Got {lookback!r} instead.")
    if len(prices) < lookback + 1:
        raise ValueError(
            f"trailing_returns: lookback={lookback} needs {lookback + 1} price rows; got {len(prices)}. "
            "Start later or use a shorter lookback."
        )
    window = prices.iloc[-(lookback + 1) :]
    alive = window.columns[window.notna().all().to_numpy()]
    return window[alive].pct_change().iloc[1:]

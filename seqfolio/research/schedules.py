"""Rebalance dates as a pure function of the trading calendar.

The same rule as the backtrader timers of :mod:`seqfolio.strategies.schedules` (SESSION_START timers
with ``monthcarry`` / ``weekcarry``): the first bar of each period present in the index fires,
including the index's very first bar.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import numpy as np
import pandas as pd

SCHEDULES = ("daily", "weekly", "monthly", "quarterly")
_PERIOD = {"weekly": "W", "monthly": "M", "quarterly": "M"}


def decision_dates(
    index: pd.DatetimeIndex, schedule: str | Callable[[dt.date], bool]
) -> pd.DatetimeIndex:
    """The bars of ``index`` on which ``schedule`` fires.

    Parameters
    ----------
    index : pandas.DatetimeIndex
        Sorted trading dates.
    schedule : {"daily", "weekly", "monthly", "quarterly"} or callable
        ``weekly`` = the first bar of each Monday-to-Sunday week, ``monthly`` = the first bar of each
        month, ``quarterly`` = the first bar of January, April, July and October; a callable gets each
        ``datetime.date`` and returns True to fire.
    """
    if callable(schedule):
        return index[np.array([bool(schedule(d.date())) for d in index], dtype=bool)]
    if schedule not in SCHEDULES:
        raise ValueError(
            f"The 'rebalance' schedule must be one of {list(SCHEDULES)} or a callable date -> bool. "
            f"Got {schedule!r} instead."
        )
    if schedule == "daily":
        return index
    periods = index.to_period(_PERIOD[schedule])
    first = np.r_[True, periods[1:] != periods[:-1]]
    if schedule == "quarterly":
        first &= np.isin(index.month, (1, 4, 7, 10))
    return index[first]

"""Schedules: on which bars of a trading calendar a rebalance or a retrain happens.

One rule serves every path (docs/architecture.md): the backtrader timers of
:mod:`seqfolio.strategies.schedules` ask :class:`ScheduleGate` bar by bar, the research path's
decision dates and the walk-forward retrain counter ask :func:`decision_dates` for a whole calendar,
and both evaluate the same :func:`period_key` / callable, so the two can never disagree.

=============  =========================================================================================
schedule       fires on
=============  =========================================================================================
``daily``      every bar
``weekly``     the first bar of each Monday-to-Sunday (ISO) week
``monthly``    the first bar of each month
``quarterly``  the first bar of January, April, July and October
callable       every bar whose date ``d`` (a ``datetime.date``) gives ``schedule(d)`` True (a bool)
=============  =========================================================================================

The very first bar of a calendar is the first bar of its week / month. A bar is a row of the calendar,
whatever its frequency: on weekly bars ``monthly`` fires on the first weekly bar of each month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable
from typing import Any

import numpy as np
import pandas as pd

from seqfolio._validation import InvalidParameter, check_date, closest

__all__ = [
    "SCHEDULES",
    "naive_date",
    "Schedule",
    "ScheduleGate",
    "check_schedule",
    "count_decisions",
    "decision_dates",
    "period_key",
]

Schedule = str | Callable[[dt.date], bool]
SCHEDULES: tuple[str, ...] = ("daily", "weekly", "monthly", "quarterly")
_QUARTER_MONTHS = (1, 4, 7, 10)


def naive_date(value: Any, name: str, owner: str, tz: Any = None) -> pd.Timestamp | None:
    """``value`` as a tz-naive Timestamp on the bars' clock (None stays None).

    Feeds carry tz-naive wall-clock times (:func:`price_feeds` drops a tz-aware index's zone). A
    tz-aware ``value`` is first converted to ``tz`` (the prices' zone, when they had one), then its
    zone is dropped, so it compares with the bars; a naive one is taken as it is.

    Raises
    ------
    ValueError
        If ``value`` is not a date (``"The 'end' parameter of run_backtest must be a date ..."``;
        a number such as ``2018`` is refused, as ``pd.Timestamp(2018)`` means 1970).
    """
    if value is None:
        return None
    stamp = check_date(owner, name, value)
    if stamp.tz is not None:
        if tz is not None:
            stamp = stamp.tz_convert(tz)
        stamp = stamp.tz_localize(None)
    return stamp


def check_schedule(owner: str, name: str, schedule: Any) -> Schedule:
    """``schedule`` if it is one of :data:`SCHEDULES` or a callable, else a ValueError naming ``name``."""
    if callable(schedule):
        return schedule
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise InvalidParameter(
            owner, name, schedule, f"one of {list(SCHEDULES)} or a callable date -> bool",
            closest(schedule, SCHEDULES),
        )  # fmt: skip
    return schedule


def period_key(schedule: str, day: dt.date) -> Hashable:
    """The period ``day`` belongs to under a named schedule; the first bar of a period fires.

    ``daily``: the day itself; ``weekly``: the ISO (year, week); ``monthly`` / ``quarterly``: the
    (year, month) -- a quarterly schedule also needs the month to start a quarter (:func:`_eligible`).
    """
    if schedule == "daily":
        return day
    if schedule == "weekly":
        iso = day.isocalendar()
        return (iso[0], iso[1])
    return (day.year, day.month)


def _eligible(schedule: str, day: dt.date) -> bool:
    return schedule != "quarterly" or day.month in _QUARTER_MONTHS


def _ask(schedule: Callable[[dt.date], bool], day: dt.date) -> bool:
    """A callable schedule's answer for ``day``: a bool (NumPy's too), anything else is an error."""
    answer = schedule(day)
    if not isinstance(answer, (bool, np.bool_)):
        name = getattr(schedule, "__name__", type(schedule).__name__)
        raise TypeError(
            f"The schedule callable {name} must return a bool for a date; it returned "
            f"{answer!r} ({type(answer).__name__}) for {day}. Return True or False (e.g. "
            "bool(...))."
        )
    return bool(answer)


class ScheduleGate:
    """A schedule asked bar by bar, in date order: ``gate(day)`` is True on the bars it fires on.

    What a backtrader timer's ``allow=`` filter needs: it is called once per new day. It remembers the
    previous day, so a named schedule fires on the first bar of each period exactly as
    :func:`decision_dates` does for the whole calendar.
    """

    def __init__(self, schedule: Schedule) -> None:
        self.schedule = check_schedule("ScheduleGate", "schedule", schedule)
        self._previous: Hashable | None = None

    def reset(self) -> None:
        """Forget the previous day (a new run)."""
        self._previous = None

    def __call__(self, day: dt.date) -> bool:
        schedule = self.schedule
        if callable(schedule):
            return _ask(schedule, day)
        key = period_key(schedule, day)
        first = key != self._previous
        self._previous = key
        return first and _eligible(schedule, day)


def decision_dates(index: pd.DatetimeIndex, schedule: Schedule) -> pd.DatetimeIndex:
    """The bars of ``index`` (sorted trading dates) on which ``schedule`` fires.

    Raises
    ------
    ValueError
        For an unknown schedule name.
    TypeError
        For a callable that returns something other than a bool.
    """
    check_schedule("decision_dates", "schedule", schedule)
    gate = ScheduleGate(schedule)
    return index[np.fromiter((gate(d) for d in index.date), dtype=bool, count=len(index))]


def count_decisions(index: pd.DatetimeIndex, schedule: Schedule) -> int:
    """How many bars of ``index`` ``schedule`` fires on (e.g. a progress bar's total of retrains)."""
    return len(decision_dates(index, schedule))

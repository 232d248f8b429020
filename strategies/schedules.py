"""Rebalance schedules as backtrader timers.

On daily bars stamped at midnight only ``when=bt.timer.SESSION_START`` timers fire (DESIGN.md section 3):
``SESSION_END``, clock times and offsets silently never fire. A SESSION_START timer fires once the feeds
have advanced to bar t and before ``Strategy.next()`` for bar t, so inside ``notify_timer`` every feed's
``close[0]`` is bar t's close. Orders submitted there fill at bar t+1's open.

=============  =========================================================================================
schedule       fires on
=============  =========================================================================================
``daily``      every bar
``weekly``     the first bar of each week (Monday, or the next bar if Monday is a holiday)
``monthly``    the first bar of each month
``quarterly``  the first bar of January, April, July and October
callable       every bar whose date ``d`` (a ``datetime.date``) gives ``schedule(d) is True``
=============  =========================================================================================
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import backtrader as bt
import numpy as np

__all__ = ["SCHEDULES", "Schedule", "add_schedule_timer", "check_schedule", "timer_kwargs"]

Schedule = str | Callable[[dt.date], bool]
SCHEDULES: tuple[str, ...] = ("daily", "weekly", "monthly", "quarterly")


class _QuarterStart:
    """``allow=`` filter for a monthly timer: only the months that start a quarter."""

    def __call__(self, d: dt.date) -> bool:
        return d.month in (1, 4, 7, 10)


class _CallableAllow:
    """Wrap a user's ``date -> bool`` so a non-bool answer is an error, not a silent truthiness."""

    def __init__(self, func: Callable[[dt.date], bool]) -> None:
        self.func = func

    def __call__(self, d: dt.date) -> bool:
        answer = self.func(d)
        if not isinstance(answer, (bool, np.bool_)):
            raise TypeError(
                f"The rebalance callable must return a bool for a date; got {type(answer).__name__}."
            )
        return bool(answer)


def check_schedule(owner: str, name: str, schedule: Any) -> None:
    """Raise ``ValueError`` unless ``schedule`` is one of :data:`SCHEDULES` or a callable."""
    if callable(schedule):
        return
    if not isinstance(schedule, str) or schedule not in SCHEDULES:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be one of {list(SCHEDULES)} or a callable "
            f"date -> bool. Got {schedule!r} instead."
        )


def timer_kwargs(schedule: Schedule) -> dict[str, Any]:
    """Keyword arguments for ``Strategy.add_timer`` implementing ``schedule``.

    Parameters
    ----------
    schedule : {"daily", "weekly", "monthly", "quarterly"} or callable
        A callable receives each bar's ``datetime.date`` and returns True to fire.

    Returns
    -------
    dict
        Always contains ``when=bt.timer.SESSION_START``.
    """
    check_schedule("timer_kwargs", "schedule", schedule)
    kwargs: dict[str, Any] = {"when": bt.timer.SESSION_START}
    if callable(schedule):
        kwargs["allow"] = _CallableAllow(schedule)
    elif schedule == "weekly":
        kwargs.update(weekdays=[1], weekcarry=True)
    elif schedule == "monthly":
        kwargs.update(monthdays=[1], monthcarry=True)
    elif schedule == "quarterly":
        kwargs.update(monthdays=[1], monthcarry=True, allow=_QuarterStart())
    return kwargs


def add_schedule_timer(strategy: bt.Strategy, schedule: Schedule, **tags: Any) -> Any:
    """Add a timer firing on ``schedule`` to ``strategy``; ``tags`` reach ``notify_timer`` as kwargs.

    Example: ``add_schedule_timer(self, "quarterly", action="retrain")`` then in ``notify_timer`` check
    ``kwargs["action"]``.
    """
    return strategy.add_timer(**timer_kwargs(schedule), **tags)

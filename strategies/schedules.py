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

__all__ = [
    "SCHEDULES",
    "Schedule",
    "add_schedule_timer",
    "check_schedule",
    "drop_stale_timers",
    "timer_kwargs",
]

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


def drop_stale_timers(cerebro: Any) -> int:
    """Remove the timers of strategies from earlier runs of ``cerebro``; return how many.

    backtrader keeps every timer a strategy adds in ``Cerebro._pretimers``, created once and never
    cleared (1.9.78.123). A second ``cerebro.run()`` -- or the next combination of an
    ``optstrategy`` run in one process -- would fire the earlier runs' timers too, into strategies
    that have finished but still share the broker: they trade it and the results are silently wrong.
    A strategy from an earlier run has been started (``Strategy._start`` sets ``_dlens``), while the
    strategies of the run being built have not yet, so those timers are told apart safely; timers
    of the cerebro itself (``cerebro.add_timer``) are kept.
    """
    timers = getattr(cerebro, "_pretimers", None)
    if not timers:
        return 0
    stale = [
        t for t in timers
        if isinstance(t.p.owner, bt.Strategy) and hasattr(t.p.owner, "_dlens")
    ]  # fmt: skip
    for timer in stale:
        timers.remove(timer)
    return len(stale)


def add_schedule_timer(strategy: bt.Strategy, schedule: Schedule, **tags: Any) -> Any:
    """Add a timer firing on ``schedule`` to ``strategy``; ``tags`` reach ``notify_timer`` as kwargs.

    Example: ``add_schedule_timer(self, "quarterly", action="retrain")`` then in ``notify_timer`` check
    ``kwargs["action"]``. The timers earlier runs of the same cerebro left behind are dropped first
    (:func:`drop_stale_timers`), so a cerebro run twice, or an ``optstrategy`` run, gives each run
    exactly the result it gives alone.
    """
    drop_stale_timers(strategy.env)
    return strategy.add_timer(**timer_kwargs(schedule), **tags)

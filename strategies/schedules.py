"""Schedules as backtrader timers.

The schedule itself -- which bars a ``"monthly"`` or a callable schedule fires on -- is defined once,
in :mod:`seqfolio.calendar`; here it becomes a timer. On daily bars stamped at midnight only
``when=bt.timer.SESSION_START`` timers fire (docs/architecture.md, "backtrader facts"):
``SESSION_END``, clock times and offsets silently never fire. A SESSION_START timer fires once the
feeds have advanced to bar t and before ``Strategy.next()`` for bar t, so inside ``notify_timer``
every feed's ``close[0]`` is bar t's close. Orders submitted there fill at bar t+1's open.

The timer fires on every new day and lets :class:`~seqfolio.calendar.ScheduleGate` (its ``allow=``
filter) decide, so the engine fires on exactly the bars :func:`~seqfolio.calendar.decision_dates`
lists for the research path.

A cerebro's days are the union of all its feeds' calendars. When a strategy trades some of them
(``feeds=``), :class:`TradedSessions` asks the gate only on the days those feeds have a bar: an index
feed with bars on the stocks' holidays must not move a decision onto an index-only bar, where the
stocks still stand on their previous closes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import backtrader as bt

from seqfolio.calendar import SCHEDULES, Schedule, ScheduleGate, check_schedule

__all__ = [
    "SCHEDULES",
    "Schedule",
    "TradedSessions",
    "add_schedule_timer",
    "check_schedule",
    "drop_stale_timers",
    "timer_kwargs",
]


class TradedSessions:
    """A timer's ``allow=`` filter: ``gate`` asked only on the days one of ``feeds`` has a bar.

    The timer calls it once per new day of the cerebro, after the feeds have advanced to that day's
    bar; a feed with a bar that day stands on it (backtrader float dates: the integer part is the
    day's ordinal). On other days (another feed's calendar) it answers False without asking the
    gate, so a named schedule fires on the first *traded* bar of each period, as
    :func:`~seqfolio.calendar.decision_dates` does on the traded feeds' own calendar.
    """

    def __init__(self, gate: ScheduleGate, feeds: Sequence[Any]) -> None:
        self.gate = gate
        self._dt_lines = [d.lines.datetime for d in feeds]

    def __call__(self, day: dt.date) -> bool:
        ordinal = day.toordinal()
        # stops at the first feed with a bar today: one or two lookups on a normal day
        if not any(len(t) and int(t[0]) == ordinal for t in self._dt_lines):
            return False
        return self.gate(day)


def timer_kwargs(schedule: Schedule, feeds: Sequence[Any] | None = None) -> dict[str, Any]:
    """Keyword arguments for ``Strategy.add_timer`` implementing ``schedule``.

    Parameters
    ----------
    schedule : {"daily", "weekly", "monthly", "quarterly"} or callable
        A callable receives each bar's ``datetime.date`` and returns True to fire.
    feeds : sequence of feeds or None
        Fire only on days these feeds have a bar (:class:`TradedSessions`); None: every day of the
        cerebro.

    Returns
    -------
    dict
        ``when=bt.timer.SESSION_START`` and ``allow=`` a fresh :class:`~seqfolio.calendar.ScheduleGate`
        (wrapped in :class:`TradedSessions` when ``feeds`` are given).
    """
    check_schedule("timer_kwargs", "schedule", schedule)
    gate = ScheduleGate(schedule)
    allow = gate if feeds is None else TradedSessions(gate, feeds)
    return {"when": bt.timer.SESSION_START, "allow": allow}


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


def add_schedule_timer(
    strategy: bt.Strategy, schedule: Schedule, feeds: Sequence[Any] | None = None, **tags: Any
) -> Any:
    """Add a timer firing on ``schedule`` to ``strategy``; ``tags`` reach ``notify_timer`` as kwargs.

    Example: ``add_schedule_timer(self, "quarterly", action="retrain")`` then in ``notify_timer`` check
    ``kwargs["action"]``. With ``feeds`` (the feeds the strategy trades, when not all of the
    cerebro's) the schedule runs on their sessions only (:class:`TradedSessions`). The timers earlier
    runs of the same cerebro left behind are dropped first (:func:`drop_stale_timers`), so a cerebro
    run twice, or an ``optstrategy`` run, gives each run exactly the result it gives alone.
    """
    drop_stale_timers(strategy.env)
    return strategy.add_timer(**timer_kwargs(schedule, feeds), **tags)

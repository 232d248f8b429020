"""Events: what did not go as planned in a backtest or a study, one type for both paths.

An :class:`Event` is ``(date, kind, reason)``. The strategy (engine path) and the research path record
them in one list each; every table (``events.csv``), count and summary line is derived from that list
here, so the two paths cannot drift apart.

==================  ===========================================================================
kind                meaning
==================  ===========================================================================
skipped             a scheduled rebalance / decision did not trade (warm-up, no priced asset, no
                    trained model yet, ...); the portfolio was left as it was
allocation_failed   skipped because the allocator failed (e.g. an infeasible optimisation) or a
                    direct-weights model returned unusable weights
forecast_failed     skipped because the forecast failed (e.g. a broken model)
fallback            decided by a later member of a :class:`~seqfolio.allocators.Fallback` (traded)
retrain_failed      a retrain produced no model; the previous one was kept
delisted            a held asset's prices ended; sold at its last close or kept (the policy)
excluded            an asset with a bar at the decision left out of it for a gap in its lookback
                    window longer than ``max_gap`` (weight 0: a position in it is sold); the
                    reason starts with the asset's name
==================  ===========================================================================
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pandas as pd

__all__ = [
    "DETAILS_EVENTS",
    "EVENT_COLUMNS",
    "KINDS",
    "SKIP_KINDS",
    "WARM_UP",
    "Event",
    "counted",
    "events_summary",
    "events_table",
    "first_skip",
    "of_kind",
]

KINDS: tuple[str, ...] = (
    "skipped",
    "allocation_failed",
    "forecast_failed",
    "fallback",
    "retrain_failed",
    "delisted",
    "excluded",
)
SKIP_KINDS: tuple[str, ...] = ("skipped", "allocation_failed", "forecast_failed")
"""The kinds of a scheduled rebalance that did not trade."""

EVENT_COLUMNS: list[str] = ["date", "kind", "reason"]

DETAILS_EVENTS: dict[str, str] = {"details": "events"}
"""``extra=`` of a log record about an event: its details are in the run's events (``events()``;
``events.csv`` from the command line, which names the file)."""

WARM_UP: tuple[str, ...] = ("warm-up:", "no trained model yet")
"""How the reason of an expected warm-up skip starts (too little history for the lookback, or a
walk-forward rebalance before the first trained model)."""


@dataclass(frozen=True)
class Event:
    """One thing that did not go as planned: ``date`` (the decision bar), ``kind`` (:data:`KINDS`)
    and ``reason`` (a sentence)."""

    date: pd.Timestamp
    kind: str
    reason: str

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"Event kind must be one of {list(KINDS)}. Got {self.kind!r} instead.")

    @property
    def is_skip(self) -> bool:
        """A scheduled rebalance that did not trade."""
        return self.kind in SKIP_KINDS

    @property
    def is_warm_up(self) -> bool:
        """An expected warm-up skip (see :data:`WARM_UP`)."""
        return self.is_skip and self.reason.startswith(WARM_UP)


def of_kind(events: Iterable[Event], *kinds: str) -> list[tuple[pd.Timestamp, str]]:
    """``(date, reason)`` of the events of the given kinds, in order (all kinds if none given)."""
    return [(e.date, e.reason) for e in events if not kinds or e.kind in kinds]


def events_table(events: Iterable[Event]) -> pd.DataFrame:
    """One row per event (``date``, ``kind``, ``reason``), in date order; empty with those columns."""
    rows = [(e.date, e.kind, e.reason) for e in events]
    table = pd.DataFrame(rows, columns=EVENT_COLUMNS)
    return table.sort_values("date", kind="stable", ignore_index=True)


def first_skip(events: Sequence[Event]) -> Event | None:
    """The first skip that is not a warm-up (else the first skip; None if nothing was skipped)."""
    skips = [e for e in events if e.is_skip]
    return next((e for e in skips if not e.is_warm_up), skips[0] if skips else None)


def counted(n: int, noun: str) -> str:
    """``"1 rebalance"``, ``"3 rebalances"``: a count and its noun, plural unless it is 1."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def events_summary(
    events: Sequence[Event], *, noun: str = "rebalance", planned: int | None = None
) -> str:
    """The non-zero counts as one phrase, or ``""`` for a clean run.

    ``"2 rebalances skipped (1 allocator failure), 1 allocation fell back to HRP, 1 retrain failed,
    KO left out of 3 rebalances for a long gap"``;
    with ``planned`` (the scheduled count) the skips read ``"3 of 48 decisions skipped (...; first
    2020-05-01: <reason>)"``. The command-line summaries of ``backtest``, ``walkforward`` and ``tune``
    all come from here.
    """
    parts = []
    skips = [e for e in events if e.is_skip]
    if skips:
        failed = [e for e in skips if e.kind == "allocation_failed"]
        forecast = [e for e in skips if e.kind == "forecast_failed"]
        causes = [
            counted(n, cause)
            for n, cause in ((len(failed), "allocator failure"), (len(forecast), "failed forecast"))
            if n
        ]
        if planned is None:
            why = f" ({', '.join(causes)})" if causes else ""
            parts.append(f"{counted(len(skips), noun)} skipped{why}")
        else:
            first = (failed or skips)[0]
            why = f"{'; '.join(causes)}; " if causes else ""
            parts.append(
                f"{len(skips)} of {planned} {noun}s skipped ({why}first "
                f"{pd.Timestamp(first.date).date()}: {first.reason})"
            )
    fallbacks = [e.reason.split(" used:")[0] for e in events if e.kind == "fallback"]
    if fallbacks:
        members = pd.Series(fallbacks).value_counts()
        if len(members) == 1:
            to = f"to {members.index[0]}"
        else:
            to = "(" + ", ".join(f"{n} to {m}" for m, n in members.items()) + ")"
        what = "allocation" if planned is None else noun
        parts.append(f"{counted(len(fallbacks), what)} fell back {to}")
    retrains = sum(e.kind == "retrain_failed" for e in events)
    if retrains:
        parts.append(f"{counted(retrains, 'retrain')} failed")
    delisted = sum(e.kind == "delisted" for e in events)
    if delisted:
        parts.append(f"{counted(delisted, 'delisted asset')}")
    excluded = [e for e in events if e.kind == "excluded"]
    if excluded:
        assets = sorted({e.reason.split(":")[0] for e in excluded})
        who = ", ".join(assets) if len(assets) <= 3 else f"{len(assets)} assets"
        decisions = counted(len({e.date for e in excluded}), noun)
        parts.append(f"{who} left out of {decisions} for a long gap")
    return ", ".join(parts)

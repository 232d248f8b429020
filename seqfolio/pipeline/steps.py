"""The rebalancing pipeline: small steps over a typed context (in the spirit of pmorissette's ``bt``).

The engine path (:class:`~seqfolio.strategies.RebalanceStrategy`) and the research path
(:func:`~seqfolio.research.target_weights`) build the same list of steps
(:func:`~seqfolio.pipeline.build_steps`) and, at every decision, run them in order on a fresh
:class:`RebalanceContext`. Each step documents which fields it reads and writes; a step can stop the
rebalance by setting ``ctx.skip_reason``, and records what went wrong as
:class:`~seqfolio.events.Event` s in ``ctx.events``. Forecast steps
(:mod:`seqfolio.pipeline.forecasts`) slot in before :class:`Allocate` without touching the others.

Look-ahead: ``ctx.prices`` holds closes up to and including the decision bar and nothing later; every
step only reads the context, so no step can see the future.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sklearn.base import clone

from seqfolio import defaults
from seqfolio.events import DETAILS_EVENTS, Event

logger = logging.getLogger("seqfolio.pipeline")

__all__ = [
    "Allocate",
    "CapWeights",
    "RebalanceContext",
    "Step",
    "Timed",
    "TrailingReturns",
    "bridge_gaps",
    "cap_weights",
    "run_steps",
]


@dataclass
class RebalanceContext:
    """What the pipeline knows at one rebalance (decision bar t).

    Attributes
    ----------
    date : pandas.Timestamp
        The decision bar t. Orders from this rebalance fill at bar t+1.
    prices : pandas.DataFrame
        Closes up to and including t (NaN = no price on that date), one column per asset.
    tradable : list of str
        Assets whose feed has a bar at t (so an order on them can fill at t+1).
    listed_earlier : frozenset of str
        Assets priced on some bar before ``prices``' first row. It tells a gap that began before
        the history kept (the asset is left out, an ``excluded`` event) from a late listing (left
        out until its window fills, no event). Empty when unknown.
    returns : pandas.DataFrame or None
        Written by :class:`TrailingReturns`: the lookback window of returns of the assets that are
        tradable and priced on every bar of the window (gaps up to ``max_gap`` bars bridged).
    covariance, expected_returns : optional
        Forecasts passed to the allocator's ``fit`` (None = the allocator estimates them).
    weights : pandas.Series or None
        Target weights (sum to at most 1; the rest is cash). Written by :class:`Allocate`, modified by
        overlays such as :class:`CapWeights`.
    skip_reason : str or None
        Set by a step to skip this rebalance (the portfolio is left as it is).
    notes : dict
        Free-form diagnostics from steps.
    events : list of Event
        What went wrong at this decision (an allocator failure, a fallback, ...), recorded by the
        steps; the caller adds them to its own log.
    """

    date: pd.Timestamp
    prices: pd.DataFrame
    tradable: list[str]
    listed_earlier: frozenset[str] = frozenset()
    returns: pd.DataFrame | None = None
    covariance: pd.DataFrame | None = None
    expected_returns: pd.Series | None = None
    weights: pd.Series | None = None
    skip_reason: str | None = None
    notes: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)

    def fail(self, kind: str, reason: str) -> None:
        """Skip this rebalance (the portfolio is left as it is) because of a failure, record it as
        an event of ``kind`` and warn."""
        self.skip_reason = reason
        self.events.append(Event(self.date, kind, reason))
        logger.warning("%s: rebalance skipped, portfolio kept: %s", self.date.date(), reason,
                       extra=DETAILS_EVENTS)  # fmt: skip


class Step(Protocol):
    """A pipeline step: reads some fields of the context and writes others."""

    def __call__(self, ctx: RebalanceContext) -> None: ...


def bridge_gaps(values: np.ndarray, max_gap: int) -> tuple[np.ndarray, np.ndarray]:
    """Carry prices over the gaps of at most ``max_gap`` bars in each column.

    Parameters
    ----------
    values : ndarray of shape (rows, N)
        Closes (NaN = no bar), oldest first.
    max_gap : int
        Longest run of missing bars to bridge; 0 bridges nothing.

    Returns
    -------
    (values, bridged) : ndarray, ndarray of bool
        The closes with each gap of at most ``max_gap`` bars filled by the last close before it (so
        the return over the gap lands on the bar after it, as one multi-day return), and which
        columns had a gap bridged. A gap is a run of missing bars between two prices of a column:
        NaN before a column's first price (not listed yet, or a gap that began earlier), after its
        last one (no bar now) and in a longer gap stays, for the caller to exclude.
    """
    missing = np.isnan(values)
    bridged = np.zeros(values.shape[1], dtype=bool)
    if max_gap <= 0 or not missing.any():
        return values, bridged
    out = values.copy()
    for j in np.flatnonzero(missing.any(axis=0)):
        priced = np.flatnonzero(~missing[:, j])
        if len(priced) < 2:
            continue
        # runs of missing bars between two prices: consecutive priced rows more than one bar apart
        step = np.diff(priced)
        for k in np.flatnonzero((step > 1) & (step <= max_gap + 1)):
            before = priced[k]
            out[before + 1 : priced[k + 1], j] = out[before, j]
            bridged[j] = True
    return out, bridged


@dataclass
class TrailingReturns:
    """Reads ``prices``, ``tradable``, ``listed_earlier``; writes ``returns`` (``lookback`` rows),
    ``prices`` (gaps bridged) or ``skip_reason``.

    Assets not tradable at t, or missing a price in the window, are left out -- except that a gap of
    at most ``max_gap`` bars is bridged wherever it falls in the window (:func:`bridge_gaps`: the
    last close before it is carried over the gap and the return over it lands on the next bar), so
    one blank day does not drop the asset from any rebalance whose window holds it. The closes
    before the window (``history_length`` keeps ``max_gap`` more bars) bridge a gap on its first
    rows. The bridged closes replace ``ctx.prices`` for the later steps (a model's window), so
    they see the same closes.

    A tradable asset left out for a longer gap (not a late listing) gets an ``excluded`` event at
    that decision: it gets no weight, so a position in it is sold.

    Attributes
    ----------
    bridged : dict of str -> Timestamp
        Assets whose gaps were bridged, with the first decision date on which that happened.
    dropped : dict of str -> Timestamp
        Tradable assets left out for a gap longer than ``max_gap``, with the first such decision date.
    """

    lookback: int
    max_gap: int = defaults.MAX_GAP
    bridged: dict[str, pd.Timestamp] = field(default_factory=dict, repr=False)
    dropped: dict[str, pd.Timestamp] = field(default_factory=dict, repr=False)

    def __call__(self, ctx: RebalanceContext) -> None:
        if len(ctx.prices) < self.lookback + 1:
            ctx.skip_reason = (
                f"warm-up: {len(ctx.prices)} bars of history, lookback needs {self.lookback + 1}"
            )
            return
        # Same result as seqfolio.data.trailing_returns restricted to tradable assets, in NumPy
        # (this runs at every rebalance; a test checks the two agree exactly).
        # Slices of the NumPy values and of the index rather than of the frame (``iloc``), which
        # costs more than the arithmetic here.
        rows = self.lookback + 1
        raw = ctx.prices.to_numpy(dtype=float)
        filled, any_bridged = bridge_gaps(raw, self.max_gap)
        if any_bridged.any():  # later steps (a model's window) read the same bridged closes
            ctx.prices = pd.DataFrame(filled, index=ctx.prices.index, columns=ctx.prices.columns)
        values = filled[-rows:]
        columns = ctx.prices.columns
        tradable = set(ctx.tradable)
        alive = ~np.isnan(values).any(axis=0)
        keep = [i for i, c in enumerate(columns) if alive[i] and c in tradable]
        self._record_gaps(ctx, raw, filled, alive, tradable)
        if not keep:
            ctx.skip_reason = "no asset is priced over the whole lookback window"
            ctx.returns = ctx.prices.iloc[-rows:].iloc[1:, []]
            return
        kept = values[:, keep]
        # all columns kept (the usual case): a shallow copy, much cheaper than selecting them all
        columns = columns[keep] if len(keep) < len(columns) else columns.copy()
        ctx.returns = pd.DataFrame(
            kept[1:] / kept[:-1] - 1.0, index=ctx.prices.index[-(rows - 1) :], columns=columns
        )

    def _record_gaps(
        self,
        ctx: RebalanceContext,
        raw: np.ndarray,
        filled: np.ndarray,
        alive: np.ndarray,
        tradable: set[str],
    ) -> None:
        """Note the assets whose gaps in the window were bridged (once per asset), and record an
        ``excluded`` event for each tradable asset a longer gap leaves out of this decision."""
        rows = self.lookback + 1
        columns = ctx.prices.columns
        for j in np.flatnonzero(np.isnan(raw[-rows:]).any(axis=0) & alive):
            self.bridged.setdefault(str(columns[j]), ctx.date)
        for j in np.flatnonzero(~alive):
            asset = str(columns[j])
            column = filled[:, j]
            priced = np.flatnonzero(~np.isnan(column))
            if np.isnan(column[-1]) or columns[j] not in tradable or not len(priced):
                continue  # no bar now: not traded at this decision, whatever its window holds
            start = len(column) - rows  # the window's first row
            if priced[0] >= start and asset not in ctx.listed_earlier:
                continue  # listed inside the window: not a gap, it waits for its window to fill
            self.dropped.setdefault(asset, ctx.date)
            reason = self._exclusion_reason(asset, ctx.prices.index, column, start)
            ctx.events.append(Event(ctx.date, "excluded", reason))

    def _exclusion_reason(
        self, asset: str, index: pd.DatetimeIndex, column: np.ndarray, start: int
    ) -> str:
        """``KO: no close on 8 bars (2019-03-04 .. 2019-03-13) of its lookback window ...``."""
        missing = np.isnan(column)
        last = start + int(np.flatnonzero(missing[start:])[-1])  # the last blank bar of the window
        first = last
        while first > 0 and missing[first - 1]:
            first -= 1
        bars, began = last - first + 1, index[first].date()
        span = (
            f"{bars} bars or more (the gap began before {began}, the first bar kept; it ends "
            f"{index[last].date()})"
            if first == 0
            else f"{bars} bars ({began} .. {index[last].date()})"
        )
        return (
            f"{asset}: no close on {span} in its lookback window, a gap longer than "
            f"max_gap={self.max_gap}: left out of this decision (weight 0; a position in it is "
            "sold)"
        )


@dataclass
class Allocate:
    """Reads ``returns``, ``covariance``, ``expected_returns``; writes ``weights`` or ``skip_reason``.

    A clone of ``allocator`` is fitted at every rebalance (the original is never mutated). A window
    with a single asset gets weight 1 without calling the allocator. An allocator error
    (``ValueError``, including ``AllocationError``) skips the rebalance with the message as reason
    (the portfolio is left as it is), logs a warning and is recorded as an ``allocation_failed``
    event; the run goes on. With a :class:`~seqfolio.allocators.Fallback`, a rebalance on which a
    later member had to be used is recorded as a ``fallback`` event ("<member> used: <why the
    earlier ones failed>") and noted in ``ctx.notes["fallback"]``.
    """

    allocator: Any

    def __call__(self, ctx: RebalanceContext) -> None:
        returns = ctx.returns
        if returns is None or returns.shape[1] == 0:
            ctx.skip_reason = ctx.skip_reason or "no returns to allocate on"
            return
        if returns.shape[1] == 1:
            ctx.weights = pd.Series([1.0], index=returns.columns, name="weight")
            return
        kwargs: dict[str, Any] = {}
        if ctx.covariance is not None:
            kwargs["covariance"] = ctx.covariance
        if ctx.expected_returns is not None:
            kwargs["expected_returns"] = ctx.expected_returns
        name = type(self.allocator).__name__
        try:
            fitted = clone(self.allocator).fit(returns, **kwargs)
            weights = fitted.weights_
        except ValueError as exc:
            ctx.fail("allocation_failed", f"{name} failed: {exc}")
            return
        weights = weights.astype(float)
        if not np.isfinite(weights.to_numpy()).all():
            ctx.fail("allocation_failed", f"{name} returned non-finite weights")
            return
        used = getattr(fitted, "used_index_", 0)
        if used:
            member = type(fitted.used_).__name__
            why = "; ".join(getattr(fitted, "errors_", []))
            ctx.events.append(Event(ctx.date, "fallback", f"{member} used: {why}"))
            ctx.notes["fallback"] = member
            logger.info("%s: %s fell back to %s (%s)", ctx.date.date(), name, member, why)
        ctx.weights = weights


def cap_weights(weights: pd.Series, max_weight: float) -> pd.Series:
    """Cap every weight at ``max_weight`` and hand the excess to the uncapped assets pro rata.

    If ``n_assets * max_weight < 1`` every asset ends at ``max_weight`` and the remainder stays in
    cash (the result sums to less than one).
    """
    w = weights.astype(float).clip(lower=0.0)
    total = float(w.sum())
    if total <= 0:
        return w
    w = w / total
    capped = pd.Series(False, index=w.index)
    for _ in range(len(w) + 1):
        over = (w > max_weight + 1e-12) & ~capped
        if not over.any():
            break
        capped |= over
        w[capped] = max_weight
        free = ~capped
        room = 1.0 - max_weight * capped.sum()
        free_total = float(w[free].sum())
        if free.any() and free_total > 0 and room > 0:
            w[free] = w[free] / free_total * room
    return w.clip(upper=max_weight)


@dataclass
class CapWeights:
    """Reads and writes ``weights``: :func:`cap_weights` with ``max_weight`` (None = no cap)."""

    max_weight: float | None = None

    def __call__(self, ctx: RebalanceContext) -> None:
        if self.max_weight is None or ctx.weights is None or math.isclose(self.max_weight, 1.0):
            return
        ctx.weights = cap_weights(ctx.weights, self.max_weight)


@dataclass
class Timed:
    """Wrap a step and add its wall time to ``timings[bucket]``."""

    step: Any
    timings: dict[str, float]
    bucket: str = "allocating"

    def __call__(self, ctx: RebalanceContext) -> None:
        t0 = time.perf_counter()
        try:
            self.step(ctx)
        finally:
            self.timings[self.bucket] = (
                self.timings.get(self.bucket, 0.0) + time.perf_counter() - t0
            )


def run_steps(steps: Sequence[Step], ctx: RebalanceContext) -> RebalanceContext:
    """Run ``steps`` in order on ``ctx``, stopping at the first one that sets ``skip_reason``.

    A rebalance that ends without weights always has a skip reason and a skip event in
    ``ctx.events`` (``skipped``, unless a step already recorded why: an allocator or forecast
    failure).
    """
    for step in steps:
        step(ctx)
        if ctx.skip_reason is not None:
            break
    if ctx.skip_reason is None and ctx.weights is None:
        ctx.skip_reason = "no weights"
    if ctx.skip_reason is not None and not any(e.is_skip for e in ctx.events):
        ctx.events.append(Event(ctx.date, "skipped", ctx.skip_reason))
    return ctx

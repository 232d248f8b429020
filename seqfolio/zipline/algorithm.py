"""seqfolio's rebalancer inside a zipline algorithm: one call in ``initialize``.

::

    from seqfolio.zipline import attach_rebalancer

    def initialize(context):
        set_commission(us_equities=commission.PerDollar(cost=0.001))
        context.rebalancer = attach_rebalancer(context, allocator="hrp", rebalance="monthly")

    def handle_data(context, data):      # your own code keeps working beside it
        ...

It schedules one function for every session (``schedule_function(..., date_rules.every_day())``).
Which sessions decide or retrain is asked of :class:`seqfolio.calendar.ScheduleGate`, the schedule
home of every path, not of zipline's ``date_rules``. On a decision session t it reads the closes up to
t (``data.history``: daily bars stand at t's close), runs the pipeline of
:func:`seqfolio.pipeline.build_steps` and orders the share amounts of
:func:`seqfolio.pipeline.orders.plan_orders` (cash buffer, ``min_trade``, sells then buys); zipline
fills them at session t+1 -- the backtrader path's timing. A walk-forward model is retrained on its own
schedule by :class:`seqfolio.pipeline.ModelRetrainer`, before the decision of the same session.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import numpy as np
import pandas as pd

from seqfolio.calendar import ScheduleGate
from seqfolio.events import Event
from seqfolio.pipeline import (
    Forecast,
    ModelRetrainer,
    RebalanceContext,
    build_steps,
    history_length,
    run_steps,
)
from seqfolio.pipeline.orders import plan_orders
from seqfolio.results import OrderEvent, RebalanceRecord
from seqfolio.spec import RebalanceSpec
from seqfolio.zipline._require import require_zipline
from seqfolio.zipline.settings import OWNER, RebalancerSettings, rebalancer_settings

__all__ = ["ZiplineRebalancer", "attach_rebalancer"]

logger = logging.getLogger("seqfolio.zipline")


def attach_rebalancer(
    context: Any, spec: RebalanceSpec | None = None, **settings: Any
) -> ZiplineRebalancer:
    """Attach seqfolio's rebalancer to a zipline algorithm; call it in ``initialize(context)``.

    Parameters
    ----------
    context : zipline.TradingAlgorithm
        ``initialize``'s argument.
    spec : RebalanceSpec, optional
        The decision settings (:class:`~seqfolio.spec.RebalanceSpec`), or give them as keyword
        ``settings`` (``allocator="hrp"``, ``rebalance="monthly"``, ``signal=...``; not both),
        checked by the same constraint table as backtrader's. zipline trades whole shares
        (``fractional=False``), closes a delisted asset's position itself (``delisted="cash"``),
        never rejects an order for cash (``retry_rejected`` has nothing to do) and runs one
        rebalancer per account (no ``capital``).
    **settings
        Also the zipline run's own: ``assets`` (a list of symbols; default every asset of the
        bundle: what ``feeds`` is to backtrader), ``start`` (no decision before it),
        ``checkpoint_dir`` and ``progress``.

    Returns
    -------
    ZiplineRebalancer
        Its ``records``, ``events``, ``retrainer`` fill in as the run goes;
        :func:`~seqfolio.zipline.zipline_result` turns it and ``run_algorithm``'s output into a
        :class:`~seqfolio.results.BacktestResult`.

    Raises
    ------
    ValueError
        For a bad setting, an unknown asset, assets with no price in the run's period, or a bundle
        whose prices do not cover that period.
    """
    return ZiplineRebalancer(context, rebalancer_settings(spec, **settings))


class ZiplineRebalancer:
    """The rebalancer a zipline algorithm runs (made by :func:`attach_rebalancer`).

    Attributes
    ----------
    settings : RebalancerSettings
    names : list of str
        The traded symbols, in column order.
    records : list of RebalanceRecord
        One per rebalance that traded (targets, value; fills are read from the run's output).
    orders : list of (order id, OrderEvent, RebalanceRecord)
    retrainer : ModelRetrainer or None
    steps : list
        The pipeline (:func:`~seqfolio.pipeline.build_steps`).
    history_bars : int
        Sessions of closes a decision reads (:func:`~seqfolio.pipeline.history_length`).
    timings : dict
        Seconds spent ``"allocating"`` and in the whole per-session function (``"rebalancer"``).
    """

    def __init__(self, context: Any, settings: RebalancerSettings) -> None:
        require_zipline()
        from zipline.api import date_rules

        self.settings = s = settings
        self.calendar = context.trading_calendar
        first_session = pd.Timestamp(context.sim_params.start_session)
        last_session = pd.Timestamp(context.sim_params.end_session)
        self.assets = self._resolve_assets(context, first_session, last_session)
        self.names = [a.symbol for a in self.assets]
        self._by_name = dict(zip(self.names, self.assets, strict=True))
        self._name_of = {a: n for n, a in self._by_name.items()}
        self._first_day = min(pd.Timestamp(a.start_date).tz_localize(None) for a in self.assets)
        self._columns = pd.Index(self.names)
        # sessions since the first listing (how many bars `data.history` can give) and each bar's
        # session, looked up rather than asked of the calendar on every session
        self._sessions = self.calendar.sessions_in_range(self._first_day, last_session)
        self._session_at = self._bar_sessions(context)
        self._ending = self._delisting_days(last_session)
        self.timings: dict[str, float] = {"allocating": 0.0, "rebalancer": 0.0}
        self.retrainer = self._build_retrainer()
        self.steps = build_steps(s.spec, source=self.retrainer, timings=self.timings)
        self.history_bars = history_length(s.spec, self.retrainer)
        self.gate = ScheduleGate(s.spec.rebalance)
        self.retrain_gate = None if self.retrainer is None else ScheduleGate(s.spec.retrain)
        self._prime_gates(first_session)
        self.records: list[RebalanceRecord] = []
        self.orders: list[tuple[str | None, OrderEvent, RebalanceRecord]] = []
        self._open: list[str] = []
        self._events: list[Event] = []
        self.timer_fires = 0
        self._data: Any = None
        context.schedule_function(self._on_session, date_rules.every_day())

    # -- setup ------------------------------------------------------------------------------
    def _resolve_assets(self, context: Any, first: pd.Timestamp, last: pd.Timestamp) -> list[Any]:
        """The traded assets: ``settings.assets`` or every equity of the bundle priced in the period."""
        finder = context.asset_finder
        every = finder.retrieve_all(finder.sids)
        by_symbol = {a.symbol: a for a in every}
        if not every:
            raise ValueError(f"{OWNER}: the bundle holds no asset.")
        start = min(pd.Timestamp(a.start_date).tz_localize(None) for a in every)
        end = max(pd.Timestamp(a.end_date).tz_localize(None) for a in every)
        if first < start or last > end:
            raise ValueError(
                f"{OWNER}: the bundle's prices run from {start.date()} to {end.date()}, which does "
                f"not cover the run's period {first.date()} .. {last.date()}; run within it or "
                "ingest prices for the whole period."
            )
        named = self.settings.assets
        if named is not None:
            unknown = [n for n in named if n not in by_symbol]
            if unknown:
                raise ValueError(
                    f"The 'assets' parameter of {OWNER} names {unknown}, which the bundle does not "
                    f"hold; it holds {sorted(by_symbol)[:10]}{' ...' if len(by_symbol) > 10 else ''}."
                )
            chosen = [by_symbol[n] for n in named]
        else:
            chosen = sorted(every, key=lambda a: a.sid)

        def priced(asset: Any) -> bool:
            return (
                pd.Timestamp(asset.end_date).tz_localize(None) >= first
                and pd.Timestamp(asset.start_date).tz_localize(None) <= last
            )

        outside = [a.symbol for a in chosen if not priced(a)]
        if outside and (named is not None or len(outside) == len(chosen)):
            raise ValueError(
                f"{OWNER}: asset(s) {outside} have no price in the run's period {first.date()} .. "
                f"{last.date()}; leave them out of 'assets' or choose a period they are priced in."
            )
        if outside:
            logger.info("%s: %s have no price in %s .. %s and are left out", OWNER, outside,
                        first.date(), last.date())  # fmt: skip
        return [a for a in chosen if priced(a)]

    def _delisting_days(self, last_session: pd.Timestamp) -> dict[pd.Timestamp, list[str]]:
        """Assets whose prices end before the run does, by their last session."""
        ending: dict[pd.Timestamp, list[str]] = {}
        for asset in self.assets:
            end = pd.Timestamp(asset.end_date).tz_localize(None).normalize()
            if end < last_session:
                ending.setdefault(end, []).append(asset.symbol)
        return ending

    def _build_retrainer(self) -> ModelRetrainer | None:
        s = self.settings
        model = s.spec.make_model(owner=OWNER)
        if model is None:
            return None
        retrainer = ModelRetrainer(
            model, self._closes, train_window=s.spec.train_window, warm_start=s.spec.warm_start,
            checkpoint_dir=s.checkpoint_dir, start=s.start, owner=OWNER,
        )  # fmt: skip
        if s.progress:
            from tqdm.auto import tqdm

            bar = tqdm(desc="retrains", unit="retrain", leave=False)
            retrainer.on_retrain = lambda record: bar.update(1)
        return retrainer

    def _prime_gates(self, first_session: pd.Timestamp) -> None:
        """Show the gates the session before the run's first, as the backtrader timers see the
        history before ``start``: a run starting mid-month does not rebalance on its first session."""
        try:
            previous = self.calendar.previous_session(first_session)
        except (ValueError, KeyError, IndexError):  # the calendar's first session
            return
        for gate in (self.gate, self.retrain_gate):
            if gate is not None and not callable(gate.schedule):
                gate(previous.date())

    def _bar_sessions(self, context: Any) -> dict[pd.Timestamp, pd.Timestamp]:
        """The run's session of each daily bar: zipline stamps a daily bar with its session's close."""
        sessions = pd.DatetimeIndex(context.sim_params.sessions)
        closes = self.calendar.schedule.loc[sessions, "close"]
        naive = sessions.tz_localize(None) if sessions.tz is not None else sessions
        return dict(zip(closes, naive, strict=True))

    def _session(self, now: pd.Timestamp) -> pd.Timestamp:
        """The (tz-naive) session of the simulation time ``now``."""
        day = self._session_at.get(now)
        if day is None:  # a minute-frequency run: not a daily bar's stamp
            day = pd.Timestamp(self.calendar.minute_to_session(now))
            if day.tz is not None:
                day = day.tz_localize(None)
        return day

    # -- data ---------------------------------------------------------------------------------
    def _closes(self, date: pd.Timestamp, n_bars: int | None) -> pd.DataFrame:
        """Closes of the traded assets up to session ``date`` (today: zipline holds nothing later),
        the last ``n_bars`` sessions or every session since the first asset listed."""
        available = int(self._sessions.searchsorted(pd.Timestamp(date), side="right"))
        n = available if n_bars is None else min(int(n_bars), available)
        if n <= 0 or self._data is None:
            return pd.DataFrame(
                columns=self._columns, index=pd.DatetimeIndex([], name="date"), dtype=float
            )
        history = self._data.history(self.assets, "close", n, "1d")
        index = pd.DatetimeIndex(history.index, name="date")
        if index.tz is not None:
            index = index.tz_localize(None)
        return pd.DataFrame(history.to_numpy(dtype=float), index=index, columns=self._columns)

    # -- every session ------------------------------------------------------------------------
    def _on_session(self, context: Any, data: Any) -> None:
        t0 = time.perf_counter()
        day = self._session(data.current_dt)
        self._data = data
        try:
            if day in self._ending:
                self._note_delistings(context, day)
            retrain = self.retrain_gate is not None and self.retrain_gate(day.date())
            decide = self.gate(day.date())
            if retrain:
                self.retrainer.retrain(day, trigger="schedule")
            if decide:
                self.timer_fires += 1
                if self.settings.start is None or day >= self.settings.start:
                    self.rebalance(context, day)
        finally:
            self._data = None
            self.timings["rebalancer"] += time.perf_counter() - t0

    def _note_delistings(self, context: Any, day: pd.Timestamp) -> None:
        """Record a ``delisted`` event for each held asset whose prices end today: zipline closes the
        position at this last close on the next session (the bundle's ``auto_close_date``)."""
        positions = context.portfolio.positions
        value = float(context.portfolio.portfolio_value)
        for name in self._ending[day]:
            position = positions.get(self._by_name[name])
            if position is None or not position.amount:
                continue
            price = float(self._data.current(self._by_name[name], "price"))
            share = (
                f" ({position.amount * price / value:.1%} of the portfolio)" if value > 0 else ""
            )
            reason = (
                f"{name}: prices ended on {day.date()} while held{share}; zipline closes the "
                f"{position.amount:g} shares at this last close {price:.4g} on the next session "
                "(its auto-close date; no commission)"
            )
            self._events.append(Event(day, "delisted", reason))
            logger.warning("%s: %s", day.date(), reason)

    def rebalance(self, context: Any, day: pd.Timestamp) -> RebalanceRecord | None:
        """Decide on the closes up to ``day`` and order; return the record (None if skipped)."""
        self._cancel_open(context)
        prices = self._closes(day, self.history_bars)
        last = prices.to_numpy()[-1] if len(prices) else np.full(len(self.names), np.nan)
        tradable = [n for n, price in zip(self.names, last, strict=True) if price == price]
        ctx = run_steps(self.steps, RebalanceContext(date=day, prices=prices, tradable=tradable))
        self._events.extend(ctx.events)
        if ctx.skip_reason is None and ctx.weights is not None:
            closes = dict(zip(self.names, last, strict=True))
            return self._trade(context, day, tradable, closes, ctx.weights)
        logger.debug("%s: rebalance skipped: %s", day.date(), ctx.skip_reason)
        return None

    def _cancel_open(self, context: Any) -> None:
        """Cancel this rebalancer's orders still open (a new decision replaces them)."""
        orders = context.blotter.orders
        for order_id in self._open:
            order = orders.get(order_id)
            if order is not None and order.open:
                context.cancel_order(order_id)
        self._open = []

    def _trade(
        self,
        context: Any,
        day: pd.Timestamp,
        tradable: list[str],
        closes: dict[str, float],
        weights: pd.Series,
    ) -> RebalanceRecord | None:
        """Order the share amounts that move the portfolio to ``weights`` (decided at ``day``)."""
        s = self.settings
        portfolio = context.portfolio
        amounts = {
            self._name_of[a]: float(p.amount)
            for a, p in portfolio.positions.items()
            if p.amount and a in self._name_of
        }
        positions = pd.Series({n: amounts[n] for n in tradable if n in amounts}, dtype=float)
        held_value = float(sum(size * closes[n] for n, size in positions.items()))
        cash = float(portfolio.cash)
        value = cash + held_value
        planned = plan_orders(
            targets=weights, positions=positions,
            prices=pd.Series([closes[n] for n in tradable], index=tradable), cash=cash,
            value=value, cash_buffer=s.spec.cash_buffer, min_trade=s.spec.min_trade, fractional=False,
            commission=self._commission_estimate(context),
        )  # fmt: skip
        record = RebalanceRecord(date=day, target=weights.copy(), value=value)
        self.records.append(record)
        for item in planned:
            order_id = context.order(self._by_name[item.asset], int(round(item.size)))
            record.n_orders += 1
            self.orders.append((order_id, OrderEvent(date=day, asset=item.asset, size=item.size),
                                record))  # fmt: skip
            if order_id is not None:
                self._open.append(order_id)
        return record

    def _commission_estimate(self, context: Any) -> Any:
        """``commission(asset, size, price)`` as the algorithm's own equity commission model charges."""
        from zipline.assets import Equity
        from zipline.finance.order import Order
        from zipline.finance.transaction import Transaction

        model = context.blotter.commission_models[Equity]
        now = context.get_datetime()

        def commission(name: str, size: float, price: float) -> float:
            asset = self._by_name[name]
            order = Order(now, asset, size, id="seqfolio-estimate")  # an estimate: no uuid needed
            return float(model.calculate(order, Transaction(asset, size, now, price, order.id)))

        return commission

    # -- what happened ------------------------------------------------------------------------
    @property
    def events(self) -> list[Event]:
        """Every event of the run, the retrainer's included, in date order."""
        merged = self._events + (list(self.retrainer.events) if self.retrainer else [])
        return sorted(merged, key=lambda e: e.date)

    @property
    def forecast_step(self) -> Forecast | None:
        """The pipeline's ``Forecast`` step, or None without a ``signal``."""
        for step in self.steps:
            inner = getattr(step, "step", step)
            if isinstance(inner, Forecast):
                return inner
        return None

    def close(self) -> None:
        """Report failed retrains once (call after the run)."""
        if self.retrainer is not None:
            self.retrainer.close()

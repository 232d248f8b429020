"""RebalanceStrategy: refit an allocator on a schedule and trade to its weights.

The strategy is glue over four parts, each with one job: the close history it decides on
(:class:`~seqfolio.strategies.history.CloseHistory`), the decision pipeline shared with the research
path (:func:`~seqfolio.pipeline.build_steps`), the walk-forward model's retraining
(:class:`~seqfolio.strategies.Retrainer`), and the order book (:class:`~seqfolio.strategies.orders.OrderBook`).
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from seqfolio.calendar import naive_date
from seqfolio.events import DETAILS_EVENTS, Event, events_table, of_kind
from seqfolio.pipeline import (
    Allocate,
    Forecast,
    ModelWeights,
    RebalanceContext,
    Step,
    TrailingReturns,
    build_steps,
    history_length,
    run_steps,
)
from seqfolio.pipeline.orders import plan_orders
from seqfolio.results import RebalanceRecord
from seqfolio.spec import RebalanceSpec, as_spec, setting_default, setting_names
from seqfolio.strategies.bar_check import BarCheck, nan_close_error
from seqfolio.strategies.broker_settings import note_broker_settings
from seqfolio.strategies.feeds import feed_has_ended, feed_names, select_feeds
from seqfolio.strategies.history import CloseHistory
from seqfolio.strategies.orders import OrderBook
from seqfolio.strategies.retraining import Retrainer
from seqfolio.strategies.schedules import add_schedule_timer
from seqfolio.strategies.sleeve import Sleeve, check_shared_account
from seqfolio.strategies.subclassing import missed_next, missed_notify_order, missed_notify_timer

__all__ = ["RebalanceStrategy"]

logger = logging.getLogger("seqfolio.strategies")

_OWNER = "RebalanceStrategy"
_SETTINGS = [name for name in setting_names() if name != "commission"]  # the broker's scheme applies


def _is_default(name: str, value: Any) -> bool:
    default = setting_default(name)
    return value is default or (type(value) is type(default) and value == default)


class RebalanceStrategy(bt.Strategy):
    """Rebalance to an allocator's weights on a schedule; orders fill at the next bar.

    At each scheduled bar t (a ``SESSION_START`` timer, see :mod:`seqfolio.calendar`) the strategy
    takes the closes of its feeds up to and including t, keeps the assets that have a bar at t and a
    price on every bar of the last ``lookback`` returns (gaps up to ``max_gap`` bars bridged), fits a
    clone of ``allocator`` on those returns, applies the ``max_weight`` overlay and submits market
    orders -- all sells, then all buys -- which fill at bar t+1's open. With close-only feeds
    (:func:`~seqfolio.strategies.price_feeds`) that is t+1's close: nothing from after t is used to
    decide.

    Params
    ------
    spec : RebalanceSpec or None, default None
        Every decision setting at once (:class:`~seqfolio.spec.RebalanceSpec`); or give them one by
        one as params of the same names (not both). The settings and their defaults are the spec's:
        ``allocator`` (a registered name or an instance, cloned and refitted at each rebalance; a
        network trained walk-forward (``needs_training``) is retrained on ``retrain`` and applied
        at each rebalance), ``lookback`` (returns per fit; a bar is a bar of the feeds: on weekly
        feeds 52 is a year), ``rebalance`` (a name or a callable ``date -> bool``), ``max_weight``,
        ``cash_buffer``, ``min_trade``, ``fractional``, ``retry_rejected`` (a buy the broker
        rejected for ``Margin`` is resubmitted once at t+1, shrunk to the cash then available),
        ``delisted`` (``"cash"``: a position whose feed ended is sold at its last close with the next
        rebalance's orders; ``"hold"``: kept at that close, outside the value the targets apply to;
        a warning and a ``delisted`` event either way), ``max_gap`` (gaps of at most this many bars
        are bridged wherever they fall in a window, the close before the gap carried over; a longer
        gap leaves the asset out of that rebalance, an ``excluded`` event), ``signal`` (a
        forecaster whose forecast feeds the allocator: volatility -> covariance, return -> expected
        returns, regime / drawdown -> gross exposure, correlation -> a shrunk correlation;
        :mod:`seqfolio.pipeline.forecasts`), ``model`` (a signal's or trained allocator's settings,
        when given by name), ``retrain``, ``train_window``, ``warm_start``, ``exposure_floor`` /
        ``exposure_threshold`` and ``capital``. The spec's ``commission`` is not used here: the
        broker's commission scheme applies (:func:`~seqfolio.backtest.run_backtest` sets it from
        the spec).
    capital : float in (0, 1] or None, default None
        Share of the account this strategy manages, for several strategies on one cerebro: its
        :class:`~seqfolio.strategies.sleeve.Sleeve` starts with ``capital`` times the broker's
        starting value in cash and moves only with this strategy's own fills and positions, so the
        strategy trades (and its ``TearSheet`` reports) as it would alone with that cash. The
        shares of a cerebro's RebalanceStrategy instances must add up to at most 1 and their feeds
        must not overlap (checked before the first bar). None manages all the broker's cash plus
        this strategy's own positions (one strategy alone).
    start : date-like or None, default None
        No rebalance (or retrain) before this date (history before it still feeds the lookback).
    feeds : list of str or data feeds, or None, default None
        The feeds to trade (names given to ``cerebro.adddata`` or the feed objects); None trades
        every feed of the cerebro. Leave out a benchmark or index feed, or the feeds another
        strategy trades (docs/backtrader.md, "Habits that work").
    checkpoint_dir : str or path or None, default None
        Save every retrained model there; a rerun with the same arguments resumes from them.
    progress : bool, default False
        A tqdm bar counting retrains.

    Attributes
    ----------
    records : list of RebalanceRecord
        One per rebalance that submitted orders: targets, realised weights, turnover, costs.
    orders_log : list of OrderEvent
        Every order submitted and how it ended.
    events : list of Event
        What did not go as planned, in date order (:mod:`seqfolio.events`): skipped rebalances
        (each logged at DEBUG; :meth:`stop` logs one summary, a warning, or INFO if every skip was
        the expected warm-up), allocator and forecast failures, fallbacks, failed retrains,
        delistings, assets left out for a long gap (``excluded``). ``skipped``, ``allocation_failures``, ``forecast_failures``, ``fallbacks``,
        ``retrain_failures`` and ``delistings`` list them by kind as ``(date, reason)``.
    n_rejected : int
        Orders the broker rejected (``Margin`` or ``Rejected``); also logged as warnings on the
        ``seqfolio.strategies`` logger.
    timer_fires : int
        How many times the rebalance timer fired.
    retrainer : Retrainer or None
        The retraining controller (``history``, ``failures``, ``timings``), when a model is used.
    allocate_step, forecast_step : Allocate or Forecast or None
        The pipeline's allocation and forecast steps (``forecast_step.forecasts`` maps each
        rebalance date to its forecast).
    timings : dict
        Seconds spent in the allocator (``"allocating"``); training and predicting are in
        ``retrainer.timings``.
    sleeve : Sleeve or None
        This strategy's own cash and positions inside the account (with ``capital``), else None.

    Notes
    -----
    Commission and slippage are whatever the broker is set up with (``cerebro.broker.setcommission``,
    ``set_slippage_perc``: on close-only feeds only with ``slip_out=True``); a sizer is not used,
    the strategy sizes its own orders (:func:`~seqfolio.strategies.broker_settings.note_broker_settings`
    warns about both). A feed with a gap on bar t cannot be traded at t; its position is left
    alone then and excluded from the value the targets apply to. A subclass that overrides
    ``next``, ``prenext``, ``notify_order`` or ``notify_timer`` must call ``super()`` there
    (:mod:`~seqfolio.strategies.subclassing`; a missed call raises).
    """

    params = (
        ("spec", None),
        *((name, setting_default(name)) for name in _SETTINGS),
        ("start", None),
        ("feeds", None),
        ("checkpoint_dir", None),
        ("progress", False),
    )

    def __init__(self) -> None:
        p = self.p
        self.spec = self._spec()
        spec = self.spec
        self.start_date = naive_date(p.start, "start", _OWNER)
        if not self.datas:
            raise ValueError(f"{_OWNER} needs at least one data feed; add feeds to cerebro first.")
        if self.env.p.cheat_on_open or getattr(self.broker.p, "coc", False):
            raise ValueError(
                f"{_OWNER} decides on bar t's close and fills at bar t+1: cheat-on-open "
                "(Cerebro(cheat_on_open=True)) or cheat-on-close (broker.set_coc(True)) would fill "
                "at bar t's own price, seen before the decision is made. Turn them off."
            )
        chosen = select_feeds(self.datas, p.feeds, _OWNER)
        all_names = feed_names(self.datas)
        self.feeds: list[Any] = [self.datas[i] for i in chosen]
        self.assets: list[str] = [all_names[i] for i in chosen]
        if len(set(self.assets)) != len(self.assets):
            raise ValueError(f"{_OWNER}: feed names must be unique; got {self.assets}.")
        self._every_feed = len(chosen) == len(self.datas)
        self._by_name = dict(zip(self.assets, self.feeds, strict=True))
        # the cerebro's other RebalanceStrategy instances built so far in this run
        peers = [
            s for s in getattr(self.env, "runningstrats", []) if isinstance(s, RebalanceStrategy)
        ]
        check_shared_account(self, peers, dict(zip(map(id, self.datas), all_names, strict=True)))
        self.sleeve = None if spec.capital is None else Sleeve(self.broker, spec.capital, _OWNER)
        note_broker_settings(self, len(getattr(self.env, "runningstrats", [])))
        self.timings: dict[str, float] = {"allocating": 0.0}
        # before the rebalance timer, so that a retrain on the same bar runs first
        self.retrainer = self._build_retrainer()
        self.steps: list[Step] = self.build_steps()
        # truncated line buffers (exactbars >= 1) cannot be read back: copy every bar instead
        record = int(getattr(self.cerebro.p, "exactbars", 0) or 0) >= 1
        self.history = CloseHistory(self.feeds, self.assets, self.history_length(), record=record)
        self.bar_check = BarCheck(self.feeds, self.assets, _OWNER)  # bad prices and timestamps
        self.records: list[RebalanceRecord] = []
        self.order_book = OrderBook(
            self, retry_rejected=spec.retry_rejected, cash_buffer=spec.cash_buffer,
            fractional=spec.fractional, sleeve=self.sleeve,
        )  # fmt: skip
        self._events: list[Event] = []
        self._delisted: set[str] = set()
        self._skips_reported = False
        self.timer_fires = 0
        self._unsettled: RebalanceRecord | None = None
        self._finished = False
        # what the subclassing checks compare: the bar next() last ran on, the fire it last saw
        self._next_len = 0
        self._timer_when: Any = None
        # on the traded feeds' sessions only: an index feed's extra days must not move a decision
        sessions = None if self._every_feed else self.feeds
        self._timer = add_schedule_timer(self, spec.rebalance, sessions, action="rebalance")

    # -- parts ----------------------------------------------------------------------------------
    def _spec(self) -> RebalanceSpec:
        """The decision settings: ``spec=``, or the params of the same names (not both)."""
        p = self.p
        given = {name: getattr(p, name) for name in _SETTINGS}
        if p.spec is None:
            return RebalanceSpec.from_settings(given, owner=_OWNER)
        changed = {k: v for k, v in given.items() if not _is_default(k, v)}
        return as_spec(p.spec, changed, _OWNER)

    def _build_retrainer(self) -> Retrainer | None:
        """The retraining controller of the spec's walk-forward model (a signal's forecaster or a
        trained allocator), else None; the allocator fitted at each rebalance otherwise."""
        p, spec = self.p, self.spec
        model = spec.make_model(owner=_OWNER)
        self.allocator = model if spec.trains_allocator else spec.make_allocator(_OWNER)
        if model is None:
            return None
        return Retrainer(
            self, model, datas=self.feeds, retrain=spec.retrain, train_window=spec.train_window,
            warm_start=spec.warm_start, checkpoint_dir=p.checkpoint_dir, start=self.start_date,
            progress=p.progress, owner=_OWNER,
        )  # fmt: skip

    def build_steps(self) -> list[Step]:
        """The rebalancing pipeline; override (or extend the list) to add forecast or overlay steps.

        Default (:func:`~seqfolio.pipeline.build_steps`): ``TrailingReturns -> Allocate ->
        CapWeights``; with a ``signal`` a ``Forecast`` step runs before ``Allocate`` and
        ``ScaleExposure`` last; with a trained allocator, ``ModelWeights`` replaces ``Allocate``.
        """
        return build_steps(
            self.spec, allocator=self.allocator, source=self.retrainer, timings=self.timings
        )

    def history_length(self) -> int:
        """How many bars of closes to keep (``lookback + 1``, or more if the model needs more, and
        ``max_gap`` bars before them to bridge a gap at the window's start)."""
        return history_length(self.spec, self.retrainer)

    def _step(self, kind: type) -> Any:
        for step in self.steps:
            inner = getattr(step, "step", step)  # unwrapped from Timed
            if isinstance(inner, kind):
                return inner
        return None

    @property
    def allocate_step(self) -> Allocate | None:
        """The pipeline's ``Allocate`` step, or None if it has none (e.g. with an allocator trained walk-forward)."""
        return self._step(Allocate)

    @property
    def forecast_step(self) -> Forecast | None:
        """The pipeline's ``Forecast`` step, or None without a ``signal``."""
        return self._step(Forecast)

    @property
    def model_weights_step(self) -> ModelWeights | None:
        """The pipeline's ``ModelWeights`` step (a trained allocator's), or None."""
        return self._step(ModelWeights)

    @property
    def walkforward(self) -> Retrainer | None:
        """The name :attr:`retrainer` had before 0.2."""
        return self.retrainer

    # -- what happened (derived from the event log and the order book) ------------------------
    @property
    def events(self) -> list[Event]:
        """Every event of the run, the retrainer's included, in date order."""
        merged = self._events + (list(self.retrainer.events) if self.retrainer else [])
        return sorted(merged, key=lambda e: e.date)

    def events_table(self) -> pd.DataFrame:
        """:attr:`events` as a table (``date``, ``kind``, ``reason``)."""
        return events_table(self.events)

    skipped = property(lambda self: of_kind(self._events, "skipped", "allocation_failed",
                                            "forecast_failed"))  # fmt: skip
    allocation_failures = property(lambda self: of_kind(self._events, "allocation_failed"))
    forecast_failures = property(lambda self: of_kind(self._events, "forecast_failed"))
    fallbacks = property(lambda self: of_kind(self._events, "fallback"))
    delistings = property(lambda self: of_kind(self._events, "delisted"))
    retrain_failures = property(
        lambda self: [] if self.retrainer is None else self.retrainer.failures
    )
    orders_log = property(lambda self: self.order_book.log)
    n_rejected = property(lambda self: self.order_book.n_rejected)

    def prices(self) -> pd.DataFrame:
        """Closes kept so far (the last :meth:`history_length` bars), NaN where a feed had no bar."""
        return self.history.prices()

    # -- bars ----------------------------------------------------------------------------------
    def prenext(self) -> None:
        self.next()

    def next(self) -> None:
        self._next_len = len(self)
        # the strategy's clock is the newest datetime over all its feeds (Strategy._clk_update);
        # with a selection of feeds, the newest over the selection
        self.history.snapshot(self.lines.datetime[0] if self._every_feed else None)
        if self.history.record:  # truncated buffers: check each bar while it is readable
            self.bar_check.check()
        value = self.broker.getvalue()
        if value != value:  # NaN: a feed has a NaN close (backtrader values positions at the close)
            self._raise_nan_close()
        if getattr(self._timer, "lastwhen", None) is not self._timer_when:
            raise missed_notify_timer(self, self._timer.lastwhen)
        record = self._unsettled
        if record is not None:
            if self.order_book.is_settled(record):
                self._settle(record)
            elif (lost := self.order_book.unreported(record)) is not None:
                raise missed_notify_order(self, lost.asset, record.date.date(), lost.status)

    def notify_order(self, order: bt.Order) -> None:
        self.order_book.notify(order)

    # -- rebalancing ----------------------------------------------------------------------------
    def notify_timer(self, timer: Any, when: Any, *args: Any, **kwargs: Any) -> None:
        if self._next_len != len(self):  # the strategy's clock stands at the previous bar here
            raise missed_next(self, RebalanceStrategy, self.datetime.date(0))
        if timer is self._timer:
            self._timer_when = when
        if self.retrainer is not None and self.retrainer.notify_timer(timer, when, *args, **kwargs):
            return
        if kwargs.get("action") != "rebalance":
            return
        self.timer_fires += 1
        now = self.history.snapshot()
        if now is None:
            return
        date = pd.Timestamp(bt.num2date(now))
        if self.start_date is not None and date < self.start_date:
            return
        self.rebalance(date, now)

    def rebalance(self, date: pd.Timestamp, now: float) -> RebalanceRecord | None:
        """Decide on closes up to ``date`` and submit the orders; return the record (None if skipped)."""
        self.bar_check.check()
        self.order_book.cancel_open()
        tradable = [a for a, ok in zip(self.assets, self.history.ticked(now), strict=True) if ok]
        prices, listed = self.history.window()
        ctx = run_steps(
            self.steps,
            RebalanceContext(date=date, prices=prices, tradable=tradable, listed_earlier=listed),
        )
        self._events.extend(ctx.events)
        if ctx.skip_reason is None and ctx.weights is not None:
            return self._trade(date, now, tradable, ctx.weights)
        logger.debug("%s: rebalance skipped: %s", date.date(), ctx.skip_reason)
        return None

    def _trade(
        self, date: pd.Timestamp, now: float, tradable: list[str], weights: pd.Series
    ) -> RebalanceRecord | None:
        """Size and submit the orders that move the portfolio to ``weights`` (decided at ``date``)."""
        live = [self._by_name[a] for a in tradable]
        sizes = np.array([self.getposition(d).size for d in live], dtype=float)
        closes = np.array([d.close[0] for d in live], dtype=float)
        if not np.isfinite(closes).all():
            self._raise_nan_close()
        held = sizes != 0
        # Series built from arrays (not by pandas arithmetic and masking): this runs per rebalance
        positions = pd.Series(
            sizes[held], index=[a for a, h in zip(tradable, held, strict=True) if h]
        )
        prices = pd.Series(closes, index=tradable)
        cash_outs, _ = self._untradable_positions(date, now, set(tradable))
        commission = self._commission
        released = sum(size * price for _, size, price in cash_outs)
        fees = sum(abs(commission(a, -size, price)) for a, size, price in cash_outs)
        held_value = float((sizes * closes).sum())
        if self.sleeve is not None:
            self.sleeve.check_positions(self.feeds, self.assets)
        cash = (
            (self.broker.getcash() if self.sleeve is None else self.sleeve.cash) + released - fees
        )
        value = cash + fees + held_value
        if value <= 0:
            reason = f"capital: no value left to manage ({value:,.2f}) after untradable positions"
            self._events.append(Event(date, "skipped", reason))
            logger.warning("%s: rebalance skipped: %s", date.date(), reason, extra=DETAILS_EVENTS)
            return None
        planned = plan_orders(
            targets=weights, positions=positions, prices=prices, cash=cash,
            value=value, cash_buffer=self.spec.cash_buffer, min_trade=self.spec.min_trade,
            fractional=self.spec.fractional, commission=commission,
        )  # fmt: skip
        record = RebalanceRecord(date=date, target=weights.copy(), value=value)
        self.records.append(record)
        book = self.order_book
        for asset, size, price in cash_outs:  # a delisted feed never ticks again: its last close
            book.submit(
                record, self._by_name[asset], asset, -size, price=price,
                exectype=bt.Order.Historical, histnotify=True,
            )  # fmt: skip
        for item in planned:
            book.submit(record, self._by_name[item.asset], item.asset, item.size)
        if self._unsettled is not None:
            self._settle(self._unsettled)
        self._unsettled = record
        return record

    def _commission(self, asset: str, size: float, price: float) -> float:
        info = self.broker.getcommissioninfo(self._by_name[asset])
        return float(info.getcommission(size, price))

    def _untradable_positions(
        self, date: pd.Timestamp, now: float, tradable: set[str], at_end: bool = False
    ) -> tuple[list[tuple[str, float, float]], float]:
        """Held feeds without a bar at ``date``: the delisted ones to cash out (``delisted="cash"``)
        as (asset, shares, last close), and the value of the rest (gaps; delisted under "hold").
        ``at_end``: the run is over, nothing will be sold (the events say so)."""
        cash_outs: list[tuple[str, float, float]] = []
        stuck = 0.0
        for asset, data in self._by_name.items():
            if asset in tradable:
                continue
            size = self.getposition(data).size
            if not size:
                continue
            price = float(data.close[0])
            ended = self._note_delisting(date, now, asset, data, size, price, at_end)
            if ended and self.spec.delisted == "cash":
                cash_outs.append((asset, size, price))
            else:
                stuck += size * price
        return cash_outs, stuck

    def _note_delisting(
        self,
        date: pd.Timestamp,
        now: float,
        asset: str,
        data: Any,
        size: float,
        price: float,
        at_end: bool = False,
    ) -> bool:
        """Whether ``data`` has ended; the first time, record the event and warn."""
        if not feed_has_ended(data, now):
            return False
        if asset in self._delisted:
            return True
        self._delisted.add(asset)
        last = pd.Timestamp(bt.num2date(data.lines.datetime[0])).date()
        value = self.broker.getvalue()
        share = f" ({size * price / value:.1%} of the portfolio)" if value > 0 else ""
        policy = self.spec.delisted
        if at_end:  # it ended after the last rebalance: nothing was sold
            why = "no rebalance came after the feed ended to sell it, " if policy == "cash" else ""
            what = f"still held at the end of the run at its last close {price:.4g} "
            what += f"({size:g} shares; {why}delisted={policy!r})"
        elif self.spec.delisted == "cash":
            what = f"sold {size:g} shares at its last close {price:.4g} (delisted='cash')"
        else:
            what = f"kept at its last close {price:.4g} for the rest of the run (delisted='hold')"
        reason = f"{asset}: feed ended on {last} while held{share}; {what}"
        self._events.append(Event(date, "delisted", reason))
        logger.warning("%s: %s", date.date(), reason, extra=DETAILS_EVENTS)
        return True

    def _raise_nan_close(self) -> None:
        """Name the feed and date of a NaN close (backtrader would value the portfolio at NaN)."""
        for name, data in zip(feed_names(self.datas), self.datas, strict=True):
            if len(data) and data.close[0] != data.close[0]:
                raise nan_close_error(_OWNER, name, data.lines.datetime[0])
        raise ValueError(f"{_OWNER}: the broker's portfolio value is NaN.")

    def _settle(self, record: RebalanceRecord) -> None:
        """Fill in realised weights, turnover and fill date once a rebalance's orders are done."""
        value = self.broker.getvalue() if self.sleeve is None else self.sleeve.value()
        held = {}
        for name, data in zip(self.assets, self.feeds, strict=True):
            size = self.getposition(data).size
            if size or name in record.target.index:
                held[name] = size * data.close[0] / value if value else 0.0
        record.realised = pd.Series(held, name="weight", dtype=float)
        record.fill_date = pd.Timestamp(bt.num2date(self.history.now()))
        if self._unsettled is record:
            self._unsettled = None

    def _stop(self) -> None:
        # backtrader's Strategy._stop runs stop() and then the analyzers' stop: the books are
        # closed first, so that they are complete whether or not a subclass's stop() calls super()
        self._finish()
        super()._stop()

    def stop(self) -> None:
        self._finish()

    def _finish(self) -> None:
        """The end-of-run bookkeeping (once): open orders cancelled, the last rebalance settled,
        the retrainer closed, the summaries logged."""
        if self._finished:
            return
        self._finished = True
        if not self.history.record:  # the bars after the last rebalance
            self.bar_check.check()
        self.order_book.close()
        if self._unsettled is not None:
            self._settle(self._unsettled)
        if self.retrainer is not None:
            self.retrainer.close()
        # a feed that ended after the last rebalance is still held at its close: say so too
        # (exactbars >= 1 leaves the feeds' line buffers unreadable by now)
        with contextlib.suppress(IndexError):
            now = self.history.now()
            if now is not None:
                self._untradable_positions(pd.Timestamp(bt.num2date(now)), now, set(), True)
        self._report_skipped()
        self._report_gaps()
        if self.n_rejected:  # each was a warning already: the count is a detail
            logger.info(
                "%d order(s) were rejected by the broker (each logged as a warning); every order "
                "and how it ended: the strategy's orders_log", self.n_rejected,
            )  # fmt: skip

    def _report_gaps(self) -> None:
        """One warning naming the assets whose gaps were bridged or that a long gap left out."""
        step = self._step(TrailingReturns)
        if step is None:
            return
        owner = type(self).__name__
        if step.bridged:
            logger.warning(
                "%s: gaps of at most %d bars bridged for %s (first on %s): the return over a gap "
                "falls on the bar after it",
                owner, step.max_gap, sorted(step.bridged), min(step.bridged.values()).date(),
            )  # fmt: skip
        if step.dropped:
            logger.warning(
                "%s: %s left out of rebalances for gaps longer than max_gap=%d bars (first on %s)",
                owner, sorted(step.dropped), step.max_gap, min(step.dropped.values()).date(),
            )  # fmt: skip

    def _report_skipped(self) -> None:
        """Log the skipped rebalances once, at the end of the run (each one was logged at DEBUG).

        Skips during the expected warm-up (too little history for the lookback, or a walk-forward
        rebalance waiting for its first trained model) get an INFO line, as long as the run traded
        afterwards. Any other skip, or a run that never traded, gets one warning with the count and
        the first reason that is not a warm-up.
        """
        skips = [e for e in self._events if e.is_skip]
        if not skips or self._skips_reported:
            return
        self._skips_reported = True
        owner = type(self).__name__
        scheduled = len(skips) + len(self.records)
        others = [e for e in skips if not e.is_warm_up]
        if not others and self.records:
            logger.info(
                "%s: %d of %d scheduled rebalances skipped during warm-up (%s .. %s; %s)",
                owner, len(skips), scheduled, skips[0].date.date(), skips[-1].date.date(),
                skips[0].reason,
            )  # fmt: skip
            return
        first = (others or skips)[0]
        n_warm = len(skips) - len(others)
        also = f", {n_warm} of them during warm-up" if others and n_warm else ""
        logger.warning(
            "%s: %d of %d scheduled rebalances were skipped (portfolio left as it was%s); first: %s %s",
            owner, len(skips), scheduled, also, first.date.date(), first.reason,
            extra=DETAILS_EVENTS,
        )  # fmt: skip

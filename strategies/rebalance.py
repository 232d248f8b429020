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

from seqfolio import defaults
from seqfolio._validation import check_bool, check_choice, check_int, check_real
from seqfolio.allocators import make_allocator
from seqfolio.calendar import check_schedule, naive_date
from seqfolio.events import DETAILS_EVENTS, Event, events_table, of_kind
from seqfolio.pipeline import (
    Allocate,
    Forecast,
    ModelWeights,
    RebalanceContext,
    Step,
    TrailingReturns,
    build_steps,
    check_train_window,
    history_length,
    is_weights_model,
    run_steps,
)
from seqfolio.strategies.execution import plan_orders
from seqfolio.strategies.feeds import feed_has_ended, feed_names, select_feeds
from seqfolio.strategies.history import CloseHistory
from seqfolio.strategies.orders import OrderBook
from seqfolio.strategies.records import RebalanceRecord
from seqfolio.strategies.retraining import Retrainer
from seqfolio.strategies.schedules import add_schedule_timer

__all__ = ["DELISTED_POLICIES", "RebalanceStrategy", "check_strategy_params"]

logger = logging.getLogger("seqfolio.strategies")

_OWNER = "RebalanceStrategy"
DELISTED_POLICIES: tuple[str, ...] = ("cash", "hold")
"""What happens to a position in a feed that has ended: sold at its last close, or kept."""


def check_strategy_params(
    *,
    lookback: Any = defaults.LOOKBACK,
    rebalance: Any = defaults.REBALANCE,
    min_trade: Any = 0.0,
    cash_buffer: Any = defaults.CASH_BUFFER,
    max_weight: Any = None,
    fractional: Any = False,
    retry_rejected: Any = True,
    capital: Any = None,
    delisted: Any = "cash",
    max_gap: Any = 5,
) -> None:
    """Validate RebalanceStrategy's own params without a cerebro (the CLI checks options with it).

    Raises
    ------
    ValueError
        ``The 'lookback' parameter of RebalanceStrategy must be an int >= 2. Got 1 instead.`` and
        the same template for the others.
    """
    check_int(_OWNER, "lookback", lookback, low=2)
    check_schedule(_OWNER, "rebalance", rebalance)
    check_real(_OWNER, "min_trade", min_trade, low=0.0, high=1.0, high_open=True)
    check_real(_OWNER, "cash_buffer", cash_buffer, low=0.0, high=0.5, high_open=True)
    check_real(_OWNER, "max_weight", max_weight, low=0.0, high=1.0, low_open=True, allow_none=True)
    check_real(_OWNER, "capital", capital, low=0.0, high=1.0, low_open=True, allow_none=True)
    check_bool(_OWNER, "fractional", fractional)
    check_bool(_OWNER, "retry_rejected", retry_rejected)
    check_choice(_OWNER, "delisted", delisted, DELISTED_POLICIES)
    check_int(_OWNER, "max_gap", max_gap, low=0)


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
    allocator : allocator instance or str, default None
        Any seqfolio allocator (cloned and refitted at each rebalance) or a short name from
        ``seqfolio.allocators.ALLOCATORS``; None means ``HRP()``.
    lookback : int, default 252
        Number of returns the allocator sees (``lookback + 1`` closes). A bar is a bar of the feeds:
        on weekly resampled feeds, 52 is a year.
    rebalance : {"monthly", "weekly", "quarterly", "daily"} or callable, default "monthly"
        The schedule; a callable gets each bar's ``datetime.date`` and returns a bool.
    min_trade : float, default 0.0
        Skip a trade whose weight change is below this (full exits are always made).
    cash_buffer : float, default 0.02
        Fraction of the tradable value kept in cash so next-bar price moves do not overdraw cash.
    max_weight : float or None, default None
        Cap on any asset's weight (excess goes to the other assets; with too few assets it stays cash).
    fractional : bool, default False
        Trade fractional shares instead of whole shares.
    start : date-like or None, default None
        No rebalance before this date (history before it is still used for the lookback).
    retry_rejected : bool, default True
        When the broker rejects a buy for lack of cash (``Margin``: the price rose more than the cash
        buffer between t and t+1), resubmit it once at t+1, shrunk to the cash then available; it
        fills at t+2. The rejection is still counted.
    feeds : list of str or data feeds, or None, default None
        The feeds to trade (names given to ``cerebro.adddata`` or the feed objects); None trades
        every feed of the cerebro. Leave out a benchmark or index feed, or the feeds another
        strategy trades (docs/backtrader.md, "Habits that work").
    capital : float in (0, 1] or None, default None
        Share of the broker's value this strategy manages: targets apply to ``capital`` times the
        broker's value (cash and every position), and buys use at most the cash that share leaves.
        None manages all the broker's cash plus this strategy's own positions (one strategy alone).
    delisted : {"cash", "hold"}, default "cash"
        A position in a feed that has ended (its asset delisted): ``"cash"`` sells it at its last
        close at the next rebalance (filled with the rebalance's other orders, commission charged;
        the research evaluator does the same); ``"hold"`` keeps it at its last close for the rest
        of the run, outside the value the targets apply to. Either way a warning is logged and a
        ``delisted`` event recorded.
    max_gap : int, default 5
        Gaps of at most this many bars inside an asset's lookback window are bridged (its last
        close carried over; the return over the gap falls on the bar after it), so a blank day does
        not drop the asset from every rebalance whose window holds it; longer gaps drop it from
        those rebalances. 0 bridges nothing. One warning at the end of the run names the assets.
    signal : forecaster or None, default None
        A walk-forward model whose forecast feeds the allocator, e.g.
        ``LSTMForecaster(target="volatility")``: volatility -> ``covariance`` (with the trailing
        correlation), return -> ``expected_returns``, regime / drawdown -> gross exposure (the rest is
        cash), correlation -> a shrunk correlation (:mod:`seqfolio.pipeline.forecasts`). An
        ``LSTMAllocator`` passed as ``allocator=`` is walk-forward too: retrained on ``retrain`` and
        applied to the latest returns at every rebalance.
    retrain : str or callable, default "quarterly"
        When the model is retrained (anything ``rebalance`` accepts), in ``notify_timer`` on closes up
        to the current bar only. Rebalances before the first successful training are skipped.
    train_window : int or "expanding", default 756
        Bars of closes per retrain.
    warm_start : bool, default False
        Continue each retrain from the previous model.
    checkpoint_dir : str or path or None, default None
        Save every retrained model there; a rerun with the same arguments resumes from them.
    progress : bool, default False
        A tqdm bar counting retrains.
    exposure_floor, exposure_threshold : float, default 0.25, 0.5
        :func:`~seqfolio.signals.exposure_multiplier`'s parameters (regime / drawdown signals).

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
        delistings. ``skipped``, ``allocation_failures``, ``forecast_failures``, ``fallbacks``,
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

    Notes
    -----
    Commission and slippage are whatever the broker is set up with (``cerebro.broker.setcommission``,
    ``set_slippage_perc``). A feed with a gap on bar t cannot be traded at t; its position is left
    alone then and excluded from the value the targets apply to.
    """

    params = dict(
        allocator=None,
        lookback=defaults.LOOKBACK,
        rebalance=defaults.REBALANCE,
        min_trade=0.0,
        cash_buffer=defaults.CASH_BUFFER,
        max_weight=None,
        fractional=False,
        start=None,
        retry_rejected=True,
        feeds=None,
        capital=None,
        delisted="cash",
        max_gap=5,
        signal=None,
        retrain=defaults.RETRAIN,
        train_window=defaults.TRAIN_BARS,
        warm_start=False,
        checkpoint_dir=None,
        progress=False,
        exposure_floor=0.25,
        exposure_threshold=0.5,
    )

    def __init__(self) -> None:
        p = self.p
        self.allocator = make_allocator(p.allocator, owner=_OWNER)
        check_strategy_params(
            lookback=p.lookback, rebalance=p.rebalance, min_trade=p.min_trade,
            cash_buffer=p.cash_buffer, max_weight=p.max_weight, fractional=p.fractional,
            retry_rejected=p.retry_rejected, capital=p.capital, delisted=p.delisted,
            max_gap=p.max_gap,
        )  # fmt: skip
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
        self.timings: dict[str, float] = {"allocating": 0.0}
        # before the rebalance timer, so that a retrain on the same bar runs first
        self.retrainer = self._build_retrainer()
        self.steps: list[Step] = self.build_steps()
        # truncated line buffers (exactbars >= 1) cannot be read back: copy every bar instead
        record = int(getattr(self.cerebro.p, "exactbars", 0) or 0) >= 1
        self.history = CloseHistory(self.feeds, self.assets, self.history_length(), record=record)
        self.records: list[RebalanceRecord] = []
        self.order_book = OrderBook(
            self, retry_rejected=p.retry_rejected, cash_buffer=p.cash_buffer,
            fractional=p.fractional,
        )  # fmt: skip
        self._events: list[Event] = []
        self._delisted: set[str] = set()
        self._skips_reported = False
        self.timer_fires = 0
        self._unsettled: RebalanceRecord | None = None
        add_schedule_timer(self, p.rebalance, action="rebalance")

    # -- parts ----------------------------------------------------------------------------------
    def _build_retrainer(self) -> Retrainer | None:
        """The retraining controller for ``signal`` or an ``LSTMAllocator`` allocator (else None)."""
        p = self.p
        signal = p.signal
        if signal is not None:
            if isinstance(signal, type) or not (
                hasattr(signal, "fit") and hasattr(signal, "predict")
            ):
                raise TypeError(
                    f"The 'signal' parameter of {_OWNER} must be a forecaster instance such as "
                    f"LSTMForecaster(target='volatility'). Got {signal!r} instead."
                )
            if is_weights_model(signal):
                raise TypeError(
                    f"The 'signal' parameter of {_OWNER} got an LSTMAllocator, which outputs "
                    "weights: pass it as allocator= instead."
                )
            if is_weights_model(self.allocator):
                raise ValueError(
                    f"{_OWNER}: signal= cannot be combined with allocator=LSTMAllocator(...); the "
                    "direct-weights model does not read forecasts."
                )
            model = signal
        elif is_weights_model(self.allocator):
            model = self.allocator
        else:
            check_train_window(_OWNER, p.train_window)  # validate even when unused
            return None
        return Retrainer(
            self, model, datas=self.feeds, retrain=p.retrain, train_window=p.train_window,
            warm_start=p.warm_start, checkpoint_dir=p.checkpoint_dir, start=self.start_date,
            progress=p.progress, owner=_OWNER,
        )  # fmt: skip

    def build_steps(self) -> list[Step]:
        """The rebalancing pipeline; override (or extend the list) to add forecast or overlay steps.

        Default (:func:`~seqfolio.pipeline.build_steps`): ``TrailingReturns -> Allocate ->
        CapWeights``; with a ``signal`` a ``Forecast`` step runs before ``Allocate`` and
        ``ScaleExposure`` last; with an ``LSTMAllocator``, ``ModelWeights`` replaces ``Allocate``.
        """
        p = self.p
        wf = self.retrainer
        return build_steps(
            allocator=self.allocator, lookback=p.lookback, max_weight=p.max_weight,
            max_gap=p.max_gap, source=wf, weights_model=wf is not None and is_weights_model(wf.template),
            exposure_floor=p.exposure_floor, exposure_threshold=p.exposure_threshold,
            timings=self.timings,
        )  # fmt: skip

    def history_length(self) -> int:
        """How many bars of closes to keep (``lookback + 1``, or more if the model needs more)."""
        return history_length(self.p.lookback, self.retrainer)

    def _step(self, kind: type) -> Any:
        for step in self.steps:
            inner = getattr(step, "step", step)  # unwrapped from Timed
            if isinstance(inner, kind):
                return inner
        return None

    @property
    def allocate_step(self) -> Allocate | None:
        """The pipeline's ``Allocate`` step, or None if it has none (e.g. with an LSTMAllocator)."""
        return self._step(Allocate)

    @property
    def forecast_step(self) -> Forecast | None:
        """The pipeline's ``Forecast`` step, or None without a ``signal``."""
        return self._step(Forecast)

    @property
    def model_weights_step(self) -> ModelWeights | None:
        """The pipeline's ``ModelWeights`` step (an ``LSTMAllocator``), or None."""
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
        # the strategy's clock is the newest datetime over all its feeds (Strategy._clk_update);
        # with a selection of feeds, the newest over the selection
        self.history.snapshot(self.lines.datetime[0] if self._every_feed else None)
        value = self.broker.getvalue()
        if value != value:  # NaN: a feed has a NaN close (backtrader values positions at the close)
            self._raise_nan_close()
        if self._unsettled is not None and self.order_book.is_settled(self._unsettled):
            self._settle(self._unsettled)

    def notify_order(self, order: bt.Order) -> None:
        self.order_book.notify(order)

    # -- rebalancing ----------------------------------------------------------------------------
    def notify_timer(self, timer: Any, when: Any, *args: Any, **kwargs: Any) -> None:
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
        self.order_book.cancel_open()
        tradable = [a for a, ok in zip(self.assets, self.history.ticked(now), strict=True) if ok]
        ctx = run_steps(
            self.steps, RebalanceContext(date=date, prices=self.prices(), tradable=tradable)
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
        cash_outs, stuck = self._untradable_positions(date, now, set(tradable))
        commission = self._commission
        released = sum(size * price for _, size, price in cash_outs)
        fees = sum(abs(commission(a, -size, price)) for a, size, price in cash_outs)
        held_value = float((sizes * closes).sum())
        cash = self.broker.getcash() + released - fees
        value = cash + fees + held_value
        if self.p.capital is not None:
            value = float(self.p.capital) * self.broker.getvalue() - stuck
            cash = min(cash, max(value - held_value, 0.0))
        if value <= 0:
            reason = f"capital: no value left to manage ({value:,.2f}) after untradable positions"
            self._events.append(Event(date, "skipped", reason))
            logger.warning("%s: rebalance skipped: %s", date.date(), reason, extra=DETAILS_EVENTS)
            return None
        planned = plan_orders(
            targets=weights, positions=positions, prices=prices, cash=cash,
            value=value, cash_buffer=self.p.cash_buffer, min_trade=self.p.min_trade,
            fractional=self.p.fractional, commission=commission,
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
        self, date: pd.Timestamp, now: float, tradable: set[str]
    ) -> tuple[list[tuple[str, float, float]], float]:
        """Held feeds without a bar at ``date``: the delisted ones to cash out (``delisted="cash"``)
        as (asset, shares, last close), and the value of the rest (gaps; delisted under "hold")."""
        cash_outs: list[tuple[str, float, float]] = []
        stuck = 0.0
        for asset, data in self._by_name.items():
            if asset in tradable:
                continue
            size = self.getposition(data).size
            if not size:
                continue
            price = float(data.close[0])
            ended = self._note_delisting(date, now, asset, data, size, price)
            if ended and self.p.delisted == "cash":
                cash_outs.append((asset, size, price))
            else:
                stuck += size * price
        return cash_outs, stuck

    def _note_delisting(
        self, date: pd.Timestamp, now: float, asset: str, data: Any, size: float, price: float
    ) -> bool:
        """Whether ``data`` has ended; the first time, record the event and warn."""
        if not feed_has_ended(data, now, bool(self.env._dopreload)):
            return False
        if asset in self._delisted:
            return True
        self._delisted.add(asset)
        last = pd.Timestamp(bt.num2date(data.lines.datetime[0])).date()
        value = self.broker.getvalue()
        share = f" ({size * price / value:.1%} of the portfolio)" if value > 0 else ""
        if self.p.delisted == "cash":
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
                day = pd.Timestamp(bt.num2date(data.lines.datetime[0])).date()
                raise ValueError(
                    f"{_OWNER}: feed {name!r} has a NaN close on {day}; backtrader values every "
                    "position at the close, so the portfolio value would be NaN. Leave the rows "
                    "without a price out of that feed's data (e.g. frame.dropna()), or build the "
                    "feeds with seqfolio.strategies.add_price_feeds, which does."
                )
        raise ValueError(f"{_OWNER}: the broker's portfolio value is NaN.")

    def _settle(self, record: RebalanceRecord) -> None:
        """Fill in realised weights, turnover and fill date once a rebalance's orders are done."""
        value = self.broker.getvalue()
        held = {}
        for name, data in zip(self.assets, self.feeds, strict=True):
            size = self.getposition(data).size
            if size or name in record.target.index:
                held[name] = size * data.close[0] / value if value else 0.0
        record.realised = pd.Series(held, name="weight", dtype=float)
        record.fill_date = pd.Timestamp(bt.num2date(self.history.now()))
        if self._unsettled is record:
            self._unsettled = None

    def stop(self) -> None:
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
                self._untradable_positions(pd.Timestamp(bt.num2date(now)), now, set())
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

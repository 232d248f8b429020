"""RebalanceStrategy: refit an allocator on a schedule and trade to its weights."""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import math
from numbers import Integral, Real
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

from seqfolio.strategies.execution import plan_orders
from seqfolio.strategies.feeds import feed_has_ended, feed_names, naive_timestamp, select_feeds
from seqfolio.strategies.forecast_steps import NO_MODEL
from seqfolio.strategies.lstm_rebalance import (
    WALKFORWARD_PARAMS,
    build_walkforward,
    walkforward_history,
    walkforward_steps,
)
from seqfolio.strategies.pipeline import (
    Allocate,
    RebalanceContext,
    Step,
    TrailingReturns,
    run_steps,
)
from seqfolio.strategies.records import OrderEvent, RebalanceRecord
from seqfolio.strategies.schedules import add_schedule_timer, check_schedule

__all__ = ["RebalanceStrategy", "check_strategy_params", "resolve_allocator"]

logger = logging.getLogger("seqfolio.strategies")

_OWNER = "RebalanceStrategy"
DELISTED_POLICIES: tuple[str, ...] = ("cash", "hold")
"""What happens to a position in a feed that has ended: sold at its last close, or kept."""
_EPOCH = bt.date2num(dt.datetime(1970, 1, 1))  # backtrader's float date of the Unix epoch


def resolve_allocator(allocator: Any, owner: str = _OWNER) -> Any:
    """An allocator instance from an instance or a short name (``"hrp"``, ``"herc"``, ...).

    Raises
    ------
    ValueError
        For an unknown name.
    TypeError
        For an object that is not a scikit-learn style allocator (no ``fit`` / ``get_params``).
    """
    from seqfolio.allocators import ALLOCATORS, HRP

    if allocator is None:
        return HRP()
    if isinstance(allocator, str):
        key = allocator.strip().lower()
        if key not in ALLOCATORS:
            raise ValueError(
                f"The 'allocator' parameter of {owner} must be an allocator instance or one of "
                f"{sorted(ALLOCATORS)}. Got {allocator!r} instead."
            )
        return ALLOCATORS[key]()
    if isinstance(allocator, type):
        raise TypeError(
            f"The 'allocator' parameter of {owner} must be an allocator instance, e.g. "
            f"{allocator.__name__}(), not the class itself."
        )
    if not (hasattr(allocator, "fit") and hasattr(allocator, "get_params")):
        raise TypeError(
            f"The 'allocator' parameter of {owner} must be a seqfolio allocator (an estimator with "
            f"fit() and get_params()). Got {type(allocator).__name__} instead."
        )
    check = getattr(allocator, "check_params", None)
    if callable(check):
        check()  # a bad allocator parameter fails here, not as a skipped rebalance at every date
    return allocator


def _check_number(name: str, value: Any, low: float, high: float, *, low_open: bool = False,
                  high_open: bool = False, allow_none: bool = False) -> None:  # fmt: skip
    if value is None and allow_none:
        return
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    if not ok:
        lb, rb = ("(" if low_open else "["), (")" if high_open else "]")
        none = " or None" if allow_none else ""
        raise ValueError(
            f"The '{name}' parameter of {_OWNER} must be a number in {lb}{low}, {high}{rb}{none}. "
            f"Got {value!r} instead."
        )


def check_strategy_params(
    *,
    lookback: Any = 252,
    rebalance: Any = "monthly",
    min_trade: Any = 0.0,
    cash_buffer: Any = 0.02,
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
    if isinstance(lookback, bool) or not isinstance(lookback, Integral) or lookback < 2:
        raise ValueError(
            f"The 'lookback' parameter of {_OWNER} must be an int >= 2. Got {lookback!r} instead."
        )
    check_schedule(_OWNER, "rebalance", rebalance)
    _check_number("min_trade", min_trade, 0.0, 1.0, high_open=True)
    _check_number("cash_buffer", cash_buffer, 0.0, 0.5, high_open=True)
    _check_number("max_weight", max_weight, 0.0, 1.0, low_open=True, allow_none=True)
    _check_number("capital", capital, 0.0, 1.0, low_open=True, allow_none=True)
    if delisted not in DELISTED_POLICIES or not isinstance(delisted, str):
        raise ValueError(
            f"The 'delisted' parameter of {_OWNER} must be one of {list(DELISTED_POLICIES)}. "
            f"Got {delisted!r} instead."
        )
    if isinstance(max_gap, bool) or not isinstance(max_gap, Integral) or max_gap < 0:
        raise ValueError(
            f"The 'max_gap' parameter of {_OWNER} must be an int >= 0 (bars). Got {max_gap!r} instead."
        )
    for name, value in (("fractional", fractional), ("retry_rejected", retry_rejected)):
        if not isinstance(value, bool):
            raise ValueError(
                f"The '{name}' parameter of {_OWNER} must be a bool. Got {value!r} instead."
            )


class RebalanceStrategy(bt.Strategy):
    """Rebalance to an allocator's weights on a schedule; orders fill at the next bar.

    At each scheduled bar t (a ``SESSION_START`` timer, see :mod:`seqfolio.strategies.schedules`) the
    strategy takes the closes of every feed up to and including t, keeps the assets that have a bar at
    t and a price on every bar of the last ``lookback`` returns, fits a clone of ``allocator`` on those
    returns, applies the ``max_weight`` overlay and submits market orders — all sells, then all buys —
    which fill at bar t+1's open. With close-only feeds (:func:`~seqfolio.strategies.price_feeds`) that
    is t+1's close: nothing from after t is used to decide.

    Params
    ------
    allocator : allocator instance or str, default None
        Any seqfolio allocator (cloned and refitted at each rebalance) or a short name from
        ``seqfolio.allocators.ALLOCATORS``; None means ``HRP()``.
    lookback : int, default 252
        Number of daily returns the allocator sees (``lookback + 1`` closes).
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
    signal : forecaster or None, default None
        A walk-forward model whose forecast feeds the allocator, e.g.
        ``LSTMForecaster(target="volatility")``: volatility -> ``covariance`` (with the trailing
        correlation), return -> ``expected_returns``, regime / drawdown -> gross exposure (the rest is
        cash), correlation -> a shrunk correlation (:mod:`seqfolio.strategies.forecast_steps`). An
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
    skipped : list of (Timestamp, str)
        Scheduled rebalances that did not trade and why (warm-up, allocator failure, ...). Each is
        logged at DEBUG; :meth:`stop` logs one summary (a warning, or INFO if every skip was a
        walk-forward rebalance waiting for its first trained model).
    allocate_step : Allocate or None
        The pipeline's :class:`~seqfolio.strategies.Allocate` step (its ``failures`` and
        ``fallbacks``), None if the pipeline has none (e.g. with an ``LSTMAllocator``).
    n_rejected : int
        Orders the broker rejected (``Margin`` or ``Rejected``); also logged as warnings on the
        ``seqfolio.strategies`` logger.
    timer_fires : int
        How many times the rebalance timer fired.
    walkforward : WalkForward or None
        The retraining controller (``history``, ``failures``, ``timings``), when a model is used.
    forecast_step : Forecast or None
        The forecast step; ``forecast_step.forecasts`` maps each rebalance date to its forecast.
    timings : dict
        Seconds spent in the allocator (``"allocating"``); training and predicting are in
        ``walkforward.timings``.

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
        of the run, outside the value the targets apply to. Either way a warning is logged and the
        event recorded in ``delistings``.
    max_gap : int, default 5
        Gaps of at most this many bars inside an asset's lookback window are bridged (its last
        close carried over; the return over the gap falls on the bar after it), so a blank day does
        not drop the asset from every rebalance whose window holds it; longer gaps drop it from
        those rebalances. 0 bridges nothing. One warning at the end of the run names the assets.

    Notes
    -----
    Commission and slippage are whatever the broker is set up with (``cerebro.broker.setcommission``,
    ``set_slippage_perc``). A feed with a gap on bar t cannot be traded at t; its position is left
    alone then and excluded from the value the targets apply to.
    """

    params = dict(
        allocator=None,
        lookback=252,
        rebalance="monthly",
        min_trade=0.0,
        cash_buffer=0.02,
        max_weight=None,
        fractional=False,
        start=None,
        retry_rejected=True,
        feeds=None,
        capital=None,
        delisted="cash",
        max_gap=5,
        **WALKFORWARD_PARAMS,
    )

    def __init__(self) -> None:
        p = self.p
        self.allocator = resolve_allocator(p.allocator)
        check_strategy_params(
            lookback=p.lookback, rebalance=p.rebalance, min_trade=p.min_trade,
            cash_buffer=p.cash_buffer, max_weight=p.max_weight, fractional=p.fractional,
            retry_rejected=p.retry_rejected, capital=p.capital, delisted=p.delisted,
            max_gap=p.max_gap,
        )  # fmt: skip
        self._start_date = naive_timestamp(p.start, "start", _OWNER)
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
        self._every_feed = len(chosen) == len(self.datas)
        self.assets: list[str] = [all_names[i] for i in chosen]
        if len(set(self.assets)) != len(self.assets):
            raise ValueError(f"{_OWNER}: feed names must be unique; got {self.assets}.")
        self.timings: dict[str, float] = {"allocating": 0.0}
        self.forecast_step = None
        # before the rebalance timer, so that a retrain on the same bar runs first
        self.walkforward = build_walkforward(self, _OWNER)
        self.steps: list[Step] = self.build_steps()
        self._dt_lines = [d.lines.datetime for d in self.feeds]
        self._close_lines = [d.lines.close for d in self.feeds]
        self._by_name = dict(zip(self.assets, self.feeds, strict=True))
        self._columns = pd.Index(self.assets)  # built once (copied): prices() runs often
        # The last `history_length` bars of closes, in a NumPy buffer twice as long written row by
        # row: when it is full the newest rows move back to the front (amortised O(1) per bar), so
        # prices() takes one slice instead of stacking a row per bar at every rebalance.
        self._capacity = int(self.history_length())
        self._stamps = np.empty(2 * self._capacity, dtype=float)
        self._closes = np.empty((2 * self._capacity, len(self.feeds)), dtype=float)
        self._n_rows = 0  # rows of the buffers in use
        self.records: list[RebalanceRecord] = []
        self.orders_log: list[OrderEvent] = []
        self.skipped: list[tuple[pd.Timestamp, str]] = []
        self.delistings: list[tuple[pd.Timestamp, str]] = []
        self._delisted: set[str] = set()
        self._skips_reported = False
        self.n_rejected = 0
        self.timer_fires = 0
        self._open_orders: dict[int, tuple[bt.Order, OrderEvent, RebalanceRecord]] = {}
        self._unsettled: RebalanceRecord | None = None
        self._retry_bar: float | None = None
        self._retry_committed = 0.0
        add_schedule_timer(self, p.rebalance, action="rebalance")

    # -- extension points ---------------------------------------------------------------------
    def build_steps(self) -> list[Step]:
        """The rebalancing pipeline; override (or extend the list) to add forecast or overlay steps.

        Default: ``TrailingReturns -> Allocate -> CapWeights``; with a ``signal`` a ``Forecast`` step
        runs before ``Allocate`` and ``ScaleExposure`` last; with an ``LSTMAllocator``,
        ``ModelWeights`` replaces ``Allocate`` (:func:`~seqfolio.strategies.lstm_rebalance.walkforward_steps`).
        """
        return walkforward_steps(self, getattr(self, "walkforward", None))

    def history_length(self) -> int:
        """How many bars of closes to keep (``lookback + 1``, or more if the model needs more)."""
        return walkforward_history(self, getattr(self, "walkforward", None))

    @property
    def allocate_step(self) -> Allocate | None:
        """The pipeline's ``Allocate`` step (unwrapped from ``Timed``), or None if it has none."""
        for step in self.steps:
            inner = getattr(step, "step", step)
            if isinstance(inner, Allocate):
                return inner
        return None

    # -- bar bookkeeping ------------------------------------------------------------------------
    def _now(self) -> float | None:
        """The newest datetime (backtrader float) over the traded feeds that have started."""
        return max((line[0] for line in self._dt_lines if len(line)), default=None)

    def _snapshot(self, now: float | None = None) -> float | None:
        """Record bar t's closes (NaN for feeds without a bar at t) once per bar; return t (None
        while no traded feed has started)."""
        if now is None:
            now = self._now()
            if now is None:
                return None
        n = self._n_rows
        if n and self._stamps[n - 1] == now:
            return now
        if n == len(self._stamps):  # full: keep the newest capacity - 1 rows, at the front
            keep = self._capacity - 1
            self._stamps[:keep] = self._stamps[n - keep : n]
            self._closes[:keep] = self._closes[n - keep : n]
            n = keep
        nan = np.nan
        self._stamps[n] = now
        self._closes[n] = [
            c[0] if len(t) and t[0] == now else nan
            for t, c in zip(self._dt_lines, self._close_lines, strict=True)
        ]
        self._n_rows = n + 1
        return now

    def prices(self) -> pd.DataFrame:
        """Closes kept so far (the last :meth:`history_length` bars), NaN where a feed had no bar."""
        if not self._n_rows:
            return pd.DataFrame(columns=self.assets, dtype=float)
        rows = slice(max(0, self._n_rows - self._capacity), self._n_rows)
        micros = np.round((self._stamps[rows] - _EPOCH) * 86_400_000_000).astype("int64")
        index = pd.DatetimeIndex(micros.astype("datetime64[us]"), name="date")
        # copies: the frame must not be a view of the buffer, which later bars overwrite, nor share
        # its columns Index (a step renaming it would rename every later frame's)
        return pd.DataFrame(
            self._closes[rows], index=index, columns=self._columns.copy(), copy=True
        )

    def prenext(self) -> None:
        self.next()

    def next(self) -> None:
        # the strategy's clock is the newest datetime over all its feeds (Strategy._clk_update);
        # with a selection of feeds, the newest over the selection
        self._snapshot(self.lines.datetime[0] if self._every_feed else None)
        value = self.broker.getvalue()
        if value != value:  # NaN: a feed has a NaN close (backtrader values positions at the close)
            self._raise_nan_close()
        if self._unsettled is not None and not any(
            rec is self._unsettled for _, _, rec in self._open_orders.values()
        ):
            self._settle(self._unsettled)

    # -- rebalancing ----------------------------------------------------------------------------
    def notify_timer(self, timer: Any, when: Any, *args: Any, **kwargs: Any) -> None:
        if self.walkforward is not None and self.walkforward.notify_timer(
            timer, when, *args, **kwargs
        ):
            return
        if kwargs.get("action") != "rebalance":
            return
        self.timer_fires += 1
        now = self._snapshot()
        if now is None:
            return
        date = pd.Timestamp(bt.num2date(now))
        if self._start_date is not None and date < self._start_date:
            return
        self.rebalance(date, now)

    def rebalance(self, date: pd.Timestamp, now: float) -> RebalanceRecord | None:
        """Decide on closes up to ``date`` and submit the orders; return the record (None if skipped)."""
        self._cancel_open_orders()
        tradable = [
            a for a, t in zip(self.assets, self._dt_lines, strict=True) if len(t) and t[0] == now
        ]
        ctx = run_steps(
            self.steps, RebalanceContext(date=date, prices=self.prices(), tradable=tradable)
        )
        if ctx.skip_reason is None and ctx.weights is not None:
            return self._trade(date, now, tradable, ctx.weights)
        reason = ctx.skip_reason or "no weights"
        self.skipped.append((date, reason))
        logger.debug("%s: rebalance skipped: %s", date.date(), reason)
        return None

    def _trade(
        self, date: pd.Timestamp, now: float, tradable: list[str], weights: pd.Series
    ) -> RebalanceRecord | None:
        """Size and submit the orders that move the portfolio to ``weights`` (decided at ``date``)."""
        by_name = self._by_name
        live = [by_name[a] for a in tradable]
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
        released = sum(size * price for _, size, price in cash_outs)
        commission = self._commission
        fees = sum(abs(commission(a, -size, price)) for a, size, price in cash_outs)
        cash = self.broker.getcash() + released - fees
        value = cash + fees + float((sizes * closes).sum())
        if self.p.capital is not None:
            value = float(self.p.capital) * self.broker.getvalue() - stuck
            cash = min(cash, max(value - float((sizes * closes).sum()), 0.0))
        if value <= 0:
            reason = f"capital: no value left to manage ({value:,.2f}) after untradable positions"
            self.skipped.append((date, reason))
            logger.warning("%s: rebalance skipped: %s", date.date(), reason)
            return None
        planned = plan_orders(
            targets=weights, positions=positions, prices=prices, cash=cash,
            value=value, cash_buffer=self.p.cash_buffer, min_trade=self.p.min_trade,
            fractional=self.p.fractional, commission=commission,
        )  # fmt: skip
        record = RebalanceRecord(date=date, target=weights.copy(), value=value)
        self.records.append(record)
        for (
            asset,
            size,
            price,
        ) in cash_outs:  # a delisted feed never ticks again: fill at its last close
            self._submit(
                record, asset, -size, price=price, exectype=bt.Order.Historical, histnotify=True
            )
        for item in planned:
            self._submit(record, item.asset, item.size)
        if self._unsettled is not None:
            self._settle(self._unsettled)
        self._unsettled = record
        return record

    def _commission(self, asset: str, size: float, price: float) -> float:
        info = self.broker.getcommissioninfo(self._by_name[asset])
        return float(info.getcommission(size, price))

    def _submit(self, record: RebalanceRecord, asset: str, size: float, **kwargs: Any) -> None:
        data = self._by_name[asset]
        order = (self.sell if size < 0 else self.buy)(data=data, size=abs(size), **kwargs)
        event = OrderEvent(date=record.date, asset=asset, size=size)
        self.orders_log.append(event)
        record.n_orders += 1
        record.order_refs.append(order.ref)
        self._open_orders[order.ref] = (order, event, record)

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
            if (
                self._note_delisting(date, now, asset, data, size, price)
                and self.p.delisted == "cash"
            ):
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
        self.delistings.append((date, reason))
        logger.warning("%s: %s", date.date(), reason)
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

    def _cancel_open_orders(self) -> None:
        for order, _, _ in list(self._open_orders.values()):
            if order.alive():
                self.cancel(order)

    def notify_order(self, order: bt.Order) -> None:
        entry = self._open_orders.get(order.ref)
        if entry is None or order.status in (order.Submitted, order.Accepted, order.Partial):
            return
        _, event, record = entry
        event.status = order.getstatusname()
        if order.status == order.Completed:
            event.executed_date = pd.Timestamp(bt.num2date(order.executed.dt))
            event.executed_size = float(order.executed.size)
            event.executed_price = float(order.executed.price)
            event.commission = float(order.executed.comm)
            record.traded += abs(event.executed_size * event.executed_price)
            record.costs += event.commission
        elif order.status in (order.Margin, order.Rejected):
            self.n_rejected += 1
            record.n_rejected += 1
            logger.warning(
                "%s: %s order for %s %s was rejected (%s)", record.date.date(),
                "sell" if event.size < 0 else "buy", abs(event.size), event.asset, event.status,
            )  # fmt: skip
            del self._open_orders[order.ref]
            if self.p.retry_rejected and event.size > 0 and order.status == order.Margin:
                self._retry_buy(order.data, event, record)
            return
        elif order.status in (order.Canceled, order.Expired):
            record.n_cancelled += 1
        del self._open_orders[order.ref]

    def _retry_buy(self, data: Any, event: OrderEvent, record: RebalanceRecord) -> None:
        """Resubmit a Margin-rejected buy, shrunk to the cash left now; it fills at the next bar.

        Runs at the bar the rejection happened (t+1), sized on that bar's close (known at t+1), so the
        retry is as honest as the original order. Cash already promised to other retries of the same
        bar is set aside. One retry per order: a rejected retry is only counted.
        """
        now = self.lines.datetime[0] if len(self) else self._now()
        if self._retry_bar != now:
            self._retry_bar, self._retry_committed = now, 0.0
        price = float(data.close[0])
        info = self.broker.getcommissioninfo(data)
        spare = (self.broker.getcash() - self._retry_committed) * (1.0 - self.p.cash_buffer)
        unit = price + abs(float(info.getcommission(1.0, price)))
        size = spare / unit if self.p.fractional else math.floor(spare / unit)
        size = min(size, event.size)
        if size <= 0 or not math.isfinite(size):
            return
        self._retry_committed += size * unit
        retry = self.buy(data=data, size=size)
        retry_event = OrderEvent(date=pd.Timestamp(bt.num2date(now)), asset=event.asset, size=size)
        self.orders_log.append(retry_event)
        record.n_orders += 1
        record.n_retried += 1
        record.order_refs.append(retry.ref)
        self._open_orders[retry.ref] = (retry, retry_event, record)
        logger.info(
            "%s: retrying the buy of %s with %s shares", record.date.date(), event.asset, size
        )

    def _settle(self, record: RebalanceRecord) -> None:
        """Fill in realised weights, turnover and fill date once a rebalance's orders are done."""
        value = self.broker.getvalue()
        held = {}
        for name, data in zip(self.assets, self.feeds, strict=True):
            size = self.getposition(data).size
            if size or name in record.target.index:
                held[name] = size * data.close[0] / value if value else 0.0
        record.realised = pd.Series(held, name="weight", dtype=float)
        record.fill_date = pd.Timestamp(bt.num2date(self._now()))
        if self._unsettled is record:
            self._unsettled = None

    def stop(self) -> None:
        # Orders still open at the end (e.g. decided on the last bar) never fill; no notification
        # will arrive after stop, so mark them here.
        for order, event, record in list(self._open_orders.values()):
            if order.alive():
                self.cancel(order)
                event.status = "Canceled"
                record.n_cancelled += 1
                del self._open_orders[order.ref]
        if self._unsettled is not None:
            self._settle(self._unsettled)
        if self.walkforward is not None:
            self.walkforward.close()
        # a feed that ended after the last rebalance is still held at its close: say so too
        # (exactbars >= 1 leaves the feeds' line buffers unreadable by now)
        with contextlib.suppress(IndexError):
            now = self._now()
            if now is not None:
                self._untradable_positions(pd.Timestamp(bt.num2date(now)), now, set())
        self._report_skipped()
        self._report_gaps()
        if self.n_rejected:
            logger.warning(
                "%d order(s) were rejected by the broker; see orders_log.", self.n_rejected
            )

    def _report_gaps(self) -> None:
        """One warning naming the assets whose gaps were bridged or that a long gap left out."""
        for step in self.steps:
            step = getattr(step, "step", step)
            if not isinstance(step, TrailingReturns):
                continue
            if step.bridged:
                logger.warning(
                    "%s: gaps of at most %d bars bridged for %s (first on %s): the return over a "
                    "gap falls on the bar after it",
                    type(self).__name__, step.max_gap, sorted(step.bridged),
                    min(step.bridged.values()).date(),
                )  # fmt: skip
            if step.dropped:
                logger.warning(
                    "%s: %s left out of rebalances for gaps longer than max_gap=%d bars (first "
                    "on %s)",
                    type(self).__name__, sorted(step.dropped), step.max_gap,
                    min(step.dropped.values()).date(),
                )  # fmt: skip

    def _report_skipped(self) -> None:
        """Log the skipped rebalances once, at the end of the run (each one was logged at DEBUG).

        Skips during the expected warm-up (too little history for the lookback, or a walk-forward
        rebalance waiting for its first trained model) get an INFO line, as long as the run traded
        afterwards. Any other skip, or a run that never traded, gets one warning with the count and
        the first reason that is not a warm-up.
        """
        if not self.skipped or self._skips_reported:
            return
        self._skips_reported = True
        owner = type(self).__name__
        scheduled = len(self.skipped) + len(self.records)
        wf = self.walkforward is not None
        warm = [
            (wf and r.startswith(NO_MODEL)) or r.startswith("warm-up:") for _, r in self.skipped
        ]
        others = [s for s, w in zip(self.skipped, warm, strict=True) if not w]
        if not others and self.records:
            logger.info(
                "%s: %d of %d scheduled rebalances skipped during warm-up (%s .. %s; %s)",
                owner, len(self.skipped), scheduled, self.skipped[0][0].date(),
                self.skipped[-1][0].date(), self.skipped[0][1],
            )  # fmt: skip
            return
        date, reason = (others or self.skipped)[0]
        n_warm = len(self.skipped) - len(others)
        also = f", {n_warm} of them during warm-up" if others and n_warm else ""
        logger.warning(
            "%s: %d of %d scheduled rebalances were skipped (portfolio left as it was%s); first: %s %s",
            owner, len(self.skipped), scheduled, also, date.date(), reason,
        )  # fmt: skip

"""The order book of a RebalanceStrategy: the orders it submitted, how each ended, and retries."""

from __future__ import annotations

import logging
import math
from typing import Any

import backtrader as bt
import pandas as pd

from seqfolio.results import OrderEvent, RebalanceRecord
from seqfolio.strategies.sleeve import Sleeve

__all__ = ["OrderBook"]

logger = logging.getLogger("seqfolio.strategies")

_REJECTED = ("Margin", "Rejected")
_ENDED = ("Completed", "Margin", "Rejected")  # notified on the bar they end (cancels a bar later)

DETAILS_ORDERS = {"details": "orders"}
"""``extra=`` of a log record about an order: its details are in the order log (``orders_log``;
``orders.csv`` from the command line, which names the file)."""


class OrderBook:
    """Submits a strategy's orders and follows them to the end (``notify_order``).

    Parameters
    ----------
    strategy : backtrader.Strategy
        The owner: orders go through its ``buy`` / ``sell`` / ``cancel``.
    retry_rejected : bool
        Resubmit a ``Margin``-rejected buy once, shrunk to the cash then available (see
        :meth:`_retry_buy`).
    cash_buffer : float
        Fraction of the cash a retry leaves unspent.
    fractional : bool
        Retries in fractional shares.
    sleeve : Sleeve or None
        The strategy's sleeve (``capital=``): it is told of every order, and retries spend its cash
        rather than the broker's.

    Attributes
    ----------
    log : list of OrderEvent
        Every order submitted and how it ended.
    """

    def __init__(
        self,
        strategy: bt.Strategy,
        *,
        retry_rejected: bool,
        cash_buffer: float,
        fractional: bool,
        sleeve: Sleeve | None = None,
    ) -> None:
        self.strategy = strategy
        self.sleeve = sleeve
        self.retry_rejected = bool(retry_rejected)
        self.cash_buffer = float(cash_buffer)
        self.fractional = bool(fractional)
        self.log: list[OrderEvent] = []
        self._open: dict[int, tuple[bt.Order, OrderEvent, RebalanceRecord]] = {}
        self._retry_bar: float | None = None
        self._retry_committed = 0.0

    @property
    def n_rejected(self) -> int:
        """Orders the broker rejected (``Margin`` or ``Rejected``)."""
        return sum(event.status in _REJECTED for event in self.log)

    def is_settled(self, record: RebalanceRecord) -> bool:
        """Whether every order of ``record`` has ended."""
        return not any(rec is record for _, _, rec in self._open.values())

    def unreported(self, record: RebalanceRecord) -> OrderEvent | None:
        """An order of ``record`` the broker has finished (filled or rejected) but :meth:`notify`
        never heard of, or None. Such orders are notified on the bar they end, before the strategy's
        ``next``: one found there means ``notify_order`` did not reach :meth:`notify`."""
        for order, event, rec in self._open.values():
            if rec is record and order.getstatusname() in _ENDED:
                return OrderEvent(event.date, event.asset, event.size, order.getstatusname())
        return None

    def submit(
        self, record: RebalanceRecord, data: Any, asset: str, size: float, **kwargs: Any
    ) -> None:
        """Submit a market order (``kwargs`` e.g. a Historical fill) for ``size`` shares (< 0 sells)."""
        strategy = self.strategy
        order = (strategy.sell if size < 0 else strategy.buy)(data=data, size=abs(size), **kwargs)
        self._track(order, OrderEvent(date=record.date, asset=asset, size=size), record)

    def _track(self, order: bt.Order, event: OrderEvent, record: RebalanceRecord) -> None:
        self.log.append(event)
        if self.sleeve is not None:
            self.sleeve.track(order)
        record.n_orders += 1
        record.order_refs.append(order.ref)
        self._open[order.ref] = (order, event, record)

    def cancel_open(self) -> None:
        """Cancel the orders still alive (a new rebalance replaces them)."""
        for order, _, _ in list(self._open.values()):
            if order.alive():
                self.strategy.cancel(order)

    def close(self) -> None:
        """At the end of the run: orders still open never fill and no notification will come, so
        they are cancelled and marked here."""
        for order, event, record in list(self._open.values()):
            if order.alive():
                self.strategy.cancel(order)
                event.status = "Canceled"
                record.n_cancelled += 1
                del self._open[order.ref]

    def notify(self, order: bt.Order) -> None:
        """Record how an order ended (call from the strategy's ``notify_order``)."""
        entry = self._open.get(order.ref)
        if entry is None or order.status in (order.Submitted, order.Accepted, order.Partial):
            return
        _, event, record = entry
        event.status = order.getstatusname()
        del self._open[order.ref]
        if order.status == order.Completed:
            event.executed_date = self._fill_date(order)
            event.executed_size = float(order.executed.size)
            event.executed_price = float(order.executed.price)
            event.commission = float(order.executed.comm)
            record.traded += abs(event.executed_size * event.executed_price)
            record.costs += event.commission
        elif order.status in (order.Margin, order.Rejected):
            record.n_rejected += 1
            logger.warning(
                "%s: %s order for %s %s was rejected (%s)", record.date.date(),
                "sell" if event.size < 0 else "buy", f"{abs(event.size):g}", event.asset,
                event.status, extra=DETAILS_ORDERS,
            )  # fmt: skip
            if self.retry_rejected and event.size > 0 and order.status == order.Margin:
                self._retry_buy(order.data, event, record)
        elif order.status in (order.Canceled, order.Expired):
            record.n_cancelled += 1

    def _fill_date(self, order: bt.Order) -> pd.Timestamp:
        """The bar the broker filled ``order`` on. A Historical order (a delisted feed's sale at its
        last close) is stamped with that feed's last bar, before the decision; it was filled on the
        bar being notified, the account's current bar."""
        stamp = order.executed.dt
        if order.exectype == bt.Order.Historical:
            stamp = max(stamp, max(d.datetime[0] for d in self.strategy.datas if len(d)))
        return pd.Timestamp(bt.num2date(stamp))

    def _retry_buy(self, data: Any, event: OrderEvent, record: RebalanceRecord) -> None:
        """Resubmit a Margin-rejected buy, shrunk to the cash left now; it fills at the next bar.

        Runs at the bar the rejection happened (t+1), sized on that bar's close (known at t+1), so the
        retry is as honest as the original order. Cash already promised to other retries of the same
        bar is set aside. One retry per order: a rejected retry is only counted.
        """
        strategy = self.strategy
        now = float(data.lines.datetime[0])
        if self._retry_bar != now:
            self._retry_bar, self._retry_committed = now, 0.0
        price = float(data.close[0])
        broker = strategy.broker
        info = broker.getcommissioninfo(data)
        cash = broker.getcash() if self.sleeve is None else self.sleeve.cash
        spare = (cash - self._retry_committed) * (1.0 - self.cash_buffer)
        unit = price + abs(float(info.getcommission(1.0, price)))
        size = spare / unit if self.fractional else math.floor(spare / unit)
        size = min(size, event.size)
        if size <= 0 or not math.isfinite(size):
            return
        self._retry_committed += size * unit
        retry = strategy.buy(data=data, size=size)
        retry_event = OrderEvent(date=pd.Timestamp(bt.num2date(now)), asset=event.asset, size=size)
        record.n_retried += 1
        self._track(retry, retry_event, record)
        logger.info(
            "%s: retrying the buy of %s with %s shares", record.date.date(), event.asset, size
        )

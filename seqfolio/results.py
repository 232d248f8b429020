"""What a backtest records and returns, whichever engine ran it (backtrader or zipline).

One row per rebalance (:class:`RebalanceRecord`) and per order (:class:`OrderEvent`), the rebalance
table built from them, and :class:`BacktestResult`, what :func:`~seqfolio.backtest.run_backtest` and
:func:`~seqfolio.zipline.run_zipline` return and :mod:`seqfolio.reporting` writes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from seqfolio.events import SKIP_KINDS, Event, events_table, first_skip, of_kind

__all__ = ["ORDER_COLUMNS", "BacktestResult", "OrderEvent", "RebalanceRecord", "rebalance_table"]

ORDER_COLUMNS: list[str] = [
    "date", "asset", "size", "status", "executed_date", "executed_size", "executed_price",
    "commission",
]  # fmt: skip
"""The columns of :meth:`BacktestResult.order_table` (the fields of an ``OrderEvent``)."""


@dataclass
class RebalanceRecord:
    """One rebalance.

    Attributes
    ----------
    date : pandas.Timestamp
        Decision bar t (weights use closes up to t).
    target : pandas.Series
        Target weights of the tradable value (before the cash buffer), over the assets allocated to.
    value : float
        Portfolio value at t's closes (the tradable part, which the targets apply to).
    fill_date : pandas.Timestamp or None
        The bar at whose close every order of this rebalance was done (normally t+1).
    realised : pandas.Series or None
        Position weights (position value / total portfolio value: the strategy's sleeve's value with
        ``capital=``) at ``fill_date``'s close, over every asset held or targeted.
    traded : float
        Sum of ``|size * price|`` over executed orders.
    costs : float
        Commission paid on this rebalance's orders (the broker's commission scheme).
    n_orders, n_rejected, n_cancelled, n_retried : int
        Orders submitted (retries included); rejected by the broker (``Margin`` / ``Rejected``);
        cancelled because they had not filled by the next rebalance or the end of the run; rejected
        buys resubmitted smaller at the next bar (``retry_rejected``).
    """

    date: pd.Timestamp
    target: pd.Series
    value: float
    fill_date: pd.Timestamp | None = None
    realised: pd.Series | None = None
    traded: float = 0.0
    costs: float = 0.0
    n_orders: int = 0
    n_rejected: int = 0
    n_cancelled: int = 0
    n_retried: int = 0
    order_refs: list[int] = field(default_factory=list, repr=False)

    @property
    def turnover(self) -> float:
        """``traded / value``: two-sided turnover (buying a whole portfolio from cash is 1.0)."""
        return self.traded / self.value if self.value else 0.0


@dataclass
class OrderEvent:
    """One order's life: submitted at ``date`` (bar t) and its final status."""

    date: pd.Timestamp
    asset: str
    size: float
    status: str = "Submitted"
    executed_date: pd.Timestamp | None = None
    executed_size: float = 0.0
    executed_price: float = float("nan")
    commission: float = 0.0


_REBALANCE_COLUMNS: list[str] = [
    "date", "fill_date", "value", "turnover", "costs", "n_orders", "n_rejected", "n_cancelled",
    "n_retried",
]  # fmt: skip
"""The columns of :func:`rebalance_table` (fields of a ``RebalanceRecord``; ``date`` the index)."""


def rebalance_table(records: list[Any]) -> pd.DataFrame:
    """One row per rebalance record: dates, value, turnover, costs and order counts."""
    rows = [{c: getattr(r, c) for c in _REBALANCE_COLUMNS} for r in records]
    return pd.DataFrame(rows, columns=_REBALANCE_COLUMNS).set_index("date")


@dataclass
class BacktestResult:
    """What :func:`run_backtest` returns.

    Attributes
    ----------
    name : str
        Strategy label (e.g. ``"HRP monthly"``).
    returns : pandas.Series
        Daily returns from ``start`` (tz-naive index).
    weights : pandas.DataFrame
        Daily position weights (rows = dates from ``start``, columns = assets).
    target, realised : pandas.DataFrame
        Weights per rebalance (rows = decision dates).
    rebalances : pandas.DataFrame
        Turnover, costs and order counts per rebalance.
    final_value : float
    n_rejected : int
        Orders rejected by the broker.
    event_log : list of Event
        What did not go as planned, in date order (:mod:`seqfolio.events`): skipped rebalances
        (warm-up, allocator or forecast failure, no trained model yet, ...), fallbacks, failed
        retrains, delistings, assets left out for a long gap. :meth:`events` gives it as a
        table; ``skipped``,
        ``allocation_failures``, ``forecast_failures``, ``fallbacks``, ``retrain_failures`` and
        ``delistings`` list it by kind as ``(date, reason)``.
    orders : list of OrderEvent
        Every order submitted and how it ended (the strategy's ``orders_log``).
    tearsheet : pathlib.Path or None
        The tear sheet written; None if none was asked for or it could not be written.
    tearsheet_error : str or None
        Why the tear sheet asked for was not written (e.g. the strategy never traded, so its
        returns are all 0); a :class:`~seqfolio.reporting.TearSheetWarning` said so too.
    retrains : pandas.DataFrame or None
        With a walk-forward model: one row per retrain (date, version, bars, seconds, source,
        trigger; see :meth:`~seqfolio.strategies.WalkForward.retrain_table`).
    forecasts : pandas.DataFrame or None
        With ``signal=``: the forecast per rebalance date (rows) and asset (columns).
    timings : dict
        Wall seconds of the run: ``"total"`` (``cerebro.run``), ``"training"``, ``"predicting"``,
        ``"allocating"`` and ``"backtrader"`` (the rest: feeds, broker, analyzers, tear sheet).

    See Also
    --------
    BacktestResult.events : the skips, fallbacks and failed retrains as one table.
    """

    name: str
    returns: pd.Series
    weights: pd.DataFrame
    target: pd.DataFrame
    realised: pd.DataFrame
    rebalances: pd.DataFrame
    final_value: float
    n_rejected: int
    event_log: list[Event] = field(default_factory=list)
    orders: list[Any] = field(default_factory=list)
    tearsheet: Any = None
    tearsheet_error: str | None = None
    retrains: pd.DataFrame | None = None
    forecasts: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)

    skipped = property(lambda self: of_kind(self.event_log, *SKIP_KINDS))
    allocation_failures = property(lambda self: of_kind(self.event_log, "allocation_failed"))
    forecast_failures = property(lambda self: of_kind(self.event_log, "forecast_failed"))
    fallbacks = property(lambda self: of_kind(self.event_log, "fallback"))
    retrain_failures = property(lambda self: of_kind(self.event_log, "retrain_failed"))
    delistings = property(lambda self: of_kind(self.event_log, "delisted"))

    def first_skip(self) -> tuple[pd.Timestamp, str] | None:
        """The first skipped rebalance that is not a warm-up (else the first skip; None if none).

        The reason to show when a run never traded, as the end-of-run log line does.
        """
        event = first_skip(self.event_log)
        return None if event is None else (event.date, event.reason)

    def events(self) -> pd.DataFrame:
        """:attr:`event_log` as one table in date order: columns ``date``, ``kind``, ``reason``
        (the kinds of :mod:`seqfolio.events`); empty with those columns for a clean run."""
        return events_table(self.event_log)

    def order_table(self) -> pd.DataFrame:
        """:attr:`orders` as one table, in the order they were submitted: ``date`` (the decision
        bar), ``asset``, ``size`` (shares; < 0 sells), ``status`` (``Completed``, ``Margin`` or
        ``Rejected`` for a rejected order, ``Canceled``, ...), ``executed_date``,
        ``executed_size``, ``executed_price`` and ``commission``."""
        rows = [{c: getattr(o, c) for c in ORDER_COLUMNS} for o in self.orders]
        return pd.DataFrame(rows, columns=ORDER_COLUMNS)

"""What :class:`~seqfolio.strategies.RebalanceStrategy` records: one row per rebalance and per order."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

__all__ = ["OrderEvent", "RebalanceRecord"]


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

"""Order planning: from target weights to share orders, sells first, sized to avoid margin calls.

Engine-free: the backtrader strategy and the zipline adapter both size their orders here.

A pure function of the portfolio state at the decision bar t, so it is testable without backtrader.
Orders are sized on bar t's closes and fill at bar t+1's open; the ``cash_buffer`` absorbs the price
move between the two so buys do not overdraw cash (backtrader rejects such orders with ``Margin``).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from seqfolio import defaults

__all__ = ["PlannedOrder", "plan_orders"]

CommissionFn = Callable[[str, float, float], float]


@dataclass(frozen=True)
class PlannedOrder:
    """One market order: ``size`` shares of ``asset`` (negative = sell), sized at ``price`` (close t)."""

    asset: str
    size: float
    price: float

    @property
    def value(self) -> float:
        """Signed value at the decision price."""
        return self.size * self.price


def _shares(value: float, price: float, fractional: bool) -> float:
    shares = value / price
    return shares if fractional else float(math.floor(shares + 1e-9))


def plan_orders(
    *,
    targets: pd.Series,
    positions: pd.Series,
    prices: pd.Series,
    cash: float,
    value: float,
    cash_buffer: float = defaults.CASH_BUFFER,
    min_trade: float = 0.0,
    fractional: bool = False,
    commission: CommissionFn | None = None,
) -> list[PlannedOrder]:
    """Orders that move the tradable part of a portfolio to ``targets``; all sells, then all buys.

    Parameters
    ----------
    targets : pandas.Series
        Target weights over tradable assets, summing to at most 1 (the rest is cash). Must be finite.
    positions : pandas.Series
        Current shares held per tradable asset (missing = 0). Assets held but absent from
        ``targets`` get a target of 0 (they are sold).
    prices : pandas.Series
        Decision prices (close of bar t) for every asset in ``targets`` and ``positions``.
    cash : float
        Broker cash now.
    value : float
        The tradable portfolio value: cash plus the value of the positions in ``positions``.
    cash_buffer : float, default 0.02
        Fraction of ``value`` kept in cash: targets are scaled by ``1 - cash_buffer``.
    min_trade : float, default 0
        Skip a trade whose weight change ``|target - current|`` is below this; a full exit (target 0)
        is always made.
    fractional : bool, default False
        Trade fractional shares; otherwise whole shares, rounded so no position overshoots its target.
    commission : callable (asset, size, price) -> float, optional
        Commission estimate; buys are scaled down if their cost plus commission exceeds the cash
        available after the sells.

    Returns
    -------
    list of PlannedOrder
        Sells (by asset order) followed by buys. No zero-size order, no NaN.

    Raises
    ------
    ValueError
        If a target or a needed price is missing or not finite, or ``value`` is not positive.
    """
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"plan_orders: the tradable portfolio value must be > 0; got {value}.")
    goal = {str(k): float(v) for k, v in targets.items()}
    if not all(math.isfinite(v) for v in goal.values()):
        raise ValueError("plan_orders: targets contain NaN or inf.")
    held = {str(k): float(v) for k, v in positions.items() if v == v}
    price_of = {str(k): float(v) for k, v in prices.items()}
    assets = list(dict.fromkeys([*goal, *held]))
    missing = [
        a for a in assets if not (math.isfinite(price_of.get(a, math.nan)) and price_of[a] > 0)
    ]
    if missing:
        raise ValueError(f"plan_orders: no valid decision price for {missing}.")
    investable = value * (1.0 - cash_buffer)

    sells: list[PlannedOrder] = []
    buys: list[PlannedOrder] = []
    for asset in assets:
        price = price_of[asset]
        current = held.get(asset, 0.0)
        target_w = max(goal.get(asset, 0.0), 0.0)
        if target_w <= 0.0:
            if current > 0:
                sells.append(PlannedOrder(asset, -current, price))
            continue
        current_w = current * price / value
        if abs(target_w - current_w) < min_trade:
            continue
        delta = _shares(target_w * investable, price, fractional) - current
        if delta < 0:
            sells.append(PlannedOrder(asset, delta, price))
        elif delta > 0:
            buys.append(PlannedOrder(asset, delta, price))

    def comm(order: PlannedOrder) -> float:
        return abs(commission(order.asset, order.size, order.price)) if commission else 0.0

    available = cash + sum(-o.value - comm(o) for o in sells)
    needed = sum(o.value + comm(o) for o in buys)
    if buys and needed > available:
        scale = max(available, 0.0) / needed
        scaled = []
        for o in buys:
            size = o.size * scale if fractional else float(math.floor(o.size * scale))
            if size > 0:
                scaled.append(PlannedOrder(o.asset, size, o.price))
        buys = scaled
    return sells + buys

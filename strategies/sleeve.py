"""A strategy's sleeve: the part of a shared backtrader account it manages (``capital=``).

backtrader has one broker, one cash account and one position per feed for every strategy of a
cerebro. A :class:`Sleeve` keeps one strategy's own books inside it: it starts with ``capital`` times
the broker's starting value in cash, and from then on moves only with the strategy's own fills (cash
paid or received, commission) and the prices of its own positions. So a strategy with
``capital=0.6`` beside others trades, and reports, exactly as it would alone with 60 % of the cash.

The sleeve reads its fills from the order objects themselves (their execution bits), not from
``notify_order``, and applies them to its cash with the very operations the broker applies to the
account's (``BackBroker._execute``, stock-like commission schemes): alone in a cerebro, a sleeve's
cash equals the broker's to the last bit.

:func:`check_shared_account` refuses, before the first bar, what would make sleeves meaningless:
shares adding up to more than 1, a strategy managing the whole account beside another, or two
strategies trading one feed (backtrader would merge their positions).
"""

from __future__ import annotations

import itertools
import logging
import math
from collections.abc import Sequence
from typing import Any

import backtrader as bt

__all__ = ["Sleeve", "check_shared_account"]

logger = logging.getLogger("seqfolio.strategies")

_TOLERANCE = 1e-9  # shares such as 0.1 + 0.2 + 0.7 add up to 1 within rounding


def check_shared_account(
    strategy: bt.Strategy, peers: Sequence[bt.Strategy], names: dict[int, str]
) -> None:
    """Refuse sleeves that cannot all be honoured by one broker account.

    Parameters
    ----------
    strategy : RebalanceStrategy
        The strategy being built (its ``capital`` and ``feeds``).
    peers : sequence of RebalanceStrategy
        The cerebro's other strategies of the same kind built before it in this run (under
        ``optstrategy`` each run has its own cerebro of one strategy: no peers).
    names : dict
        Feed name by ``id(feed)``.

    Raises
    ------
    ValueError
        If the shares add up to more than 1, if a strategy among several has ``capital=None`` (it
        would spend the whole account's cash), or if two of them trade the same feed.
    """
    if not peers:
        return
    owner = type(strategy).__name__
    everyone = [*peers, strategy]
    shares = [s.spec.capital for s in everyone]
    if any(share is None for share in shares):
        raise ValueError(
            f"The 'capital' parameter of {owner} must be set on every one of the cerebro's "
            f"{len(everyone)} {owner} strategies (each manages that share of the broker's starting "
            "value; None manages the whole account and would spend the others' cash). Got "
            f"{' + '.join(repr(s) for s in shares)} instead."
        )
    total = math.fsum(float(s) for s in shares)
    if total > 1.0 + _TOLERANCE:
        raise ValueError(
            f"The 'capital' parameters of the cerebro's {len(everyone)} {owner} strategies must add "
            "up to at most 1 (each manages that share of the broker's starting value, and one "
            "broker account holds them all; more would overdraw its cash and the broker would "
            f"reject buys for margin). Got {' + '.join(f'{s:g}' for s in shares)} = {total:g} "
            "instead."
        )
    mine = {id(d) for d in strategy.feeds}
    for peer in peers:
        shared = [names[id(d)] for d in peer.feeds if id(d) in mine]
        if shared:
            raise ValueError(
                f"{owner}: two strategies of the cerebro trade {shared}; backtrader keeps one "
                "position per feed for the whole account, so neither strategy's sleeve (nor its "
                "report) could tell its own shares. Give each strategy its own feeds with feeds=."
            )


class Sleeve:
    """One strategy's cash and positions inside a shared broker account.

    Parameters
    ----------
    broker : backtrader broker
        The account (its starting value and commission schemes are read).
    capital : float
        The share of the broker's value at the start that the sleeve gets as cash.
    owner : str
        The strategy's name, for messages.

    Attributes
    ----------
    start_value : float
        ``capital`` times the broker's value when the sleeve was opened.
    sizes : dict
        Shares held by the sleeve, by feed.
    overdrafts : int
        How many times the sleeve's cash went below zero after its fills (a buy filled at a price
        that rose more than the cash buffer: alone, the broker would have rejected it for margin;
        here the account's other cash paid). Each is logged as a warning.
    """

    def __init__(self, broker: Any, capital: float, owner: str = "RebalanceStrategy") -> None:
        self.broker = broker
        self.capital = float(capital)
        self.owner = owner
        self.start_value = self.capital * float(broker.getvalue())
        self._cash = self.start_value
        self.sizes: dict[Any, float] = {}  # feed -> shares held by this sleeve
        self._orders: dict[int, tuple[bt.Order, int]] = {}  # ref -> (order, execution bits read)
        self.overdrafts = 0

    def track(self, order: bt.Order) -> None:
        """Count ``order`` as this sleeve's (call when submitting it)."""
        self._orders[order.ref] = (order, 0)

    @property
    def cash(self) -> float:
        """The sleeve's cash after every fill of its orders so far."""
        if self._orders:
            self._read_fills()
        return self._cash

    def value(self) -> float:
        """Cash plus the sleeve's positions at their current closes.

        Alone in a cerebro this equals the broker's value up to float rounding (~1e-16 of it):
        ``BackBroker`` adds each position's unrealised P&L to its cost, the sleeve size x close.
        """
        cash = self.cash
        return cash + sum(size * data.close[0] for data, size in self.sizes.items())

    def check_positions(self, datas: Sequence[Any], names: Sequence[str]) -> None:
        """Raise if the broker's position in one of ``datas`` is not the sleeve's own.

        A strategy outside seqfolio trading one of this sleeve's feeds changes the account's
        position there; the sleeve's cash and value would then be wrong, so the run stops.
        """
        if self._orders:
            self._read_fills()
        for data, name in zip(datas, names, strict=True):
            held = self.broker.getposition(data).size
            if held != self.sizes.get(data, 0.0):
                raise ValueError(
                    f"{self.owner}: the account holds {held:g} shares of {name!r} but this "
                    f"strategy's own orders account for {self.sizes.get(data, 0.0):g}: another "
                    "strategy trades that feed too. backtrader keeps one position per feed for the "
                    "whole account, so with capital= each feed must be traded by one strategy only."
                )

    def _read_fills(self) -> None:
        """Apply the execution bits not read yet, in submission order (the broker's order)."""
        done = []
        last = None
        for ref, (order, seen) in self._orders.items():
            bits = order.executed.exbits
            if len(bits) > seen:
                info = self.broker.getcommissioninfo(order.data)
                for bit in itertools.islice(bits, seen, None):  # a deque
                    self._apply(order.data, bit, info)
                    last = bit.dt
                self._orders[ref] = (order, len(bits))
            if not order.alive():
                done.append(ref)
        for ref in done:
            del self._orders[ref]
        if last is not None and self._cash < 0:
            self.overdrafts += 1
            logger.warning(
                "%s: %s: its sleeve's cash is %.2f after its fills: a buy cost more than the cash "
                "buffer left (alone, the broker would have rejected it for margin) and the "
                "account's other cash paid for it; a larger cash_buffer avoids it.",
                bt.num2date(last).date(), self.owner, self._cash,
            )  # fmt: skip

    def _apply(self, data: Any, bit: Any, info: Any) -> None:
        """One execution bit, with the float operations of ``BackBroker._execute``."""
        cash = self._cash
        if bit.closed:
            closecash = bit.closedvalue
            if closecash > 0:
                closecash /= info.get_leverage()
            cash += closecash + bit.pnl * info.stocklike
            cash -= bit.closedcomm
        if bit.opened:
            opencash = bit.openedvalue
            if opencash > 0:
                opencash /= info.get_leverage()
            cash -= opencash
            cash -= bit.openedcomm
        self._cash = cash
        self.sizes[data] = self.sizes.get(data, 0.0) + bit.size

"""What RebalanceStrategy takes from the broker's setup, and the two settings that do not apply.

The strategy trades through the cerebro's broker, so its commission scheme, cash and slippage
settings apply -- with two surprises a backtrader user should hear about before the run:

* **Sizers are not used.** ``cerebro.addsizer`` sets the size of orders placed without one; the
  strategy computes every order's size itself (target weight x value / price, whole shares, the
  cash buffer; :func:`~seqfolio.pipeline.orders.plan_orders`), so a sizer changes nothing.
* **Slippage on close-only feeds.** Market orders fill at the next bar's open. backtrader slips that
  price only with ``slip_open=True`` (the default of ``set_slippage_perc`` / ``set_slippage_fixed``)
  and, unless ``slip_out=True``, caps the slipped price at the bar's high (buys) or low (sells).
  On close-only feeds (open = high = low = close: :class:`~seqfolio.strategies.ClosePriceData`,
  or any feed whose preloaded bars all have it) the cap is the open itself, so the default settings
  slip nothing; ``set_slippage_perc(perc, slip_out=True)`` charges the slippage. With
  ``slip_match=False`` instead, the order would not fill at all on such bars.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

from seqfolio.strategies.feeds import ClosePriceData

__all__ = ["is_close_only", "note_broker_settings"]

logger = logging.getLogger("seqfolio.strategies")


def is_close_only(feed: Any) -> bool:
    """Whether ``feed``'s bars have open = high = low = close (as far as can be told before the run:
    a ClosePriceData, or a preloaded feed whose every bar has it)."""
    if isinstance(feed, ClosePriceData):
        return True
    try:
        ohlc = [np.asarray(getattr(feed.lines, name).array, dtype=float)
                for name in ("open", "high", "low", "close")]  # fmt: skip
    except (AttributeError, TypeError, ValueError):
        return False
    bars = min(len(line) for line in ohlc)
    if not bars:  # not loaded yet (preload=False)
        return False
    open_, high, low, close = (line[:bars] for line in ohlc)
    return bool(np.all((open_ == close) & (high == close) & (low == close)))


def note_broker_settings(strategy: Any, index: int) -> list[str]:
    """Warn about a sizer (ignored) and slippage that cannot apply; return the warnings.

    Parameters
    ----------
    strategy : RebalanceStrategy
        The strategy being built (its ``feeds``, its cerebro and broker are read).
    index : int
        Its position among the cerebro's strategies (``addsizer_byidx``).
    """
    owner = type(strategy).__name__
    notes = []
    sizers = getattr(strategy.env, "sizers", {}) or {}
    sizer = sizers.get(index, sizers.get(None, (None,)))[0]
    if sizer is not None:
        notes.append(
            f"{owner} sizes its own orders (target weight x value / price, see cash_buffer and "
            f"fractional): the sizer {sizer.__name__} added to the cerebro is not used."
        )
    p: Any = getattr(strategy.broker, "p", None)
    slippage = (
        0.0 if p is None else max(getattr(p, "slip_perc", 0.0), getattr(p, "slip_fixed", 0.0))
    )
    if slippage:
        close_only = [
            name for name, feed in zip(strategy.assets, strategy.feeds, strict=True)
            if is_close_only(feed)
        ]  # fmt: skip
        if not getattr(p, "slip_open", False):
            notes.append(
                f"{owner}'s market orders fill at the next bar's open, which backtrader slips only "
                "with slip_open=True: the broker's slippage is not applied to them. Use "
                "set_slippage_perc(perc, slip_open=True, slip_out=True)."
            )
        elif close_only and not getattr(p, "slip_out", False):
            effect = (
                "no slippage is charged" if getattr(p, "slip_match", True)
                else "orders would not fill (slip_match=False)"
            )  # fmt: skip
            notes.append(
                f"{owner}: backtrader keeps a slipped price inside the bar's high / low unless "
                f"slip_out=True, and the close-only feeds {close_only[:3]}"
                f"{' ...' if len(close_only) > 3 else ''} have open = high = low = close: "
                f"{effect}. Use set_slippage_perc(perc, slip_out=True)."
            )
    for note in notes:
        logger.warning("%s", note)
    return notes

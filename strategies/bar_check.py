"""Refuse bars that cannot be prices in the feeds a RebalanceStrategy trades, whatever their class.

``add_price_feeds`` checks a price frame before it builds feeds, but a user's own feed
(``bt.feeds.PandasData``, ``GenericCSVData``, any class) reaches backtrader unchecked: a zero or
negative close is valued and decided on as it is, a negative open is a fill price, a timestamp that
repeats is a second bar of the same day and one that goes back is a step back in time. The run ends
with a wrong result and no error. :class:`BarCheck` reads each feed's own lines (datetime, open,
close), so it covers every feed class, and raises naming the feed, the date and the fix.

Cost: no work per bar. At each rebalance (before deciding) and at the end of the run it checks the
bars each feed delivered since the previous check, read from the feed's line buffers with NumPy as
the strategy's close history is: every bar is checked once, before any decision reads it (about 15
microseconds per feed and rebalance). With ``exactbars >= 1`` the buffers keep only the last bars,
so the strategy calls it on every bar. Feeds built by ``price_feeds`` / ``add_price_feeds``, whose
frame was checked whole, are skipped.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import backtrader as bt
import numpy as np

from seqfolio.strategies.history import line_tail

__all__ = ["BarCheck", "checked_feed", "nan_close_error"]

_CHECKED = "_seqfolio_prices_checked"


def checked_feed(data: Any, mark: bool = False) -> bool:
    """Whether ``data``'s bars were checked whole when it was built (``mark=True``: say they were;
    :func:`~seqfolio.strategies.price_feeds` does, after checking the frame)."""
    if mark:
        setattr(data, _CHECKED, True)
    return bool(getattr(data, _CHECKED, False))


def _day(stamp: float) -> str:
    return str(bt.num2date(stamp).date())


def nan_close_error(owner: str, feed: str, stamp: float) -> ValueError:
    """The error for a NaN close (backtrader would value the portfolio at NaN)."""
    return ValueError(
        f"{owner}: feed {feed!r} has a NaN close on {_day(stamp)}; backtrader values every "
        "position at the close, so the portfolio value would be NaN. Leave the rows without a "
        "price out of that feed's data (e.g. frame.dropna()), or build the feeds with "
        "seqfolio.strategies.add_price_feeds, which does."
    )


class BarCheck:
    """Check the bars of ``datas`` once each, as they arrive (see the module notes).

    Parameters
    ----------
    datas : sequence of feeds
        The feeds to check.
    names : sequence of str
        Their names, for the messages.
    owner : str
        Who checks (``RebalanceStrategy``), for the messages.
    """

    def __init__(self, datas: Sequence[Any], names: Sequence[str], owner: str) -> None:
        # feeds built by price_feeds were checked whole when built: nothing to do for them
        unchecked = [(d, n) for d, n in zip(datas, names, strict=True) if not checked_feed(d)]
        self._lines = [(d.lines.datetime, d.lines.open, d.lines.close) for d, _ in unchecked]
        self._names = [n for _, n in unchecked]
        self._owner = owner
        self._checked = [0] * len(self._lines)  # bars of each feed checked so far
        self._last = [-np.inf] * len(self._lines)  # the stamp of each feed's last checked bar

    def check(self) -> None:
        """Check the bars delivered since the last call.

        Raises
        ------
        ValueError
            For a close or open that is NaN, infinite, zero or negative, or a bar whose timestamp
            is not after the previous one, naming the feed, the date and the fix (the earliest
            such bar over the feeds).
        """
        new = []
        for j, (stamps, opens, closes) in enumerate(self._lines):
            n = len(stamps) - self._checked[j]
            if n > 0:
                new.append((j, line_tail(stamps, n), line_tail(opens, n), line_tail(closes, n)))
        if not new:
            return
        # one NumPy pass over every new bar; only a failure looks feed by feed
        prices = np.concatenate([part for _, _, o, c in new for part in (o, c)])
        ordered = all(
            s[0] > self._last[j] and (len(s) < 2 or np.diff(s).min() > 0) for j, s, _, _ in new
        )
        if not (ordered and prices.min() > 0 and prices.max() < np.inf):  # NaN fails min() > 0
            self._raise_first(new)
        for j, s, _, _ in new:
            self._checked[j] += len(s)
            self._last[j] = float(s[-1])

    def _raise_first(self, new: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]]) -> None:
        """Raise for the earliest bad bar (ties: the first feed)."""
        found: list[tuple[float, int, ValueError]] = []
        for j, stamps, opens, closes in new:
            previous = np.concatenate(([self._last[j]], stamps[:-1]))
            bad = (stamps <= previous) | ~(closes > 0) | ~(opens > 0) | np.isinf(closes + opens)
            if bad.any():
                i = int(np.flatnonzero(bad)[0])
                error = self._error(self._names[j], stamps[i], previous[i], opens[i], closes[i])
                found.append((float(min(stamps[i], previous[i])), j, error))
        raise min(found, key=lambda item: item[:2])[2]

    def _error(
        self, feed: str, stamp: float, previous: float, open_: float, close: float
    ) -> ValueError:
        owner, day = self._owner, _day(stamp)
        if stamp == previous:
            return ValueError(
                f"{owner}: feed {feed!r} has two bars stamped {day}; backtrader delivers both, "
                "as two bars of that day. Keep one row per date in the feed's data (e.g. "
                "frame[~frame.index.duplicated(keep='last')])."
            )
        if stamp < previous:
            return ValueError(
                f"{owner}: feed {feed!r} goes back in time: its bar of {day} comes after one of "
                f"{_day(previous)}. Sort the feed's data by date (e.g. frame.sort_index())."
            )
        if close != close:
            return nan_close_error(owner, feed, stamp)
        if not (close > 0 and close < np.inf):
            return ValueError(
                f"{owner}: feed {feed!r} has a close of {close:g} on {day}; prices must be > 0 "
                "and finite. Fix that row of the feed's data, or leave it out (no bar that day)."
            )
        if open_ != open_:
            return ValueError(
                f"{owner}: feed {feed!r} has no open (NaN) on {day}; orders fill at the next bar's "
                "open, so a fill would be at NaN. Give the feed an open column (open = close for "
                "close-only data), or build the feeds with seqfolio.strategies.add_price_feeds."
            )
        return ValueError(
            f"{owner}: feed {feed!r} has an open of {open_:g} on {day}; orders fill at the next "
            "bar's open, which must be > 0 and finite. Fix that row of the feed's data."
        )

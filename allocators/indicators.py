"""backtrader adapter: an allocator as an Indicator with one target-weight line per data feed.

Import it explicitly (``import seqfolio.allocators.indicators``): ``seqfolio.allocators`` itself never
imports backtrader.

>>> class MyStrategy(bt.Strategy):                                   # doctest: +SKIP
...     def __init__(self):
...         self.w = AllocatorWeights(*self.datas, allocator=HRP(), lookback=126)
...     def next(self):
...         for i, data in enumerate(self.datas):
...             self.order_target_percent(data, target=0.98 * self.w.lines[i][0])

Look-ahead: the weight at bar t is fitted on the closes up to and including t (a pure function of
trailing data, so it is safe under ``runonce=True``); an order placed in ``next()`` at t fills at t+1.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone

from seqfolio import defaults
from seqfolio._feed_lines import PerFeedIndicator
from seqfolio._validation import InvalidParameter, check_int
from seqfolio.data import trailing_returns

__all__ = ["AllocatorWeights"]


def _one_calendar(datas: Any) -> bool:
    """Whether preloaded feeds hold the same bars (dates); False when it cannot be told."""
    stamps = []
    for data in datas:
        size = data.buflen()
        if size <= 0:
            return False
        stamps.append(np.asarray(data.lines.datetime.getzero(0, size), dtype=float))
    return all(len(s) == len(stamps[0]) and np.array_equal(s, stamps[0]) for s in stamps[1:])


class AllocatorWeights(PerFeedIndicator):
    """Target weights of an allocator, one line per data feed (``w0``, ``w1``, ...).

    Call it with the feeds as positional arguments: ``AllocatorWeights(*self.datas, allocator=HRP())``.
    Line ``w{i}`` is the weight of ``datas[i]``; in plots each line is labelled with its feed's name.
    ``weights()`` returns the current bar's weights as a Series indexed by feed name.

    Params
    ------
    allocator : allocator instance
        Any seqfolio allocator; a clone is fitted at each refit.
    lookback : int, default 252
        Number of daily returns fitted on. The first weight appears at bar ``lookback + 1``.
    refit_every : int, default 21
        Refit every this many bars and carry the weights forward in between (1 = every bar).

    Notes
    -----
    Feeds on different calendars (an asset listing late, a gap) are fine: backtrader's ``runonce``
    mode advances an indicator's feeds bar by bar, not by date, so the indicator then asks cerebro
    for bar-by-bar (next) mode (``_nextforce``), which synchronises feeds by date; with one shared
    calendar runonce is kept. An asset without a price on every bar of the window (e.g. a feed
    shorter than the window) gets weight 0. The number of lines is fixed by the number of
    feeds passed, through a cached subclass created per feed-name tuple (backtrader declares lines per
    class).
    """

    params = dict(allocator=None, lookback=defaults.LOOKBACK, refit_every=21)
    plotinfo = dict(subplot=True, plotname="target weights")
    _prefix = "w"
    _usage = "AllocatorWeights(*self.datas, allocator=HRP())"

    def __init__(self) -> None:
        p = self.p
        if p.allocator is None or not hasattr(p.allocator, "fit"):
            raise InvalidParameter(
                "AllocatorWeights", "allocator", p.allocator, "a seqfolio allocator instance"
            )
        check_int("AllocatorWeights", "lookback", p.lookback, low=defaults.MIN_LOOKBACK)
        check_int("AllocatorWeights", "refit_every", p.refit_every, low=1)
        self.addminperiod(p.lookback + 1)
        if not _one_calendar(self.datas):
            # backtrader's runonce advances an indicator's feeds bar by bar, not by date: with feeds
            # on different calendars (a late listing) it mixes dates up or crashes. Bar-by-bar
            # (next) mode synchronises them by date; this asks cerebro for it (as Heikin-Ashi does).
            self._nextforce = True
        self._names = self.feed_names
        self._last: np.ndarray | None = None
        self._bars_since_fit = 0

    def _fit(self) -> np.ndarray:
        size = self.p.lookback + 1
        columns = {}
        for name, data in zip(self._names, self.datas, strict=True):
            n = min(size, len(data))
            values = np.full(size, np.nan)
            if n:
                values[size - n :] = np.asarray(data.close.get(size=n), dtype=float)
            columns[name] = values
        prices = pd.DataFrame(columns)
        returns = trailing_returns(prices, self.p.lookback)
        weights = np.zeros(len(self._names))
        if returns.shape[1] == 1:
            weights[self._names.index(returns.columns[0])] = 1.0
        elif returns.shape[1] > 1:
            fitted = clone(self.p.allocator).fit(returns).weights_
            for name, w in fitted.items():
                weights[self._names.index(name)] = float(w)
        return weights

    def next(self) -> None:
        if self._last is None or self._bars_since_fit >= self.p.refit_every:
            self._last = self._fit()
            self._bars_since_fit = 0
        self._bars_since_fit += 1
        for i, w in enumerate(self._last):
            self.lines[i][0] = w

    def weights(self, ago: int = 0) -> pd.Series:
        """Weights at ``ago`` bars back (0 = this bar) as a Series indexed by feed name."""
        return self._values(ago)

"""Turn a wide close-price DataFrame into backtrader feeds.

Close-only data
---------------
The bundled data (and most users' CSVs) hold one adjusted close per asset and day. Each feed gets
``open = high = low = close`` and zero volume, so a market order decided on bar t's close fills at bar
t+1's *open*, which here is bar t+1's close: the next day's price, never bar t's own.

Missing prices
--------------
An asset that lists late, stops trading early or has a gap keeps NaN in the wide frame
(``seqfolio.data`` never fills). A NaN close must never reach backtrader: the broker values every
position, even a zero one, as ``size * close`` and a single NaN would turn the portfolio value into NaN.
So each feed carries **only the rows where its asset has a price**. backtrader synchronises feeds by
datetime, so a feed simply does not tick on dates it has no row for:

* before its first price the feed has length 0 (the strategy's ``prenext`` runs until every feed has
  started; :class:`~seqfolio.strategies.RebalanceStrategy` treats ``prenext`` like ``next``);
* on a gap day its ``close[0]`` still shows the previous price and its ``datetime[0]`` the previous date;
* after its last price it stops; orders on it would never fill.

:class:`~seqfolio.strategies.RebalanceStrategy` therefore trades an asset at bar t only if its feed
ticked at bar t (``datetime[0]`` equals the newest datetime of all feeds) and it has a price on every bar
of the lookback window (gaps of at most ``max_gap`` bars bridged).

Known backtrader limitation: ``exactbars=1`` (or larger) crashes with ``IndexError`` when a feed ends
before the others (backtrader 1.9.78.123). Use ``exactbars=0`` or ``-1`` with such data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import backtrader as bt
import pandas as pd

from seqfolio._feed_lines import feed_names
from seqfolio.data.frames import check_price_frame, check_prices
from seqfolio.data.windows import assets_priced_in
from seqfolio.strategies.bar_check import checked_feed

__all__ = [
    "ClosePriceData",
    "add_price_feeds",
    "check_prices",
    "feed_has_ended",
    "feed_names",
    "price_feeds",
    "select_feeds",
]


class ClosePriceData(bt.feed.DataBase):
    """A daily feed from a close-price Series: open = high = low = close, volume 0.

    ``dataname`` is a pandas Series of positive closes (no NaN) with a tz-naive DatetimeIndex; bars are
    stamped at the index's timestamps (midnight for dates). Loads from NumPy arrays, several times
    faster than ``bt.feeds.PandasData`` (whose per-cell ``iloc`` is slow under pandas 3), with the
    same bars.
    """

    params = (("dataname", None),)

    def start(self) -> None:
        super().start()
        close = self.p.dataname
        self._closes = close.to_numpy(dtype=float)
        self._stamps = [bt.date2num(ts) for ts in close.index.to_pydatetime()]
        self._row = -1

    def _load(self) -> bool:
        self._row += 1
        if self._row >= len(self._closes):
            return False
        price = self._closes[self._row]
        lines = self.lines
        lines.datetime[0] = self._stamps[self._row]
        lines.open[0] = lines.high[0] = lines.low[0] = lines.close[0] = price
        lines.volume[0] = 0.0
        lines.openinterest[0] = 0.0
        return True


def price_feeds(prices: pd.DataFrame, start: Any = None, end: Any = None) -> list[ClosePriceData]:
    """One backtrader feed (:class:`ClosePriceData`) per column of a close-price frame.

    Parameters
    ----------
    prices : pandas.DataFrame
        Close prices, ``DatetimeIndex`` (tz-naive or aware; made naive), one column per asset. NaN means
        "no price on that date".
    start, end : date-like or None
        The period the feeds are for (in the index's timezone; None: all rows). An asset with no
        price in it (listing later, delisted earlier) gets no feed, with an INFO log line
        (:func:`seqfolio.data.assets_priced_in`).

    Returns
    -------
    list of ClosePriceData
        In column order; each feed's ``_name`` is the column name and ``p.dataname`` the Series of
        its priced rows.

    Raises
    ------
    TypeError, ValueError
        If ``prices`` is not a DataFrame with a sorted unique DatetimeIndex, column names repeat, a
        column is not numeric, has no prices at all or has a non-positive / infinite price, or no
        column has a price between ``start`` and ``end``.
    """
    prices = check_price_frame(prices, "price_feeds", dates=True)
    prices = assets_priced_in(prices, start, end, owner="price_feeds")
    index = prices.index.tz_localize(None) if prices.index.tz is not None else prices.index
    feeds = []
    for column in prices.columns:
        close = pd.Series(prices[column].to_numpy(), index=index, name=str(column)).dropna()
        feed = ClosePriceData(dataname=close)
        feed._name = str(column)
        checked_feed(feed, mark=True)  # positive, finite, dates sorted and unique: checked above
        feeds.append(feed)
    return feeds


def add_price_feeds(
    cerebro: bt.Cerebro, prices: pd.DataFrame, start: Any = None, end: Any = None
) -> list[ClosePriceData]:
    """Add one feed per column of ``prices`` to ``cerebro`` (named after the column).

    See :func:`price_feeds` (``start`` / ``end`` leave out the assets with no price in that period)
    and the module notes for how missing prices are handled.
    """
    feeds = price_feeds(prices, start, end)
    for feed in feeds:
        cerebro.adddata(feed, name=feed._name)
    return feeds


def select_feeds(
    datas: Sequence[bt.AbstractDataBase], selection: Any, owner: str = "RebalanceStrategy"
) -> list[int]:
    """Positions in ``datas`` of the feeds ``selection`` names (all of them for None).

    Parameters
    ----------
    datas : sequence of feeds
        The strategy's feeds, in cerebro order.
    selection : None, or a sequence of feed names (str) and / or feed objects
        Which feeds to trade. A name is the ``name=`` given to ``cerebro.adddata`` (``data0``,
        ``data1``, ... for unnamed feeds).

    Raises
    ------
    ValueError
        For an empty selection, a name or feed the strategy does not have, or one chosen twice.
    """
    if selection is None:
        return list(range(len(datas)))
    names = feed_names(datas)
    if isinstance(selection, (str, bt.AbstractDataBase)):
        selection = [selection]
    try:
        chosen = list(selection)
    except TypeError:
        chosen = None
    if not chosen:
        raise ValueError(
            f"The 'feeds' parameter of {owner} must be None (every feed) or a non-empty list of feed "
            f"names or data feeds, e.g. {names[:2]}. Got {selection!r} instead."
        )
    positions = []
    for item in chosen:
        if isinstance(item, str):
            where = [i for i, n in enumerate(names) if n == item]
        else:
            where = [i for i, d in enumerate(datas) if d is item]
        if not where:
            what = (
                repr(item)
                if isinstance(item, str)
                else f"a feed named {getattr(item, '_name', '')!r}"
            )
            raise ValueError(
                f"The 'feeds' parameter of {owner} names {what}, which is not a feed of this "
                f"strategy; its feeds are {names}."
            )
        positions.append(where[0])
    if len(set(positions)) != len(positions):
        twice = sorted({names[i] for i in positions if positions.count(i) > 1})
        raise ValueError(f"The 'feeds' parameter of {owner} names {twice} more than once.")
    return positions


def feed_has_ended(data: bt.AbstractDataBase, now: float) -> bool | None:
    """Whether a feed without a bar at ``now`` has ended for good (True) or has a gap (False).

    When the feeds stand on bar ``now`` (in a timer or ``next``), backtrader has asked every feed
    for its next bar: a feed with a gap has loaded a later bar it cannot deliver yet and holds it
    in its buffer (``buflen() > len(data)``), preloaded or not; a feed that has ended has nothing
    more (``buflen() == len(data)``). That holds for every feed class (``ClosePriceData``,
    ``PandasData`` with the dates in the index or a column, ``PandasDirectData``, CSV feeds) under
    ``preload`` True or False. None: a live feed (``islive()``), which cannot tell a delisting from
    a pause.
    """
    if not len(data) or data.lines.datetime[0] >= now:
        return False
    if data.islive():
        return None
    return len(data) >= data.buflen()

"""The close history a RebalanceStrategy reads at each rebalance: the last bars of its feeds' closes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

import backtrader as bt
import numpy as np
import pandas as pd

__all__ = ["CloseHistory"]

_EPOCH = bt.date2num(dt.datetime(1970, 1, 1))  # backtrader's float date of the Unix epoch


class CloseHistory:
    """The last ``capacity`` bars of closes of some feeds, NaN where a feed had no bar.

    A NumPy buffer twice as long, written row by row: when it is full the newest rows move back to the
    front (amortised O(1) per bar), so :meth:`prices` takes one slice instead of stacking a row per bar
    at every rebalance.

    Parameters
    ----------
    datas : sequence of feeds
        The feeds, in column order.
    names : sequence of str
        Column names.
    capacity : int
        Bars kept.
    """

    def __init__(self, datas: Sequence[Any], names: Sequence[str], capacity: int) -> None:
        self._dt_lines = [d.lines.datetime for d in datas]
        self._close_lines = [d.lines.close for d in datas]
        self._columns = pd.Index(list(names))  # built once (copied): prices() runs often
        self.capacity = int(capacity)
        self._stamps = np.empty(2 * self.capacity, dtype=float)
        self._closes = np.empty((2 * self.capacity, len(self._dt_lines)), dtype=float)
        self._n_rows = 0  # rows of the buffers in use

    def now(self) -> float | None:
        """The newest datetime (backtrader float) over the feeds that have started (None if none)."""
        return max((line[0] for line in self._dt_lines if len(line)), default=None)

    def ticked(self, now: float) -> list[bool]:
        """Which feeds have a bar at ``now``."""
        return [bool(len(t)) and t[0] == now for t in self._dt_lines]

    def snapshot(self, now: float | None = None) -> float | None:
        """Record bar t's closes (NaN for feeds without a bar at t) once per bar; return t (None while
        no feed has started)."""
        if now is None:
            now = self.now()
            if now is None:
                return None
        n = self._n_rows
        if n and self._stamps[n - 1] == now:
            return now
        if n == len(self._stamps):  # full: keep the newest capacity - 1 rows, at the front
            keep = self.capacity - 1
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
        """The closes kept (the last ``capacity`` bars), dates as the index."""
        if not self._n_rows:
            return pd.DataFrame(columns=self._columns.copy(), dtype=float)
        rows = slice(max(0, self._n_rows - self.capacity), self._n_rows)
        micros = np.round((self._stamps[rows] - _EPOCH) * 86_400_000_000).astype("int64")
        index = pd.DatetimeIndex(micros.astype("datetime64[us]"), name="date")
        # copies: the frame must not be a view of the buffer, which later bars overwrite, nor share
        # its columns Index (a step renaming it would rename every later frame's)
        return pd.DataFrame(
            self._closes[rows], index=index, columns=self._columns.copy(), copy=True
        )

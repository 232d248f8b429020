"""The close history a RebalanceStrategy reads at each rebalance: the last bars of its feeds' closes."""

from __future__ import annotations

import array
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from seqfolio._feed_lines import date_index

__all__ = ["CloseHistory"]


def line_tail(line: Any, n: int) -> np.ndarray:
    """The last ``n`` values of a line up to its current bar, as a new float array."""
    if n <= 0:
        return np.empty(0)
    end = line.idx + 1
    if isinstance(line.array, array.array):  # a transient view of the buffer, copied at once
        return np.frombuffer(line.array, dtype=float, count=end)[end - n :].copy()
    return np.asarray(line.get(size=n), dtype=float)


class CloseHistory:
    """The last ``capacity`` bars of closes of some feeds, NaN where a feed had no bar.

    The feeds' own line buffers hold their whole history (backtrader's default ``exactbars <= 0``), so
    :meth:`prices` reads the last bars from them at a rebalance: no per-bar work, which matters with
    hundreds of feeds. With ``record=True`` (for ``exactbars >= 1``, where the buffers keep only a
    few bars) each bar's closes are copied by :meth:`snapshot` into a NumPy buffer twice as long (when
    full, the newest rows move back to the front: amortised O(1) per bar).

    Parameters
    ----------
    datas : sequence of feeds
        The feeds, in column order.
    names : sequence of str
        Column names.
    capacity : int
        Bars kept.
    record : bool, default False
        Copy every bar's closes (needed when the feeds' buffers are truncated).
    """

    def __init__(
        self, datas: Sequence[Any], names: Sequence[str], capacity: int, record: bool = False
    ) -> None:
        self.record = bool(record)
        self._dt_lines = [d.lines.datetime for d in datas]
        self._close_lines = [d.lines.close for d in datas]
        self._columns = pd.Index(list(names))  # built once (copied): prices() runs often
        self.capacity = int(capacity)
        self._stamps = np.empty(2 * self.capacity, dtype=float)
        self._closes = np.empty((2 * self.capacity, len(self._dt_lines)), dtype=float)
        self._n_rows = 0  # rows of the buffers in use
        self._first = np.full(len(self._dt_lines), np.inf)  # when recording: each feed's first bar

    def now(self) -> float | None:
        """The newest datetime (backtrader float) over the feeds that have started (None if none)."""
        return max((line[0] for line in self._dt_lines if len(line)), default=None)

    def ticked(self, now: float) -> list[bool]:
        """Which feeds have a bar at ``now``."""
        return [bool(len(t)) and t[0] == now for t in self._dt_lines]

    def snapshot(self, now: float | None = None) -> float | None:
        """Bar t (None while no feed has started); when recording, copy its closes (NaN for feeds
        without a bar at t) once per bar."""
        if now is None:
            now = self.now()
            if now is None:
                return None
        if not self.record:
            return now
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
        row = self._closes[n]
        row[:] = [
            c[0] if len(t) and t[0] == now else nan
            for t, c in zip(self._dt_lines, self._close_lines, strict=True)
        ]
        self._first[np.isinf(self._first) & ~np.isnan(row)] = now
        self._n_rows = n + 1
        return now

    def _first_stamps(self) -> np.ndarray:
        """Each feed's first bar (backtrader float date; inf for a feed that has not started)."""
        if self.record:
            return self._first
        return np.array([t[1 - len(t)] if len(t) else np.inf for t in self._dt_lines])

    def _from_buffers(self) -> tuple[np.ndarray, np.ndarray]:
        """Dates and closes of the last ``capacity`` bars over all feeds, read from their buffers.

        A date among the last ``capacity`` of the union is among the last ``capacity`` of every feed
        that has it, so reading ``capacity`` bars per feed is enough.
        """
        cap = self.capacity
        tails = [
            (line_tail(t, min(len(t), cap)), line_tail(c, min(len(t), cap)))
            for t, c in zip(self._dt_lines, self._close_lines, strict=True)
        ]
        stamps = np.unique(np.concatenate([s for s, _ in tails]))[-cap:]
        closes = np.full((len(stamps), len(tails)), np.nan)
        for j, (s, v) in enumerate(tails):
            keep = s >= stamps[0] if len(stamps) else s < 0
            closes[np.searchsorted(stamps, s[keep]), j] = v[keep]
        return stamps, closes

    def prices(self) -> pd.DataFrame:
        """The closes kept (the last ``capacity`` bars), dates as the index."""
        return self.window()[0]

    def window(self) -> tuple[pd.DataFrame, frozenset[str]]:
        """:meth:`prices`, and the feeds that had a bar before its first row (listed earlier)."""
        if self.record:
            rows = slice(max(0, self._n_rows - self.capacity), self._n_rows)
            # copies: the frame must not be a view of the buffer, which later bars overwrite
            stamps, closes = self._stamps[rows], self._closes[rows].copy()
        else:
            stamps, closes = self._from_buffers()
        listed: frozenset[str] = frozenset()
        if len(stamps):
            listed = frozenset(self._columns[self._first_stamps() < stamps[0]])
        return self._frame(stamps, closes), listed

    def _frame(self, stamps: np.ndarray, closes: np.ndarray) -> pd.DataFrame:
        if not len(stamps):
            return pd.DataFrame(columns=self._columns.copy(), dtype=float)
        index = date_index(stamps)
        # its own columns Index: a step renaming it must not rename every later frame's
        return pd.DataFrame(closes, index=index, columns=self._columns.copy(), copy=False)

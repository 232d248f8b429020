"""backtrader adapter: a model's forecast as an Indicator, one line per data feed.

Import it explicitly (``from seqfolio.signals.indicators import ForecastIndicator``): ``seqfolio.signals``
itself never imports backtrader.

>>> class MyStrategy(bt.Strategy):                                             # doctest: +SKIP
...     def __init__(self):
...         self.wf = WalkForward(self, LSTMForecaster(target="volatility"))   # retrains on a timer
...         self.vol = ForecastIndicator(*self.datas, model=self.wf.current)
...     def next(self):
...         if not math.isnan(self.vol.lines[0][0]): ...

Why ``_nextforce``
------------------
In backtrader's default ``runonce`` mode every indicator is computed over all bars *before* any timer
fires (docs/architecture.md, Backtrader facts). A model retrained in ``notify_timer`` would then be invisible: the indicator
would show only the model that existed before the run (here: none, so NaN everywhere). The class
attribute ``_nextforce = True`` makes cerebro run the whole strategy bar by bar, so at bar t the
indicator reads the model as it stands after bar t's timers: trained on closes up to t at the latest.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from seqfolio._feed_lines import PerFeedIndicator, date_index
from seqfolio._validation import check_int

__all__ = ["ForecastIndicator", "feed_closes", "history_needed"]


def feed_closes(
    datas: Sequence[Any], names: Sequence[str], n_bars: int | None = None
) -> pd.DataFrame:
    """Closes of ``datas`` up to their current bar, aligned by date (NaN where a feed had no bar).

    Parameters
    ----------
    datas : sequence of backtrader data feeds
        Read at their current position: inside ``notify_timer`` / ``next`` for bar t that is bar t,
        so the frame never holds a later close.
    names : sequence of str
        Column names, one per feed.
    n_bars : int or None
        Keep the last ``n_bars`` dates (None = everything the feeds' buffers hold).

    Returns
    -------
    pandas.DataFrame
        Sorted unique ``DatetimeIndex`` named ``"date"``; one column per feed in the given order.
    """
    columns: dict[str, pd.Series] = {}
    for name, data in zip(names, datas, strict=True):
        size = len(data) if n_bars is None else min(int(n_bars), len(data))
        if size <= 0:  # no bar yet (a late listing): empty, but keep the DatetimeIndex of the rest
            columns[name] = pd.Series(np.empty(0), index=date_index(np.empty(0)))
            continue
        stamps = np.asarray(data.lines.datetime.get(size=size), dtype=float)
        closes = np.asarray(data.lines.close.get(size=size), dtype=float)
        columns[name] = pd.Series(closes, index=date_index(stamps))
    frame = pd.DataFrame(columns, columns=list(names)).sort_index()
    frame.index.name = "date"
    if n_bars is not None:
        frame = frame.iloc[-int(n_bars) :]
    return frame


def history_needed(model: Any) -> int | None:
    """Rows of closes a model needs to forecast the last bar: its ``history_needed()`` (None =
    unknown, for a model without one: give everything)."""
    needed = getattr(model, "history_needed", None)
    return int(needed()) if callable(needed) else None


def _is_returns_model(model: Any) -> bool:
    """An allocator trained walk-forward (its ``needs_training`` capability) reads returns, a
    forecaster prices."""
    from seqfolio.allocators import needs_training

    return needs_training(model)


class ForecastIndicator(PerFeedIndicator):
    """A model's per-asset forecast, one line per data feed (``f0``, ``f1``, ...).

    Call it with the feeds as positional arguments:
    ``ForecastIndicator(*self.datas, model=walk_forward.current)``. Line ``f{i}`` holds the forecast for
    ``datas[i]`` (NaN while there is no fitted model or not enough history). ``forecast()`` returns the
    current bar's values as a Series indexed by feed name.

    Params
    ------
    model : fitted estimator or callable
        The model (anything with ``predict(prices) -> Series`` indexed by feed name, e.g. a fitted
        ``LSTMForecaster``), or a zero-argument callable returning the *current* model or None — pass
        :meth:`seqfolio.strategies.WalkForward.current` so the indicator follows every retrain.
        An ``LSTMAllocator`` is read as a model of returns: the lines are its weights.
    every : int, default 1
        Recompute every this many bars and carry the value forward in between; a new model object
        (every retrain) always triggers a recomputation.

    Notes
    -----
    ``_nextforce = True``: see the module notes. The feeds may have different calendars (the frame
    passed to the model is aligned by date, NaN where a feed has no bar).
    """

    params = dict(model=None, every=1)
    plotinfo = dict(subplot=True, plotname="forecast")
    _prefix = "f"
    _usage = "ForecastIndicator(*self.datas, model=walk_forward.current)"

    _nextforce = True  # never precompute in runonce mode: the model changes during the run

    def __init__(self) -> None:
        p = self.p
        if p.model is None or not (callable(p.model) or hasattr(p.model, "predict")):
            raise ValueError(
                "The 'model' parameter of ForecastIndicator must be a fitted model with predict() or "
                f"a callable returning the current model. Got {p.model!r} instead."
            )
        check_int("ForecastIndicator", "every", p.every, low=1)
        self._names = self.feed_names
        self._last_model: Any = None
        self._latest = np.full(len(self._names), np.nan)
        self._bars_since = 0
        self.n_computed = 0  # predictions made (diagnostics)

    def current_model(self) -> Any:
        """The model the indicator reads now (None if there is none yet)."""
        model = self.p.model
        if hasattr(model, "predict"):
            return model
        provider: Callable[[], Any] = model
        return provider()

    def _compute(self, model: Any) -> np.ndarray:
        out = np.full(len(self._names), np.nan)
        if not hasattr(model, "model_"):  # not fitted
            return out
        need = history_needed(model)
        prices = feed_closes(self.datas, self._names, need)
        if need is not None and len(prices) < need:
            return out
        if _is_returns_model(model):
            values = prices.pct_change(fill_method=None).iloc[1:]
            forecast = model.predict(values)
        else:
            forecast = model.predict(prices)
        self.n_computed += 1
        forecast = pd.Series(forecast, dtype=float).reindex(self._names)
        return forecast.to_numpy(dtype=float)

    def next(self) -> None:
        model = self.current_model()
        if model is None:
            self._latest = np.full(len(self._names), np.nan)
            self._last_model = None
        elif model is not self._last_model or self._bars_since >= self.p.every:
            self._latest = self._compute(model)
            self._last_model = model
            self._bars_since = 0
        self._bars_since += 1
        for i, value in enumerate(self._latest):
            self.lines[i][0] = value

    def forecast(self, ago: int = 0) -> pd.Series:
        """Values at ``ago`` bars back (0 = this bar) as a Series indexed by feed name."""
        return self._values(ago)

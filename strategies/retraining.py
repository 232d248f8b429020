"""Walk-forward retraining inside backtrader: a controller any Strategy can own.

:class:`Retrainer` retrains a model (an ``LSTMForecaster``, an allocator trained walk-forward, or
anything with ``fit``) on a schedule, from the strategy's ``notify_timer``, on the closes up to and
including the current bar only. :class:`~seqfolio.strategies.RebalanceStrategy` uses it when given
``signal=`` or an allocator that ``needs_training``; a hand-written strategy needs four lines::

    class MyStrategy(bt.Strategy):
        def __init__(self):
            self.retrainer = Retrainer(self, LSTMForecaster(target="volatility"), retrain="quarterly")
            self.vol = self.retrainer.indicator()       # optional: forecasts as an indicator

        def notify_timer(self, timer, when, *args, **kwargs):
            if self.retrainer.notify_timer(timer, when, *args, **kwargs):
                return                                  # that was the retrain timer
            ...                                         # your own timers

        def stop(self):
            self.retrainer.close()

The retraining rules (training window, failures, bootstrap, warm start, checkpoints) are those of
:class:`~seqfolio.pipeline.ModelRetrainer`, which the research path uses too; this subclass only drives
it from a timer and hands it the feeds' closes. Timing and honesty (docs/architecture.md): a
SESSION_START timer fires once the feeds stand on bar t and before ``next()`` for bar t, so the model
trained there sees closes up to t; orders placed on that information fill at t+1. The retrain timer is
added when the controller is created: create it *before* adding your own timers, so that on a bar where
both fire the model is retrained first.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

import backtrader as bt
import pandas as pd

from seqfolio import defaults
from seqfolio._validation import check_bool
from seqfolio.calendar import check_schedule, count_decisions
from seqfolio.pipeline.retraining import ModelRetrainer, RetrainRecord
from seqfolio.signals.indicators import ForecastIndicator, feed_closes
from seqfolio.strategies.feeds import feed_names
from seqfolio.strategies.schedules import add_schedule_timer

__all__ = ["Retrainer", "RetrainRecord", "WalkForward"]


class Retrainer(ModelRetrainer):
    """Retrain ``model`` on a schedule from a backtrader strategy's timers (see the module notes).

    Parameters
    ----------
    strategy : backtrader.Strategy
        The owner. A retrain timer is added to it now (tagged ``retrainer=self``).
    model, train_window, warm_start, checkpoint_dir, fit, owner
        As in :class:`~seqfolio.pipeline.retraining.ModelRetrainer`, which holds the rules and the
        state (``model``, ``version``, ``history``, ``events``, ``failures``, ``timings``,
        ``n_loaded``).
    retrain : {"daily", "weekly", "monthly", "quarterly"} or callable, default "quarterly"
        Schedule (anything ``rebalance=`` accepts; :mod:`seqfolio.calendar`).
    start : date-like or None
        No scheduled retrain before this date.
    progress : bool, default False
        A tqdm bar counting retrains.
    datas : sequence of feeds or None
        The feeds the model trains and predicts on (default: all the strategy's feeds). When given,
        retrains happen only on days these feeds have a bar, so an index feed on another calendar
        does not move them (:class:`~seqfolio.strategies.schedules.TradedSessions`).
    """

    def __init__(
        self,
        strategy: bt.Strategy,
        model: Any,
        *,
        retrain: Any = defaults.RETRAIN,
        train_window: int | str = defaults.TRAIN_BARS,
        warm_start: bool = False,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        start: Any = None,
        progress: bool = False,
        fit: Callable[[Any, pd.DataFrame], Any] | None = None,
        owner: str = "Retrainer",
        datas: Sequence[Any] | None = None,
    ) -> None:
        check_schedule(owner, "retrain", retrain)
        check_bool(owner, "progress", progress)
        self.strategy = strategy
        self.datas = list(strategy.datas if datas is None else datas)
        all_names = dict(zip(map(id, strategy.datas), feed_names(strategy.datas), strict=True))
        self.names = [all_names.get(id(d), getattr(d, "_name", "")) for d in self.datas]
        self.retrain_schedule = retrain
        super().__init__(
            model, self._closes, train_window=train_window, warm_start=warm_start,
            checkpoint_dir=checkpoint_dir, start=start, fit=fit, owner=owner,
        )  # fmt: skip
        self._bar = self._progress_bar(progress)
        self.on_retrain = lambda record: self._bar.update(1)
        sessions = None if datas is None else self.datas
        add_schedule_timer(strategy, retrain, sessions, action="retrain", retrainer=self)

    def _closes(self, date: pd.Timestamp, n_bars: int | None) -> pd.DataFrame:
        """The feeds' closes up to their current bar (``date`` is that bar; they hold nothing later)."""
        return feed_closes(self.datas, self.names, n_bars)

    # -- progress -----------------------------------------------------------------------------
    def _progress_bar(self, enabled: bool) -> Any:
        from tqdm.auto import tqdm

        total = None
        if enabled:
            try:  # best effort: the feeds' own calendars (ClosePriceData / PandasData keep them)
                index = pd.DatetimeIndex([])
                for data in self.datas:
                    frame = getattr(data.p, "dataname", None)
                    if isinstance(frame, (pd.Series, pd.DataFrame)):
                        index = index.union(pd.DatetimeIndex(frame.index))
                if self.start is not None:
                    index = index[index >= self.start]
                total = count_decisions(index, self.retrain_schedule) or None
            except Exception:  # noqa: BLE001 - a missing total must never stop a backtest
                total = None
        return tqdm(total=total, desc="retrains", unit="retrain", disable=not enabled, leave=False)

    def close(self) -> None:
        """Close the progress bar and report failed retrains (call from the strategy's ``stop``)."""
        self._bar.close()
        super().close()

    # -- timers --------------------------------------------------------------------------------
    def _now(self) -> pd.Timestamp:
        stamps = [d.lines.datetime[0] for d in self.datas if len(d)]
        return pd.Timestamp(bt.num2date(max(stamps)))

    def notify_timer(self, timer: Any, when: Any, *args: Any, **kwargs: Any) -> bool:
        """Retrain if this is the controller's timer; return True if it was (False otherwise)."""
        if kwargs.get("retrainer") is not self:
            return False
        self.retrain(self._now(), trigger="schedule")
        return True

    def retrain(self, date: pd.Timestamp | None = None, *, trigger: str = "schedule") -> bool:
        """Train a new model on the closes up to the current bar; True if it succeeded."""
        return super().retrain(self._now() if date is None else date, trigger=trigger)

    # -- using the model ------------------------------------------------------------------------
    def ensure(self, date: pd.Timestamp | None = None) -> Any:
        """The current model, training one first if there is none yet (at most one attempt per bar)."""
        return super().ensure(self._now() if date is None else date)

    def indicator(self, **kwargs: Any) -> ForecastIndicator:
        """A :class:`~seqfolio.signals.indicators.ForecastIndicator` over the feeds that follows every
        retrain (call it in the strategy's ``__init__``)."""
        return ForecastIndicator(*self.datas, model=self.current, **kwargs)


WalkForward = Retrainer
"""The name :class:`Retrainer` had before 0.2 (kept so existing scripts run)."""

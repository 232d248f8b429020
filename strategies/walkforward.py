"""Walk-forward retraining inside backtrader: a controller any Strategy can own.

:class:`WalkForward` retrains a model (an ``LSTMForecaster``, the direct-weights ``LSTMAllocator``, or
anything with ``fit``) on a schedule, from the strategy's ``notify_timer``, on the closes up to and
including the current bar only. :class:`~seqfolio.strategies.RebalanceStrategy` uses it when given
``signal=`` or an ``LSTMAllocator``; a hand-written strategy needs four lines::

    class MyStrategy(bt.Strategy):
        def __init__(self):
            self.wf = WalkForward(self, LSTMForecaster(target="volatility"), retrain="quarterly")
            self.vol = self.wf.indicator()              # optional: forecasts as an indicator

        def notify_timer(self, timer, when, *args, **kwargs):
            if self.wf.notify_timer(timer, when, *args, **kwargs):
                return                                  # that was the retrain timer
            ...                                         # your own timers

        def stop(self):
            self.wf.close()

Timing and honesty (DESIGN.md section 3): a SESSION_START timer fires once the feeds stand on bar t and
before ``next()`` for bar t, so the model trained there sees closes up to t; orders placed on that
information fill at t+1. The retrain timer is added when the controller is created: create it *before*
adding your own timers, so that on a bar where both fire the model is retrained first.

Rules
-----
* ``train_window`` bars (the last ones up to t) or ``"expanding"`` (every bar so far). A scheduled
  retrain with fewer bars than ``train_window`` is skipped and recorded in ``failures``; so is a fit that
  raises ``ValueError`` (e.g. too short a history, or a training loss that became NaN / infinite:
  :class:`~seqfolio.signals.trainer.TrainingDiverged`). The previous model stays in use; a failed fit
  is logged as a warning, and :meth:`WalkForward.close` logs how many retrains failed.
* No retrain before ``start``. If a rebalance needs a model and none was trained yet,
  :meth:`WalkForward.ensure` trains one on the spot (a "bootstrap" retrain), once per bar.
* ``warm_start=True`` continues from a copy of the previous model (its scalers are kept); otherwise
  each retrain fits a fresh ``sklearn.clone`` of the template. Each retrain produces a new model object:
  earlier ones are never modified.
* ``checkpoint_dir``: every retrained model is saved there (:mod:`~seqfolio.strategies.checkpoints`);
  a restarted run with the same arguments loads them instead of training and ends with exactly the
  result of an uninterrupted run.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from numbers import Integral
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd
from sklearn.base import clone

from seqfolio.signals.indicators import ForecastIndicator, feed_closes, history_needed
from seqfolio.strategies.checkpoints import CheckpointStore, checkpoint_key
from seqfolio.strategies.feeds import feed_names, naive_timestamp
from seqfolio.strategies.schedules import SCHEDULES, add_schedule_timer

__all__ = ["RetrainRecord", "WalkForward", "check_train_window", "count_schedule"]

logger = logging.getLogger("seqfolio.strategies")


@dataclass
class RetrainRecord:
    """One successful retrain.

    Attributes
    ----------
    date : pandas.Timestamp
        Bar t on whose close the model was trained (its training data end there).
    version : int
        1 for the first model, then 2, 3, ...
    first_bar : pandas.Timestamp
        First bar of the training data.
    n_bars : int
        Rows of closes trained on.
    seconds : float
        Wall time of the fit (or of loading the checkpoint).
    source : {"trained", "checkpoint"}
    trigger : {"schedule", "bootstrap"}
    path : pathlib.Path or None
        The checkpoint file, if checkpoints are on.
    """

    date: pd.Timestamp
    version: int
    first_bar: pd.Timestamp
    n_bars: int
    seconds: float
    source: str
    trigger: str
    path: Path | None = None


def check_train_window(owner: str, value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is an int >= 2 or ``"expanding"``."""
    if value == "expanding" and isinstance(value, str):
        return
    if isinstance(value, bool) or not isinstance(value, Integral) or value < 2:
        raise ValueError(
            f"The 'train_window' parameter of {owner} must be an int >= 2 (bars) or 'expanding'. "
            f"Got {value!r} instead."
        )


def count_schedule(dates: pd.DatetimeIndex, schedule: Any) -> int:
    """How many of ``dates`` (a bar calendar) a schedule fires on (for the progress bar's total)."""
    if len(dates) == 0:
        return 0
    if callable(schedule):
        return int(sum(bool(schedule(d.date())) for d in dates))
    if schedule == "daily":
        return len(dates)
    if schedule == "weekly":
        iso = dates.isocalendar()
        return int(len(iso.groupby(["year", "week"]).size()))
    months = pd.Series(dates.year * 12 + dates.month - 1, index=dates)
    firsts = months[months.ne(months.shift())]
    if schedule == "monthly":
        return len(firsts)
    return int(sum(d.month in (1, 4, 7, 10) for d in firsts.index))


def _is_returns_model(model: Any) -> bool:
    from seqfolio.signals import LSTMAllocator

    return isinstance(model, LSTMAllocator)


def fit_on_prices(model: Any, prices: pd.DataFrame) -> Any:
    """The default fit: ``LSTMAllocator`` on the returns of the assets priced on every bar of the
    window, anything else (``LSTMForecaster``) on the prices as they are (NaN allowed)."""
    if _is_returns_model(model):
        complete = prices.loc[:, prices.notna().all()]
        returns = complete.pct_change(fill_method=None).iloc[1:]
        return model.fit(returns)
    return model.fit(prices)


class WalkForward:
    """Retrain ``model`` on a schedule from a backtrader strategy's timers (see the module notes).

    Parameters
    ----------
    strategy : backtrader.Strategy
        The owner. A retrain timer is added to it now (tagged ``walkforward=self``).
    model : estimator
        Template (never fitted itself): ``LSTMForecaster``, ``LSTMAllocator`` or any estimator with
        ``fit`` (and ``save`` / ``load`` for checkpoints).
    retrain : {"daily", "weekly", "monthly", "quarterly"} or callable, default "quarterly"
        Schedule (anything ``rebalance=`` accepts).
    train_window : int or "expanding", default 756
        Bars of closes per retrain.
    warm_start : bool, default False
        Continue from the previous model instead of a fresh fit.
    checkpoint_dir : str or path or None
        Save every retrained model there and reuse the ones already saved (resume).
    start : date-like or None
        No scheduled retrain before this date.
    progress : bool, default False
        A tqdm bar counting retrains.
    fit : callable or None
        ``fit(model, prices) -> fitted model``; default :func:`fit_on_prices`.
    owner : str
        Name used in error messages.
    datas : sequence of feeds or None
        The feeds the model trains and predicts on (default: all the strategy's feeds).

    Attributes
    ----------
    model : estimator or None
        The current fitted model (None before the first successful retrain).
    version : int
        Successful retrains so far.
    history : list of RetrainRecord
    failures : list of (Timestamp, str)
        Retrains that did not produce a model, with the reason.
    timings : dict
        Seconds spent ``"training"`` (incl. checkpoint loading/saving) and ``"predicting"``
        (through :meth:`predict`).
    """

    def __init__(
        self,
        strategy: bt.Strategy,
        model: Any,
        *,
        retrain: Any = "quarterly",
        train_window: int | str = 756,
        warm_start: bool = False,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        start: Any = None,
        progress: bool = False,
        fit: Callable[[Any, pd.DataFrame], Any] | None = None,
        owner: str = "WalkForward",
        datas: Any = None,
    ) -> None:
        if not callable(retrain) and (not isinstance(retrain, str) or retrain not in SCHEDULES):
            raise ValueError(
                f"The 'retrain' parameter of {owner} must be one of {list(SCHEDULES)} or a callable. "
                f"Got {retrain!r} instead."
            )
        check_train_window(owner, train_window)
        for name, value in (("warm_start", warm_start), ("progress", progress)):
            if not isinstance(value, bool):
                raise ValueError(
                    f"The '{name}' parameter of {owner} must be a bool. Got {value!r} instead."
                )
        if model is None or isinstance(model, type) or not hasattr(model, "fit"):
            raise TypeError(
                f"{owner}: the model must be an estimator instance with fit(), e.g. "
                f"LSTMForecaster(target='volatility'). Got {model!r} instead."
            )
        if checkpoint_dir is not None and not (
            hasattr(model, "save") and hasattr(type(model), "load")
        ):
            raise TypeError(
                f"{owner}: checkpoint_dir needs a model with save() and load(); "
                f"{type(model).__name__} has none."
            )
        self.start = naive_timestamp(start, "start", owner)  # tz-naive like the feeds' bars
        self.strategy = strategy
        self.template = model
        self.retrain_schedule = retrain
        self.train_window = train_window
        self.warm_start = warm_start
        self.fit_fn = fit or fit_on_prices
        self.owner = owner
        self.datas = list(strategy.datas if datas is None else datas)
        all_names = dict(zip(map(id, strategy.datas), feed_names(strategy.datas), strict=True))
        self.names = [all_names.get(id(d), getattr(d, "_name", "")) for d in self.datas]
        self.store = None if checkpoint_dir is None else CheckpointStore(checkpoint_dir)
        self.model: Any = None
        self.version = 0
        self.history: list[RetrainRecord] = []
        self.failures: list[tuple[pd.Timestamp, str]] = []
        self._reported = False
        self.timings = {"training": 0.0, "predicting": 0.0}
        self.n_loaded = 0
        self._key: str | None = None
        self._last_attempt: pd.Timestamp | None = None
        self._bar = self._progress_bar(progress)
        add_schedule_timer(strategy, retrain, action="retrain", walkforward=self)

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
                total = count_schedule(index, self.retrain_schedule) or None
            except Exception:  # noqa: BLE001 - a missing total must never stop a backtest
                total = None
        return tqdm(total=total, desc="retrains", unit="retrain", disable=not enabled, leave=False)

    def close(self) -> None:
        """Close the progress bar and report failed retrains (call from the strategy's ``stop``)."""
        self._bar.close()
        if self.failures and not self._reported:
            self._reported = True
            logger.warning(
                "%s: %d of %d retrains failed (the previous model was kept each time); first: %s %s",
                self.owner, len(self.failures), len(self.failures) + len(self.history),
                self.failures[0][0].date(), self.failures[0][1],
            )  # fmt: skip

    def _fail(self, date: pd.Timestamp, reason: str, level: int = logging.WARNING) -> None:
        """Record a retrain that produced no model; the current one (if any) stays in use."""
        self.failures.append((date, reason))
        kept = f"model v{self.version} kept" if self.model is not None else "no model yet"
        logger.log(level, "%s: %s retrain failed (%s): %s", self.owner, date.date(), kept, reason)

    # -- timers --------------------------------------------------------------------------------
    def _now(self) -> pd.Timestamp:
        stamps = [d.lines.datetime[0] for d in self.datas if len(d)]
        return pd.Timestamp(bt.num2date(max(stamps)))

    def notify_timer(self, timer: Any, when: Any, *args: Any, **kwargs: Any) -> bool:
        """Retrain if this is the controller's timer; return True if it was (False otherwise)."""
        if kwargs.get("walkforward") is not self:
            return False
        date = self._now()
        if self.start is None or date >= self.start:
            self.retrain(date, trigger="schedule")
        return True

    # -- retraining ---------------------------------------------------------------------------
    def training_prices(self) -> pd.DataFrame:
        """Closes up to the current bar: the last ``train_window`` dates, or all of them."""
        n = None if self.train_window == "expanding" else int(self.train_window)
        return feed_closes(self.datas, self.names, n)

    def retrain(self, date: pd.Timestamp | None = None, *, trigger: str = "schedule") -> bool:
        """Train a new model on the closes up to the current bar; True if it succeeded."""
        date = self._now() if date is None else pd.Timestamp(date)
        self._last_attempt = date
        prices = self.training_prices()
        if self.train_window != "expanding" and len(prices) < int(self.train_window):
            reason = f"{len(prices)} bars of history, train_window needs {self.train_window}"
            self._fail(date, reason, logging.INFO)
            return False
        parent = self.model if (self.warm_start and self.model is not None) else None
        t0 = time.perf_counter()
        candidate = self._candidate(parent)
        key = None
        path = None
        source = "trained"
        if self.store is not None:
            key = checkpoint_key(
                candidate, prices, fit_kind=self._fit_kind(), parent=self._key if parent else None
            )
            path = self.store.path_for(self.version + 1, date, key)
            found = self.store.find(self.version + 1, date, key)
            if found is not None:
                try:
                    candidate, source = self.store.load(self.template, found), "checkpoint"
                except Exception as exc:  # noqa: BLE001 - an unreadable checkpoint is retrained
                    logger.warning("%s: checkpoint %s unreadable (%s); retraining", date.date(),
                                   found.name, exc)  # fmt: skip
        if source == "trained":
            try:
                candidate = self._fit(candidate, parent, prices)
            except ValueError as exc:
                self._fail(date, f"{type(self.template).__name__}.fit failed: {exc}")
                self.timings["training"] += time.perf_counter() - t0
                return False
            if self.store is not None and path is not None:
                self.store.save(candidate, path)
        else:
            self.n_loaded += 1
        seconds = time.perf_counter() - t0
        self.timings["training"] += seconds
        self.model = candidate
        self._key = key
        self.version += 1
        record = RetrainRecord(
            date=date, version=self.version, first_bar=prices.index[0], n_bars=len(prices),
            seconds=seconds, source=source, trigger=trigger, path=path,
        )  # fmt: skip
        self.history.append(record)
        if self.store is not None:
            self.store.record(
                {"version": self.version, "date": date, "first_bar": record.first_bar,
                 "n_bars": len(prices), "source": source, "trigger": trigger,
                 "path": None if path is None else path.name, "key": key}
            )  # fmt: skip
        self._bar.update(1)
        return True

    def _fit_kind(self) -> str:
        fn = self.fit_fn
        return f"{getattr(fn, '__module__', '')}.{getattr(fn, '__qualname__', repr(fn))}"

    def _candidate(self, parent: Any) -> Any:
        """A fresh clone, or a warm-starting copy of ``parent`` (earlier models are never mutated)."""
        if parent is None:
            return clone(self.template)
        warm = copy.deepcopy(parent)
        if "warm_start" in warm.get_params(deep=False):
            warm.set_params(warm_start=True)
        return warm

    def _fit(self, candidate: Any, parent: Any, prices: pd.DataFrame) -> Any:
        try:
            return self.fit_fn(candidate, prices)
        except ValueError:
            if parent is None:
                raise
            # e.g. a warm start whose asset set changed: fall back to a cold fit
            return self.fit_fn(clone(self.template), prices)

    def ensure(self, date: pd.Timestamp | None = None) -> Any:
        """The current model, training one first if there is none yet (at most one attempt per bar)."""
        if self.model is not None:
            return self.model
        date = self._now() if date is None else pd.Timestamp(date)
        if self.start is not None and date < self.start:
            return None
        if self._last_attempt is None or self._last_attempt != date:
            self.retrain(date, trigger="bootstrap")
        return self.model

    # -- using the model ------------------------------------------------------------------------
    def current(self) -> Any:
        """The current model or None (pass ``wf.current`` as a ForecastIndicator's ``model``)."""
        return self.model

    def predict(self, data: pd.DataFrame) -> pd.Series:
        """``model.predict(data)``, timed into ``timings["predicting"]``."""
        if self.model is None:
            raise ValueError(f"{self.owner}: no trained model yet.")
        t0 = time.perf_counter()
        try:
            return self.model.predict(data)
        finally:
            self.timings["predicting"] += time.perf_counter() - t0

    def history_needed(self) -> int:
        """Rows of closes the model needs to predict (from the template's window; before fitting,
        a conservative bound)."""
        model = self.model if self.model is not None else self.template
        needed = history_needed(model) if hasattr(model, "model_") else None
        if needed is not None:
            return needed
        window = int(getattr(model, "window", 60))
        if _is_returns_model(model):
            return 20 + window + 1
        threshold = float(getattr(model, "ffd_threshold", 1e-3))
        # "auto" may pick any order of its grid: take the widest FFD window over the grid
        from seqfolio.signals.features import feature_warmup

        d = getattr(model, "ffd_d", "auto")
        grid = [round(0.1 * k, 1) for k in range(1, 11)]
        orders = None if d is None else (grid if d == "auto" else [float(d)])
        return feature_warmup(orders, threshold) + window - 1

    def indicator(self, **kwargs: Any) -> ForecastIndicator:
        """A :class:`~seqfolio.signals.indicators.ForecastIndicator` over the strategy's feeds that
        follows every retrain (call it in the strategy's ``__init__``)."""
        return ForecastIndicator(*self.datas, model=self.current, **kwargs)

    def retrain_table(self) -> pd.DataFrame:
        """One row per successful retrain."""
        rows = [
            {"date": r.date, "version": r.version, "first_bar": r.first_bar, "n_bars": r.n_bars,
             "seconds": r.seconds, "source": r.source, "trigger": r.trigger}
            for r in self.history
        ]  # fmt: skip
        columns = ["date", "version", "first_bar", "n_bars", "seconds", "source", "trigger"]
        return pd.DataFrame(rows, columns=columns).set_index("date")

"""Walk-forward retraining without an engine: the rules every path retrains a model by.

:class:`ModelRetrainer` keeps the current model of a walk-forward run and retrains it when told to,
on the closes up to the current bar only. It is the :class:`~seqfolio.pipeline.forecasts.ModelSource`
the forecast steps read. Who tells it when differs by path and nothing else does:

* in backtrader, :class:`~seqfolio.strategies.Retrainer` calls :meth:`ModelRetrainer.retrain` from a
  timer on the ``retrain`` schedule, with the feeds' closes;
* in research, :func:`~seqfolio.research.target_weights` calls it on the same schedule's dates of the
  price frame, in date order with the decisions (a retrain on a decision bar comes first).

Rules
-----
* ``train_window`` bars (the last ones up to t) or ``"expanding"`` (every bar so far). A scheduled
  retrain with fewer bars than ``train_window`` is skipped and recorded as a ``retrain_failed`` event;
  so is a fit that raises ``ValueError`` (e.g. too short a history, or a training loss that became
  NaN / infinite: :class:`~seqfolio.signals.trainer.TrainingDiverged`). The previous model stays in use;
  a failed fit is logged as a warning, :meth:`ModelRetrainer.close` logs how many retrains failed.
* No retrain before ``start``. If a rebalance needs a model and none was trained yet,
  :meth:`ModelRetrainer.ensure` trains one on the spot (a "bootstrap" retrain), once per bar; with
  ``bootstrap_at`` (research: the last bar of a walk-forward window's training part) it is trained
  on the closes up to that bar instead, once.
* ``warm_start=True`` continues from a copy of the previous model (its scalers are kept); otherwise
  each retrain fits a fresh ``sklearn.clone`` of the template. Each retrain produces a new model object:
  earlier ones are never modified.
* ``checkpoint_dir``: every retrained model is saved there (:mod:`~seqfolio.pipeline.checkpoints`);
  a restarted run with the same arguments loads them instead of training and ends with exactly the
  result of an uninterrupted run.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from sklearn.base import clone

from seqfolio import defaults
from seqfolio.allocators import needs_training
from seqfolio.calendar import naive_date
from seqfolio.events import DETAILS_EVENTS, Event, of_kind
from seqfolio.pipeline.checkpoints import CheckpointStore, checkpoint_key

__all__ = ["ModelRetrainer", "RetrainRecord", "fit_on_prices"]

logger = logging.getLogger("seqfolio.pipeline")

PricesUpTo = Callable[[pd.Timestamp, int | None], pd.DataFrame]
"""``prices_up_to(date, n_bars)``: the closes up to ``date`` (the last ``n_bars`` rows, or all)."""


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


def fit_on_prices(model: Any, prices: pd.DataFrame) -> Any:
    """The default fit: an allocator trained walk-forward on the returns of the
    assets priced on every bar of the window (what an allocator fits on), anything else (a
    forecaster) on the prices as they are (NaN allowed)."""
    if needs_training(model):
        complete = prices.loc[:, prices.notna().all()]
        returns = complete.pct_change(fill_method=None).iloc[1:]
        return model.fit(returns)
    return model.fit(prices)


class ModelRetrainer:
    """The current model of a walk-forward run, retrained when told to (see the module notes).

    Parameters
    ----------
    model : estimator
        Template (never fitted itself): a forecaster, an allocator trained walk-forward, or any estimator with
        ``fit`` (and ``save`` / ``load`` for checkpoints).
    prices_up_to : callable
        ``prices_up_to(date, n_bars)`` returns the closes up to ``date`` (the last ``n_bars`` rows, or
        all for None): the feeds' closes in backtrader, a slice of the price frame in research.
    train_window : int or "expanding", default 756
        Bars of closes per retrain.
    warm_start : bool, default False
        Continue from the previous model instead of a fresh fit.
    checkpoint_dir : str or path or None
        Save every retrained model there and reuse the ones already saved (resume).
    start : date-like or None
        No retrain before this date.
    fit : callable or None
        ``fit(model, prices) -> fitted model``; default :func:`fit_on_prices`.
    owner : str
        Name used in messages.
    bootstrap_at : pandas.Timestamp or None
        Train a missing model on the closes up to this bar (on the prices' clock) rather than the
        decision bar.

    Attributes
    ----------
    model : estimator or None
        The current fitted model (None before the first successful retrain).
    history : list of RetrainRecord
    events : list of Event
        Retrains that produced no model (``retrain_failed``).
    timings : dict
        Seconds spent ``"training"`` (incl. checkpoint loading / saving) and ``"predicting"``.
    """

    def __init__(
        self,
        model: Any,
        prices_up_to: PricesUpTo,
        *,
        train_window: int | str = defaults.TRAIN_BARS,
        warm_start: bool = False,
        checkpoint_dir: str | os.PathLike[str] | None = None,
        start: Any = None,
        fit: Callable[[Any, pd.DataFrame], Any] | None = None,
        owner: str = "ModelRetrainer",
        bootstrap_at: Any = None,
    ) -> None:
        from seqfolio.spec import check_setting

        train_window = check_setting(owner, "train_window", train_window)
        warm_start = check_setting(owner, "warm_start", warm_start)
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
        self.template = model
        self.prices_up_to = prices_up_to
        self.train_window = train_window
        self.warm_start = warm_start
        self.start = naive_date(start, "start", owner)
        self.bootstrap_at = None if bootstrap_at is None else pd.Timestamp(bootstrap_at)
        self.fit_fn = fit or fit_on_prices
        self.owner = owner
        self.store = None if checkpoint_dir is None else CheckpointStore(checkpoint_dir)
        self.model: Any = None
        self.history: list[RetrainRecord] = []
        self.events: list[Event] = []
        self.timings = {"training": 0.0, "predicting": 0.0}
        self.on_retrain: Callable[[RetrainRecord], None] | None = None
        self._key: str | None = None
        self._last_attempt: pd.Timestamp | None = None
        self._reported = False

    # -- derived state --------------------------------------------------------------------------
    @property
    def version(self) -> int:
        """Successful retrains so far."""
        return len(self.history)

    @property
    def n_loaded(self) -> int:
        """Retrains loaded from a checkpoint instead of trained."""
        return sum(r.source == "checkpoint" for r in self.history)

    @property
    def failures(self) -> list[tuple[pd.Timestamp, str]]:
        """Retrains that produced no model, with the reason."""
        return of_kind(self.events, "retrain_failed")

    @property
    def last_failure(self) -> str | None:
        """Why the last retrain failed, if it did (for the skip reason of a rebalance without model)."""
        return self.events[-1].reason if self.events else None

    # -- retraining ---------------------------------------------------------------------------
    def _fail(self, date: pd.Timestamp, reason: str, level: int = logging.WARNING) -> None:
        """Record a retrain that produced no model; the current one (if any) stays in use."""
        self.events.append(Event(date, "retrain_failed", reason))
        kept = f"model v{self.version} kept" if self.model is not None else "no model yet"
        logger.log(level, "%s: %s retrain failed (%s): %s", self.owner, date.date(), kept, reason,
                   extra=DETAILS_EVENTS)  # fmt: skip

    def training_prices(self, date: pd.Timestamp) -> pd.DataFrame:
        """Closes up to ``date``: the last ``train_window`` bars, or all of them."""
        n = None if self.train_window == "expanding" else int(self.train_window)
        return self.prices_up_to(date, n)

    def retrain(self, date: pd.Timestamp, *, trigger: str = "schedule") -> bool:
        """Train a new model on the closes up to ``date``; True if it succeeded.

        A scheduled retrain before ``start`` is not made (False, nothing recorded).
        """
        date = pd.Timestamp(date)
        if trigger == "schedule" and self.start is not None and date < self.start:
            return False
        self._last_attempt = date
        prices = self.training_prices(date)
        if self.train_window != "expanding" and len(prices) < int(self.train_window):
            reason = f"{len(prices)} bars of history, train_window needs {self.train_window}"
            self._fail(date, reason, logging.INFO)
            return False
        parent = self.model if (self.warm_start and self.model is not None) else None
        t0 = time.perf_counter()
        candidate = self._candidate(parent)
        key = path = None
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
        seconds = time.perf_counter() - t0
        self.timings["training"] += seconds
        self.model = candidate
        self._key = key
        record = RetrainRecord(
            date=date, version=self.version + 1, first_bar=prices.index[0], n_bars=len(prices),
            seconds=seconds, source=source, trigger=trigger, path=path,
        )  # fmt: skip
        self.history.append(record)
        if self.store is not None:
            self.store.record(
                {"version": record.version, "date": date, "first_bar": record.first_bar,
                 "n_bars": len(prices), "source": source, "trigger": trigger,
                 "path": None if path is None else path.name, "key": key}
            )  # fmt: skip
        if self.on_retrain is not None:
            self.on_retrain(record)
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

    # -- the model source the forecast steps read -----------------------------------------------
    def ensure(self, date: pd.Timestamp) -> Any:
        """The current model, training one first if there is none yet (at most one attempt per bar)."""
        if self.model is not None:
            return self.model
        date = pd.Timestamp(date)
        if self.start is not None and date < self.start:
            return None
        when = date if self.bootstrap_at is None else self.bootstrap_at
        if self._last_attempt is None or self._last_attempt != when:
            self.retrain(when, trigger="bootstrap")
        return self.model

    def current(self) -> Any:
        """The current model or None (pass ``retrainer.current`` as a ForecastIndicator's ``model``)."""
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
        """Rows of closes the model needs to predict (the current model's, else the template's
        bound; see the models' ``history_needed``)."""
        model = self.model if self.model is not None else self.template
        return int(model.history_needed())

    def close(self) -> None:
        """Report failed retrains once (call at the end of a run)."""
        if self.events and not self._reported:
            self._reported = True
            first = self.events[0]
            logger.warning(
                "%s: %d of %d retrains failed (the previous model was kept each time); first: %s %s",
                self.owner, len(self.events), len(self.events) + len(self.history),
                first.date.date(), first.reason, extra=DETAILS_EVENTS,
            )  # fmt: skip

    def retrain_table(self) -> pd.DataFrame:
        """One row per successful retrain."""
        columns = ["date", "version", "first_bar", "n_bars", "seconds", "source", "trigger"]
        rows = [asdict(r) for r in self.history]
        return pd.DataFrame(rows, columns=columns).set_index("date")

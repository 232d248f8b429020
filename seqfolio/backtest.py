"""One-call backtests on a price frame (what the CLI, the examples and the benchmark run).

:func:`run_backtest` wires the pieces a user would otherwise wire by hand: close-only feeds
(:func:`~seqfolio.strategies.add_price_feeds`), a broker with cash and commission,
:class:`~seqfolio.strategies.RebalanceStrategy`, and the :class:`~seqfolio.strategies.TearSheet` and
:class:`~seqfolio.strategies.WeightsHistory` analyzers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from os import PathLike
from typing import Any

import pandas as pd

from seqfolio import defaults
from seqfolio._validation import is_real_number
from seqfolio.calendar import naive_date
from seqfolio.events import SKIP_KINDS, Event, events_table, first_skip, of_kind

__all__ = ["ORDER_COLUMNS", "BacktestResult", "check_broker", "run_backtest", "with_history"]

ORDER_COLUMNS: list[str] = [
    "date", "asset", "size", "status", "executed_date", "executed_size", "executed_price",
    "commission",
]  # fmt: skip
"""The columns of :meth:`BacktestResult.order_table` (the fields of an ``OrderEvent``)."""


@dataclass
class BacktestResult:
    """What :func:`run_backtest` returns.

    Attributes
    ----------
    name : str
        Strategy label (e.g. ``"HRP monthly"``).
    returns : pandas.Series
        Daily returns from ``start`` (tz-naive index).
    weights : pandas.DataFrame
        Daily position weights (rows = dates from ``start``, columns = assets).
    target, realised : pandas.DataFrame
        Weights per rebalance (rows = decision dates).
    rebalances : pandas.DataFrame
        Turnover, costs and order counts per rebalance.
    final_value : float
    n_rejected : int
        Orders rejected by the broker.
    event_log : list of Event
        What did not go as planned, in date order (:mod:`seqfolio.events`): skipped rebalances
        (warm-up, allocator or forecast failure, no trained model yet, ...), fallbacks, failed
        retrains, delistings. :meth:`events` gives it as a table; ``skipped``,
        ``allocation_failures``, ``forecast_failures``, ``fallbacks``, ``retrain_failures`` and
        ``delistings`` list it by kind as ``(date, reason)``.
    orders : list of OrderEvent
        Every order submitted and how it ended (the strategy's ``orders_log``).
    tearsheet : pathlib.Path or None
        The tear sheet written; None if none was asked for or it could not be written.
    tearsheet_error : str or None
        Why the tear sheet asked for was not written (e.g. the strategy never traded, so its
        returns are all 0); a :class:`~seqfolio.reporting.TearSheetWarning` said so too.
    retrains : pandas.DataFrame or None
        With a walk-forward model: one row per retrain (date, version, bars, seconds, source,
        trigger; see :meth:`~seqfolio.strategies.WalkForward.retrain_table`).
    forecasts : pandas.DataFrame or None
        With ``signal=``: the forecast per rebalance date (rows) and asset (columns).
    timings : dict
        Wall seconds of the run: ``"total"`` (``cerebro.run``), ``"training"``, ``"predicting"``,
        ``"allocating"`` and ``"backtrader"`` (the rest: feeds, broker, analyzers, tear sheet).

    See Also
    --------
    BacktestResult.events : the skips, fallbacks and failed retrains as one table.
    """

    name: str
    returns: pd.Series
    weights: pd.DataFrame
    target: pd.DataFrame
    realised: pd.DataFrame
    rebalances: pd.DataFrame
    final_value: float
    n_rejected: int
    event_log: list[Event] = field(default_factory=list)
    orders: list[Any] = field(default_factory=list)
    tearsheet: Any = None
    tearsheet_error: str | None = None
    retrains: pd.DataFrame | None = None
    forecasts: pd.DataFrame | None = None
    timings: dict[str, float] = field(default_factory=dict)

    skipped = property(lambda self: of_kind(self.event_log, *SKIP_KINDS))
    allocation_failures = property(lambda self: of_kind(self.event_log, "allocation_failed"))
    forecast_failures = property(lambda self: of_kind(self.event_log, "forecast_failed"))
    fallbacks = property(lambda self: of_kind(self.event_log, "fallback"))
    retrain_failures = property(lambda self: of_kind(self.event_log, "retrain_failed"))
    delistings = property(lambda self: of_kind(self.event_log, "delisted"))

    def first_skip(self) -> tuple[pd.Timestamp, str] | None:
        """The first skipped rebalance that is not a warm-up (else the first skip; None if none).

        The reason to show when a run never traded, as the end-of-run log line does.
        """
        event = first_skip(self.event_log)
        return None if event is None else (event.date, event.reason)

    def events(self) -> pd.DataFrame:
        """:attr:`event_log` as one table in date order: columns ``date``, ``kind``, ``reason``
        (the kinds of :mod:`seqfolio.events`); empty with those columns for a clean run."""
        return events_table(self.event_log)

    def order_table(self) -> pd.DataFrame:
        """:attr:`orders` as one table, in the order they were submitted: ``date`` (the decision
        bar), ``asset``, ``size`` (shares; < 0 sells), ``status`` (``Completed``, ``Margin`` or
        ``Rejected`` for a rejected order, ``Canceled``, ...), ``executed_date``,
        ``executed_size``, ``executed_price`` and ``commission``."""
        rows = [{c: getattr(o, c) for c in ORDER_COLUMNS} for o in self.orders]
        return pd.DataFrame(rows, columns=ORDER_COLUMNS)


def with_history(prices: pd.DataFrame, start: Any, lookback: int) -> pd.DataFrame:
    """``prices`` from ``lookback + 1`` rows before ``start`` on, so the first rebalance has history."""
    if start is None:
        return prices
    tz = getattr(prices.index, "tz", None)
    stamp = naive_date(start, "start", "with_history", tz)
    index = prices.index if tz is None else prices.index.tz_localize(None)
    first = int(index.searchsorted(stamp))
    return prices.iloc[max(0, first - lookback - 1) :]


class _Progress:
    """A tqdm bar over the bars of a run (shown only if the run lasts more than ~2 seconds).

    Updated by an analyzer added before the others, so that at the end of the data it stands at
    100 % and says what comes next (``writing tear sheet``) while the other analyzers finish; a
    walk-forward run shows the models so far.
    """

    def __init__(self, total: int, label: str, enabled: bool) -> None:
        from tqdm.auto import tqdm

        self.label = label
        self.bar = tqdm(
            total=total, desc=label, unit="bar", delay=2.0, disable=not enabled, leave=False
        )

    def update(self, models: int | None = None) -> None:
        self.bar.update(1)
        if models is not None and models != getattr(self, "_models", None):
            self._models = models
            self.bar.set_postfix_str(f"{models} model{'' if models == 1 else 's'}", refresh=False)

    def finish(self, next_step: str | None) -> None:
        """Fill the bar and say what happens now (e.g. ``writing tear sheet``)."""
        bar = self.bar
        if next_step:
            bar.set_description_str(f"{self.label}: {next_step}", refresh=False)
        bar.update(bar.total - bar.n)  # draws only if the run has lasted longer than the delay
        if not bar.disable and bar.last_print_t >= bar.start_t + bar.delay:  # it is on screen
            bar.refresh()

    def close(self) -> None:
        self.bar.close()


def _progress_analyzer(progress: _Progress, next_step: str | None) -> type:
    import backtrader as bt

    class ProgressAnalyzer(bt.Analyzer):
        def next(self) -> None:
            retrainer = getattr(self.strategy, "retrainer", None)
            progress.update(None if retrainer is None else retrainer.version)

        def stop(self) -> None:
            progress.finish(next_step)

    return ProgressAnalyzer


def check_broker(*, cash: Any = defaults.CASH, commission: Any = defaults.COMMISSION) -> None:
    """Validate :func:`run_backtest`'s ``cash`` and ``commission`` (any real number type but bool).

    Raises
    ------
    ValueError
        ``commission must be a fraction of traded value in [0, 0.1) ...`` or ``cash must be a
        positive number ...``.
    """
    if not is_real_number(commission) or not math.isfinite(commission) or not 0 <= commission < 0.1:
        raise ValueError(
            f"commission must be a fraction of traded value in [0, 0.1) (0.001 = 10 bps). Got {commission!r}."
        )
    if not is_real_number(cash) or not math.isfinite(cash) or cash <= 0:
        raise ValueError(f"cash must be a positive number. Got {cash!r}.")


def run_backtest(
    prices: pd.DataFrame,
    *,
    allocator: Any = "hrp",
    rebalance: Any = defaults.REBALANCE,
    lookback: int = defaults.LOOKBACK,
    start: Any = None,
    end: Any = None,
    cash: float = defaults.CASH,
    commission: float = defaults.COMMISSION,
    cash_buffer: float = defaults.CASH_BUFFER,
    min_trade: float = 0.0,
    max_weight: float | None = None,
    benchmark: pd.Series | None = None,
    benchmark_name: str | None = None,
    tearsheet: str | PathLike[str] | None = None,
    name: str | None = None,
    progress: bool = False,
    cerebro_kwargs: dict[str, Any] | None = None,
    signal: Any = None,
    retrain: Any = defaults.RETRAIN,
    train_window: int | str = defaults.TRAIN_BARS,
    warm_start: bool = False,
    checkpoint_dir: str | PathLike[str] | None = None,
    strategy_kwargs: dict[str, Any] | None = None,
) -> BacktestResult:
    """Backtest a :class:`~seqfolio.strategies.RebalanceStrategy` on a close-price frame.

    Parameters
    ----------
    prices : pandas.DataFrame
        Close prices (NaN = no price), including at least ``lookback + 1`` rows before ``start`` if
        the first rebalance should happen at ``start`` (see :func:`with_history`).
    allocator : allocator instance or short name, default "hrp"
    rebalance : str or callable, default "monthly"
    lookback : int, default 252
    start, end : date-like, optional
        Reporting period: no rebalance before ``start``; returns and weights are cut to
        [start, end]. Prices after ``end`` are dropped. With tz-aware prices, a tz-aware date is
        converted to their zone and a naive one is read in it; the results are tz-naive.
    cash : float, default 1e6
    commission : float, default 0.001
        Commission as a fraction of traded value (0.001 = 10 bps).
    cash_buffer, min_trade, max_weight
        Passed to the strategy.
    benchmark : pandas.Series, optional
        Benchmark returns or prices, for the tear sheet.
    tearsheet : str or path, optional
        Write a QuantStats tear sheet there. If it cannot be written (a run that never traded has
        all-zero returns; or QuantStats fails), the result is still returned, with ``tearsheet``
        None and the reason in ``tearsheet_error``, and a
        :class:`~seqfolio.reporting.TearSheetWarning` is issued.
    name : str, optional
        Label (default e.g. ``"HRP monthly"``).
    progress : bool, default False
        Show a tqdm progress bar over the bars (after 2 seconds; with a walk-forward model it shows
        the models trained or loaded so far), full at the end of the data and naming what comes
        next (``writing tear sheet``).
    cerebro_kwargs : dict, optional
        Extra ``bt.Cerebro`` arguments (e.g. ``runonce``, ``preload``).
    signal, retrain, train_window, warm_start, checkpoint_dir
        Walk-forward model settings of :class:`~seqfolio.strategies.RebalanceStrategy` (used with
        ``signal=`` or an ``LSTMAllocator`` allocator). ``prices`` then needs ``train_window`` rows
        before ``start`` for the first training (``with_history(prices, start, train_window)``).
    strategy_kwargs : dict, optional
        Further RebalanceStrategy params (e.g. ``exposure_floor``).

    Returns
    -------
    BacktestResult

    Raises
    ------
    TypeError, ValueError
        For prices that are not a DataFrame with a sorted, unique DatetimeIndex, that repeat a
        column name or hold a non-numeric column; an unparseable ``start`` / ``end``; a bad
        ``cash`` / ``commission`` (any real number type but bool is accepted) or strategy param.
    """
    import backtrader as bt

    from seqfolio.data import assets_priced_in
    from seqfolio.strategies import RebalanceStrategy, TearSheet, WeightsHistory, add_price_feeds
    from seqfolio.strategies.feeds import check_prices

    check_broker(cash=cash, commission=commission)
    check_prices(prices, "run_backtest")
    # The feeds' bars are tz-naive wall-clock times: start / end are made so, in the prices' zone.
    tz = prices.index.tz
    start = naive_date(start, "start", "run_backtest", tz)
    end_date = naive_date(end, "end", "run_backtest", tz)
    if tz is not None:
        prices = prices.tz_localize(None)
    if end_date is not None and prices.index[0] > end_date:
        raise ValueError(
            f"run_backtest: no prices on or before end={end!r}: the prices start on "
            f"{prices.index[0].date()}; pass a later end (or None)."
        )
    # Assets listing after the run or delisted before `start` are left out (INFO line) before the
    # cut to `end` would empty their columns; a column with no price at all is still an error.
    prices = assets_priced_in(prices, start, end_date, owner="run_backtest").loc[:end_date]
    cerebro = bt.Cerebro(stdstats=False, **(cerebro_kwargs or {}))
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(float(cash))
    cerebro.broker.setcommission(commission=float(commission))
    cerebro.addstrategy(
        RebalanceStrategy, allocator=allocator, rebalance=rebalance, lookback=lookback, start=start,
        cash_buffer=cash_buffer, min_trade=min_trade, max_weight=max_weight, signal=signal,
        retrain=retrain, train_window=train_window, warm_start=warm_start,
        checkpoint_dir=checkpoint_dir, **(strategy_kwargs or {}),
    )  # fmt: skip
    bar = None
    if progress:  # added first: analyzers stop in order, so it is full before the tear sheet
        bar = _Progress(len(prices), name or "backtest", enabled=True)
        cerebro.addanalyzer(_progress_analyzer(bar, "writing tear sheet" if tearsheet else None))
    cerebro.addanalyzer(
        TearSheet, _name="tearsheet", output=tearsheet, benchmark=benchmark, start=start,
        strategy_name=name, benchmark_name=benchmark_name,
    )  # fmt: skip
    cerebro.addanalyzer(WeightsHistory, _name="weights")
    t0 = time.perf_counter()
    try:
        strategy = cerebro.run()[0]
    finally:
        if bar is not None:
            bar.close()
    total = time.perf_counter() - t0
    wf = strategy.retrainer
    timings = {
        "total": total,
        "training": wf.timings["training"] if wf else 0.0,
        "predicting": wf.timings["predicting"] if wf else 0.0,
        "allocating": strategy.timings.get("allocating", 0.0),
    }
    timings["backtrader"] = (
        total - timings["training"] - timings["predicting"] - timings["allocating"]
    )
    forecasts = None
    if strategy.forecast_step is not None:
        forecasts = pd.DataFrame(strategy.forecast_step.forecasts).T
        forecasts.index.name = "date"
    sheet = strategy.analyzers.tearsheet
    history = strategy.analyzers.weights.get_analysis()
    daily = history["daily"]
    if start is not None:
        daily = daily.loc[start:]
    return BacktestResult(
        name=str(sheet.returns.name),
        returns=sheet.returns,
        weights=daily,
        target=history["target"],
        realised=history["realised"],
        rebalances=history["rebalances"],
        final_value=float(cerebro.broker.getvalue()),
        n_rejected=strategy.n_rejected,
        event_log=strategy.events,
        orders=list(strategy.orders_log),
        tearsheet=sheet.path,
        tearsheet_error=sheet.error,
        retrains=None if wf is None else wf.retrain_table(),
        forecasts=forecasts,
        timings=timings,
    )

"""One-call backtests on a price frame (what the CLI, the examples and the benchmark run).

:func:`run_backtest` wires the pieces a user would otherwise wire by hand: close-only feeds
(:func:`~seqfolio.strategies.add_price_feeds`), a broker with cash and commission,
:class:`~seqfolio.strategies.RebalanceStrategy`, and the :class:`~seqfolio.strategies.TearSheet` and
:class:`~seqfolio.strategies.WeightsHistory` analyzers.
"""

from __future__ import annotations

import time
from os import PathLike
from typing import Any

import pandas as pd

from seqfolio import defaults
from seqfolio._validation import check_real
from seqfolio.calendar import naive_date
from seqfolio.data import period_prices
from seqfolio.results import BacktestResult
from seqfolio.spec import SETTINGS, RebalanceSpec, as_spec

__all__ = ["BacktestResult", "run_backtest", "with_history"]

_OWNER = "run_backtest"

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


def run_backtest(
    prices: pd.DataFrame,
    spec: RebalanceSpec | None = None,
    *,
    start: Any = None,
    end: Any = None,
    cash: float = defaults.CASH,
    benchmark: pd.Series | None = None,
    benchmark_name: str | None = None,
    tearsheet: str | PathLike[str] | None = None,
    name: str | None = None,
    progress: bool = False,
    cerebro_kwargs: dict[str, Any] | None = None,
    checkpoint_dir: str | PathLike[str] | None = None,
    strategy_kwargs: dict[str, Any] | None = None,
    **settings: Any,
) -> BacktestResult:
    """Backtest a :class:`~seqfolio.strategies.RebalanceStrategy` on a close-price frame.

    Parameters
    ----------
    prices : pandas.DataFrame
        Close prices (NaN = no price), including the history the first decision needs before
        ``start`` (``spec.history_bars()`` rows: :func:`with_history`).
    spec : RebalanceSpec, optional
        The decision settings (:class:`~seqfolio.spec.RebalanceSpec`), or give them as keyword
        ``settings`` (``allocator="herc"``, ``lookback=126``, ``signal=...``; not both). Its
        ``commission`` is set on the broker.
    start, end : date-like, optional
        Reporting period: no rebalance before ``start``; returns and weights are cut to
        [start, end]. Prices after ``end`` are dropped. With tz-aware prices, a tz-aware date is
        converted to their zone and a naive one is read in it; the results are tz-naive.
    cash : float, default 1e6
        Starting cash.
    benchmark : pandas.Series, optional
        Benchmark returns or prices, for the tear sheet.
    tearsheet : str or path, optional
        Write a QuantStats tear sheet there. If it cannot be written (a run that never traded has
        all-zero returns; or QuantStats fails), the result is still returned, with ``tearsheet``
        None and the reason in ``tearsheet_error``, and a
        :class:`~seqfolio.reporting.TearSheetWarning` is issued.
    name : str, optional
        Label (default ``spec.label``, e.g. ``"HRP monthly"``).
    progress : bool, default False
        Show a tqdm progress bar over the bars (after 2 seconds; with a walk-forward model it shows
        the models trained or loaded so far), full at the end of the data and naming what comes
        next (``writing tear sheet``).
    cerebro_kwargs : dict, optional
        Extra ``bt.Cerebro`` arguments (e.g. ``runonce``, ``preload``).
    checkpoint_dir : str or path, optional
        Where a walk-forward model's retrains are saved (a rerun resumes from them).
    strategy_kwargs : dict, optional
        Further RebalanceStrategy params that are not decision settings (e.g. ``feeds``).

    Returns
    -------
    BacktestResult

    Raises
    ------
    TypeError, ValueError
        For prices that are not a DataFrame with a sorted, unique DatetimeIndex, that repeat a
        column name or hold a non-numeric column; an unparseable ``start`` / ``end``; a bad ``cash``
        or setting (:class:`~seqfolio.spec.RebalanceSpec`'s checks).
    """
    import backtrader as bt

    from seqfolio.strategies import RebalanceStrategy, TearSheet, WeightsHistory, add_price_feeds

    extra = dict(strategy_kwargs or {})  # decision settings given there belong to the spec
    settings.update({k: extra.pop(k) for k in list(extra) if k in SETTINGS})
    spec = as_spec(spec, settings, _OWNER)
    check_real(_OWNER, "cash", cash, low=0.0, low_open=True)
    prices, start, end = period_prices(prices, start, end, owner=_OWNER)
    cerebro = bt.Cerebro(stdstats=False, **(cerebro_kwargs or {}))
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(float(cash))
    cerebro.broker.setcommission(commission=spec.commission)
    cerebro.addstrategy(
        RebalanceStrategy, spec=spec, start=start, checkpoint_dir=checkpoint_dir, **extra,
    )  # fmt: skip
    bar = None
    if progress:  # added first: analyzers stop in order, so it is full before the tear sheet
        bar = _Progress(len(prices), name or spec.label, enabled=True)
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

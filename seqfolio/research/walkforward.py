"""Walk-forward studies: refit on each window's past, trade its test part, stitch out-of-sample.

For every configuration and window, the decisions inside the window's test part are made from data
before each decision only (the strategy's own pipeline, :func:`~seqfolio.research.target_weights`);
those decision tasks run in parallel (:func:`~seqfolio.research.parallel.executor`). The targets of all
windows are then traded as one continuous portfolio by the evaluator, so no window starts from cash,
and the daily returns are cut back into windows for per-window statistics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seqfolio.data import assets_priced_in
from seqfolio.events import Event, events_summary
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.evaluator import Evaluation, drop_empty_rows, evaluate_weights
from seqfolio.research.parallel import Runner, executor
from seqfolio.research.simulation import Targets, target_weights
from seqfolio.research.splits import Window, walk_forward_windows
from seqfolio.research.stats import sharpe_summary


@dataclass(frozen=True)
class WindowTask:
    """One (configuration, window) unit of work: what a worker receives besides the shared prices."""

    config: PortfolioConfig
    window: Window


def decide_window(prices: pd.DataFrame, task: WindowTask) -> Targets:
    """Target weights for every scheduled decision in the task's test part, with the decisions that
    were skipped or fell back and why (runs on a worker)."""
    test = task.window.test_dates(prices.index)
    history = prices.iloc[: task.window.test_stop]  # nothing after the test part is passed on
    return target_weights(
        history,
        allocator=task.config.make_allocator(),
        lookback=task.config.lookback,
        rebalance=task.config.rebalance,
        max_weight=task.config.max_weight,
        start=test[0],
        end=test[-1],
    )


def _as_targets(decided: Targets | pd.DataFrame) -> Targets:
    return decided if isinstance(decided, Targets) else Targets(weights=decided)


def _no_weights_error(config: PortfolioConfig, targets: Sequence[Targets]) -> ValueError:
    """Why no window traded: the first allocator failure, else the first skip, else the schedule."""
    failures = [f for t in targets for f in t.failures]
    skipped = [s for t in targets for s in t.skipped]
    first = failures[0] if failures else skipped[0] if skipped else None
    if first is None:
        return ValueError(
            f"{config.label}: no window produced weights: no {config.rebalance} decision date falls "
            "in the test windows; use longer test windows or a more frequent rebalance."
        )
    date, reason = first
    return ValueError(
        f"{config.label}: no window produced weights: all {len(skipped)} decisions were skipped; "
        f"the first{' allocator failure' if failures else ''} ({date.date()}): {reason}"
    )


def evaluate_windows(
    prices: pd.DataFrame,
    config: PortfolioConfig,
    windows: Sequence[Window],
    targets: Sequence[Targets | pd.DataFrame],
) -> tuple[Evaluation, list[float]]:
    """Trade the windows' targets as one portfolio; return it and each window's Sharpe ratio.

    The returned evaluation spans the windows' test parts exactly (cash before the first decision).

    Raises
    ------
    ValueError
        If no window produced weights; the message gives the first allocator failure (or skip).
    """
    from seqfolio.research.stats import sharpe_ratio

    decided = [_as_targets(t) for t in targets]
    frames = [t.weights for t in decided if not t.weights.empty]
    if not frames:
        raise _no_weights_error(config, decided)
    first, stop = windows[0].test_start, windows[-1].test_stop
    combined = pd.concat(frames)
    evaluation = evaluate_weights(
        prices.iloc[:stop],
        combined * (1.0 - config.cash_buffer),
        commission=config.commission,
        lag=1,
    )
    # Until the first scheduled decision of the first window the portfolio is in cash (return 0).
    span = prices.index[first:stop]
    returns = evaluation.returns.reindex(span, fill_value=0.0)
    evaluation = Evaluation(
        returns=returns,
        values=evaluation.values.reindex(span).bfill(),
        weights=evaluation.weights.reindex(span, fill_value=0.0),
        turnover=evaluation.turnover,
        costs=evaluation.costs,
    )
    per_window = []
    for window in windows:
        part = returns.loc[prices.index[window.test_start] : prices.index[window.test_stop - 1]]
        per_window.append(sharpe_ratio(part) if len(part) >= 3 else float("nan"))
    return evaluation, per_window


EVENT_COLUMNS = ["config", "window", "date", "kind", "reason"]


@dataclass
class WalkForwardReport:
    """Results of :func:`walk_forward`.

    Attributes
    ----------
    windows : list of Window
    per_window : pandas.DataFrame
        One row per (configuration, window): dates and Sharpe ratio.
    summary : pandas.DataFrame
        One row per configuration on the stitched out-of-sample returns: Sharpe, its bootstrap 95 %
        interval, PSR, DSR (deflated for the number of configurations tried), CAGR, volatility, max
        drawdown and mean turnover per rebalance.
    returns : dict of str -> Series
        Stitched out-of-sample daily returns per configuration label.
    weights : dict of str -> DataFrame
        Daily weights per configuration label.
    events : pandas.DataFrame
        Decisions that did not go as planned, one row each: ``config``, ``window``, ``date``,
        ``kind`` and ``reason``. ``kind`` is ``"allocation_failed"`` (skipped because the allocator
        failed: the portfolio was left as it was), ``"skipped"`` (any other skipped decision) or
        ``"fallback"`` (decided by a later member of a :class:`~seqfolio.allocators.Fallback`).
        Empty (with those columns) for a clean study. ``per_window`` counts them per window
        (``skipped``, ``failed``, ``fallbacks``).
    """

    windows: list[Window]
    per_window: pd.DataFrame
    summary: pd.DataFrame
    returns: dict[str, pd.Series]
    weights: dict[str, pd.DataFrame]
    events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EVENT_COLUMNS))

    def events_summary(self) -> dict[str, str]:
        """One line per configuration with events, e.g. ``"3 of 48 decisions skipped (3 allocator
        failures; first 2020-05-01: HRP failed: ...), 1 decision fell back to HRP"``
        (:func:`seqfolio.events.events_summary`)."""
        lines = {}
        for label, group in self.events.groupby("config", sort=False):
            events = [Event(row.date, row.kind, row.reason) for row in group.itertuples()]
            planned = self.per_window.loc[self.per_window["config"] == label, "decisions"].sum()
            lines[str(label)] = events_summary(events, noun="decision", planned=int(planned))
        return lines


def _window_events(
    config: PortfolioConfig, window: Window, targets: Targets
) -> list[dict[str, Any]]:
    rows = [
        {"config": config.label, "window": window.number, "date": e.date, "kind": e.kind,
         "reason": e.reason}
        for e in targets.events
    ]  # fmt: skip
    return sorted(rows, key=lambda row: row["date"])


def walk_forward(
    prices: pd.DataFrame,
    configs: Sequence[PortfolioConfig],
    *,
    train: int = 756,
    test: int = 252,
    purge: int = 0,
    embargo: int = 0,
    expanding: bool = False,
    start: Any = None,
    end: Any = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    run: Runner | None = None,
) -> WalkForwardReport:
    """Walk-forward evaluation of several configurations on the same windows.

    Parameters
    ----------
    prices : pandas.DataFrame
        Closes, one column per asset.
    configs : sequence of PortfolioConfig
    train, test, purge, embargo, expanding
        Window sizes in bars (see :func:`~seqfolio.research.walk_forward_windows`). For allocators the
        training part is the history their lookback reads; it must cover ``lookback + 1`` bars.
    start, end : date-like, optional
        Restrict the data (``start`` is where the first training part begins). Rows with no price
        at all (blank holiday rows) are then dropped: they are not bars (as in backtrader); assets
        with no price in the period are left out with an INFO line
        (:func:`seqfolio.data.assets_priced_in`).
    workers, scheduler, progress
        Parallel execution (see :func:`~seqfolio.research.parallel.executor`).
    run : Runner, optional
        An already open runner whose shared object is exactly ``prices`` after the ``start`` /
        ``end`` cut, :func:`~seqfolio.data.assets_priced_in` and
        :func:`~seqfolio.research.evaluator.drop_empty_rows` (overrides
        ``workers`` / ``scheduler``).

    Raises
    ------
    ValueError
        For bad windows or configurations, a column with no price at all, or if a configuration
        traded in no window (the message gives the first allocator failure).
    """
    if not configs:
        raise ValueError("walk_forward: give at least one configuration.")
    labels = [c.label for c in configs]
    if len(set(labels)) != len(labels):
        raise ValueError(f"walk_forward: duplicate configurations {labels}.")
    first, last = (pd.Timestamp(start) if start else None), (pd.Timestamp(end) if end else None)
    # An asset with no price in the period (listing later, delisted earlier) is left out (INFO line).
    prices = drop_empty_rows(
        assets_priced_in(prices, first, last, owner="walk_forward")[first:last]
    )
    too_long = [c.label for c in configs if c.lookback + 1 > train]
    if too_long:
        raise ValueError(
            f"walk_forward: train={train} bars is shorter than the lookback of {too_long}."
        )
    windows = walk_forward_windows(
        len(prices), train=train, test=test, purge=purge, embargo=embargo, expanding=expanding
    )
    tasks = [WindowTask(config, window) for config in configs for window in windows]
    if run is None:
        with executor(
            workers, scheduler, progress=progress, label="walk-forward", shared=prices
        ) as runner:
            decided = runner(decide_window, tasks)
    else:
        decided = run(decide_window, tasks)

    per_window_rows, returns, weights, turnovers = [], {}, {}, {}
    event_rows: list[dict[str, Any]] = []
    for i, config in enumerate(configs):
        targets = [_as_targets(t) for t in decided[i * len(windows) : (i + 1) * len(windows)]]
        evaluation, sharpes = evaluate_windows(prices, config, windows, targets)
        returns[config.label] = evaluation.returns
        weights[config.label] = evaluation.weights
        turnovers[config.label] = float(evaluation.turnover.mean())
        for window, sharpe, target in zip(windows, sharpes, targets, strict=True):
            per_window_rows.append(
                {
                    "config": config.label,
                    "window": window.number,
                    "train_start": prices.index[window.train_start].date(),
                    "test_start": prices.index[window.test_start].date(),
                    "test_end": prices.index[window.test_stop - 1].date(),
                    "sharpe": sharpe,
                    "decisions": len(target.weights) + len(target.skipped),
                    "skipped": len(target.skipped),
                    "failed": len(target.failures),
                    "fallbacks": len(target.fallbacks),
                }
            )
            event_rows += _window_events(config, window, target)
    summary = _summary(returns, turnovers)
    return WalkForwardReport(
        windows=windows,
        per_window=pd.DataFrame(per_window_rows),
        summary=summary,
        returns=returns,
        weights=weights,
        events=pd.DataFrame(event_rows, columns=EVENT_COLUMNS),
    )


def _summary(returns: dict[str, pd.Series], turnovers: dict[str, float]) -> pd.DataFrame:
    from seqfolio.reporting import metrics_table

    metrics = metrics_table(returns).T
    sharpes = metrics["Sharpe"].to_numpy(dtype=float)
    rows = {}
    for label, series in returns.items():
        stats = sharpe_summary(
            series, n_trials=len(returns), trial_sharpes=sharpes if len(returns) > 1 else None
        )
        rows[label] = {
            **stats,
            "cagr": metrics.loc[label, "CAGR"],
            "volatility": metrics.loc[label, "Volatility (ann.)"],
            "sortino": metrics.loc[label, "Sortino"],
            "max_drawdown": metrics.loc[label, "Max drawdown"],
            "turnover": turnovers[label],
        }
    table = pd.DataFrame(rows).T
    table.index.name = "config"
    return table.astype(float).sort_values("sharpe", ascending=False)


def trial_sharpes_array(report: WalkForwardReport) -> np.ndarray:
    """Annualised out-of-sample Sharpe ratios of every configuration (for a later DSR)."""
    return report.summary["sharpe"].to_numpy(dtype=float)

"""Walk-forward studies: refit on each window's past, trade its test part, stitch out-of-sample.

For every configuration and window, the decisions inside the window's test part are made from data
before each decision only (the strategy's own pipeline, :func:`~seqfolio.research.target_weights`);
those decision tasks run in parallel (:func:`~seqfolio.research.parallel.executor`). The targets of all
windows are then traded as one continuous portfolio by the evaluator, so no window starts from cash,
and the daily returns are cut back into windows for per-window statistics.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from seqfolio import defaults
from seqfolio._validation import check_int, is_int
from seqfolio.data import assets_priced_in
from seqfolio.events import Event, events_summary
from seqfolio.pipeline.models import model_horizon
from seqfolio.reporting import bars_per_year
from seqfolio.research.evaluator import Evaluation, drop_empty_rows, evaluate_weights
from seqfolio.research.overfitting import overfitting_summary
from seqfolio.research.parallel import Runner, executor
from seqfolio.research.simulation import Targets
from seqfolio.research.splits import Window, walk_forward_windows
from seqfolio.research.tasks import decide_task, window_tasks
from seqfolio.spec import RebalanceSpec, check_research_settings, distinct_labels
from seqfolio.stats import sharpe_summary


def _as_targets(decided: Targets | pd.DataFrame) -> Targets:
    return decided if isinstance(decided, Targets) else Targets(weights=decided)


def _no_weights_error(
    config: RebalanceSpec, targets: Sequence[Targets], label: str | None = None
) -> ValueError:
    """Why no window traded: the first allocator failure, else the first skip, else the schedule."""
    failures = [f for t in targets for f in t.failures]
    skipped = [s for t in targets for s in t.skipped]
    first = failures[0] if failures else skipped[0] if skipped else None
    label = label or config.label
    if first is None:
        return ValueError(
            f"{label}: no window produced weights: no {config.rebalance} decision date falls "
            "in the test windows; use longer test windows or a more frequent rebalance."
        )
    date, reason = first
    return ValueError(
        f"{label}: no window produced weights: all {len(skipped)} decisions were skipped; "
        f"the first{' allocator failure' if failures else ''} ({date.date()}): {reason}"
    )


def evaluate_windows(
    prices: pd.DataFrame,
    config: RebalanceSpec,
    windows: Sequence[Window],
    targets: Sequence[Targets | pd.DataFrame],
    periods_per_year: int | None = None,
    label: str | None = None,
) -> tuple[Evaluation, list[float]]:
    """Trade the windows' targets as one portfolio; return it and each window's Sharpe ratio.

    The returned evaluation spans the windows' test parts exactly (cash before the first decision).
    Window Sharpe ratios are annualised with ``periods_per_year``, by default the prices' own bars a
    year (:func:`seqfolio.reporting.bars_per_year`: 252 daily, 52 weekly, 12 monthly).

    Raises
    ------
    ValueError
        If no window produced weights; the message gives the first allocator failure (or skip).
    """
    from seqfolio.stats import sharpe_ratio

    periods = periods_per_year or bars_per_year(prices.index)
    decided = [_as_targets(t) for t in targets]
    frames = [t.weights for t in decided if not t.weights.empty]
    if not frames:
        raise _no_weights_error(config, decided, label)
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
        per_window.append(sharpe_ratio(part, periods) if len(part) >= 3 else float("nan"))
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
    overfitting : dict
        With two or more configurations, the verdict over all of them
        (:func:`~seqfolio.research.overfitting.overfitting_summary`: PBO by CSCV and the best
        configuration's deflated Sharpe ratio); empty otherwise.
    retrains : pandas.DataFrame
        With walk-forward models: one row per fitted model (``config``, ``window``, ``date`` it
        was trained on, ``version``, ``first_bar``, ``n_bars``, ``seconds``, ``source``:
        ``trained`` or ``checkpoint``, ``trigger``: ``bootstrap`` for the training part's model,
        ``schedule`` for a retrain inside the test part).
    seeds : pandas.DataFrame
        With ``seeds``: one row per configuration run with several seeds: the mean, standard
        deviation, minimum and maximum of the seeds' Sharpe ratios (``seeds`` columns).
    periods_per_year : int
        Bars a year of the prices (252 daily, 52 weekly, 12 monthly): every Sharpe ratio of the
        report is annualised with it, and the DSR compares the per-period ones.
    """

    windows: list[Window]
    per_window: pd.DataFrame
    summary: pd.DataFrame
    returns: dict[str, pd.Series]
    weights: dict[str, pd.DataFrame]
    events: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=EVENT_COLUMNS))
    overfitting: dict[str, Any] = field(default_factory=dict)
    retrains: pd.DataFrame = field(default_factory=pd.DataFrame)
    seeds: pd.DataFrame = field(default_factory=pd.DataFrame)
    periods_per_year: int = defaults.PERIODS_PER_YEAR

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


def walk_forward(
    prices: pd.DataFrame,
    configs: Sequence[RebalanceSpec],
    *,
    train: int = defaults.TRAIN_BARS,
    test: int = defaults.TEST_BARS,
    purge: int | None = None,
    embargo: int = 0,
    expanding: bool = False,
    start: Any = None,
    end: Any = None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: bool = False,
    run: Runner | None = None,
    seeds: int | Sequence[int] | None = None,
    cache_dir: str | None = None,
    population: bool = True,
) -> WalkForwardReport:
    """Walk-forward evaluation of several configurations on the same windows.

    Parameters
    ----------
    prices : pandas.DataFrame
        Closes, one column per asset.
    configs : sequence of RebalanceSpec
    train, test, purge, embargo, expanding
        Window sizes in bars (see :func:`~seqfolio.research.walk_forward_windows`). A walk-forward
        model is fitted on the training part only (rolling ``train`` bars, or every bar so far when
        ``expanding``), whose last bar lies ``purge + embargo`` bars before the test part, and
        retrained inside the test part on its ``retrain`` schedule. ``purge`` defaults to the
        longest label horizon of the models (0 without one); a shorter one is refused. An
        allocator without a model has nothing fitted: it reads the ``lookback`` bars before each
        decision, so there ``purge``, ``embargo`` and ``expanding`` only move the first test part
        (a warning says so); the training part must still cover ``lookback + 1`` bars.
    seeds : int or sequence of int, optional
        Run every configuration with a model once per seed (``5`` means seeds 0-4; the model's
        ``seed`` setting is replaced). ``summary`` lists each seed's run; ``seeds`` gives the
        mean and dispersion across seeds.
    cache_dir : str, optional
        Keep every fitted model there (:class:`~seqfolio.pipeline.CheckpointStore`, keyed by the
        training prices, the settings and the seed): a repeated or resumed study loads them instead
        of training, and configurations that share a model (the same signal and settings feeding
        different allocators) train it once.
    population : bool, default True
        Train the forecasters of configurations that can share a population (the seeds of one
        configuration; other hidden sizes or learning rates of the same network shapes) together in
        each window (:mod:`seqfolio.research.population`): each member equals its lone fit to 1e-5 in
        the network output. False fits each model alone, bit-identical to the engine's fits.
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
    labels = distinct_labels(configs)
    if len(set(labels)) != len(labels):
        raise ValueError(f"walk_forward: duplicate configurations {labels}.")
    check_research_settings(configs, "walk_forward")
    first, last = (pd.Timestamp(start) if start else None), (pd.Timestamp(end) if end else None)
    # An asset with no price in the period (listing later, delisted earlier) is left out (INFO line).
    prices = drop_empty_rows(
        assets_priced_in(prices, first, last, owner="walk_forward")[first:last]
    )
    periods = bars_per_year(prices.index)  # one annualisation for every figure of the study
    too_long = [c.label for c in configs if c.lookback + 1 > train]
    if too_long:
        raise ValueError(
            f"walk_forward: train={train} bars is shorter than the lookback of {too_long}."
        )
    configs = with_seeds(configs, seeds)
    labels = distinct_labels(configs)
    purge = _check_purge(configs, purge, embargo, expanding)
    windows = walk_forward_windows(
        len(prices), train=train, test=test, purge=purge, embargo=embargo, expanding=expanding
    )
    plan = [
        planned
        for window in windows
        for planned in window_tasks(
            configs, window, population=population, expanding=expanding, cache_dir=cache_dir
        )
    ]
    tasks = [task for _, task in plan]
    if run is None:
        with executor(
            workers, scheduler, progress=progress, label="walk-forward", shared=prices
        ) as runner:
            results = runner(decide_task, tasks)
    else:
        results = run(decide_task, tasks)
    decided: list[list[Targets]] = [[] for _ in configs]  # each configuration's, window by window
    for (group, _), result in zip(plan, results, strict=True):
        for i, targets in zip(group, result, strict=True):
            decided[i].append(targets)

    per_window_rows, returns, weights, turnovers = [], {}, {}, {}
    event_rows: list[dict[str, Any]] = []
    retrain_rows: list[pd.DataFrame] = []
    for i, (config, label) in enumerate(zip(configs, labels, strict=True)):
        targets = decided[i]
        evaluation, sharpes = evaluate_windows(prices, config, windows, targets, periods, label)
        returns[label] = evaluation.returns
        weights[label] = evaluation.weights
        turnovers[label] = float(evaluation.turnover.mean())
        for window, sharpe, target in zip(windows, sharpes, targets, strict=True):
            per_window_rows.append(
                {
                    "config": label,
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
            event_rows += [
                {"config": label, "window": window.number, "date": e.date, "kind": e.kind,
                 "reason": e.reason}
                for e in sorted(target.events, key=lambda e: e.date)
            ]  # fmt: skip
            if target.retrains is not None:
                retrain_rows.append(
                    target.retrains.reset_index().assign(config=label, window=window.number)
                )
    summary = _summary(returns, turnovers, periods)
    return WalkForwardReport(
        windows=windows,
        per_window=pd.DataFrame(per_window_rows),
        summary=summary,
        returns=returns,
        weights=weights,
        events=pd.DataFrame(event_rows, columns=EVENT_COLUMNS),
        overfitting=(
            overfitting_summary(pd.DataFrame(returns), periods_per_year=periods)
            if len(returns) > 1
            else {}
        ),  # fmt: skip
        retrains=_retrain_table(retrain_rows),
        seeds=seed_summary(configs, summary, labels) if seeds is not None else pd.DataFrame(),
        periods_per_year=periods,
    )


def with_seeds(
    configs: Sequence[RebalanceSpec], seeds: int | Sequence[int] | None
) -> list[RebalanceSpec]:
    """Every configuration with a model once per seed (``seeds=5``: 0-4); others unchanged."""
    if seeds is None:
        return list(configs)
    if is_int(seeds):
        seeds = list(range(check_int("walk_forward", "seeds", seeds, low=1)))
    seeds = [check_int("walk_forward", "seeds", s, low=0) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"walk_forward: seeds must be distinct and not empty; got {seeds}.")
    return [
        c.replace(model={**c.model, "random_state": seed}) if c.uses_model else c
        for c in configs
        for seed in (seeds if c.uses_model else [None])
    ]


def seed_summary(
    configs: Sequence[RebalanceSpec], summary: pd.DataFrame, labels: Sequence[str] | None = None
) -> pd.DataFrame:
    """Sharpe ratio across seeds per configuration with a model: mean, sd (ddof=1), min, max.

    ``labels`` are the configurations' rows of ``summary`` (default :func:`distinct_labels`)."""
    labels = list(labels or distinct_labels(configs))
    seeded = [(c, label) for c, label in zip(configs, labels, strict=True) if c.uses_model]
    bases = [c.replace(model={k: v for k, v in c.model.items() if k != "random_state"})
             for c, _ in seeded]  # fmt: skip
    groups: dict[str, list[float]] = {}
    for base, (_, label) in zip(distinct_labels(bases), seeded, strict=True):
        groups.setdefault(base, []).append(float(summary.loc[label, "sharpe"]))
    rows = {
        label: {"seeds": len(v), "sharpe_mean": np.mean(v), "sharpe_sd": np.std(v, ddof=1)
                if len(v) > 1 else np.nan, "sharpe_min": min(v), "sharpe_max": max(v)}
        for label, v in groups.items()
    }  # fmt: skip
    table = pd.DataFrame.from_dict(rows, orient="index")  # keeps "seeds" a whole number
    table.index.name = "config"
    return table


def _check_purge(
    configs: Sequence[RebalanceSpec], purge: int | None, embargo: int, expanding: bool
) -> int:
    """The purge to use: at least the longest label horizon of the configurations' models."""
    horizons = {c.label: model_horizon(c.make_model()) for c in configs if c.uses_model}
    need = max(horizons.values(), default=0)
    if purge is None:
        return need
    if purge < need:
        short = [label for label, h in horizons.items() if h > purge]
        raise ValueError(
            f"walk_forward: purge={purge} is shorter than the label horizon ({need} bars) of "
            f"{short}: their last training labels would look into the gap before the test part; "
            f"set purge >= {need} or leave it unset (it defaults to the longest horizon)."
        )
    if not horizons and (purge or embargo or expanding):
        warnings.warn(
            "walk_forward: purge, embargo and expanding change nothing an allocator decides (it "
            "reads the lookback bars before each decision, with no fitted labels); here they only "
            "move the start of the first test part.",
            UserWarning,
            stacklevel=3,
        )
    return purge


def _retrain_table(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame()
    table = pd.concat(parts, ignore_index=True)
    return table[["config", "window", *[c for c in table.columns if c not in ("config", "window")]]]


def _summary(
    returns: dict[str, pd.Series], turnovers: dict[str, float], periods: int
) -> pd.DataFrame:
    """One row per configuration; the DSR is deflated for every configuration (each seed counts),
    with the variance of their Sharpe ratios over the same stitched returns."""
    from seqfolio.reporting import metrics_table
    from seqfolio.stats import sharpe_ratio

    metrics = metrics_table(returns, periods=periods).T
    sharpes = np.array([sharpe_ratio(series, periods) for series in returns.values()])
    rows = {}
    for label, series in returns.items():
        stats = sharpe_summary(
            series, n_trials=len(returns), trial_sharpes=sharpes, periods_per_year=periods
        )
        rows[label] = {
            **stats,
            "cagr": metrics.loc[label, "CAGR"],
            "volatility": metrics.loc[label, "Volatility (ann.)"],
            "sortino": metrics.loc[label, "Sortino"],
            "max_drawdown": metrics.loc[label, "Max drawdown"],
            "turnover": turnovers[label],
        }
    table = pd.DataFrame.from_dict(rows, orient="index")  # keeps "seeds" a whole number
    table.index.name = "config"
    return table.astype(float).sort_values("sharpe", ascending=False)

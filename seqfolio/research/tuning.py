"""Hyperparameter search with Optuna, scored out of sample across walk-forward windows.

Nested: the last ``holdout`` fraction of the data is cut off before the search starts; the search
scores configurations by their mean per-window Sharpe ratio on windows that end before it, and only the
best configuration is then run on the hold-out, once.

Trials run in batches of ``batch_size`` (default: the number of workers): the sampler proposes a batch,
the batch's first ``prune_after`` windows run in parallel, Optuna's median pruner stops the weak trials,
and the survivors' remaining windows run. Results depend on ``batch_size`` and ``seed`` only, not on
where the tasks ran (serially, in local processes or on a Dask cluster).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
import pandas as pd

from seqfolio.data import assets_priced_in
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.evaluator import drop_empty_rows
from seqfolio.research.parallel import Runner, executor
from seqfolio.research.splits import Window, walk_forward_windows
from seqfolio.research.walkforward import (
    WalkForwardReport,
    WindowTask,
    decide_window,
    evaluate_windows,
    walk_forward,
)


class WindowedObjective(Protocol):
    """What :func:`run_batched_study` optimises: a score per window, computed window by window.

    ``suggest`` proposes parameters on an Optuna trial (in this process); ``task`` returns a picklable
    ``(function, argument)`` pair: the costly work for one window, run on a worker as
    ``function(shared, argument)`` where ``shared`` is the runner's shared object; ``scores`` turns the
    payloads of the windows done so far into one score per window (in this process). An objective
    may also have ``diagnostics(params, payloads) -> dict``: its items are stored on the trial as
    user attributes (e.g. how many decisions were skipped).
    """

    @property
    def n_windows(self) -> int: ...

    def suggest(self, trial: Any) -> Any: ...

    def task(self, params: Any, window: int) -> tuple[Callable[[Any, Any], Any], Any]: ...

    def scores(self, params: Any, payloads: Sequence[Any]) -> list[float]: ...


def _mean_score(scores: Sequence[float]) -> float:
    finite = [s for s in scores if np.isfinite(s)]
    return float(np.mean(finite)) if finite else float("-inf")


def run_batched_study(
    study: Any,
    objective: WindowedObjective,
    *,
    n_trials: int,
    run: Runner,
    batch_size: int = 1,
    prune_after: int = 2,
    progress: bool = False,
) -> None:
    """Run trials until ``study`` holds ``n_trials`` finished (complete or pruned) ones.

    Trials an interrupted run left ``RUNNING`` are marked failed first, so a resumed study goes on
    where it stopped.
    """
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(stale.number, state=TrialState.FAIL)
    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    done = len(study.get_trials(deepcopy=False, states=finished))
    bar = tqdm(
        total=n_trials,
        initial=min(done, n_trials),
        desc="trials",
        disable=not progress,
        leave=False,
    )
    stage_one = max(1, min(prune_after, objective.n_windows))
    while done < n_trials:
        trials = [study.ask() for _ in range(min(batch_size, n_trials - done))]
        params = [objective.suggest(t) for t in trials]
        payloads: list[list[Any]] = [[] for _ in trials]
        alive = list(range(len(trials)))
        for windows in (range(stage_one), range(stage_one, objective.n_windows)):
            jobs = [(i, w) for i in alive for w in windows]
            if not jobs:
                continue
            calls = [objective.task(params[i], w) for i, w in jobs]
            results = run(_call, calls)
            for (i, _), result in zip(jobs, results, strict=True):
                payloads[i].append(result)
            survivors = []
            for i in alive:
                try:
                    scores = objective.scores(params[i], payloads[i])
                except ValueError as exc:  # e.g. no window produced weights: a failed trial
                    trials[i].set_user_attr("error", str(exc))
                    study.tell(trials[i], state=TrialState.FAIL)
                    continue
                for step in range(len(payloads[i]) - len(windows), len(scores)):
                    score = scores[step]  # a window with no finite Sharpe counts as a poor one
                    trials[i].report(score if np.isfinite(score) else -10.0, step)
                trials[i].set_user_attr("window_scores", [float(s) for s in scores])
                if hasattr(objective, "diagnostics"):
                    for key, value in objective.diagnostics(params[i], payloads[i]).items():
                        trials[i].set_user_attr(key, value)
                if len(scores) < objective.n_windows and trials[i].should_prune():
                    study.tell(trials[i], state=TrialState.PRUNED)
                    continue
                if len(scores) == objective.n_windows:
                    study.tell(trials[i], _mean_score(scores))
                    continue
                survivors.append(i)
            alive = survivors
        done = len(study.get_trials(deepcopy=False, states=finished))
        bar.update(min(done, n_trials) - bar.n)
        if (
            not study.get_trials(deepcopy=False, states=finished)
            and len(study.trials) >= 3 * n_trials
        ):
            raise RuntimeError(
                "run_batched_study: every trial failed; see the trials' 'error' attribute."
            )
    bar.close()


def _call(shared: Any, call: tuple[Callable[[Any, Any], Any], Any]) -> Any:
    function, argument = call
    return function(shared, argument)


@dataclass(frozen=True)
class SearchSpace:
    """What :func:`tune` searches over (every combination is valid).

    Attributes
    ----------
    allocators : tuple of str
    lookback : (low, high, step) in bars
    rebalance : tuple of str
    max_weight : tuple of float or None
    """

    allocators: tuple[str, ...] = ("hrp", "herc", "mvo", "ivp", "ew")
    lookback: tuple[int, int, int] = (63, 504, 21)
    rebalance: tuple[str, ...] = ("weekly", "monthly", "quarterly")
    max_weight: tuple[float | None, ...] = (None, 0.1, 0.2)
    choices: dict[str, dict[str, tuple[Any, ...]]] = field(
        default_factory=lambda: {
            "hrp": {
                "linkage": ("single", "average", "complete", "ward"),
                "covariance": ("sample", "ledoit_wolf"),
            },
            "herc": {
                "linkage": ("ward", "average", "single"),
                "risk_measure": ("variance", "std", "cvar", "cdar"),
            },
            "mvo": {
                "objective": ("min_variance", "max_sharpe"),
                "covariance": ("ledoit_wolf", "sample"),
            },
            "ivp": {"covariance": ("sample", "ledoit_wolf")},
            "ew": {},
        }
    )

    def suggest(self, trial: Any) -> PortfolioConfig:
        allocator = trial.suggest_categorical("allocator", list(self.allocators))
        params = {
            name: trial.suggest_categorical(f"{allocator}.{name}", list(values))
            for name, values in self.choices.get(allocator, {}).items()
        }
        low, high, step = self.lookback
        cap = trial.suggest_categorical(
            "max_weight", ["none" if v is None else v for v in self.max_weight]
        )
        return PortfolioConfig(
            allocator=allocator,
            params=params,
            lookback=trial.suggest_int("lookback", low, high, step=step),
            rebalance=trial.suggest_categorical("rebalance", list(self.rebalance)),
            max_weight=None if cap == "none" else float(cap),
        )


@dataclass
class PortfolioObjective:
    """The :class:`WindowedObjective` of :func:`tune`: mean out-of-sample Sharpe over windows."""

    prices: pd.DataFrame
    windows: list[Window]
    space: SearchSpace
    commission: float = 0.001

    @property
    def n_windows(self) -> int:
        return len(self.windows)

    def suggest(self, trial: Any) -> PortfolioConfig:
        config = self.space.suggest(trial)
        return PortfolioConfig(**{**config.to_dict(), "commission": self.commission})

    def task(self, params: PortfolioConfig, window: int) -> tuple[Callable[[Any, Any], Any], Any]:
        return decide_window, WindowTask(params, self.windows[window])

    def scores(self, params: PortfolioConfig, payloads: Sequence[Any]) -> list[float]:
        _, sharpes = evaluate_windows(self.prices, params, self.windows[: len(payloads)], payloads)
        return sharpes

    def diagnostics(self, params: PortfolioConfig, payloads: Sequence[Any]) -> dict[str, int]:
        """Decisions skipped and fallbacks used so far (kept on the trial, shown in its table)."""
        return {
            "skipped": sum(len(p.skipped) for p in payloads),
            "fallbacks": sum(len(p.fallbacks) for p in payloads),
        }


@dataclass
class TuneResult:
    """What :func:`tune` returns.

    Attributes
    ----------
    study : optuna.Study
    best : PortfolioConfig
    trials : pandas.DataFrame
        One row per trial: state, score, parameters, windows run, and the decisions skipped
        (allocator failures included) and fallbacks used in those windows.
    search_end : pandas.Timestamp
        Last date the search saw.
    holdout : WalkForwardReport or None
        The best configuration (and equal weight, for reference) on the hold-out.
    search_stats : dict
        The best configuration's stitched out-of-sample Sharpe over the search windows, with its
        bootstrap interval, PSR and the deflated Sharpe ratio that accounts for every trial run (the
        variance of the trials' scores stands in for the variance of their Sharpe ratios).
    """

    study: Any
    best: PortfolioConfig
    trials: pd.DataFrame
    search_end: pd.Timestamp
    holdout: WalkForwardReport | None
    search_stats: dict[str, float] = field(default_factory=dict)


def tune(
    prices: pd.DataFrame,
    *,
    n_trials: int = 40,
    holdout: float = 0.2,
    train: int = 756,
    test: int = 252,
    space: SearchSpace | None = None,
    commission: float = 0.001,
    storage: str | None = None,
    study_name: str = "seqfolio",
    seed: int = 0,
    prune_after: int = 2,
    workers: int = 1,
    scheduler: str | None = None,
    batch_size: int | None = None,
    progress: bool = False,
) -> TuneResult:
    """Search configurations on walk-forward windows, then test the best one on a hold-out.

    Parameters
    ----------
    prices : pandas.DataFrame
    n_trials : int, default 40
        Finished trials wanted in the study (a resumed study counts the ones it already has).
    holdout : float, default 0.2
        Fraction of the bars at the end kept from the search.
    train, test : int
        Walk-forward window sizes in bars.
    space : SearchSpace, optional
    commission : float, default 0.001
    storage : str, optional
        SQLAlchemy URL of the Optuna storage (``sqlite:///study.db``, ``postgresql://...``); None
        keeps the study in memory.
    study_name : str
        Name in the storage; an existing study of that name is resumed.
    seed : int
        TPE sampler seed.
    prune_after : int, default 2
        Windows a trial runs before the median pruner may stop it.
    workers, scheduler, batch_size, progress
        Parallel execution; ``batch_size`` defaults to ``workers`` (or 2 on a scheduler).
    """
    import optuna

    if not 0 <= holdout < 1:
        raise ValueError(
            f"The 'holdout' parameter of tune must be a float in [0, 1). Got {holdout!r} instead."
        )
    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise ValueError(
            f"The 'n_trials' parameter of tune must be an int >= 1. Got {n_trials!r} instead."
        )
    space = space or SearchSpace()
    prices = drop_empty_rows(prices)  # a blank holiday row is not a bar (as in backtrader)
    cut = int(round(len(prices) * (1 - holdout)))
    # Assets listing in the hold-out have no price in the search: left out of it (INFO line).
    search_prices = assets_priced_in(prices, None, prices.index[cut - 1], owner="tune").iloc[:cut]
    windows = walk_forward_windows(len(search_prices), train=train, test=test)
    objective = PortfolioObjective(search_prices, windows, space, commission)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=study_name,
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed, n_startup_trials=min(10, n_trials)),
        pruner=optuna.pruners.MedianPruner(
            n_startup_trials=5, n_warmup_steps=max(prune_after - 1, 0)
        ),
        load_if_exists=True,
    )
    batch = batch_size or (2 if scheduler else workers)
    with executor(workers, scheduler, shared=search_prices) as run:
        run_batched_study(
            study,
            objective,
            n_trials=n_trials,
            run=run,
            batch_size=batch,
            prune_after=prune_after,
            progress=progress,
        )
    best = _config_from_trial(study.best_trial, space, commission)
    search_stats = _search_stats(study, search_prices, best, train, test)
    report = None
    if holdout > 0 and len(prices) - cut > 0:
        report = _holdout_report(prices, cut, best, train, test, workers, scheduler)
    return TuneResult(
        study=study,
        best=best,
        trials=_trials_table(study),
        search_end=search_prices.index[-1],
        holdout=report,
        search_stats=search_stats,
    )


def _search_stats(
    study: Any, prices: pd.DataFrame, best: PortfolioConfig, train: int, test: int
) -> dict[str, float]:
    """Sharpe statistics of the best configuration on the search windows, deflated for the search."""
    from optuna.trial import TrialState

    from seqfolio.research.stats import sharpe_summary

    tried = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED))
    scores = np.array([t.value for t in tried if t.state == TrialState.COMPLETE], dtype=float)
    returns = walk_forward(prices, [best], train=train, test=test).returns[best.label]
    return sharpe_summary(
        returns, n_trials=len(tried), trial_sharpes=scores if scores.size > 1 else None
    )


def _config_from_trial(trial: Any, space: SearchSpace, commission: float) -> PortfolioConfig:
    import optuna

    fixed = optuna.trial.FixedTrial(trial.params)
    return PortfolioConfig(**{**space.suggest(fixed).to_dict(), "commission": commission})


def _holdout_report(
    prices: pd.DataFrame,
    cut: int,
    best: PortfolioConfig,
    train: int,
    test: int,
    workers: int,
    scheduler: str | None,
) -> WalkForwardReport | None:
    """Walk forward into the hold-out: windows whose test part starts at the cut."""
    begin = max(0, cut - train)
    reference = PortfolioConfig(
        "ew", commission=best.commission, lookback=min(best.lookback, train - 1)
    )
    configs = [best] if best.label == reference.label else [best, reference]
    return walk_forward(
        prices,
        configs,
        start=prices.index[begin],
        train=cut - begin,
        test=test,
        workers=workers,
        scheduler=scheduler,
    )


def _trials_table(study: Any) -> pd.DataFrame:
    rows = []
    for trial in study.trials:
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name,
                "score": trial.value,
                **{f"param.{k}": v for k, v in trial.params.items()},
                "windows_run": len(trial.user_attrs.get("window_scores", [])),
                "skipped": trial.user_attrs.get("skipped"),
                "fallbacks": trial.user_attrs.get("fallbacks"),
            }
        )
    return pd.DataFrame(rows)

"""Hyperparameter search with Optuna, scored out of sample across walk-forward windows.

Nested: the last ``holdout`` fraction of the data is cut off before the search starts; the search
scores configurations by their mean per-window Sharpe ratio on windows that end before it, and only the
best configuration is then run on the hold-out, once.

Trials run in batches of ``batch_size`` (:data:`seqfolio.defaults.BATCH_SIZE`, wherever they run): the
sampler proposes a batch, the batch's first ``prune_after`` windows run in parallel, the pruner stops the
weak trials, and the survivors' remaining windows run. Results depend on the settings (``batch_size`` and
``seed`` included) only, not on where the tasks ran (serially, in local processes or on a Dask cluster).

A study remembers what makes its trials comparable (search space, data, objective, windows:
:func:`study_settings`) in its Optuna user attributes; resuming it with other settings is refused. Each
search space has its own default study name (``seqfolio-<space name>``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import warnings
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from seqfolio import defaults
from seqfolio._validation import check_choice, check_int, check_real, is_int
from seqfolio.allocators import allocator_names, needs_training, search_space, trained_allocators
from seqfolio.data import assets_priced_in
from seqfolio.pipeline.models import (
    SIGNALS,
    make_model,
    model_horizon,
    model_keys,
)
from seqfolio.research.evaluator import drop_empty_rows
from seqfolio.research.parallel import Runner, executor
from seqfolio.research.splits import Window, walk_forward_windows
from seqfolio.research.tasks import WindowTask, decide_task, decide_window, window_tasks
from seqfolio.research.walkforward import WalkForwardReport, evaluate_windows, walk_forward
from seqfolio.spec import RebalanceSpec

logger = logging.getLogger("seqfolio.research")
SETTINGS_ATTR = "seqfolio.settings"
"""The study user attribute that holds :func:`study_settings`."""


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
    prune_every: int | None = None,
    progress: bool = False,
) -> None:
    """Run trials until ``study`` holds ``n_trials`` finished (complete or pruned) ones.

    A batch runs its trials' first ``prune_after`` windows, asks the pruner, then runs the
    survivors' remaining windows at once, or ``prune_every`` windows at a time with the pruner
    asked after each step (what the Wilcoxon pruner needs: it tests paired window scores).
    Trials an interrupted run left ``RUNNING`` are marked failed first, so a resumed study goes on
    where it stopped.
    """
    from optuna.trial import TrialState
    from tqdm.auto import tqdm

    for stale in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        study.tell(stale.number, state=TrialState.FAIL)
    done = _finished_count(study)
    bar = tqdm(
        total=n_trials,
        initial=min(done, n_trials),
        desc="trials",
        disable=not progress,
        leave=False,
    )
    n_windows = objective.n_windows
    stage_one = max(1, min(prune_after, n_windows))
    step = n_windows if prune_every is None else check_int("run_batched_study", "prune_every",
                                                           prune_every, low=1)  # fmt: skip
    stages = [range(stage_one)] + [
        range(w, min(w + step, n_windows)) for w in range(stage_one, n_windows, step)
    ]
    while done < n_trials:
        trials = [study.ask() for _ in range(min(batch_size, n_trials - done))]
        params = [objective.suggest(t) for t in trials]
        payloads: list[list[Any]] = [[] for _ in trials]
        alive = list(range(len(trials)))
        for windows in stages:
            jobs = [(i, w) for i in alive for w in windows]
            if not jobs:
                continue
            for (i, _), result in zip(jobs, _run_jobs(objective, params, jobs, run), strict=True):
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
        done = _finished_count(study)
        bar.update(min(done, n_trials) - bar.n)
        if not done and len(study.trials) >= 3 * n_trials:
            raise RuntimeError(
                "run_batched_study: every trial failed; see the trials' 'error' attribute."
            )
    bar.close()


def _run_jobs(
    objective: WindowedObjective,
    params: Sequence[Any],
    jobs: Sequence[tuple[int, int]],
    run: Runner,
) -> list[Any]:
    """The payload of each (trial, window) job. An objective with ``grouped_tasks`` may answer
    several jobs with one call (e.g. trials whose models train as one population)."""
    if not hasattr(objective, "grouped_tasks"):
        return run(_call, [objective.task(params[i], w) for i, w in jobs])
    plan = objective.grouped_tasks([params[i] for i, _ in jobs], [w for _, w in jobs])
    answers = run(_call, [call for call, _ in plan])
    results: list[Any] = [None] * len(jobs)
    for (_, members), answer in zip(plan, answers, strict=True):
        for k, result in zip(members, answer, strict=True):
            results[k] = result
    return results


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
    choices : dict
        Per allocator, the values of each parameter searched, in place of the ranges the allocator
        declares (its ``search_space``: :func:`seqfolio.allocators.search_space`), which are
        searched otherwise -- a registered allocator of your own included.
    signals : tuple of str or None
        Walk-forward forecasts that may feed the allocator (None: the allocator alone); names from
        :data:`~seqfolio.pipeline.models.SIGNALS`. An allocator that trains a network
        (``needs_training``) in ``allocators`` searches that network's ``model`` settings.
    retrain : tuple of str
        Retrain schedules searched for a configuration with a model.
    model : dict
        Model settings searched for a configuration with a model (those its model takes, see
        :func:`~seqfolio.pipeline.models.model_keys`): a tuple of values (categorical) or a dict
        ``{"low": .., "high": .., "step": .., "log": ..}`` (integers if ``low`` and ``high`` are).
        Unset ones keep the estimators' defaults (:mod:`seqfolio.defaults`).
    name : str
        Names the space's default study, ``seqfolio-<name>`` (``default``, ``lstm`` for
        :data:`LSTM_SPACE`, a TOML file's name without ``.toml``); not part of what is searched.

    A TOML file with these keys (``[choices.hrp]`` and ``[model]`` tables, ``"none"`` for None,
    ``name = "..."`` a string) is read by :meth:`from_toml`.
    """

    allocators: tuple[str, ...] = ("hrp", "herc", "mvo", "ivp", "ew")
    lookback: tuple[int, int, int] = (63, 504, 21)
    rebalance: tuple[str, ...] = ("weekly", "monthly", "quarterly")
    max_weight: tuple[float | None, ...] = (None, 0.1, 0.2)
    choices: dict[str, dict[str, Any]] = field(default_factory=dict)
    signals: tuple[str | None, ...] = (None,)
    retrain: tuple[str, ...] = ("quarterly",)
    model: dict[str, Any] = field(default_factory=dict)
    name: str = "default"

    def searched(self) -> dict[str, Any]:
        """What the space searches, as plain JSON data (every field but ``name``; each allocator's
        parameter values as searched, declared or given)."""
        data = {k: v for k, v in asdict(self).items() if k != "name"}
        data["choices"] = {a: self.parameters(a) for a in self.allocators}
        return json.loads(json.dumps(data))

    def parameters(self, allocator: str) -> dict[str, Any]:
        """The parameter values searched for ``allocator``: ``choices``' or its declared ones."""
        if allocator in self.choices:
            return dict(self.choices[allocator])
        return search_space(allocator)

    def suggest(self, trial: Any) -> RebalanceSpec:
        allocator = trial.suggest_categorical("allocator", list(self.allocators))
        params = {
            name: _suggest(trial, f"{allocator}.{name}", values)
            for name, values in self.parameters(allocator).items()
        }
        low, high, step = self.lookback
        cap = trial.suggest_categorical(
            "max_weight", ["none" if v is None else v for v in self.max_weight]
        )
        trained = needs_training(allocator)
        signal = None
        if not trained and self.signals != (None,):
            name = trial.suggest_categorical("signal", [s or "none" for s in self.signals])
            signal = None if name == "none" else name
        model, retrain = {}, self.retrain[0]
        if signal is not None or trained:
            keys = model_keys(signal, allocator)
            model = {
                k: _suggest(trial, f"model.{k}", v) for k, v in self.model.items() if k in keys
            }
            retrain = trial.suggest_categorical("retrain", list(self.retrain))
        return RebalanceSpec(
            allocator=allocator,
            allocator_params={} if trained else params,
            lookback=trial.suggest_int("lookback", low, high, step=step),
            rebalance=trial.suggest_categorical("rebalance", list(self.rebalance)),
            max_weight=None if cap == "none" else float(cap),
            signal=signal,
            model=model,
            retrain=retrain,
        )

    def horizon(self) -> int:
        """The longest label horizon any configuration of the space can have (its purge)."""
        found = 0
        for allocator in self.allocators:
            trained = needs_training(allocator)
            for signal in (None,) if trained else self.signals:
                if signal is None and not trained:
                    continue
                spec = self.model.get("horizon") if signal is not None else None
                values = (
                    [None] if spec is None
                    else [spec["high"]] if isinstance(spec, dict) else list(spec)
                )  # fmt: skip
                for value in values:
                    settings = {} if value is None else {"horizon": value}
                    found = max(found, model_horizon(make_model(signal, allocator, settings)))
        return found

    @classmethod
    def from_toml(cls, path: str | Path) -> SearchSpace:
        """Read a search space from a TOML file (see the class notes); unset keys keep defaults and
        ``name`` defaults to the file's name without ``.toml``.

        Raises
        ------
        ValueError
            For an unknown key (naming the valid ones) or a value of the wrong shape.
        """
        import tomllib

        with open(path, "rb") as handle:
            raw = tomllib.load(handle)
        owner = f"search space {path}"
        names = [f.name for f in fields(cls)]
        unknown = sorted(set(raw) - set(names))
        if unknown:
            raise ValueError(f"{owner}: unknown key(s) {unknown}; valid: {', '.join(names)}.")
        values: dict[str, Any] = {"name": Path(path).stem}
        for key, value in raw.items():
            if key == "name":
                if not isinstance(value, str) or not value.strip():
                    raise ValueError(f"{owner}: 'name' must be a non-empty string; got {value!r}.")
                values[key] = value.strip()
            elif key in ("choices", "model"):
                if not isinstance(value, dict):
                    raise ValueError(f"{owner}: {key!r} must be a table, e.g. [{key}].")
                values[key] = {
                    k: {n: tuple(c) for n, c in v.items()} if key == "choices" else
                    (v if isinstance(v, dict) else tuple(v if isinstance(v, list) else [v]))
                    for k, v in value.items()
                }  # fmt: skip
            elif not isinstance(value, list) or not value:
                raise ValueError(f"{owner}: {key!r} must be a non-empty list; got {value!r}.")
            else:
                values[key] = tuple(None if v == "none" else v for v in value)
        if "lookback" in values and len(values["lookback"]) != 3:
            raise ValueError(f"{owner}: 'lookback' is [low, high, step]; got {raw['lookback']}.")
        space = cls(**values)
        space.check()
        return space

    def check(self) -> None:
        """Build one configuration per allocator: a bad name or value fails before the search."""
        import optuna

        for signal in self.signals:
            if signal is not None:
                check_choice("SearchSpace", "signals", signal, list(SIGNALS))
        for allocator in self.allocators:
            check_choice("SearchSpace", "allocators", allocator, allocator_names())
            fixed = {"allocator": allocator, "lookback": self.lookback[0],
                     "rebalance": self.rebalance[0], "retrain": self.retrain[0],
                     "max_weight": self.max_weight[0] or "none",
                     "signal": self.signals[-1] or "none"}  # fmt: skip
            for key, spec in self.parameters(allocator).items():
                fixed[f"{allocator}.{key}"] = spec["low"] if isinstance(spec, dict) else spec[0]
            for key, spec in self.model.items():
                fixed[f"model.{key}"] = spec["low"] if isinstance(spec, dict) else spec[0]
            self.suggest(optuna.trial.FixedTrial(fixed))


def _suggest(trial: Any, name: str, spec: Any) -> Any:
    """One searched value: categorical from a tuple, or an int / float range from a dict."""
    if not isinstance(spec, dict):
        return trial.suggest_categorical(name, list(spec))
    low, high = spec["low"], spec["high"]
    if is_int(low) and is_int(high) and not spec.get("log", False):
        return trial.suggest_int(name, low, high, step=int(spec.get("step", 1)))
    step = spec.get("step")
    return trial.suggest_float(name, float(low), float(high), step=step, log=spec.get("log", False))


LSTM_SPACE = SearchSpace(
    allocators=("hrp", "herc", "mvo", "ew", *trained_allocators()),
    lookback=(126, 504, 63),
    rebalance=("monthly", "quarterly"),
    max_weight=(None,),
    signals=(None, "lstm-vol", "lstm-corr", "lstm-regime"),
    retrain=("quarterly",),
    model={"hidden_size": (8, 16), "learning_rate": (1e-3, 3e-3), "ffd": (True, False)},
    name="lstm",
)
"""A default search over LSTM pipelines: the command line's small networks with a few settings, the
allocators they feed, and the allocators alone as the benchmark they must beat. Choices are few and
categorical on purpose: trials that pick the same signal and settings share every fitted model
(``tune(cache_dir=...)``), whatever allocator, lookback or schedule they feed."""


@dataclass
class PortfolioObjective:
    """The :class:`WindowedObjective` of :func:`tune`: mean out-of-sample Sharpe over windows."""

    prices: pd.DataFrame
    windows: list[Window]
    space: SearchSpace
    commission: float = defaults.COMMISSION
    cache_dir: str | None = None
    population: bool = True
    periods_per_year: int = field(init=False)

    def __post_init__(self) -> None:
        from seqfolio.reporting import bars_per_year

        self.periods_per_year = bars_per_year(self.prices.index)

    @property
    def n_windows(self) -> int:
        return len(self.windows)

    def suggest(self, trial: Any) -> RebalanceSpec:
        config = self.space.suggest(trial)
        return config.replace(commission=self.commission)

    def task(self, params: RebalanceSpec, window: int) -> tuple[Callable[[Any, Any], Any], Any]:
        return decide_window, WindowTask(params, self.windows[window], cache_dir=self.cache_dir)

    def grouped_tasks(
        self, configs: Sequence[RebalanceSpec], windows: Sequence[int]
    ) -> list[tuple[tuple[Callable[[Any, Any], Any], Any], list[int]]]:
        """One call per window and group of configurations whose forecasters train as one
        population (:mod:`seqfolio.research.population`); each call answers its jobs in order."""
        plan = []
        for w in dict.fromkeys(windows):
            jobs = [k for k, window in enumerate(windows) if window == w]
            for group, task in window_tasks(
                [configs[k] for k in jobs],
                self.windows[w],
                population=self.population,
                cache_dir=self.cache_dir,
            ):
                plan.append(((decide_task, task), [jobs[j] for j in group]))
        return plan

    def scores(self, params: RebalanceSpec, payloads: Sequence[Any]) -> list[float]:
        _, sharpes = evaluate_windows(
            self.prices, params, self.windows[: len(payloads)], payloads, self.periods_per_year
        )
        return sharpes

    def diagnostics(self, params: RebalanceSpec, payloads: Sequence[Any]) -> dict[str, Any]:
        """Decisions skipped and fallbacks used so far (kept on the trial, shown in its table) and,
        once every window ran, the daily out-of-sample returns (for the overfitting verdict)."""
        found: dict[str, Any] = {
            "skipped": sum(len(p.skipped) for p in payloads),
            "fallbacks": sum(len(p.fallbacks) for p in payloads),
        }
        if len(payloads) == self.n_windows:
            evaluation, _ = evaluate_windows(
                self.prices, params, self.windows, payloads, self.periods_per_year
            )
            found["returns"] = evaluation.returns.tolist()
        return found


@dataclass
class TuneResult:
    """What :func:`tune` returns.

    Three scores appear in its figures, each named where it is shown:

    - a trial's **score**: its mean Sharpe ratio over the search's walk-forward windows (what the
      search maximises; ``best`` has the highest); only completed trials have one;
    - a pruned trial's **partial score**: its mean Sharpe over the windows it ran before it was
      pruned (fewer windows, so not comparable with scores, and never ranked);
    - the **stitched Sharpe**: the Sharpe ratio of a completed trial's daily returns over all search
      windows traded as one portfolio (what the PSR, DSR and PBO are computed from).

    Attributes
    ----------
    study : optuna.Study
    best : RebalanceSpec
        The completed trial with the highest score.
    trials : pandas.DataFrame
        One row per trial (:data:`TRIAL_COLUMNS`): state, ``score`` and ``rank`` (completed
        trials), ``partial_score`` (pruned ones), ``windows_run``, ``stitched_sharpe``, the
        parameters, and the decisions skipped (allocator failures included) and fallbacks used.
    search_end : pandas.Timestamp
        Last date the search saw.
    holdout : WalkForwardReport or None
        The best configuration (and equal weight, for reference) on the hold-out.
    search_stats : dict
        The best trial on the search windows: ``trial``, ``score``, ``windows``, its stitched
        ``sharpe`` with its bootstrap interval (``sharpe_ci_low``, ``sharpe_ci_high``), ``psr``, and
        the ``dsr`` deflated for every finished trial (``dsr_trials``: completed and pruned), with
        the variance of the completed trials' stitched Sharpe ratios.
    overfitting : dict
        PBO (CSCV) over the stitched daily returns of every completed trial, with the same DSR of
        the best trial (:func:`~seqfolio.research.overfitting.overfitting_summary`); empty with
        fewer than two completed trials.
    train_window : int or None
        The bars each model was fitted on (the windows' ``train``): ``best.toml``'s
        ``train_window``, so that ``seqfolio backtest --config best.toml`` retrains alike.
    windows : list of Window
        The search's walk-forward windows.
    earlier_trials : int
        Finished trials the study already had when this call began (a resumed study).
    periods_per_year : int
        Bars a year of the prices (every Sharpe ratio is annualised with it).
    """

    study: Any
    best: RebalanceSpec
    trials: pd.DataFrame
    search_end: pd.Timestamp
    holdout: WalkForwardReport | None
    search_stats: dict[str, float] = field(default_factory=dict)
    overfitting: dict[str, Any] = field(default_factory=dict)
    train_window: int | None = None
    windows: list[Window] = field(default_factory=list)
    earlier_trials: int = 0
    periods_per_year: int = defaults.PERIODS_PER_YEAR


TRIAL_COLUMNS: dict[str, str] = {
    "state": "COMPLETE (ran every search window), PRUNED (stopped early) or FAIL",
    "score": "mean Sharpe over every search window (completed trials; what the search maximises)",
    "rank": "1 for the best score, ties to the earlier trial (completed trials only)",
    "partial_score": "a pruned trial's mean Sharpe over the windows it ran (fewer: not ranked)",
    "windows_run": "search windows the trial ran",
    "stitched_sharpe": "Sharpe of the trial's daily returns over all search windows as one period",
}
"""The score columns of :attr:`TuneResult.trials` (then ``param.*``, ``skipped``, ``fallbacks``)."""


def study_settings(
    space: SearchSpace,
    prices: pd.DataFrame,
    windows: Sequence[Window],
    *,
    commission: float,
    holdout: float,
    purge: int,
    periods_per_year: int,
) -> dict[str, Any]:
    """What makes a study's trials comparable, as plain JSON data (kept in the study).

    ``space``: what is searched; ``data``: the search's prices (assets, dates, a hash of the
    values); ``objective``: the score and the costs; ``windows``: train, test, purge, hold-out.
    The sampler seed, the pruner, the batch size and the number of trials are not in it: they change
    which trials run, not what a trial's score means.
    """
    digest = pd.util.hash_pandas_object(prices, index=True).to_numpy()
    first = windows[0]
    settings = {
        "space": space.searched(),
        "data": {
            "assets": [str(c) for c in prices.columns],
            "first": str(prices.index[0].date()),
            "last": str(prices.index[-1].date()),
            "bars": len(prices),
            "prices": hashlib.sha256(digest.tobytes()).hexdigest()[:16],
        },
        "objective": {
            "score": "mean window Sharpe",
            "commission": commission,
            "cash_buffer": defaults.CASH_BUFFER,
            "bars_per_year": periods_per_year,
        },
        "windows": {
            "train": first.train_stop - first.train_start,
            "test": first.test_stop - first.test_start,
            "purge": purge,
            "holdout": holdout,
            "count": len(windows),
        },
    }
    return json.loads(json.dumps(settings))


def _flat(settings: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in settings.items():
        if isinstance(value, dict) and prefix == "":
            out.update(_flat(value, f"{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _differences(stored: dict[str, Any], wanted: dict[str, Any]) -> list[str]:
    """``"windows.train: 756 (now 504)"`` for each setting that differs."""

    def shown(value: Any) -> str:
        text = repr(value)
        return text if len(text) <= 80 else text[:77] + "..."

    old, new = _flat(stored), _flat(wanted)
    lines = []
    for key in [*new, *(k for k in old if k not in new)]:
        if old.get(key) != new.get(key):
            if key == "data.prices":
                lines.append("data.prices: other prices on the same dates")
            else:
                lines.append(f"{key}: {shown(old.get(key))} (now {shown(new.get(key))})")
    return lines


def open_study(
    name: str, storage: str | None, settings: dict[str, Any], *, sampler: Any, pruner: Any
) -> Any:
    """Create the Optuna study ``name`` in ``storage``, or load it if its settings are ``settings``.

    Raises
    ------
    ValueError
        If the stored study's finished trials were run with other settings (or by a seqfolio that
        did not record them): the message lists what differs and how to start a new study.
    """
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        study_name=name,
        storage=storage,
        direction="maximize",
        sampler=sampler,
        pruner=pruner,
        load_if_exists=True,
    )
    stored = study.user_attrs.get(SETTINGS_ATTR)
    finished = _finished_count(study)
    if stored == settings or not finished:
        study.set_user_attr(SETTINGS_ATTR, settings)
        return study
    where = f"study {name!r} in {storage}"
    how = (
        "resume it with the settings it was run with, or start a new study: give another "
        "study_name (--study-name NAME) or storage (--out DIR / --storage URL)."
    )
    if stored is None:
        raise ValueError(
            f"tune: {where} has {finished} finished trials but no record of the settings they "
            f"were run with (an earlier seqfolio made it), so they cannot be checked against this "
            f"run's; {how}"
        )
    raise ValueError(
        f"tune: {where} was run with other settings, so its {finished} finished trials are not "
        f"comparable with this run's: {'; '.join(_differences(stored, settings))}. To go on, {how}"
    )


def _say_resumed(study: Any, storage: str | None, n_trials: int) -> int:
    """Log (INFO, ``seqfolio.research``) that a stored study is resumed; its finished trials."""
    from optuna.trial import TrialState

    complete = len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,)))
    pruned = len(study.get_trials(deepcopy=False, states=(TrialState.PRUNED,)))
    done = complete + pruned
    if done == 0:
        return 0
    where = f"study {study.study_name!r} ({storage})"
    kinds = f"{complete} complete, {pruned} pruned"
    if done >= n_trials:
        logger.info(
            "tune: %s already has %d finished trials (%s) for n_trials=%d: no trial to run; the "
            "report is rebuilt from them (ask for more trials to search further)",
            where, done, kinds, n_trials,
        )  # fmt: skip
    else:
        logger.info(
            "tune: resuming %s: %d of %d trials already finished (%s); running %d more",
            where, done, n_trials, kinds, n_trials - done,
        )  # fmt: skip
    return done


def tune(
    prices: pd.DataFrame,
    *,
    n_trials: int = 40,
    holdout: float = 0.2,
    train: int = defaults.TRAIN_BARS,
    test: int = defaults.TEST_BARS,
    space: SearchSpace | None = None,
    commission: float = defaults.COMMISSION,
    storage: str | None = None,
    study_name: str | None = None,
    seed: int = 0,
    prune_after: int = defaults.PRUNE_AFTER,
    workers: int = 1,
    scheduler: str | None = None,
    batch_size: int = defaults.BATCH_SIZE,
    progress: bool = False,
    pruner: str = defaults.PRUNER,
    prune_every: int | None = defaults.PRUNE_EVERY,
    purge: int | None = None,
    cache_dir: str | None = None,
    population: bool = True,
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
    study_name : str, optional
        Name in the storage, by default ``seqfolio-<space.name>`` (``seqfolio-default``,
        ``seqfolio-lstm``). An existing study of that name is resumed (an INFO line of the
        ``seqfolio.research`` logger says so, with its finished trials) if it was run with the same
        settings (:func:`study_settings`); otherwise a ValueError says what differs.
    seed : int
        TPE sampler seed.
    prune_after : int, default 6
        Windows a trial runs before the pruner may stop it.
    workers, scheduler, progress
        Where the tasks run: this process, ``workers`` local processes or a Dask cluster. The
        trials do not depend on it.
    batch_size : int, default :data:`seqfolio.defaults.BATCH_SIZE`
        Trials proposed at once (the sampler assumes the batch's running trials score badly, Optuna's
        ``constant_liar``, so it spreads them); their windows run in parallel.
    pruner : {"median", "wilcoxon", "none"}, default "wilcoxon"
        Optuna's ``MedianPruner`` (a trial below the median of earlier trials at the same window),
        ``WilcoxonPruner`` (a trial whose paired window scores are significantly below the best
        trial's, p < 0.1; it needs ``prune_after`` >= 4 and a ``prune_every``) or no pruning.
    prune_every : int or None, default 1
        After the first ``prune_after`` windows, ask the pruner every this many windows (None:
        once, then run the rest). The defaults (Wilcoxon after 6, every window) are the setting that
        kept the best configuration in replayed studies (:data:`seqfolio.defaults.PRUNER`).
    purge : int, optional
        Bars between each training and test part; defaults to the longest label horizon the space
        can choose (0 for allocators alone; see :func:`~seqfolio.research.walkforward.walk_forward`).
    cache_dir : str, optional
        Fitted models are kept there and reused by every trial (and a resumed study) that fits the
        same model on the same window.
    population : bool, default True
        Train the forecasters of a batch's trials that can share a population together in each
        window (as :func:`~seqfolio.research.walkforward.walk_forward` does); False fits each alone.

    Raises
    ------
    ValueError
        For bad settings, or a stored study of that name run with other settings.
    """
    import optuna

    holdout = check_real("tune", "holdout", holdout, low=0.0, high=1.0, high_open=True)
    n_trials = check_int("tune", "n_trials", n_trials, low=1)
    check_choice("tune", "pruner", pruner, ["median", "wilcoxon", "none"])
    batch = check_int("tune", "batch_size", batch_size, low=1)
    space = space or SearchSpace()
    need = space.horizon()
    purge = need if purge is None else check_int("tune", "purge", purge, low=need)
    prices = drop_empty_rows(prices)  # a blank holiday row is not a bar (as in backtrader)
    cut = int(round(len(prices) * (1 - holdout)))
    # Assets listing in the hold-out have no price in the search: left out of it (INFO line).
    search_prices = assets_priced_in(prices, None, prices.index[cut - 1], owner="tune").iloc[:cut]
    windows = walk_forward_windows(len(search_prices), train=train, test=test, purge=purge)
    objective = PortfolioObjective(search_prices, windows, space, commission, cache_dir, population)
    settings = study_settings(
        space, search_prices, windows, commission=commission, holdout=holdout, purge=purge,
        periods_per_year=objective.periods_per_year,
    )  # fmt: skip
    sampler = optuna.samplers.TPESampler(
        seed=seed, n_startup_trials=min(10, n_trials), constant_liar=True
    )
    study = open_study(
        study_name or f"seqfolio-{space.name}", storage, settings, sampler=sampler,
        pruner=make_pruner(pruner, prune_after),
    )  # fmt: skip
    earlier = _say_resumed(study, storage, n_trials)
    if earlier < n_trials:
        with executor(workers, scheduler, shared=search_prices) as run:
            run_batched_study(
                study,
                objective,
                n_trials=n_trials,
                run=run,
                batch_size=batch,
                prune_after=prune_after,
                prune_every=prune_every,
                progress=progress,
            )
    best = objective.suggest(optuna.trial.FixedTrial(study.best_trial.params))
    if best.uses_model:  # its models were fitted on the windows' training parts
        best = best.replace(train_window=train)
    study_kw = dict(train=train, test=test, purge=purge, cache_dir=cache_dir)
    report = None
    if holdout > 0 and len(prices) - cut > 0:
        report = _holdout_report(prices, cut, best, study_kw, workers, scheduler)
    periods = objective.periods_per_year
    return TuneResult(
        study=study,
        best=best,
        trials=_trials_table(study, periods),
        search_end=search_prices.index[-1],
        holdout=report,
        search_stats=_search_stats(study, len(windows), periods),
        overfitting=trials_overfitting(study, periods),
        train_window=train,
        windows=list(windows),
        earlier_trials=earlier,
        periods_per_year=periods,
    )


def make_pruner(name: str, prune_after: int) -> Any:
    """Optuna's pruner for ``tune(pruner=name)`` (see :func:`tune`)."""
    import optuna

    if name == "wilcoxon":
        # "experimental" since Optuna 3.6; the interface we use is stable
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.pruners.WilcoxonPruner(p_threshold=0.1, n_startup_steps=prune_after)
    if name == "median":
        return optuna.pruners.MedianPruner(
            n_startup_trials=5, n_warmup_steps=max(prune_after - 1, 0)
        )
    return optuna.pruners.NopPruner()


def _completed_returns(study: Any) -> pd.DataFrame:
    """The stitched daily returns of the completed trials, one column ``"trial N"`` each."""
    from optuna.trial import TrialState

    done = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    return pd.DataFrame(
        {f"trial {t.number}": t.user_attrs["returns"] for t in done if "returns" in t.user_attrs}
    )


def _finished_count(study: Any) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def trials_overfitting(study: Any, periods_per_year: int = defaults.PERIODS_PER_YEAR) -> dict[str, Any]:
    """PBO over the stitched returns of the study's completed trials, and the DSR of its best trial
    deflated for every finished trial, pruned ones included (see :attr:`TuneResult.overfitting`)."""
    from seqfolio.research.overfitting import overfitting_summary

    returns = _completed_returns(study)
    if returns.shape[1] < 2:
        return {}
    return overfitting_summary(
        returns,
        periods_per_year=periods_per_year,
        n_trials=_finished_count(study),
        selected=f"trial {study.best_trial.number}",
    )


def _search_stats(study: Any, n_windows: int, periods_per_year: int) -> dict[str, Any]:
    """The best trial's score and its stitched Sharpe statistics, deflated for every finished
    trial (see :attr:`TuneResult.search_stats`)."""
    from seqfolio.stats import sharpe_ratio, sharpe_summary

    returns = _completed_returns(study)
    best = study.best_trial
    label = f"trial {best.number}"
    if label not in returns:
        return {}
    sharpes = np.array([sharpe_ratio(returns[c], periods_per_year) for c in returns])
    n_trials = _finished_count(study)
    stats = sharpe_summary(
        returns[label], n_trials=n_trials, trial_sharpes=sharpes, periods_per_year=periods_per_year
    )
    return {"trial": best.number, "score": best.value, "windows": n_windows, **stats,
            "dsr_trials": n_trials}  # fmt: skip


def _holdout_report(
    prices: pd.DataFrame,
    cut: int,
    best: RebalanceSpec,
    study_kw: dict[str, Any],
    workers: int,
    scheduler: str | None,
) -> WalkForwardReport | None:
    """Walk forward into the hold-out: windows whose test part starts at the cut."""
    purge = study_kw["purge"]
    begin = max(0, cut - study_kw["train"] - purge)
    reference = RebalanceSpec(
        "ew", commission=best.commission, lookback=min(best.lookback, cut - begin - purge - 1)
    )
    configs = [best] if best == reference else [best, reference]
    with warnings.catch_warnings():  # the reference allocator alone cannot use the purge
        warnings.filterwarnings("ignore", "walk_forward: purge", UserWarning)
        return walk_forward(  # the whole frame with start=: an asset delisted before the
            prices, configs, **{**study_kw, "train": cut - begin - purge},  # start is left out
            start=prices.index[begin], workers=workers, scheduler=scheduler,
        )  # fmt: skip


def _trials_table(study: Any, periods_per_year: int = defaults.PERIODS_PER_YEAR) -> pd.DataFrame:
    """One row per trial (:data:`TRIAL_COLUMNS`); a pruned trial's Optuna value (its last window's
    Sharpe) is not shown as a score."""
    from optuna.trial import TrialState

    from seqfolio.stats import sharpe_ratio

    rows = []
    for trial in study.trials:
        window_scores = trial.user_attrs.get("window_scores", [])
        complete = trial.state == TrialState.COMPLETE
        returns = trial.user_attrs.get("returns") if complete else None
        rows.append(
            {
                "trial": trial.number,
                "state": trial.state.name,
                "score": trial.value if complete else np.nan,
                "rank": np.nan,
                "partial_score": (
                    _mean_score(window_scores) if trial.state == TrialState.PRUNED else np.nan
                ),
                "windows_run": len(window_scores),
                "stitched_sharpe": (sharpe_ratio(returns, periods_per_year) if returns else np.nan),
                **{f"param.{k}": v for k, v in trial.params.items()},
                "skipped": trial.user_attrs.get("skipped"),
                "fallbacks": trial.user_attrs.get("fallbacks"),
            }
        )
    table = pd.DataFrame(rows).replace([np.inf, -np.inf], np.nan)
    if len(table):
        table["rank"] = table["score"].rank(ascending=False, method="first")
    return table

"""The units of work of a walk-forward study or a search: one configuration, or a population of
them, on one window, decided on a worker from the shared prices.

:func:`decide_task` is what a worker runs (locally, in a process pool or on a Dask cluster): a
:class:`WindowTask` decides one configuration's targets in a window's test part; a
:class:`PopulationTask` decides several whose models train as one population
(:class:`~seqfolio.research.population.PopulationFit`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from seqfolio.research.population import PopulationFit, population_groups
from seqfolio.research.simulation import Targets, target_weights
from seqfolio.research.splits import Window
from seqfolio.spec import RebalanceSpec

__all__ = [
    "PopulationTask",
    "WindowTask",
    "decide_population",
    "decide_task",
    "decide_window",
    "window_tasks",
]


@dataclass(frozen=True)
class WindowTask:
    """One (configuration, window) unit of work: what a worker receives besides the shared prices.

    ``expanding`` and ``cache_dir`` matter only for a configuration with a walk-forward model: its
    training window (every bar so far, or the window's ``train`` bars) and where fitted models are
    kept (one sub-folder per window).
    """

    config: RebalanceSpec
    window: Window
    expanding: bool = False
    cache_dir: str | None = None


@dataclass(frozen=True)
class PopulationTask:
    """Several configurations on one window whose models train as one population."""

    configs: tuple[RebalanceSpec, ...]
    window: Window
    expanding: bool = False
    cache_dir: str | None = None


def window_tasks(
    configs: Sequence[RebalanceSpec],
    window: Window,
    *,
    population: bool,
    expanding: bool = False,
    cache_dir: str | None = None,
) -> list[tuple[list[int], WindowTask | PopulationTask]]:
    """The tasks that decide ``configs`` in ``window``: one per group whose models train as one
    population (:func:`~seqfolio.research.population.population_groups`; each configuration alone
    without ``population``), with the positions in ``configs`` of the group's members."""
    groups = population_groups(configs) if population else [[i] for i in range(len(configs))]
    return [
        (group, WindowTask(configs[group[0]], window, expanding, cache_dir)) if len(group) == 1
        else (group, PopulationTask(tuple(configs[i] for i in group), window, expanding, cache_dir))
        for group in groups
    ]  # fmt: skip


def decide_window(
    prices: pd.DataFrame, task: WindowTask, fit: Callable[[Any, pd.DataFrame], Any] | None = None
) -> Targets:
    """Target weights for every scheduled decision in the task's test part, with the decisions that
    were skipped or fell back and why (runs on a worker).

    A walk-forward model is first trained on the window's training part only (up to its last bar,
    before the purge and embargo), then retrained on the configuration's ``retrain`` schedule inside
    the test part on the closes up to each retrain bar, as the engine does.
    """
    window, spec = task.window, task.config
    test = window.test_dates(prices.index)
    history = prices.iloc[: window.test_stop]  # nothing after the test part is passed on
    if not spec.uses_model:
        return target_weights(history, spec, start=test[0], end=test[-1])
    bars = "expanding" if task.expanding else window.train_stop - window.train_start
    return target_weights(
        history,
        spec.replace(train_window=bars),
        start=test[0],
        end=test[-1],
        fit_until=prices.index[window.train_stop - 1],
        fit=fit,
        checkpoint_dir=(
            None if task.cache_dir is None else f"{task.cache_dir}/window-{window.number:03d}"
        ),
    )


def decide_population(prices: pd.DataFrame, task: PopulationTask) -> list[Targets]:
    """Each configuration's targets in the window, the models of all trained together."""
    templates = {}
    for config in task.configs:  # one member per distinct model (HRP and HERC may share one)
        model = config.make_model()
        templates.setdefault(repr(sorted(model.get_params(deep=False).items())), model)
    hook = PopulationFit(list(templates.values()))
    return [
        decide_window(
            prices, WindowTask(config, task.window, task.expanding, task.cache_dir), fit=hook.fit
        )  # fmt: skip
        for config in task.configs
    ]


def decide_task(prices: pd.DataFrame, task: WindowTask | PopulationTask) -> list[Targets]:
    """The targets of a task's configurations (one, or a population's; runs on a worker)."""
    if isinstance(task, WindowTask):
        return [decide_window(prices, task)]
    return decide_population(prices, task)

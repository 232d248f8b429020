"""Configurations whose forecasters can share a population, trained together in each window.

In a study with ``seeds=5`` (or several configurations with the same network shapes: other hidden sizes,
learning rates, patience), every retrain of every seed fits on the same closes. Grouped into one task
per window, the first configuration's retrain fits all the group's forecasters at once with
:func:`~seqfolio.signals.fit_population` (one batched network, each member equal to its lone fit to
1e-5 in the network output) and the others take their member from the memo. Checkpoints of such fits
carry their own key (the fit function is part of it), so they never mix with single fits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sklearn.base import clone

from seqfolio.spec import RebalanceSpec

__all__ = ["PopulationFit", "population_groups"]


def _population_key(config: RebalanceSpec) -> tuple[Any, ...] | None:
    """What members of one population must share, or None if the config's model cannot be one."""
    from seqfolio.signals import LSTMForecaster
    from seqfolio.signals.population import population_key

    if config.signal is None:
        return None
    model = config.make_model()
    if not isinstance(model, LSTMForecaster) or model.num_layers != 1 or model.dropout != 0:
        return None
    if model.warm_start:
        return None
    return (config.retrain, population_key(model))


def population_groups(configs: Sequence[RebalanceSpec]) -> list[list[int]]:
    """Indices of ``configs`` in groups that train as one population (a group of one otherwise)."""
    groups: dict[Any, list[int]] = {}
    singles: list[list[int]] = []
    for i, config in enumerate(configs):
        key = _population_key(config)
        if key is None:
            singles.append([i])
        else:
            groups.setdefault(key, []).append(i)
    return [g for g in groups.values()] + singles


class PopulationFit:
    """The ``fit`` hook of the group's retrainers: fits every member on the first call for a
    training slice, hands out the rest from its memo."""

    def __init__(self, templates: Sequence[Any], n_threads: int = 1) -> None:
        self.templates = list(templates)
        self.n_threads = n_threads
        self._memo: dict[tuple[Any, ...], list[Any]] = {}

    @staticmethod
    def _slice_key(prices: pd.DataFrame) -> tuple[Any, ...]:
        return (prices.index[0], prices.index[-1], len(prices), tuple(prices.columns))

    def _member(self, candidate: Any) -> int:
        params = candidate.get_params(deep=False)
        for k, template in enumerate(self.templates):
            if template.get_params(deep=False) == params:
                return k
        raise ValueError("PopulationFit: the model is not a member of this population.")

    def fit(self, candidate: Any, prices: pd.DataFrame) -> Any:
        """``fit(model, prices) -> fitted model``, as :class:`~seqfolio.pipeline.ModelRetrainer` asks."""
        from seqfolio.signals import fit_population

        key = self._slice_key(prices)
        if key not in self._memo:  # kept for the window: the group's retrainers walk it in turn
            members = [clone(t) for t in self.templates]
            self._memo[key] = fit_population(
                members, prices, n_threads=self.n_threads, return_exceptions=True
            )
        fitted = self._memo[key][self._member(candidate)]
        if isinstance(fitted, Exception):
            raise ValueError(str(fitted)) from fitted
        return fitted

"""``fit_population``: train many :class:`~seqfolio.signals.LSTMForecaster` at once, as one network.

Forecasters that read the same samples (same target, window, horizon, features, split, batch size and
epoch budget) but differ in seed, hidden size, learning rate, patience, gradient clipping or
``max_epochs`` are stacked along a population dimension (:mod:`~seqfolio.signals.population_net`) and
trained by the loop a lone fit goes through (:func:`~seqfolio.signals.trainer.run_epochs`, with the
population's steps of :mod:`~seqfolio.signals.population_train`). Each comes out as the forecaster it
would be fitted alone — same initial weights, same batches, same early stopping — to float
tolerance, with the usual ``predict`` / ``save`` / ``load``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from seqfolio.signals.forecaster import LSTMForecaster

__all__ = ["SHARED_PARAMS", "fit_population", "population_key"]

SHARED_PARAMS = (
    "target",
    "window",
    "horizon",
    "validation_fraction",
    "embargo",
    "sample_stride",
    "ffd_d",
    "ffd_threshold",
    "winsorize_limit",
    "drawdown_threshold",
    "stress_quantile",
    "batch_size",
    "epoch_samples",
    "device",
)
"""Parameters members of one population share: they decide the samples, the tensor shapes and the
epochs' length (so the members' batches line up). The others (``random_state``, ``hidden_size``,
``learning_rate``, ``patience``, ``grad_clip``, ``max_epochs``) may differ per member; ``num_layers``
must be 1 and ``dropout`` 0; ``n_threads`` and ``progress`` are :func:`fit_population`'s own."""


def population_key(forecaster: LSTMForecaster) -> tuple[Any, ...]:
    """The values of :data:`SHARED_PARAMS`: forecasters with equal keys train as one population."""
    params = forecaster.get_params(deep=False)
    return tuple(params[name] for name in SHARED_PARAMS)


def _check_member(forecaster: object, i: int) -> LSTMForecaster:
    if not isinstance(forecaster, LSTMForecaster):
        raise TypeError(
            f"fit_population: forecasters[{i}] is a {type(forecaster).__name__}, not an "
            "LSTMForecaster."
        )
    for name, allowed in (("num_layers", 1), ("dropout", 0.0)):
        if getattr(forecaster, name) != allowed:
            raise ValueError(
                f"fit_population: forecasters[{i}] has {name}={getattr(forecaster, name)!r}; a "
                f"population member needs {name}={allowed!r} (fit it alone with .fit instead)."
            )
    if forecaster.warm_start and hasattr(forecaster, "model_"):
        raise ValueError(
            f"fit_population: forecasters[{i}] is fitted and has warm_start=True; population "
            "members start from a fresh initialisation (fit it alone with .fit to warm-start)."
        )
    return forecaster


def fit_population(
    forecasters: Sequence[LSTMForecaster],
    prices: pd.DataFrame,
    *,
    n_threads: int | None = 1,
    progress: bool = False,
    return_exceptions: bool = False,
) -> list[Any]:
    """Fit every forecaster on ``prices``, those sharing :data:`SHARED_PARAMS` as one population.

    Member ``k`` ends as ``forecasters[k].fit(prices)`` would leave it: the same initial weights
    (drawn under its ``random_state``), the same epochs (its own shuffling generator), its own Adam
    state, learning rate, gradient clipping, patience, ``max_epochs``, validation loss and best
    weights. Forecasts agree with a lone fit to about 1e-6 (max abs difference of the raw outputs;
    the tests check <= 1e-5): the arithmetic is the same, summed in another order.

    Parameters
    ----------
    forecasters : sequence of LSTMForecaster
        Unfitted (or refitted from scratch) forecasters with ``num_layers=1`` and ``dropout=0``. They
        are fitted in place. Hidden sizes that differ are padded to the widest member of their
        population (a padded unit stays exactly zero), so group very different sizes separately if
        the padding would cost too much compute.
    prices : pandas.DataFrame
        As for :meth:`LSTMForecaster.fit`.
    n_threads : int or None, default 1
        CPU threads: a population is cut into this many groups of members trained side by side,
        each on one torch thread. A member's arithmetic does not depend on its group, so results
        are identical for any ``n_threads``. ``None`` takes torch's current setting.
    progress : bool, default False
        A tqdm bar over epochs (the members' own ``progress`` is ignored).
    return_exceptions : bool, default False
        A member whose loss diverges has no model (:class:`~seqfolio.signals.trainer.TrainingDiverged`).
        False raises the first such error once every population has finished (the other members
        are fitted); True puts the error in that member's place of the returned list.

    Returns
    -------
    list
        ``forecasters``, fitted, in order (or the error in place of a diverged one).

    Raises
    ------
    TypeError, ValueError
        For a member that is not an ``LSTMForecaster``, has more than one layer, dropout or a
        warm start, and for any error :meth:`LSTMForecaster.fit` raises on these prices.
    TrainingDiverged
        See ``return_exceptions``.

    Notes
    -----
    The device is each member's ``device`` (``"auto"``: CUDA when available, else CPU); the code
    is the same tensors on either. Memory per member, with ``W`` the window, ``F`` = 8 features,
    ``H`` the (padded) hidden size, in float32: parameters ``4 * (4H(F + H + 2) + H + 1)`` bytes
    (22 kB at ``H=32``), kept about six times (weights, best weights, Adam's two moments, gradients
    and a working copy); activations kept for the backward pass (inputs, gates, cells) and the batch
    of windows ``4 * W * (2F + 7H + 1)`` bytes per training sample, i.e. times ``batch_size`` (58 kB
    per sample at ``W=60``, ``H=32``: 15 MB per member at ``batch_size=256``, 1 GB for K=64).
    Validation runs forward-only, in chunks of 1024 samples, keeping two time steps. Size ``K`` so
    that ``K * batch_size * 4W(2F + 7H + 1)`` bytes fit in memory.

    Examples
    --------
    >>> from seqfolio.signals import LSTMForecaster, fit_population
    >>> members = [LSTMForecaster(random_state=s, hidden_size=h) for s in range(4) for h in (16, 32)]
    >>> fitted = fit_population(members, prices)            # doctest: +SKIP
    """
    from seqfolio.signals.trainer import TrainingDiverged

    members = [_check_member(f, i) for i, f in enumerate(forecasters)]
    if not members:
        raise ValueError("fit_population: forecasters is empty; pass at least one LSTMForecaster.")
    frames = [m._fit_input(prices)[0] for m in members]
    groups: dict[tuple[Any, ...], list[int]] = {}
    for i, member in enumerate(members):
        groups.setdefault(population_key(member), []).append(i)
    outcome: list[Any] = [None] * len(members)
    for indices in groups.values():
        results = _fit_group(members, indices, frames[indices[0]], n_threads, progress)
        for i, result in zip(indices, results, strict=True):
            outcome[i] = result if isinstance(result, TrainingDiverged) else members[i]
    errors = [o for o in outcome if isinstance(o, TrainingDiverged)]
    if errors and not return_exceptions:
        raise errors[0]
    return outcome


def _fit_group(
    members: list[LSTMForecaster],
    indices: list[int],
    frame: pd.DataFrame,
    n_threads: int | None,
    progress: bool,
) -> list[Any]:
    """Train the members ``indices`` (sharing :data:`SHARED_PARAMS`) as one population."""
    from seqfolio.signals._torch import compute_threads, resolve_device, seeded
    from seqfolio.signals.population_net import PopulationLSTM
    from seqfolio.signals.population_train import MemberOptions, train_population
    from seqfolio.signals.trainer import TrainingDiverged

    lead = members[indices[0]]
    device = resolve_device(lead.device, "fit_population")
    data = lead._prepare(frame, warm=False)
    train_data, val_data = lead._datasets(data, device)
    networks, options = [], []
    for i in indices:
        member = members[i]
        with seeded(member.random_state, device) as generator:
            networks.append(member._new_network(data.features.shape[2], frame.shape[1]).to(device))
        options.append(
            MemberOptions(
                max_epochs=int(member.max_epochs),
                learning_rate=float(member.learning_rate),
                patience=int(member.patience) if val_data is not None else None,
                grad_clip=None if member.grad_clip is None else float(member.grad_clip),
                generator=generator,
            )
        )

    width = max(int(members[i].hidden_size) for i in indices)  # every piece pads to the same size
    with compute_threads(n_threads, device) as workers:
        pieces = [p.tolist() for p in np.array_split(np.arange(len(indices)), workers.n) if len(p)]

        def run(piece: list[int]) -> list[Any]:
            net = PopulationLSTM([networks[j] for j in piece], hidden=width).to(device)
            results = train_population(
                net,
                lead._target().loss(),
                train_data,
                val_data,
                [options[j] for j in piece],
                batch_size=int(lead.batch_size),
                epoch_samples=lead._epoch_budget(),
                progress=progress and piece[0] == 0,
            )
            for slot, j in enumerate(piece):
                net.member(slot, networks[j]).eval()
            return results

        results = [r for piece in workers.map(run, pieces) for r in piece]
    for j, (i, result) in enumerate(zip(indices, results, strict=True)):
        if not isinstance(result, TrainingDiverged):
            members[i]._set_fitted(frame, data, networks[j], result)
    return results

"""Which walk-forward model a configuration names: a signal's forecaster, or a trained allocator.

``seqfolio backtest --signal lstm-vol`` and a study's ``signal = "lstm-vol"`` both build their model
here, so a tuned configuration replays in the engine with the very same network.

=================  ===========================================================================
configuration      model
=================  ===========================================================================
``signal``         ``LSTMForecaster(target=...)`` feeding the allocator: the signal names are the
                   target registry's (:data:`seqfolio.signals.targets.SIGNALS`: ``lstm-vol``,
                   ``lstm-return``, ``lstm-regime``, ``lstm-drawdown``, ``lstm-corr``, and any target
                   registered with :func:`~seqfolio.signals.register_target`)
an allocator that  the allocator itself, a network trained walk-forward (its ``needs_training``
trains            capability in :mod:`seqfolio.allocators.registry`), which outputs the weights
=================  ===========================================================================

Model settings (a config's ``[model]`` table) are the estimator's own parameter names
(:func:`model_keys`), ``seed`` for ``random_state``, and for a forecaster ``ffd`` (fractional
differentiation of the price feature on / off: ``ffd_d = "auto"`` / None) and ``ensemble = N``: the
mean forecast of N seeds (``random_state`` .. ``random_state + N - 1``) trained together as one
population (:class:`~seqfolio.signals.LSTMEnsemble`; single layer, no dropout). Unset ones take the
estimators' defaults (:mod:`seqfolio.defaults`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seqfolio._validation import check_bool, check_choice, check_int, check_known
from seqfolio.signals.targets import SIGNALS

__all__ = [
    "ALIASES",
    "SIGNALS",
    "canonical_settings",
    "make_model",
    "model_horizon",
    "model_class",
    "model_keys",
    "signal_names",
]

_RUN_ONLY = ("n_threads", "device", "progress", "warm_start", "target")
"""Estimator parameters that are not model settings: how a fit runs (threads, device, a progress
bar: results do not depend on them), the spec's own ``warm_start``, and the signal's target."""

ALIASES = {"seed": "random_state"}
"""Short names a ``[model]`` table may use, and the parameter each stands for."""


def model_class(signal: Any, allocator: Any) -> type:
    """The estimator class a configuration's model is: the forecaster of a signal, else the
    trained allocator's class (from the registry)."""
    from seqfolio.allocators import ALLOCATORS

    if signal is not None:
        from seqfolio.signals import LSTMForecaster

        return LSTMForecaster
    return ALLOCATORS[allocator.strip().lower()] if isinstance(allocator, str) else type(allocator)


def model_keys(signal: Any, allocator: Any) -> tuple[str, ...]:
    """The ``[model]`` keys of a signal's forecaster (or, without one, of the trained allocator):
    the estimator's own parameters, the aliases, and for a forecaster ``ffd`` (``true`` / ``false``,
    the TOML form of ``ffd_d = "auto"`` / None) and ``ensemble``."""
    names = [k for k in model_class(signal, allocator)().get_params() if k not in _RUN_ONLY]
    extra = ("ffd", "ensemble") if signal is not None else ()
    return (*names, *ALIASES, *extra)


def canonical_settings(settings: Mapping[str, Any], owner: str) -> dict[str, Any]:
    """``settings`` with aliases replaced by the parameters they stand for (``seed`` ->
    ``random_state``), so one setting has one name in a spec, its label and its TOML."""
    params = dict(settings)
    for alias, name in ALIASES.items():
        if alias in params:
            if name in params:
                raise ValueError(f"{owner}: give {alias!r} or {name!r} in [model], not both.")
            params[name] = params.pop(alias)
    return params


def _estimator_params(settings: Mapping[str, Any], owner: str) -> dict[str, Any]:
    params = canonical_settings(settings, owner)
    if "ffd" in params:
        params["ffd_d"] = "auto" if check_bool(owner, "model.ffd", params.pop("ffd")) else None
    return params


def signal_names() -> list[str]:
    """The signal names a configuration may use (``lstm-vol``, ...)."""
    return list(SIGNALS)


def make_model(
    signal: Any,
    allocator: Any,
    settings: Mapping[str, Any] | None = None,
    *,
    n_threads: int = 1,
    owner: str = "make_model",
) -> Any:
    """The untrained walk-forward model of a configuration, or None if it has none.

    Parameters
    ----------
    signal : str, forecaster or None
        A name from :data:`SIGNALS` (built with ``settings``), or a forecaster instance (used as
        it is).
    allocator : str or allocator
        The allocator; one that needs training (see
        :func:`~seqfolio.allocators.needs_training`) is the model itself, built by name with
        ``settings`` or used as the instance given.
    settings : mapping, optional
        ``[model]`` settings (see the module notes); checked here.
    n_threads : int
        CPU threads of training and prediction (results do not depend on it).

    Raises
    ------
    ValueError
        For an unknown signal, a signal with a trained allocator, settings without a model or with
        an instance, an unknown setting (the message names the closest and lists the valid ones)
        or a bad value (the estimator's own checks).
    """
    from seqfolio.allocators import ALLOCATORS, needs_training, trained_allocators

    settings = dict(settings or {})
    trained = needs_training(allocator)
    if signal is not None and trained:
        raise ValueError(
            f"{owner}: signal= cannot be combined with the allocator {allocator!r}, a network "
            "trained walk-forward that forecasts the weights itself (it reads no forecast); drop "
            "the signal or choose another allocator."
        )
    if signal is None and not trained:
        if settings:
            raise ValueError(
                f"{owner}: model settings {sorted(settings)} given but no model is used; set a "
                f"signal ({', '.join(SIGNALS)}) or an allocator that trains a network "
                f"({', '.join(trained_allocators())})."
            )
        return None
    given = signal if signal is not None else allocator
    if not isinstance(given, str):  # an instance: used as it is
        if settings:
            raise ValueError(
                f"{owner}: model settings {sorted(settings)} are for a model given by name; set "
                f"them on the {type(given).__name__} instance instead."
            )
        return given
    check_known(owner, "model setting(s)", settings, model_keys(signal, allocator))
    if trained:
        params = _estimator_params(settings, owner)
        model = ALLOCATORS[given.strip().lower()](n_threads=n_threads, **params)
    else:
        from seqfolio.signals import LSTMForecaster

        check_choice(owner, "signal", signal, list(SIGNALS))
        params = _estimator_params(settings, owner)
        members = check_int(owner, "model.ensemble", params.pop("ensemble", 1), low=1)
        model = LSTMForecaster(target=SIGNALS[signal], n_threads=n_threads, **params)
        if members > 1:
            from seqfolio.signals import LSTMEnsemble

            model._validate_params()
            seed = model.random_state
            model = LSTMEnsemble(model.set_params(random_state=None, n_threads=1),
                                 n_members=members, random_state=seed, n_threads=n_threads)  # fmt: skip
            return model
    model._validate_params()  # a bad value fails now, not at the first retrain of a study
    return model


def model_horizon(model: Any) -> int:
    """Bars a model's training labels look ahead (0 without a model; 1 for the direct-weights
    model, whose loss is the next bar's portfolio return)."""
    if model is None:
        return 0
    return int(getattr(model, "horizon", 1))

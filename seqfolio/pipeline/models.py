"""Which walk-forward model a configuration names: signal names, the direct-weights allocator, settings.

``seqfolio backtest --signal lstm-vol`` and a study's ``signal = "lstm-vol"`` both build their model
here, so a tuned configuration replays in the engine with the very same network.

==================  ==========================================================
name                model
==================  ==========================================================
``lstm-vol``        ``LSTMForecaster(target="volatility")`` feeding the allocator
``lstm-return``     ``LSTMForecaster(target="return")``
``lstm-regime``     ``LSTMForecaster(target="regime")`` (an exposure overlay)
``lstm-drawdown``   ``LSTMForecaster(target="drawdown")`` (an exposure overlay)
``lstm-corr``       ``LSTMForecaster(target="correlation")``
``lstm-<name>``     ``LSTMForecaster(target="<name>")`` for a target registered with
                    :func:`~seqfolio.signals.register_target`
``lstm-weights``    ``LSTMAllocator`` (an allocator name: the network outputs the weights)
==================  ==========================================================

The signal names are the target registry's (:data:`seqfolio.signals.targets.SIGNALS`). Model settings
(a config's ``[model]`` table) are the estimators' own parameter names, plus ``seed``
(``random_state``), ``ffd`` (fractional differentiation of the price feature on / off: ``ffd_d =
"auto"`` / ``None``) and, for a signal, ``ensemble = N``: the mean forecast of N seeds (``seed`` ..
``seed + N - 1``) trained together as one population (:class:`~seqfolio.signals.LSTMEnsemble`; single
layer, no dropout). Unset ones take the estimators' defaults (:mod:`seqfolio.defaults`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from seqfolio._validation import check_bool, check_choice, check_int
from seqfolio.signals.targets import SIGNALS

__all__ = [
    "LSTM_ALLOCATOR",
    "SIGNALS",
    "make_model",
    "model_horizon",
    "model_keys",
]

LSTM_ALLOCATOR = "lstm-weights"
"""The allocator name of the direct-weights :class:`~seqfolio.signals.LSTMAllocator`."""

_FORECASTER_KEYS = (
    "window", "horizon", "hidden_size", "num_layers", "dropout", "max_epochs", "batch_size",
    "learning_rate", "patience", "validation_fraction", "sample_stride", "ffd",
    "ffd_threshold", "seed", "ensemble",
)  # fmt: skip
_ALLOCATOR_KEYS = (
    "window", "hidden_size", "dropout", "max_epochs", "batch_size", "learning_rate", "patience",
    "validation_fraction", "seed",
)  # fmt: skip


def model_keys(signal: str | None) -> tuple[str, ...]:
    """The ``[model]`` keys a signal's forecaster (or, for None, the direct-weights model) takes."""
    return _FORECASTER_KEYS if signal is not None else _ALLOCATOR_KEYS


def _estimator_params(settings: Mapping[str, Any], owner: str) -> dict[str, Any]:
    params = dict(settings)
    if "seed" in params:
        params["random_state"] = params.pop("seed")
    if "ffd" in params:
        params["ffd_d"] = "auto" if check_bool(owner, "model.ffd", params.pop("ffd")) else None
    return params


def make_model(
    signal: str | None,
    allocator: str,
    settings: Mapping[str, Any] | None = None,
    *,
    n_threads: int = 1,
    owner: str = "make_model",
) -> Any:
    """The untrained walk-forward model of a configuration, or None if it has none.

    Parameters
    ----------
    signal : str or None
        A name from :data:`SIGNALS`.
    allocator : str
        The allocator name; :data:`LSTM_ALLOCATOR` gives the direct-weights model.
    settings : mapping, optional
        ``[model]`` settings (see the module notes); checked here.
    n_threads : int
        CPU threads of training and prediction (results do not depend on it).

    Raises
    ------
    ValueError
        For an unknown signal, a signal with ``lstm-weights``, settings without a model, an unknown
        setting (the message lists the valid ones) or a bad value (the estimator's own checks).
    """
    from seqfolio.signals import LSTMAllocator, LSTMForecaster

    settings = dict(settings or {})
    if signal is not None:
        check_choice(owner, "signal", signal, list(SIGNALS))
    weights = str(allocator).strip().lower() == LSTM_ALLOCATOR
    if signal is not None and weights:
        raise ValueError(
            f"{owner}: signal={signal!r} cannot feed {LSTM_ALLOCATOR!r}, which forecasts the "
            "weights itself; drop the signal or choose another allocator."
        )
    if signal is None and not weights:
        if settings:
            raise ValueError(
                f"{owner}: model settings {sorted(settings)} given but no model is used; set a "
                f"signal ({', '.join(SIGNALS)}) or allocator={LSTM_ALLOCATOR!r}."
            )
        return None
    valid = model_keys(signal)
    unknown = sorted(set(settings) - set(valid))
    if unknown:
        raise ValueError(f"{owner}: unknown model setting(s) {unknown}; valid: {', '.join(valid)}.")
    params = _estimator_params(settings, owner)
    if weights:
        model = LSTMAllocator(n_threads=n_threads, **params)
    else:
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

"""The walk-forward models of ``seqfolio backtest`` / ``seqfolio compare`` (``--signal``, ``lstm-weights``).

``--signal lstm-vol | lstm-return | lstm-regime | lstm-drawdown | lstm-corr`` puts an
:class:`~seqfolio.signals.LSTMForecaster` in front of the allocator(s); ``--allocator lstm-weights``
(or ``lstm-weights`` in ``--allocators``) uses the direct-weights :class:`~seqfolio.signals.LSTMAllocator`.
Both retrain on ``--retrain`` (default quarterly) over ``--train-window`` bars (default 756, or
``expanding``), with checkpoints under ``OUT/checkpoints/<model>`` so an interrupted run resumes.
The networks are :data:`seqfolio.pipeline.models.MODEL_DEFAULTS` (a 2005-2022 run takes a minute or two
on two cores), overridden by a config's ``[model]`` table, exactly as a research study builds them, so a
tuned ``best.toml`` replays here; ``--threads`` sets the CPU threads of training and prediction, which change the speed but not a bit of
the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqfolio.cli.errors import CLIError
from seqfolio.pipeline.models import LSTM_ALLOCATOR, SIGNALS, make_model

__all__ = [
    "history_bars",
    "is_lstm_allocator",
    "model_kwargs",
    "parse_train_window",
    "signal_name",
]


def parse_train_window(value: Any) -> int | str:
    """An int >= 2 or ``"expanding"`` from a command-line string, config value or int."""
    if isinstance(value, str) and value.strip().lower() == "expanding":
        return "expanding"
    try:
        bars = int(value)
    except (TypeError, ValueError):
        bars = 0
    if isinstance(value, bool) or bars < 2 or (isinstance(value, float) and value != bars):
        raise CLIError(
            f"--train-window must be a number of bars >= 2 or 'expanding'; got {value!r}"
        )
    return bars


def parse_threads(value: Any) -> int:
    """An int >= 1 from a command-line or config value."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise CLIError(f"--threads must be a whole number >= 1; got {value!r}")
    return value


def is_lstm_allocator(name: str) -> bool:
    return str(name).strip().lower() == LSTM_ALLOCATOR


def signal_name(options: dict[str, Any]) -> str | None:
    """The ``--signal`` name (None for none), checked against :data:`SIGNALS`."""
    signal = options.get("signal")
    if signal in (None, "", "none"):
        return None
    key = str(signal).strip().lower()
    if key not in SIGNALS:
        raise CLIError(f"unknown --signal {signal!r}; choose from {sorted(SIGNALS)}")
    return key


def uses_lstm(options: dict[str, Any], allocator_names: list[str]) -> bool:
    """Whether any run needs a walk-forward model (so prices need ``train_window`` rows of history)."""
    return signal_name(options) is not None or any(map(is_lstm_allocator, allocator_names))


def history_bars(options: dict[str, Any], allocator_names: list[str]) -> int:
    """Rows of history before ``start`` the runs need: the lookback, or the training window."""
    lookback = int(options["lookback"])
    if not uses_lstm(options, allocator_names):
        return lookback
    window = parse_train_window(options["train_window"])
    return lookback if window == "expanding" else max(lookback, int(window))


def model_kwargs(
    options: dict[str, Any], allocator_name: str, allocator: Any, out: Path
) -> dict[str, Any]:
    """``run_backtest`` keyword arguments for one run: the allocator, the signal and the retraining."""
    signal = signal_name(options)
    weights = is_lstm_allocator(allocator_name)
    if signal is None and not weights:
        if options.get("model"):
            raise CLIError("[model] settings are given but no model is used; set --signal or "
                           f"--allocator {LSTM_ALLOCATOR}")  # fmt: skip
        return dict(allocator=allocator)
    model = make_model(None if weights else signal, allocator_name, options.get("model"),
                       n_threads=parse_threads(options["threads"]), owner="[model]")  # fmt: skip
    if weights:
        kwargs: dict[str, Any] = dict(allocator=model, name=f"LSTM weights {options['rebalance']}")
        folder = LSTM_ALLOCATOR
    else:
        from seqfolio.allocators import make_allocator

        # an unknown name fails here as it would without --signal, naming the valid allocators
        label = type(make_allocator(allocator)).__name__
        kwargs = dict(allocator=allocator, signal=model,
                      name=f"{signal.replace('lstm', 'LSTM')} → {label} {options['rebalance']}")  # fmt: skip
        folder = f"lstm-{SIGNALS[signal]}"
    kwargs.update(
        retrain=options["retrain"],
        train_window=parse_train_window(options["train_window"]),
        checkpoint_dir=out / "checkpoints" / folder,
    )
    return kwargs

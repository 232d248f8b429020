"""The walk-forward models of ``seqfolio backtest`` / ``seqfolio compare`` (``--signal``, ``lstm-weights``).

``--signal lstm-vol | lstm-return | lstm-regime | lstm-drawdown | lstm-corr`` puts an
:class:`~seqfolio.signals.LSTMForecaster` in front of the allocator(s); ``--allocator lstm-weights``
(or ``lstm-weights`` in ``--allocators``) uses the direct-weights :class:`~seqfolio.signals.LSTMAllocator`.
Both retrain on ``--retrain`` (default quarterly) over ``--train-window`` bars (default 756, or
``expanding``), with checkpoints under ``OUT/checkpoints/<model>`` so an interrupted run resumes.
The network sizes are :data:`CLI_LSTM` (a 2005-2022 run takes a minute or two on two cores);
``--threads`` sets the CPU threads of training and prediction, which change the speed but not a bit of
the result.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqfolio.cli.errors import CLIError

__all__ = [
    "CLI_LSTM",
    "SIGNALS",
    "history_bars",
    "is_lstm_allocator",
    "model_kwargs",
    "parse_train_window",
]

SIGNALS: dict[str, str] = {
    "lstm-vol": "volatility",
    "lstm-return": "return",
    "lstm-regime": "regime",
    "lstm-drawdown": "drawdown",
    "lstm-corr": "correlation",
}
"""``--signal`` names -> LSTMForecaster targets."""

LSTM_ALLOCATOR = "lstm-weights"

CLI_LSTM: dict[str, Any] = dict(window=40, hidden_size=16, random_state=0)
"""Network settings of the CLI's models (shared by the forecaster and the direct-weights model)."""


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


def signal_target(options: dict[str, Any]) -> str | None:
    signal = options.get("signal")
    if signal in (None, "", "none"):
        return None
    key = str(signal).strip().lower()
    if key not in SIGNALS:
        raise CLIError(f"unknown --signal {signal!r}; choose from {sorted(SIGNALS)}")
    return SIGNALS[key]


def uses_lstm(options: dict[str, Any], allocator_names: list[str]) -> bool:
    """Whether any run needs a walk-forward model (so prices need ``train_window`` rows of history)."""
    return signal_target(options) is not None or any(map(is_lstm_allocator, allocator_names))


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
    from seqfolio.signals import LSTMAllocator, LSTMForecaster

    target = signal_target(options)
    network = dict(CLI_LSTM, n_threads=parse_threads(options["threads"]))
    if is_lstm_allocator(allocator_name):
        model = LSTMAllocator(max_epochs=10, **network)
        kwargs: dict[str, Any] = dict(allocator=model, name=f"LSTM weights {options['rebalance']}")
        folder = "lstm-weights"
    elif target is not None:
        signal = LSTMForecaster(target=target, max_epochs=8, sample_stride=3, **network)
        short = next(k for k, v in SIGNALS.items() if v == target).replace("lstm", "LSTM")
        from seqfolio.allocators import make_allocator

        # an unknown name fails here as it would without --signal, naming the valid allocators
        label = type(make_allocator(allocator)).__name__
        kwargs = dict(allocator=allocator, signal=signal,
                      name=f"{short} → {label} {options['rebalance']}")  # fmt: skip
        folder = f"lstm-{target}"
    else:
        return dict(allocator=allocator)
    kwargs.update(
        retrain=options["retrain"],
        train_window=parse_train_window(options["train_window"]),
        checkpoint_dir=out / "checkpoints" / folder,
    )
    return kwargs

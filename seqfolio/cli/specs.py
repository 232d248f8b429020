"""A command's decision settings as :class:`~seqfolio.spec.RebalanceSpec` s, one per allocator run.

The spec checks every value with its one constraint table; this module only words a failed check
for the command line: ``--lookback 1: must be an int >= 2``, ``run.toml: allocator = 'hrpp': must be
one of [...]; did you mean 'hrp'?``, naming the flag or the config key the user wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from seqfolio._validation import InvalidParameter
from seqfolio.allocators import needs_training
from seqfolio.cli.errors import CLIError
from seqfolio.spec import SETTINGS, RebalanceSpec

__all__ = ["allocator_names", "checkpoint_folder", "specs", "with_threads"]


def _where(name: str, value: Any, options: dict[str, Any]) -> str:
    """How the user wrote the setting: ``--lookback 1`` or ``run.toml: lookback = 1``."""
    flag = "--allocators" if name == "allocator" and "allocators" in options else (
        "--" + name.replace("_", "-")
    )
    source = options.get("_sources", {}).get("allocators" if flag == "--allocators" else name)
    if source and source != "flag":
        return f"{source}: {name} = {value!r}"
    return f"{flag} {value}"


def _worded(error: InvalidParameter, options: dict[str, Any]) -> CLIError:
    hint = f"; did you mean {error.suggestion!r}?" if error.suggestion else ""
    expected = error.expected.split(" or a callable")[0]  # a schedule function is Python's only
    return CLIError(f"{_where(error.name, error.value, options)}: must be {expected}{hint}")


def allocator_names(options: dict[str, Any], command: str) -> list[str]:
    """The allocators the command runs (``backtest``: one; ``compare`` / ``walkforward``: the list,
    without repeats)."""
    if command == "backtest":
        return [options["allocator"]]
    names = [n.strip().lower() for n in str(options["allocators"]).split(",") if n.strip()]
    if not names:
        raise CLIError(f"--allocators {options['allocators']!r}: give at least one allocator name")
    return list(dict.fromkeys(names))


def specs(options: dict[str, Any], command: str) -> list[RebalanceSpec]:
    """One spec per allocator the command runs, from the resolved options (checked now, before any
    data is read).

    Raises
    ------
    CLIError
        A setting outside its constraint, worded with the flag or config key given; unknown
        ``[allocator_params]`` or ``[model]`` keys (the message names the closest valid one).
    """
    settings = {k: options[k] for k in SETTINGS if k in options and k != "allocator"}
    if settings.get("signal") in ("", "none"):
        settings["signal"] = None
    found = []
    for name in allocator_names(options, command):
        own = dict(settings, allocator=name)
        if command != "backtest" and needs_training(name):
            own["signal"] = None  # in a list, a trained allocator runs beside the signal's runs
        try:
            found.append(RebalanceSpec.from_settings(own, owner=f"seqfolio {command}"))
        except InvalidParameter as exc:
            raise _worded(exc, options) from None
    return found


def with_threads(spec: RebalanceSpec, threads: int) -> RebalanceSpec:
    """The spec with its walk-forward model built for ``threads`` CPU threads (a run's speed only:
    the results do not depend on it)."""
    model = spec.make_model(n_threads=threads)
    if model is None or threads == 1:
        return spec
    return spec.replace(
        **{"allocator" if spec.trains_allocator else "signal": model}, model={}
    )


def checkpoint_folder(spec: RebalanceSpec, out: Path) -> Path:
    """Where a run's retrained models are kept: ``OUT/checkpoints/lstm-<target>`` for a signal's
    forecaster, ``OUT/checkpoints/<allocator>`` for a trained allocator."""
    from seqfolio.pipeline.models import SIGNALS

    name = f"lstm-{SIGNALS[spec.signal]}" if spec.signal is not None else spec.allocator
    return out / "checkpoints" / name

"""``seqfolio backtest`` and ``seqfolio compare``: backtrader runs of one or several allocators.

``backtest`` runs one allocator (HRP monthly on the bundled data by default) and writes a tear sheet,
``weights.png``, ``weights.csv``, ``returns.csv``, ``rebalances.csv``, ``orders.csv`` (and ``events.csv``
when anything went wrong); ``compare`` runs several on the same data and writes ``comparison.md`` /
``.csv``, ``returns.csv``, ``orders.csv`` and one tear sheet each. The files are written by
:mod:`seqfolio.reporting`; the output folder follows :mod:`seqfolio.cli.outputs`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from seqfolio._validation import is_int, is_real_number
from seqfolio.allocators import ALLOCATORS
import seqfolio.cli.messages as messages
from seqfolio.cli.errors import CLIError
from seqfolio.cli.inputs import check_out_folder, load_inputs
from seqfolio.cli.outputs import RunFolder
from seqfolio.cli.specs import checkpoint_folder, specs, with_threads
from seqfolio.events import counted
from seqfolio.reporting import EVENTS_FILE, markdown_table
from seqfolio.spec import RebalanceSpec

__all__ = ["cmd_backtest", "cmd_compare"]


def check_options(options: dict[str, Any], command: str) -> list[RebalanceSpec]:
    """Check every option value before any data is read; return the specs of the runs.

    So a bad value fails at once, before a data warning (``--start`` before the first price, ...)
    or any work; each setting is checked by the spec's one constraint (:mod:`seqfolio.cli.specs`).
    """
    check_out_folder(options["out"])
    if options["engine"] == "zipline":
        from seqfolio.zipline import require_zipline

        require_zipline()  # a missing extra is named before any data is read
    if not is_int(options["threads"]) or options["threads"] < 1:
        raise CLIError(f"--threads {options['threads']}: must be a whole number >= 1")
    if not is_real_number(options["cash"]) or not options["cash"] > 0:
        raise CLIError(f"--cash {options['cash']}: must be a positive number")
    return specs(options, command)


def _refuse_constant_prices(prices: pd.DataFrame, spec: RebalanceSpec) -> None:
    """An allocator that needs positive variance cannot weight a constant-price column: say so now,
    rather than skipping every rebalance (the allocator's ``needs_positive_variance`` decides)."""
    name = spec.allocator
    if not getattr(ALLOCATORS.get(name), "needs_positive_variance", False):
        return
    flat = [str(c) for c in prices.columns if prices[c].dropna().nunique() <= 1]
    if flat:
        raise CLIError(
            f"column(s) {flat} have a constant price over {prices.index[0].date()} .. "
            f"{prices.index[-1].date()}: zero variance, which {name} cannot weight (every "
            "rebalance would be skipped); remove them from --data or use an allocator that accepts "
            "them (e.g. --allocator ew)"
        )


def _run(options: dict[str, Any], spec: RebalanceSpec, out: Path, tearsheet_name: str) -> Any:
    """One backtest of ``spec``; its warnings name the run and point into ``out``."""
    from seqfolio._atomic import confined
    from seqfolio.backtest import run_backtest

    prices, benchmark = options["_prices"], options["_benchmark"]
    _refuse_constant_prices(prices, spec)
    kwargs: dict[str, Any] = dict(
        start=options["start"], end=options["end"], cash=options["cash"], benchmark=benchmark,
        benchmark_name=str(benchmark.name), tearsheet=confined(out, tearsheet_name),
        name=spec.label, checkpoint_dir=checkpoint_folder(spec, out) if spec.uses_model else None,
    )  # fmt: skip
    run = run_backtest
    if options["engine"] == "zipline":  # the same configuration on zipline (docs/zipline.md)
        from seqfolio.zipline import run_zipline as run
    else:
        kwargs["progress"] = not options["quiet"]
    with messages.run(spec.label, out):
        return run(prices, with_threads(spec, options["threads"]), **kwargs)


def _models(result: Any, out: Path) -> str:
    """``", 72 models: 0 trained, 72 loaded from OUT/checkpoints"`` for a walk-forward run."""
    if result.retrains is None:
        return ""
    loaded = int((result.retrains["source"] == "checkpoint").sum())
    trained = len(result.retrains) - loaded
    return (
        f", {counted(len(result.retrains), 'model')}: {trained} trained, {loaded} loaded from "
        f"{out / 'checkpoints'}"
    )


def _summary(result: Any, out: Path) -> str:
    """The one-line summary of a run (counts of skips, fallbacks and failures only when non-zero).

    The period is the one the tear sheet and the metrics table report: from the first day the
    portfolio held a position (:func:`~seqfolio.reporting.first_traded`) to the last bar.
    """
    from seqfolio.events import events_summary
    from seqfolio.reporting import first_traded

    reb = result.rebalances
    index = result.returns.index
    first = first_traded(result.returns)
    period = f"{(first or index[0]).date()} .. {index[-1].date()}" if len(index) else "no returns"
    if len(reb):
        trading = (
            f"{len(reb)} rebalances, mean turnover {reb['turnover'].mean():.1%}, "
            f"costs {reb['costs'].sum():,.0f}, rejected orders {result.n_rejected} "
            f"({int(reb['n_retried'].sum())} retried)"
        )
    else:
        trading = "0 rebalances (never traded)"
    events = events_summary(result.event_log)
    return (
        f"{result.name}: {period}, {trading}, final value {result.final_value:,.0f}"
        + _models(result, out)
        + (f", {events}; see {EVENTS_FILE}" if events else "")
    )


def _held_nothing(result: Any) -> bool:
    """Whether a run never held a position: no rebalance traded, or every return is 0."""
    return not len(result.rebalances) or not (result.returns != 0).any()


def _never_traded(result: Any, out: Path) -> str:
    """Why a run held nothing, as one line naming the first skip reason and ``events.csv``."""
    first = result.first_skip()
    n = len(result.skipped)
    if len(result.rebalances):
        return (
            f"{result.name} never held a position: its "
            f"{counted(len(result.rebalances), 'rebalance')} filled no order before the data "
            "ended; use a longer period (a later --end)"
        )
    if first is None:
        return (
            f"{result.name} made no rebalance: no scheduled --rebalance date in the period; use a "
            "longer period or a more frequent --rebalance"
        )
    every = f"all {n} scheduled rebalances were" if n > 1 else "its only scheduled rebalance was"
    return (
        f"{result.name} never traded: {every} skipped (first: {first[0].date()} "
        f"{first[1].rstrip('.')}); see {out / EVENTS_FILE}"
    )


def _by_run(tables: Sequence[pd.DataFrame], results: Sequence[Any]) -> pd.DataFrame:
    """The runs' tables as one, with a ``strategy`` column first (the run's label)."""
    named = [t.assign(strategy=r.name) for t, r in zip(tables, results, strict=True) if len(t)]
    if not named:
        return pd.DataFrame()
    table = pd.concat(named, ignore_index=True)
    return table[["strategy", *[c for c in table.columns if c != "strategy"]]]


def _events_csv(results: Sequence[Any], out: Path, *, by_strategy: bool = False) -> bool:
    """Write the runs' events to ``out/events.csv`` if there are any (``strategy`` column first
    with ``by_strategy``); returns whether one was written."""
    from seqfolio.reporting import write_events_csv

    table = _by_run([r.events() for r in results], results)
    if not by_strategy and len(table):
        table = table.drop(columns="strategy")
    return write_events_csv(table, out)


def _orders_csv(results: Sequence[Any], out: Path, *, by_strategy: bool = False) -> None:
    """Write every order of the runs and how it ended to ``out/orders.csv`` (``strategy`` column
    first with ``by_strategy``): the file a rejected order's warning points to."""
    from seqfolio.reporting import write_orders_csv
    from seqfolio.results import ORDER_COLUMNS

    table = _by_run([r.order_table() for r in results], results)
    if not len(table):
        table = pd.DataFrame(columns=["strategy", *ORDER_COLUMNS])
    write_orders_csv(table if by_strategy else table.drop(columns="strategy"), out)


def cmd_backtest(options: dict[str, Any]) -> int:
    """Run ``seqfolio backtest``; returns the exit status."""
    from seqfolio.reporting import format_metrics, metrics_table, plot_weights, write_run_files

    out = Path(options["out"])
    folder = RunFolder(out, "backtest")
    (spec,) = options["_specs"]
    result = _run(options, spec, out, "tearsheet.html")
    if result.returns.empty:
        raise CLIError(
            "the backtest made no rebalance; use a longer period or a shorter --lookback"
        )
    idle = _held_nothing(result)
    if not idle:
        plot_weights(
            result.weights, out / "weights.png", title=f"{result.name}: daily position weights"
        )
    write_run_files(result, out)
    _orders_csv([result], out)
    _events_csv([result], out)
    folder.finish()
    if not options["quiet"]:
        print(_summary(result, out))
        if not idle:
            table = metrics_table({result.name: result.returns}, options["_benchmark"],
                                  benchmark_name=str(options["_benchmark"].name))  # fmt: skip
            print(markdown_table(format_metrics(table)))
        print(folder.wrote())
    if idle:
        raise CLIError(_never_traded(result, out))
    return 0


def cmd_compare(options: dict[str, Any]) -> int:
    """Run ``seqfolio compare``; returns the exit status."""
    from seqfolio.reporting import write_comparison

    out = Path(options["out"])
    folder = RunFolder(out, "compare")
    runs: list[Any] = []
    for spec in options["_specs"]:
        result = _run(options, spec, out, f"tearsheet_{spec.allocator}.html")
        runs.append(result)
        if not options["quiet"]:
            print(_summary(result, out))
    # a run that never traded is reported (summary, events.csv, the error below), not compared
    idle = [r for r in runs if _held_nothing(r)]
    results = [r for r in runs if not _held_nothing(r)]
    _events_csv(runs, out, by_strategy=True)
    _orders_csv(runs, out, by_strategy=True)
    markdown = write_comparison(results, options["_benchmark"], out) if results else None
    folder.finish()
    if not options["quiet"]:
        if markdown is not None:
            print(markdown)
        print(folder.wrote())
    if idle:
        why = _never_traded(idle[0], out)
        if len(idle) > 1:
            why += f"; so did {', '.join(r.name for r in idle[1:])}"
        if not results:
            raise CLIError(f"no allocator traded, so there is nothing to compare: {why}")
        raise CLIError(
            f"{len(idle)} of {len(runs)} allocators never traded and are left out of the "
            f"comparison: {why}"
        )
    return 0


def run_engine_command(options: dict[str, Any], command: str) -> int:
    """Check the options, read the data, run ``backtest`` or ``compare``; returns the exit status."""
    options["_specs"] = runs = check_options(options, command)
    history = max(spec.history_bars() for spec in runs)
    options["_prices"], options["_benchmark"] = load_inputs(options, history)
    return cmd_backtest(options) if command == "backtest" else cmd_compare(options)

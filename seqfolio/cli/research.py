"""``seqfolio walkforward`` and ``seqfolio tune``: the research commands.

``seqfolio walkforward --allocators hrp,herc,mvo,ew,ivp`` evaluates each allocator on the same
walk-forward windows and writes a report folder; ``seqfolio tune`` searches configurations with Optuna
on windows before a hold-out, then runs the best one on the hold-out, and writes ``best.toml`` (a
valid ``seqfolio backtest --config``). Both take ``--workers N`` (local processes) or ``--scheduler
tcp://host:8786`` (a Dask cluster). Neither imports backtrader.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqfolio.cli.inputs import load_inputs
from seqfolio.cli.outputs import RunFolder
from seqfolio.cli.specs import specs
from seqfolio.events import counted
from seqfolio.reporting import markdown_table

__all__ = ["cmd_tune", "cmd_walkforward"]


def _cell(value: Any) -> Any:
    """A table cell as printed: floats with 3 decimals, whole numbers as they are, NaN as "–"."""
    if isinstance(value, float | np.floating):
        return "–" if np.isnan(value) else f"{value:.3f}"
    return value


def _print_table(table: pd.DataFrame) -> None:
    print(markdown_table(table.map(_cell)))


def _print_events(report: Any) -> None:
    """One line per configuration whose decisions were skipped or fell back (nothing if none)."""
    from seqfolio.reporting import EVENTS_FILE

    for label, line in report.events_summary().items():
        print(f"{label}: {line}; see {EVENTS_FILE}")


def _print_overfitting(verdict: dict[str, Any], what: str, *, name_best: bool = True) -> None:
    """One line: the probability of backtest overfitting (and the best one's deflated Sharpe)."""
    if not verdict:
        return
    line = (
        f"overfitting over {verdict['trials']} {what}: PBO {verdict['pbo']:.2f} (CSCV over their "
        f"stitched daily returns, {verdict['n_blocks']} blocks)"
    )
    if name_best:
        line += f", best {verdict['best']} Sharpe {verdict['best_sharpe']:.2f}, DSR {verdict['dsr']:.3f}"
    print(line)


def _cache(options: dict[str, Any]) -> str:
    return str(options["cache"] or Path(options["out"]) / "models")


def cmd_walkforward(options: dict[str, Any]) -> int:
    """Run ``seqfolio walkforward``; returns the exit status."""
    from seqfolio.research.report import formatted_summary, write_walkforward_report
    from seqfolio.research.walkforward import walk_forward

    configs = specs(options, "walkforward")
    prices, benchmark = load_inputs(options, history=None)
    run_folder = RunFolder(Path(options["out"]), "walkforward")
    uses_model = any(c.uses_model for c in configs)
    report = walk_forward(
        prices, configs, train=options["train"], test=options["test"], purge=options["purge"],
        embargo=options["embargo"], expanding=options["expanding"], workers=options["workers"],
        scheduler=options["scheduler"], progress=not options["quiet"], seeds=options["seeds"],
        cache_dir=_cache(options) if uses_model else None,
    )  # fmt: skip
    write_walkforward_report(report, options["out"], benchmark)
    run_folder.finish()
    if not options["quiet"]:
        first, last = report.windows[0], report.windows[-1]
        print(
            f"{len(report.windows)} windows: out of sample "
            f"{prices.index[first.test_start].date()} .. {prices.index[last.test_stop - 1].date()} "
            f"(train {options['train']} bars, test {options['test']} bars)"
        )
        print(markdown_table(formatted_summary(report)))
        if len(report.seeds):
            print("across seeds (Sharpe):")
            _print_table(report.seeds)
        _print_overfitting(report.overfitting, "configurations")
        _print_events(report)
        print(run_folder.wrote())
    return 0


def _space(value: str | None) -> Any:
    from seqfolio.research.tuning import LSTM_SPACE, SearchSpace

    if value is None:
        return None
    if value.strip().lower() == "lstm":
        return LSTM_SPACE
    return SearchSpace.from_toml(value)


def cmd_tune(options: dict[str, Any]) -> int:
    """Run ``seqfolio tune``; returns the exit status."""
    from seqfolio.research.report import write_tune_report
    from seqfolio.research.tuning import tune

    space = _space(options["space"])
    prices, benchmark = load_inputs(options, history=None)
    out = Path(options["out"])
    run_folder = RunFolder(out, "tune")
    storage = options["storage"] or f"sqlite:///{(out / 'study.db').resolve()}"
    result = tune(
        prices, n_trials=options["trials"], holdout=options["holdout"], train=options["train"],
        test=options["test"], space=space, commission=options["commission"], storage=storage,
        study_name=options["study_name"], seed=options["seed"], workers=options["workers"],
        scheduler=options["scheduler"], batch_size=options["batch_size"],
        progress=not options["quiet"], pruner=options["pruner"],
        prune_after=options["prune_after"], prune_every=options["prune_every"],
        purge=options["purge"], cache_dir=_cache(options),
    )  # fmt: skip
    write_tune_report(result, out, benchmark)
    run_folder.finish()
    if not options["quiet"]:
        _print_tune_summary(result)
        print(
            f"{run_folder.wrote()}; replay the best: seqfolio backtest --config {out / 'best.toml'}"
        )
    return 0


def _print_tune_summary(result: Any) -> None:
    """The search's lines; each figure says which score it is (see ``TuneResult``)."""
    from seqfolio.research.report import formatted_summary

    trials = result.trials
    counts = trials["state"].value_counts()
    finished = int(counts.get("COMPLETE", 0) + counts.get("PRUNED", 0))
    states = f"{counts.get('COMPLETE', 0)} complete, {counts.get('PRUNED', 0)} pruned"
    if counts.get("FAIL", 0):
        states += f" ({counts['FAIL']} failed trials not counted)"
    earlier = result.earlier_trials
    resumed = ""
    if earlier >= finished:
        resumed = " (all from an earlier run, none run now: raise --trials to search further)"
    elif earlier:
        resumed = f" ({earlier} from an earlier run)"
    print(
        f"{finished} finished trials{resumed}: {states}; search data up to "
        f"{result.search_end.date()}, {len(result.windows)} walk-forward windows"
    )
    stats = result.search_stats
    number = result.study.best_trial.number
    print(
        f"best: trial {number}, {result.best.description}: score {result.study.best_value:.3f} (mean "
        f"Sharpe over its {len(result.windows)} search windows)"
    )
    if stats:
        print(
            f"trial {number} over the search windows stitched into one period: Sharpe "
            f"{stats['sharpe']:.2f} [{stats['sharpe_ci_low']:.2f}, {stats['sharpe_ci_high']:.2f}], "
            f"PSR {stats['psr']:.3f}, DSR {stats['dsr']:.3f} (deflated for {stats['dsr_trials']} "
            "finished trials, pruned ones included)"
        )
    _print_overfitting(result.overfitting, "completed trials", name_best=False)
    skipped = trials["skipped"].fillna(0) if "skipped" in trials else None
    if skipped is not None and skipped.any():
        count = int((skipped > 0).sum())
        print(
            f"{counted(count, 'trial')} had skipped decisions (allocator failures "
            "included); see the 'skipped' column of trials.csv"
        )
    if result.holdout is not None:
        print("hold-out (never seen by the search):")
        print(markdown_table(formatted_summary(result.holdout)))
        _print_events(result.holdout)

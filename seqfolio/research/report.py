"""Report folders for walk-forward studies and tuning runs: tables (markdown + CSV) and plots (PNG).

Figures are drawn with matplotlib's object API (``matplotlib.figure.Figure``), which needs no GUI
backend and does not change the user's pyplot backend.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from seqfolio._atomic import atomic_savefig, atomic_write_text
from seqfolio.reporting import format_number, markdown_table, plot_weights, write_events_csv
from seqfolio.research.tuning import TRIAL_COLUMNS, TuneResult
from seqfolio.research.walkforward import WalkForwardReport

_SUMMARY_COLUMNS = {
    "sharpe": "Sharpe",
    "sharpe_ci_low": "Sharpe 95% low",
    "sharpe_ci_high": "Sharpe 95% high",
    "psr": "PSR",
    "dsr": "DSR",
    "cagr": "CAGR",
    "volatility": "Volatility",
    "sortino": "Sortino",
    "max_drawdown": "Max drawdown",
    "turnover": "Turnover / rebalance",
}


def _whole_numbers(column: pd.Series) -> bool:
    """A float column whose values are all whole numbers (counts, ranks): printed without decimals."""
    values = column.dropna()
    return column.dtype.kind == "f" and len(values) > 0 and bool((values == values.round()).all())


def _write_table(table: pd.DataFrame, folder: Path, stem: str, preface: str = "") -> None:
    """``stem.csv`` and ``stem.md`` (``preface`` above the markdown table; blank cells for NaN)."""
    atomic_write_text(folder / f"{stem}.csv", table.to_csv())
    counts = [c for c in table.columns if _whole_numbers(table[c])]  # e.g. trial, rank, windows
    shown = table.astype({c: "Int64" for c in counts}).astype(object)
    shown = shown.where(table.notna(), None)
    markdown = shown.to_markdown(floatfmt=".3f", missingval="")
    atomic_write_text(
        folder / f"{stem}.md", (preface + "\n\n" if preface else "") + markdown + "\n"
    )


def summary_table(report: WalkForwardReport) -> pd.DataFrame:
    """The report's summary with readable column names (numbers: ``summary.csv``)."""
    return report.summary.rename(columns=_SUMMARY_COLUMNS)


_FORMATS = {"PSR": "probability", "DSR": "probability", "CAGR": "percent",
            "Volatility": "percent", "Max drawdown": "percent", "Turnover / rebalance": "percent"}  # fmt: skip


def formatted_summary(report: WalkForwardReport) -> pd.DataFrame:
    """The summary as the command prints it and ``summary.md`` shows it: the Sharpe ratio with its
    bootstrap interval in one column, percentages and ratios as ``seqfolio backtest`` prints them
    (:func:`seqfolio.reporting.format_number`)."""
    table = summary_table(report)
    out = pd.DataFrame(index=table.index)
    for column in table.columns:
        if column == "Sharpe 95% low":
            low, high = table["Sharpe 95% low"], table["Sharpe 95% high"]
            out["Sharpe 95% interval"] = [
                f"[{format_number(a)}, {format_number(b)}]" for a, b in zip(low, high, strict=True)
            ]
        elif column != "Sharpe 95% high":
            out[column] = [format_number(v, _FORMATS.get(column, "ratio")) for v in table[column]]
    return out


def _figure(width: float = 11, height: float = 5.5):  # noqa: ANN202 - matplotlib types
    from matplotlib.figure import Figure

    figure = Figure(figsize=(width, height))
    return figure, figure.subplots()


def config_colors(labels: list[str] | pd.Index) -> dict[str, str]:
    """One colour per configuration, in the given order: the same in every chart of a report."""
    return {str(label): f"C{i % 10}" for i, label in enumerate(labels)}


def plot_equity(
    returns: dict[str, pd.Series],
    path: Path,
    benchmark: pd.Series | None = None,
    colors: dict[str, str] | None = None,
) -> Path:
    """Growth of 1 for each return series (and the benchmark's returns, if given), log scale;
    ``colors`` by label (default :func:`config_colors` of the series' order)."""
    colors = colors or config_colors(list(returns))
    figure, ax = _figure()
    for label, series in returns.items():
        ax.plot((1 + series).cumprod(), label=label, linewidth=1.2, color=colors[str(label)])
    if benchmark is not None:
        first = next(iter(returns.values()))
        bench = benchmark.loc[first.index[0] : first.index[-1]]
        ax.plot(
            (1 + bench).cumprod(),
            label=str(benchmark.name or "benchmark"),
            color="black",
            linewidth=1.0,
            linestyle="--",
        )
    ax.set_yscale("log")
    ax.set_ylabel("growth of 1 (log scale)")
    ax.set_title("Out-of-sample equity, stitched across walk-forward windows")
    ax.legend(fontsize=8, loc="upper left")
    ax.grid(alpha=0.3)
    figure.tight_layout()
    return atomic_savefig(figure, path, dpi=100)


def plot_window_sharpe(
    per_window: pd.DataFrame, path: Path, colors: dict[str, str] | None = None
) -> Path:
    """Grouped bars: each configuration's Sharpe ratio in each test window, configurations in the
    order of ``colors`` (default: of ``per_window``) and in those colours."""
    order = list(dict.fromkeys([*(colors or {}), *map(str, per_window["config"])]))
    colors = {**config_colors(order), **(colors or {})}
    table = per_window.pivot(index="test_start", columns="config", values="sharpe")
    table = table[[c for c in order if c in table.columns]]
    figure, ax = _figure()
    width = 0.8 / max(table.shape[1], 1)
    positions = np.arange(len(table))
    for k, column in enumerate(table.columns):
        ax.bar(positions + k * width, table[column].to_numpy(), width=width, label=column,
               color=colors[str(column)])  # fmt: skip
    ax.set_xticks(
        positions + 0.4 - width / 2, [str(d)[:7] for d in table.index], rotation=45, fontsize=8
    )
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel("annualised Sharpe")
    ax.set_title("Sharpe ratio per test window")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return atomic_savefig(figure, path, dpi=100)


def write_overfitting(verdict: dict[str, object], folder: Path, trials: str) -> None:
    """Write ``overfitting.{md,csv}``: PBO and DSR over every ``trials`` (nothing if empty)."""
    if verdict:
        table = pd.DataFrame({f"all {verdict['trials']} {trials}": verdict}).T
        _write_table(table, folder, "overfitting")


def write_walkforward_report(
    report: WalkForwardReport, out: str | Path, benchmark: pd.Series | None = None
) -> Path:
    """Write ``summary.{md,csv}``, ``per_window.{md,csv}``, ``returns.csv``, ``equity.png``,
    ``window_sharpe.png``, ``weights.png`` (best configuration), with two or more configurations
    ``overfitting.{md,csv}`` (PBO and DSR over all of them) and, if any decision was skipped or fell
    back, ``events.csv`` into ``out``."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write_text(folder / "summary.csv", summary_table(report).to_csv())
    atomic_write_text(folder / "summary.md", markdown_table(formatted_summary(report)) + "\n")
    _write_table(report.per_window.set_index(["config", "window"]), folder, "per_window")
    write_events_csv(report.events, folder)  # a stale events.csv is removed when there is none
    write_overfitting(report.overfitting, folder, "configurations")
    atomic_write_text(folder / "returns.csv", pd.DataFrame(report.returns).to_csv())
    bench_returns = None
    if benchmark is not None:
        from seqfolio.reporting import to_returns

        bench_returns = to_returns(benchmark)
    colors = config_colors(list(report.returns))  # one colour per configuration in both charts
    plot_equity(report.returns, folder / "equity.png", bench_returns, colors)
    plot_window_sharpe(report.per_window, folder / "window_sharpe.png", colors)
    best = report.summary.index[0]
    plot_weights(report.weights[best], folder / "weights.png", title=f"Weights: {best}")
    return folder


def plot_history(trials: pd.DataFrame, path: Path) -> Path:
    """Each completed trial's score and the best so far; pruned trials as crosses on the axis (their
    partial scores cover fewer windows and are not drawn against the scores)."""
    done = trials[trials["state"] == "COMPLETE"]
    figure, ax = _figure(9, 4.5)
    ax.scatter(done["trial"], done["score"], s=14, label="score (mean Sharpe over every window)")
    pruned = trials[trials["state"] == "PRUNED"]
    if len(pruned):
        ax.scatter(
            pruned["trial"],
            [done["score"].min() if len(done) else 0] * len(pruned),
            marker="x",
            color="grey",
            label="pruned (no score)",
        )
    if len(done):
        ax.step(
            done["trial"], done["score"].cummax(), where="post", color="black", label="best so far"
        )
    ax.set_xlabel("trial")
    ax.set_ylabel("score (mean window Sharpe)")
    ax.set_title("Search history")
    ax.legend(fontsize=8)
    figure.tight_layout()
    return atomic_savefig(figure, path, dpi=100)


_SEARCH_COLUMNS = {
    "trial": "Trial",
    "score": "Score (mean window Sharpe)",
    "windows": "Windows",
    "sharpe": "Stitched Sharpe",
    "sharpe_ci_low": "Sharpe 95% low",
    "sharpe_ci_high": "Sharpe 95% high",
    "psr": "PSR",
    "dsr": "DSR",
    "dsr_trials": "Trials deflated for",
}


def trials_preface(result: TuneResult) -> str:
    """What the columns of ``trials.md`` mean (the scores are not all over the same windows)."""
    lines = [f"- `{name}`: {meaning}" for name, meaning in TRIAL_COLUMNS.items()]
    return (
        f"Trials of study `{result.study.study_name}` over {len(result.windows)} search windows; "
        "a pruned trial has no score: its `partial_score` is its mean Sharpe over the windows it "
        "ran, fewer than the others', so it is not ranked.\n\n" + "\n".join(lines)
    )


def write_tune_report(
    result: TuneResult, out: str | Path, benchmark: pd.Series | None = None
) -> Path:
    """Write ``trials.{md,csv}`` (the scores' meanings above the markdown table), ``best.toml``,
    ``search_best.{md,csv}`` (the best trial's score, its stitched Sharpe and its DSR deflated for
    every finished trial), ``overfitting.{md,csv}`` (PBO over the completed trials, the same DSR),
    ``history.png`` and, with a hold-out, ``holdout/`` (a walk-forward report of the best
    configuration against equal weight). Report files this run does not write are removed."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    trials = result.trials.set_index("trial")
    _write_table(trials, folder, "trials", trials_preface(result))
    atomic_write_text(folder / "best.toml", "# written by seqfolio tune\n" + result.best.to_toml())
    for stale in ("search_best", "overfitting"):  # e.g. another study's, written in this folder
        for suffix in (".md", ".csv"):
            (folder / f"{stale}{suffix}").unlink(missing_ok=True)
    if result.search_stats:
        stats = pd.DataFrame({result.best.label: result.search_stats}).T.rename(
            columns=_SEARCH_COLUMNS
        )
        stats.index.name = "best trial on the search windows"
        _write_table(stats, folder, "search_best")
    write_overfitting(result.overfitting, folder, "completed trials")
    plot_history(result.trials, folder / "history.png")
    if result.holdout is not None:
        write_walkforward_report(result.holdout, folder / "holdout", benchmark)
    return folder

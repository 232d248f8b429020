"""``seqfolio walkforward`` and ``seqfolio tune``: the research commands of the CLI.

``seqfolio walkforward --allocators hrp,herc,mvo,ew,ivp`` evaluates each allocator on the same
walk-forward windows and writes a report folder; ``seqfolio tune`` searches configurations with Optuna
on windows before a hold-out, then runs the best one on the hold-out, and writes ``best.toml`` (a
valid ``seqfolio backtest --config``). Both take ``--workers N`` (local processes) or ``--scheduler
tcp://host:8786`` (a Dask cluster).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import pandas as pd

_COMMON_DEFAULTS: dict[str, Any] = {
    "data": None,
    "benchmark": None,
    "start": "2005-01-01",
    "end": "2022-12-31",
    "commission": 0.001,
    "train": 756,
    "test": 252,
    "workers": 1,
    "scheduler": None,
    "quiet": False,
}


def add_research_parsers(sub: Any) -> None:
    """Add the ``walkforward`` and ``tune`` sub-commands to the CLI's sub-parsers."""
    walk = sub.add_parser("walkforward", help="walk-forward study of several allocators")
    _add_common(walk, out="seqfolio-walkforward")
    walk.add_argument("--allocators", default="hrp,herc,mvo,ew,ivp",
                      help="comma-separated allocator names (default hrp,herc,mvo,ew,ivp)")  # fmt: skip
    walk.add_argument(
        "--rebalance", default="monthly", help="weekly, monthly (default) or quarterly"
    )
    walk.add_argument(
        "--lookback", type=int, default=252, help="bars of returns per fit (default 252)"
    )
    walk.add_argument("--purge", type=int, default=0, help="bars dropped between train and test")
    walk.add_argument("--embargo", type=int, default=0, help="further bars dropped after the purge")
    walk.add_argument(
        "--expanding", action="store_true", help="expanding instead of rolling training windows"
    )

    tune = sub.add_parser("tune", help="hyperparameter search across walk-forward windows (Optuna)")
    _add_common(tune, out="seqfolio-tune")
    tune.add_argument("--trials", type=int, default=40, help="finished trials wanted (default 40)")
    tune.add_argument("--holdout", type=float, default=0.2,
                      help="fraction of the bars at the end kept from the search (default 0.2)")  # fmt: skip
    tune.add_argument("--storage", default=None,
                      help="Optuna storage URL (default sqlite:///<out>/study.db; postgresql://... to share)")  # fmt: skip
    tune.add_argument("--study-name", dest="study_name", default="seqfolio",
                      help="study name in the storage; an existing study is resumed")  # fmt: skip
    tune.add_argument("--seed", type=int, default=0, help="sampler seed (default 0)")
    tune.add_argument("--batch-size", dest="batch_size", type=int, default=None,
                      help="trials proposed at once (default: --workers, or 2 on a scheduler)")  # fmt: skip


def _add_common(parser: argparse.ArgumentParser, out: str) -> None:
    parser.add_argument(
        "--data", default=None, metavar="PATH", help="price CSV (default: bundled 20 stocks)"
    )
    parser.add_argument(
        "--benchmark", default=None, metavar="PATH", help="benchmark price CSV (default: S&P 500)"
    )
    parser.add_argument(
        "--start", default="2005-01-01", help="first date used (default 2005-01-01)"
    )
    parser.add_argument("--end", default="2022-12-31", help="last date used (default 2022-12-31)")
    parser.add_argument(
        "--commission", type=float, default=0.001, help="fraction of traded value (0.001)"
    )
    parser.add_argument(
        "--train", type=int, default=756, help="bars in each training window (default 756)"
    )
    parser.add_argument(
        "--test", type=int, default=252, help="bars in each test window (default 252)"
    )
    parser.add_argument("--workers", type=int, default=1, help="local worker processes (default 1)")
    parser.add_argument("--scheduler", default=None, metavar="ADDRESS",
                        help="Dask scheduler address, e.g. tcp://host:8786 (overrides --workers)")  # fmt: skip
    parser.add_argument("--out", default=out, help=f"output folder (default ./{out})")
    parser.add_argument("--quiet", "-q", action="store_true", help="print nothing but errors")


def _inputs(args: argparse.Namespace) -> tuple[pd.DataFrame, pd.Series]:
    from seqfolio.cli import check_benchmark, check_out_folder
    from seqfolio.data import load_benchmark, load_sample, read_prices

    check_out_folder(args.out)
    try:
        start, end = pd.Timestamp(args.start), pd.Timestamp(args.end)
    except ValueError:
        raise ValueError(
            f"cannot parse dates start={args.start!r} end={args.end!r}; use YYYY-MM-DD"
        ) from None
    if start >= end:
        raise ValueError(f"--start ({start.date()}) must be before --end ({end.date()})")
    prices = read_prices(args.data) if args.data else load_sample()
    prices = prices.loc[start:end]
    if args.benchmark:
        benchmark = read_prices(args.benchmark, min_assets=1).iloc[:, 0]
        check_benchmark(prices, benchmark, str(args.benchmark))
    else:
        benchmark = load_benchmark().rename("S&P 500")
    return prices, benchmark


def _print_table(table: pd.DataFrame) -> None:
    print(table.to_markdown(floatfmt=".3f"))


def _print_events(report: Any) -> None:
    """One line per configuration whose decisions were skipped or fell back (nothing if none)."""
    from seqfolio.reporting import EVENTS_FILE

    for label, line in report.events_summary().items():
        print(f"{label}: {line}; see {EVENTS_FILE}")


def cmd_walkforward(args: argparse.Namespace) -> int:
    """Run ``seqfolio walkforward``; returns the exit status."""
    from seqfolio.research.config import PortfolioConfig
    from seqfolio.research.report import summary_table, write_walkforward_report
    from seqfolio.research.walkforward import walk_forward

    prices, benchmark = _inputs(args)
    names = [n.strip().lower() for n in args.allocators.split(",") if n.strip()]
    configs = [
        PortfolioConfig(
            name, lookback=args.lookback, rebalance=args.rebalance, commission=args.commission
        )
        for name in dict.fromkeys(names)
    ]
    report = walk_forward(
        prices, configs, train=args.train, test=args.test, purge=args.purge, embargo=args.embargo,
        expanding=args.expanding, workers=args.workers, scheduler=args.scheduler, progress=not args.quiet,
    )  # fmt: skip
    folder = write_walkforward_report(report, args.out, benchmark)
    if not args.quiet:
        first, last = report.windows[0], report.windows[-1]
        print(
            f"{len(report.windows)} windows: out of sample {prices.index[first.test_start].date()} .. "
            f"{prices.index[last.test_stop - 1].date()} (train {args.train} bars, test {args.test} bars)"
        )
        _print_table(summary_table(report))
        _print_events(report)
        print(
            f"wrote {folder}/summary.md, summary.csv, per_window.csv, returns.csv, equity.png, window_sharpe.png, weights.png"
            + (", events.csv" if len(report.events) else "")
        )
    return 0


def cmd_tune(args: argparse.Namespace) -> int:
    """Run ``seqfolio tune``; returns the exit status."""
    from seqfolio.research.report import summary_table, write_tune_report
    from seqfolio.research.tuning import tune

    prices, benchmark = _inputs(args)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    storage = args.storage or f"sqlite:///{(out / 'study.db').resolve()}"
    result = tune(
        prices, n_trials=args.trials, holdout=args.holdout, train=args.train, test=args.test,
        commission=args.commission, storage=storage, study_name=args.study_name, seed=args.seed,
        workers=args.workers, scheduler=args.scheduler, batch_size=args.batch_size,
        progress=not args.quiet,
    )  # fmt: skip
    folder = write_tune_report(result, out, benchmark)
    if not args.quiet:
        counts = result.trials["state"].value_counts().to_dict()
        print(
            f"{len(result.trials)} trials ({counts}); search data up to {result.search_end.date()}; "
            f"best: {result.best.label} (mean window Sharpe {result.study.best_value:.3f})"
        )
        stats = result.search_stats
        if stats:
            print(
                f"on the search windows: Sharpe {stats['sharpe']:.2f} "
                f"[{stats['sharpe_ci_low']:.2f}, {stats['sharpe_ci_high']:.2f}], PSR {stats['psr']:.3f}, "
                f"deflated for {len(result.trials)} trials: DSR {stats['dsr']:.3f}"
            )
        skipped = result.trials["skipped"].fillna(0) if "skipped" in result.trials else None
        if skipped is not None and skipped.any():
            print(
                f"{int((skipped > 0).sum())} trials had skipped decisions (allocator failures "
                "included); see the 'skipped' column of trials.csv"
            )
        if result.holdout is not None:
            print("hold-out (never seen by the search):")
            _print_table(summary_table(result.holdout))
            _print_events(result.holdout)
        print(
            f"wrote {folder}/best.toml (seqfolio backtest --config), trials.md, trials.csv, history.png, holdout/"
        )
    return 0

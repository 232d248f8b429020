"""The ``seqfolio`` command: ``seqfolio backtest`` and ``seqfolio compare``.

``seqfolio backtest`` runs an HRP monthly rebalance on the bundled 20 stocks, 2005-2022, with 10 bps
commission against the bundled S&P 500 index, prints a metrics table and writes ``tearsheet.html``,
``weights.png``, ``weights.csv``, ``returns.csv`` and ``rebalances.csv`` into ``--out``.
``seqfolio compare --allocators hrp,herc,mvo,ew,ivp`` runs several allocators on the same data and
writes ``comparison.md`` / ``comparison.csv``, ``returns.csv`` and one tear sheet per allocator.
Both also write ``events.csv`` (skipped rebalances, allocator failures and fallbacks, failed retrains)
when there was any, and say so in the summary line.

Every option can also come from a TOML file (``--config run.toml``) with the same names as keys
(``allocator = "herc"``, ``start = "2010-01-01"``, ``cash_buffer = 0.02``); options given on the
command line win.

Errors and exit status
----------------------
Every error prints exactly one line on stderr, ``seqfolio: error: ...``, and no traceback
(``SEQFOLIO_DEBUG=1`` re-raises instead); warnings print ``seqfolio: warning: ...`` lines.

- exit 0: the run completed (warnings, e.g. a tear sheet QuantStats could not draw, do not change it);
- exit 1: a bad option, config or data file (checked before any work; ``backtest`` and ``compare``
  check option values first, then the data, so no data warning comes before an option error), or a
  run that never traded;
- exit 2: a usage error found by the argument parser (unknown option or sub-command, ``--lookback
  abc``): ``seqfolio: error: argument --lookback: invalid int value: 'abc' (see seqfolio backtest
  --help)``, one line, no usage block (argparse's conventional status 2);
- exit 130: interrupted (Ctrl-C).

A run that never traded (every rebalance skipped, e.g. every optimisation infeasible) still writes
``returns.csv`` (all 0), ``weights.csv`` and ``rebalances.csv`` (headers only) and ``events.csv`` with the
skip reasons, and prints its summary line; there is no tear sheet or weights chart (a warning says
so), and the command ends with status 1 and ``seqfolio: error: HRP monthly never traded: all N
scheduled rebalances were skipped (first: <date> <reason>); see <out>/events.csv``.
``seqfolio compare`` reports such an allocator the same way, leaves it out of the comparison, writes the
comparison of the others, and ends with status 1 and ``seqfolio: error: 1 of 3 allocators never
traded and are left out of the comparison: ...``. A tear sheet that cannot be written for any other
reason (a QuantStats failure) gives a ``seqfolio: warning: TearSheet: no tear sheet written ...`` line,
every other file is still written and the status stays 0. A report file this run did not write
(tear sheet, weights chart, comparison) is removed if an earlier run left one of the same name in
``--out``, so a stale report is never taken for this run's; files of other names (e.g. an earlier
``compare``'s tear sheet of another allocator) are left alone.
"""

from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

import pandas as pd

from seqfolio._atomic import atomic_write_text, confined
from seqfolio.reporting import EVENTS_FILE

__all__ = ["main"]

DEFAULTS: dict[str, Any] = {
    "data": None,
    "benchmark": None,
    "allocator": "hrp",
    "allocator_params": None,
    "allocators": "hrp,herc,mvo,ew,ivp",
    "rebalance": "monthly",
    "lookback": 252,
    "start": "2005-01-01",
    "end": "2022-12-31",
    "commission": 0.001,
    "cash": 1_000_000.0,
    "cash_buffer": 0.02,
    "min_trade": 0.0,
    "max_weight": None,
    "out": "seqfolio-report",
    "quiet": False,
    "signal": None,
    "retrain": "quarterly",
    "train_window": 756,
    "threads": 1,
}
_TYPES: dict[str, type] = {
    "lookback": int, "commission": float, "cash": float, "cash_buffer": float, "min_trade": float,
    "max_weight": float, "quiet": bool, "threads": int,
}  # fmt: skip


class CLIError(Exception):
    """A user error reported as one line."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse with usage errors as one line (``seqfolio: error: ...``), still exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"seqfolio: error: {message} (see {self.prog} --help)\n")


def _add_common(parser: argparse.ArgumentParser) -> None:
    s = argparse.SUPPRESS
    parser.add_argument(
        "--config", metavar="FILE", help="TOML file with any of these options as keys"
    )
    parser.add_argument(
        "--data",
        metavar="PATH",
        default=s,
        help="price CSV (wide or long, read with read_prices); default: bundled 20 stocks",
    )
    parser.add_argument(
        "--benchmark",
        metavar="PATH",
        default=s,
        help="benchmark price CSV (first column used); default: bundled S&P 500 index",
    )
    parser.add_argument(
        "--rebalance", default=s, help="daily, weekly, monthly (default) or quarterly"
    )
    parser.add_argument(
        "--lookback", type=int, default=s, help="bars of returns per fit (default 252)"
    )
    parser.add_argument(
        "--start", default=s, help="first date of the backtest (default 2005-01-01)"
    )
    parser.add_argument("--end", default=s, help="last date of the backtest (default 2022-12-31)")
    parser.add_argument(
        "--commission",
        type=float,
        default=s,
        help="commission as a fraction of traded value (default 0.001 = 10 bps)",
    )
    parser.add_argument("--cash", type=float, default=s, help="starting cash (default 1,000,000)")
    parser.add_argument(
        "--cash-buffer",
        dest="cash_buffer",
        type=float,
        default=s,
        help="fraction kept in cash (default 0.02)",
    )
    parser.add_argument(
        "--min-trade",
        dest="min_trade",
        type=float,
        default=s,
        help="skip trades changing a weight by less than this (default 0)",
    )
    parser.add_argument(
        "--max-weight",
        dest="max_weight",
        type=float,
        default=s,
        help="cap on any asset's weight (default none)",
    )
    parser.add_argument("--out", default=s, help="output folder (default ./seqfolio-report)")
    from seqfolio.cli_walkforward import add_walkforward_arguments

    add_walkforward_arguments(parser)
    parser.add_argument(
        "--quiet",
        "-q",
        action="store_true",
        default=s,
        help="print nothing but errors; no progress bar",
    )
    # fmt: skip


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    parser = _OneLineParser(
        prog="seqfolio", description="Backtest seqfolio allocators with backtrader and QuantStats."
    )
    sub = parser.add_subparsers(dest="command", metavar="{backtest,compare,walkforward,tune}")
    sub.required = True
    backtest = sub.add_parser("backtest", help="run one allocator and write a tear sheet")
    _add_common(backtest)
    backtest.add_argument("--allocator", default=argparse.SUPPRESS,
                          help="hrp (default), herc, mvo, ew, ivp, ivol or lstm-weights")  # fmt: skip
    compare = sub.add_parser("compare", help="run several allocators on the same data")
    _add_common(compare)
    compare.add_argument("--allocators", default=argparse.SUPPRESS,
                         help="comma-separated names (default hrp,herc,mvo,ew,ivp)")  # fmt: skip
    from seqfolio.research.commands import add_research_parsers

    add_research_parsers(sub)
    return parser


def _read_config(path: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover
        import tomli as tomllib
    file = Path(path)
    if file.is_dir():
        raise CLIError(f"--config {path} is a folder, not a TOML file; give the path of the file")
    if not file.is_file():
        raise CLIError(f"config file not found: {path}")
    try:
        with file.open("rb") as handle:
            raw = tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise CLIError(f"{path}: invalid TOML ({exc})") from None
    config = {str(k).replace("-", "_"): v for k, v in raw.items()}
    unknown = sorted(set(config) - set(DEFAULTS))
    if unknown:
        raise CLIError(f"{path}: unknown option(s) {unknown}; valid keys are {sorted(DEFAULTS)}")
    for key, value in config.items():
        kind = _TYPES.get(key)
        if kind is float and isinstance(value, int) and not isinstance(value, bool):
            config[key] = float(value)
        elif kind is not None and not isinstance(value, kind):
            default = DEFAULTS.get(key)
            if isinstance(default, bool):
                example = str(default).lower()
            elif isinstance(default, kind):
                example = str(default)
            else:
                example = {int: "252", float: "0.25", bool: "true"}[kind]
            article = "an" if kind is int else "a"
            raise CLIError(
                f"{path}: '{key}' must be {article} {kind.__name__} (e.g. {key} = {example}); "
                f"got {value!r}"
            )
        elif key == "allocator_params":
            if not isinstance(value, dict):
                raise CLIError(
                    f"{path}: 'allocator_params' must be a table, e.g. [allocator_params]"
                )
        elif key == "train_window" and isinstance(value, int) and not isinstance(value, bool):
            pass
        elif kind is None and value is not None and not isinstance(value, str):
            if key == "allocators" and isinstance(value, list):
                config[key] = ",".join(map(str, value))
            elif key in ("start", "end"):
                config[key] = str(value)
            else:
                raise CLIError(f"{path}: '{key}' must be a string; got {value!r}")
    return config


def resolve_options(args: argparse.Namespace) -> dict[str, Any]:
    """Defaults, then the TOML config, then the command line."""
    options = dict(DEFAULTS)
    if getattr(args, "config", None):
        options.update(_read_config(args.config))
    options.update({k: v for k, v in vars(args).items() if k not in ("config", "command")})
    return options


def _allocator_names(options: dict[str, Any], command: str) -> list[str]:
    """The allocators the command runs (``backtest``: one; ``compare``: the list, deduplicated)."""
    from seqfolio.allocators import ALLOCATORS

    if command == "backtest":
        return [str(options["allocator"])]
    names = [n.strip().lower() for n in str(options["allocators"]).split(",") if n.strip()]
    unknown = [n for n in names if n not in ALLOCATORS and n != "lstm-weights"]
    if not names or unknown:
        raise CLIError(
            f"unknown allocator(s) {unknown}; choose from {sorted(ALLOCATORS) + ['lstm-weights']}"
        )
    return list(dict.fromkeys(names))


def check_options(options: dict[str, Any], command: str) -> list[str]:
    """Check every option value before any data is read; return the allocator names to run.

    So a bad value fails at once, before a data warning (``--start`` before the first price, ...)
    or any work; the run itself checks the same things again with the same messages.
    """
    from seqfolio.backtest import check_broker
    from seqfolio.cli_walkforward import (
        _signal_target,
        history_bars,
        is_lstm_allocator,
        parse_threads,
    )
    from seqfolio.allocators import make_allocator
    from seqfolio.strategies.rebalance import check_strategy_params

    check_out_folder(options["out"])
    check_strategy_params(
        lookback=options["lookback"], rebalance=options["rebalance"],
        min_trade=options["min_trade"], cash_buffer=options["cash_buffer"],
        max_weight=options["max_weight"],
    )  # fmt: skip
    check_broker(cash=options["cash"], commission=options["commission"])
    names = _allocator_names(options, command)
    for name in names:
        if not is_lstm_allocator(name):
            make_allocator(_allocator(options, name), owner="RebalanceStrategy")
    _signal_target(options)
    parse_threads(options.get("threads", 1))
    history_bars(options, names)  # --train-window, when a walk-forward model is used
    return names


def _load_inputs(options: dict[str, Any]) -> tuple[pd.DataFrame, pd.Series]:
    from seqfolio.backtest import with_history
    from seqfolio.data import load_benchmark, load_sample, read_prices

    check_out_folder(options["out"])
    start, end = options["start"], options["end"]
    try:
        start_ts = pd.Timestamp(start) if start else None
        end_ts = pd.Timestamp(end) if end else None
    except ValueError:
        raise CLIError(f"cannot parse dates start={start!r} end={end!r}; use YYYY-MM-DD") from None
    if start_ts is not None and end_ts is not None and start_ts >= end_ts:
        raise CLIError(f"--start ({start_ts.date()}) must be before --end ({end_ts.date()})")
    if options["data"]:
        prices = read_prices(options["data"])
    else:
        prices = load_sample(end=end_ts)
    full = prices
    prices = prices.loc[:end_ts] if end_ts is not None else prices
    if prices.empty and end_ts is not None and len(full):
        raise CLIError(
            f"the price data starts on {full.index[0].date()}, after --end {end_ts.date()}; "
            "choose an --end after the first price (or other --data)"
        )
    if start_ts is not None and (prices.empty or prices.index[-1] < start_ts):
        if len(prices) and full.index[-1] > prices.index[-1]:  # it resumes after --end
            later = full.index[full.index > prices.index[-1]][0]
            raise CLIError(
                f"the price data has no row from --start {start_ts.date()} to --end "
                f"{end_ts.date() if end_ts is not None else ''}: it has a gap from "
                f"{prices.index[-1].date()} to {later.date()}; choose dates inside the data"
            )
        last = f" (its last price is on {prices.index[-1].date()})" if len(prices) else ""
        raise CLIError(
            f"the price data ends before --start {start_ts.date()}{last}; choose an earlier --start"
        )
    from seqfolio.cli_walkforward import history_bars

    names = [str(options["allocator"])] + str(options["allocators"]).split(",")
    prices = with_history(prices, start_ts, history_bars(options, names))
    needed = history_bars(options, names)
    if len(prices) < needed + 2:
        raise CLIError(
            f"--lookback {options['lookback']} (history needed: {needed + 1} rows before the first "
            f"rebalance, and one more to fill) is longer than the data: {len(prices)} rows "
            f"({prices.index[0].date()} .. {prices.index[-1].date()}); use a shorter --lookback "
            "(or --train-window) or more data"
        )
    if start_ts is not None and start_ts < prices.index[0]:
        warnings.warn(
            f"--start {start_ts.date()} is before the first price ({prices.index[0].date()}): the "
            f"backtest starts there and the first rebalance waits for {needed + 1} rows of history "
            f"({prices.index[max(needed, 0)].date()})",
            UserWarning,
            stacklevel=2,
        )
    if options["benchmark"]:
        frame = read_prices(options["benchmark"], min_assets=1)
        benchmark = frame.iloc[:, 0]
        check_benchmark(prices.loc[start_ts:] if start_ts is not None else prices, benchmark,
                        str(options["benchmark"]))  # fmt: skip
    else:
        benchmark = load_benchmark()
        benchmark.name = "S&P 500"
    return prices, benchmark


def check_benchmark(prices: pd.DataFrame, benchmark: pd.Series, source: str) -> None:
    """Reject a benchmark with no dates in the backtest period; warn when its calendar differs.

    The benchmark is compared on its own dates inside the period (its returns span any dates it
    lacks), so a calendar that differs from ``--data``'s is usable, but says so.
    """
    dates = prices.index
    if len(dates) == 0:
        return
    inside = benchmark.dropna().loc[dates[0] : dates[-1]].index
    if len(inside) < 2:
        span = (
            f"{benchmark.index[0].date()} .. {benchmark.index[-1].date()}"
            if len(benchmark)
            else "none"
        )
        raise CLIError(
            f"--benchmark {source} has {len(inside)} price(s) in the backtest period "
            f"{dates[0].date()} .. {dates[-1].date()} (it covers {span}); give a benchmark "
            "over the same dates as --data"
        )
    missing = dates.difference(inside)
    extra = inside.difference(dates)
    if len(missing) or len(extra):
        warnings.warn(
            f"--benchmark {source}: its calendar does not match --data's: no benchmark price on "
            f"{len(missing)} of the {len(dates)} backtest dates (e.g. {[str(d.date()) for d in missing[:3]]}) "
            f"and {len(extra)} benchmark date(s) with no --data row; the benchmark's returns are "
            "computed between the dates it has. Align the two files if that is wrong.",
            UserWarning,
            stacklevel=3,
        )


def check_out_folder(out: object) -> Path:
    """Fail early (before any work) if ``out`` cannot be created or written to."""
    path = Path(str(out))
    probe = path
    while not probe.exists() and probe.parent != probe:
        probe = probe.parent
    if not probe.is_dir():
        raise CLIError(
            f"cannot write to the output folder {out}: {probe} is a file, not a folder; choose "
            "another --out"
        )
    if not os.access(probe, os.W_OK):
        raise CLIError(
            f"cannot write to the output folder {out}: {probe} is not writable; choose another --out"
        )
    return path


def _markdown(table: pd.DataFrame) -> str:
    """A pipe table (no tabulate dependency)."""
    header = [str(table.index.name or "")] + [str(c) for c in table.columns]
    rows = [
        [str(i)] + [str(v) for v in row]
        for i, row in zip(table.index, table.to_numpy(), strict=True)
    ]
    widths = [max(len(r[j]) for r in [header, *rows]) for j in range(len(header))]

    def line(cells: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) if j == 0 else c.rjust(w)
                                 for j, (c, w) in enumerate(zip(cells, widths, strict=True))) + " |"  # fmt: skip

    rule = (
        "|"
        + "|".join(
            ("-" * (w + 2)) if j == 0 else ("-" * (w + 1) + ":") for j, w in enumerate(widths)
        )
        + "|"
    )
    return "\n".join([line(header), rule, *[line(r) for r in rows]])


def _allocator(options: dict[str, Any], name: str) -> Any:
    """The allocator instance for ``name``, with the config's ``[allocator_params]`` if any."""
    from seqfolio.allocators import ALLOCATORS

    params = options.get("allocator_params") or {}
    if not params:
        return name
    key = name.strip().lower()
    if key not in ALLOCATORS:
        raise CLIError(f"unknown allocator {name!r}; choose from {sorted(ALLOCATORS)}")
    try:
        allocator = ALLOCATORS[key](**params)
        allocator.check_params()
    except TypeError:
        valid = sorted(ALLOCATORS[key]().get_params())
        raise CLIError(
            f"[allocator_params] {sorted(params)} do not fit {key}; its parameters are {valid}"
        ) from None
    return allocator


def _run(options: dict[str, Any], allocator: str, out: Path, tearsheet_name: str) -> Any:
    from seqfolio.backtest import run_backtest
    from seqfolio.cli_walkforward import is_lstm_allocator, model_kwargs

    prices, benchmark = options["_prices"], options["_benchmark"]
    if allocator.strip().lower() not in ("ew", "lstm-weights"):
        flat = [str(c) for c in prices.columns if prices[c].dropna().nunique() <= 1]
        if flat:
            raise CLIError(
                f"column(s) {flat} have a constant price over {prices.index[0].date()} .. "
                f"{prices.index[-1].date()}: zero variance, which {allocator} cannot weight (every "
                "rebalance would be skipped); remove them from --data or use --allocator ew"
            )
    instance = allocator if is_lstm_allocator(allocator) else _allocator(options, allocator)
    return run_backtest(
        prices,
        **model_kwargs(options, allocator, instance, out),
        rebalance=options["rebalance"],
        lookback=int(options["lookback"]),
        start=options["start"],
        end=options["end"],
        cash=options["cash"],
        commission=options["commission"],
        cash_buffer=options["cash_buffer"],
        min_trade=options["min_trade"],
        max_weight=options["max_weight"],
        benchmark=benchmark,
        benchmark_name=str(benchmark.name),
        tearsheet=confined(out, tearsheet_name),
        progress=not options["quiet"],
    )


def _count(n: int, noun: str, plural: str | None = None) -> str:
    return f"{n} {noun if n == 1 else (plural or noun + 's')}"


def _events_summary(result: Any) -> str:
    """``", 2 rebalances skipped (1 allocator failure), ..."`` for the non-zero counts, or ``""``."""
    parts = []
    if result.skipped:
        causes = [
            _count(len(result.allocation_failures), "allocator failure"),
            _count(len(getattr(result, "forecast_failures", [])), "failed forecast"),
        ]
        causes = [c for c in causes if not c.startswith("0 ")]
        why = f" ({', '.join(causes)})" if causes else ""
        parts.append(f"{_count(len(result.skipped), 'rebalance')} skipped{why}")
    if result.fallbacks:
        members = pd.Series([r.split(" used:")[0] for _, r in result.fallbacks]).value_counts()
        to = ", ".join(f"{n} to {m}" for m, n in members.items())
        to = f"to {members.index[0]}" if len(members) == 1 else f"({to})"
        parts.append(f"{_count(len(result.fallbacks), 'allocation')} fell back {to}")
    if result.retrain_failures:
        parts.append(f"{_count(len(result.retrain_failures), 'retrain')} failed")
    return f", {', '.join(parts)}; see {EVENTS_FILE}" if parts else ""


def _summary(result: Any) -> str:
    """The one-line summary of a run (counts of skips, fallbacks and failures only when non-zero)."""
    reb = result.rebalances
    index = result.returns.index
    period = f"{index[0].date()} .. {index[-1].date()}" if len(index) else "no returns"
    if len(reb):
        trading = (
            f"{len(reb)} rebalances, mean turnover {reb['turnover'].mean():.1%}, "
            f"costs {reb['costs'].sum():,.0f}, rejected orders {result.n_rejected} "
            f"({int(reb['n_retried'].sum())} retried)"
        )
    else:
        trading = "0 rebalances (never traded)"
    return (
        f"{result.name}: {period}, {trading}, final value {result.final_value:,.0f}"
        + (f", {len(result.retrains)} retrains" if result.retrains is not None else "")
        + _events_summary(result)
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
            f"{result.name} never held a position: its {_count(len(result.rebalances), 'rebalance')} "
            "filled no order before the data ended; use a longer period (a later --end)"
        )
    if first is None:
        return (
            f"{result.name} made no rebalance: no scheduled --rebalance date in the period; use a "
            "longer period or a more frequent --rebalance"
        )
    every = f"all {n} scheduled rebalances were" if n > 1 else "its only scheduled rebalance was"
    return (
        f"{result.name} never traded: {every} skipped (first: {first[0].date()} "
        f"{first[1].rstrip('.')}); "
        f"see {out / EVENTS_FILE}"
    )


def _remove_stale(out: Path, names: Sequence[str]) -> None:
    """Remove report files an earlier run left in ``out`` that this run did not write."""
    for name in names:
        (out / name).unlink(missing_ok=True)


def _wrote(out: Path, names: Sequence[str]) -> str:
    """``"wrote OUT/first, second, third"`` (the first file with its folder)."""
    if not names:
        return "wrote nothing"
    return "wrote " + ", ".join([str(out / names[0]), *names[1:]])


def _events_csv(results: Sequence[Any], out: Path, *, by_strategy: bool = False) -> bool:
    """Write the runs' events (see ``BacktestResult.events``) to ``out/events.csv`` if there are any.

    Columns ``date, kind, reason`` (``strategy`` first with ``by_strategy``). With no event, a
    ``events.csv`` left by an earlier run in the same folder is removed. Returns whether one was written.
    """
    from seqfolio.reporting import write_events_csv

    tables = [r.events().assign(strategy=r.name) for r in results]
    tables = [t for t in tables if len(t)]
    columns = ["strategy", "date", "kind", "reason"] if by_strategy else ["date", "kind", "reason"]
    table = pd.concat(tables, ignore_index=True)[columns] if tables else pd.DataFrame()
    return write_events_csv(table, out)


def _weights_csv(result: Any, path: Path) -> None:
    target = result.target.assign(kind="target")
    realised = result.realised.assign(kind="realised")
    both = (
        pd.concat([target, realised]).fillna(0.0).reset_index().sort_values("date", kind="stable")
    )
    columns = ["date", "kind", *[c for c in both.columns if c not in ("date", "kind")]]
    atomic_write_text(path, both[columns].to_csv(index=False, float_format="%.6f"))


def cmd_backtest(options: dict[str, Any]) -> int:
    from seqfolio.reporting import format_metrics, metrics_table, plot_weights

    out = Path(options["out"])
    out.mkdir(parents=True, exist_ok=True)
    result = _run(options, str(options["allocator"]), out, "tearsheet.html")
    if result.returns.empty:
        raise CLIError(
            "the backtest made no rebalance; use a longer period or a shorter --lookback"
        )
    idle = _held_nothing(result)
    written = [] if result.tearsheet is None else ["tearsheet.html"]
    if result.tearsheet is None:  # the warning was printed; never leave an earlier run's report
        _remove_stale(out, ["tearsheet.html"])
    if idle:
        _remove_stale(out, ["weights.png"])
    else:
        plot_weights(
            result.weights, out / "weights.png", title=f"{result.name}: daily position weights"
        )
        written.append("weights.png")
    _weights_csv(result, out / "weights.csv")
    atomic_write_text(
        out / "returns.csv", result.returns.rename("return").to_csv(float_format="%.8f")
    )
    atomic_write_text(out / "rebalances.csv", result.rebalances.to_csv(float_format="%.6f"))
    written += ["weights.csv", "returns.csv", "rebalances.csv"]
    if _events_csv([result], out):
        written.append(EVENTS_FILE)
    if not options["quiet"]:
        print(_summary(result))
        if not idle:
            table = metrics_table({result.name: result.returns}, options["_benchmark"],
                                  benchmark_name=str(options["_benchmark"].name))  # fmt: skip
            print(_markdown(format_metrics(table)))
        print(_wrote(out, written))
    if idle:
        raise CLIError(_never_traded(result, out))
    return 0


def cmd_compare(options: dict[str, Any]) -> int:
    names = _allocator_names(options, "compare")
    out = Path(options["out"])
    out.mkdir(parents=True, exist_ok=True)
    runs: list[Any] = []
    for name in names:
        sheet = f"tearsheet_{name}.html"
        result = _run(options, name, out, sheet)
        if result.tearsheet is None:  # the warning was printed; never leave an earlier run's
            _remove_stale(out, [sheet])
        runs.append(result)
        if not options["quiet"]:
            print(_summary(result))
    # a run that never traded is reported (summary, events.csv, the error below), not compared
    idle = [r for r in runs if _held_nothing(r)]
    results = [r for r in runs if not _held_nothing(r)]
    n_sheets = sum(r.tearsheet is not None for r in runs)
    events = _events_csv(runs, out, by_strategy=True)
    tables = ["comparison.md", "comparison.csv", "returns.csv"]
    if results:
        markdown = _write_comparison(results, options["_benchmark"], out)
        written = tables + ([EVENTS_FILE] if events else [])
    else:
        _remove_stale(out, tables)
        markdown, written = None, [EVENTS_FILE] if events else []
    if not options["quiet"]:
        if markdown is not None:
            print(markdown)
        print(_wrote(out, written) + f" and {_count(n_sheets, 'tear sheet')}")
    if idle:
        why = _never_traded(idle[0], out)
        if len(idle) > 1:
            why += f"; so did {', '.join(r.name for r in idle[1:])}"
        if not results:
            raise CLIError(f"no allocator traded, so there is nothing to compare: {why}")
        raise CLIError(
            f"{len(idle)} of {len(names)} allocators never traded and are left out of the "
            f"comparison: {why}"
        )
    return 0


def _write_comparison(results: Sequence[Any], benchmark: pd.Series, out: Path) -> str:
    """Write comparison.csv / comparison.md / returns.csv for the runs that traded; return the table."""
    from seqfolio.reporting import format_metrics, metrics_table

    table = metrics_table(
        {r.name: r.returns for r in results}, benchmark, benchmark_name=str(benchmark.name)
    )
    extra = pd.DataFrame(
        {r.name: [r.rebalances["turnover"].mean(), r.rebalances["costs"].sum(), float(r.n_rejected)]
         for r in results},
        index=["Mean turnover", "Costs", "Rejected orders"],
    )  # fmt: skip
    full = pd.concat([table, extra])
    full.index.name = "metric"
    atomic_write_text(out / "comparison.csv", full.to_csv(float_format="%.6f"))
    formatted = format_metrics(table)
    for r in results:
        formatted.loc["Mean turnover", r.name] = f"{r.rebalances['turnover'].mean() * 100:.2f}%"
        formatted.loc["Costs", r.name] = f"{r.rebalances['costs'].sum():,.0f}"
        formatted.loc["Rejected orders", r.name] = str(r.n_rejected)
    formatted = formatted.fillna("")
    markdown = _markdown(formatted)
    atomic_write_text(out / "comparison.md", markdown + "\n")
    atomic_write_text(
        out / "returns.csv",
        pd.DataFrame({r.name: r.returns for r in results}).to_csv(float_format="%.8f"),
    )
    return markdown


def _show_warning(message: Any, category: Any, *args: Any, **kwargs: Any) -> None:
    """Print a warning as one line, ``seqfolio: warning: ...`` (no source line)."""
    text = str(message).strip().splitlines()[0] if str(message).strip() else category.__name__
    print(f"seqfolio: warning: {text}", file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``seqfolio`` console script; returns the exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or a usage error (2, already printed as one line)
        return exc.code if isinstance(exc.code, int) else 2
    debug = os.environ.get("SEQFOLIO_DEBUG") == "1"
    try:
        if args.command in ("walkforward", "tune"):
            from seqfolio.research import commands

            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                warnings.showwarning = _show_warning
                if args.command == "walkforward":
                    return commands.cmd_walkforward(args)
                return commands.cmd_tune(args)
        options = resolve_options(args)
        if options["quiet"]:
            import logging

            logging.getLogger("seqfolio").setLevel(logging.ERROR)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            warnings.showwarning = _show_warning
            check_options(options, args.command)
            options["_prices"], options["_benchmark"] = _load_inputs(options)
            if args.command == "backtest":
                return cmd_backtest(options)
            return cmd_compare(options)
    except KeyboardInterrupt:
        print("seqfolio: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # one clear line, not a traceback (SEQFOLIO_DEBUG=1 re-raises)
        if debug:
            raise
        message = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        print(f"seqfolio: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

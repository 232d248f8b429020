"""Reading a command's inputs: the output folder, the price data and the benchmark, checked early."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any

import pandas as pd

import seqfolio.cli.messages as messages
from seqfolio.cli.errors import CLIError

__all__ = ["check_benchmark", "check_out_folder", "load_inputs", "parse_period"]


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


def parse_period(options: dict[str, Any]) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """``--start`` / ``--end`` as timestamps (``None`` when not set), start before end."""
    start, end = options["start"], options["end"]
    try:
        start_ts = pd.Timestamp(start) if start else None
        end_ts = pd.Timestamp(end) if end else None
    except ValueError:
        raise CLIError(f"cannot parse dates start={start!r} end={end!r}; use YYYY-MM-DD") from None
    if start_ts is not None and end_ts is not None and start_ts >= end_ts:
        raise CLIError(f"--start ({start_ts.date()}) must be before --end ({end_ts.date()})")
    return start_ts, end_ts


def _read_data(options: dict[str, Any], end: pd.Timestamp | None) -> pd.DataFrame:
    from seqfolio.data import load_sample, read_prices

    paths = options["data"]
    if not paths:
        return load_sample(end=end)
    if isinstance(paths, str | os.PathLike):
        paths = [paths]
    return read_prices(paths[0] if len(paths) == 1 else list(paths))


def _check_covers(full: pd.DataFrame, prices: pd.DataFrame, start, end) -> None:  # noqa: ANN001
    """The data must have rows between ``start`` and ``end``; say where it is otherwise."""
    if prices.empty and end is not None and len(full):
        raise CLIError(
            f"the price data starts on {full.index[0].date()}, after --end {end.date()}; "
            "choose an --end after the first price (or other --data)"
        )
    if start is not None and (prices.empty or prices.index[-1] < start):
        if len(prices) and full.index[-1] > prices.index[-1]:  # it resumes after --end
            later = full.index[full.index > prices.index[-1]][0]
            raise CLIError(
                f"the price data has no row from --start {start.date()} to --end "
                f"{end.date() if end is not None else ''}: it has a gap from "
                f"{prices.index[-1].date()} to {later.date()}; choose dates inside the data"
            )
        last = f" (its last price is on {prices.index[-1].date()})" if len(prices) else ""
        raise CLIError(
            f"the price data ends before --start {start.date()}{last}; choose an earlier --start"
        )


def _start_after_warm_up(options: dict[str, Any], dates: pd.DatetimeIndex, history: int) -> None:
    """The data start after ``--start``: begin the backtest (and so its reports) at the first
    scheduled rebalance that has ``history`` bars before it, and say so in a note.

    The bars before it are the warm-up of the lookback (or training window), not a failure: no
    skipped rebalance is recorded for them and ``returns.csv`` has no stretch of zeros.
    """
    from seqfolio.calendar import decision_dates

    ready = decision_dates(dates, options["rebalance"])
    ready = ready[ready >= dates[min(history, len(dates) - 1)]]
    if not len(ready):
        return  # no rebalance after the warm-up: the run says it never traded
    lookback = int(options["lookback"])
    needs = f"--lookback {lookback}" if history == lookback else f"--train-window {history}"
    messages.note(
        f"the data start on {dates[0].date()}, after --start {options['start']}: their first "
        f"{history} bars are the warm-up of {needs}, so the backtest starts at its first "
        f"{options['rebalance']} rebalance after them, on {ready[0].date()}"
    )
    options["start"] = str(ready[0].date())


def load_inputs(options: dict[str, Any], history: int | None) -> tuple[pd.DataFrame, pd.Series]:
    """The prices and the benchmark of a run.

    Parameters
    ----------
    options : dict
        The resolved options (``data``, ``benchmark``, ``start``, ``end``, ``out``, ``lookback``).
    history : int or None
        Rows of history the run needs before ``start`` (a backtest's lookback or training window:
        kept in front of ``start``), or ``None`` for a study, whose data starts at ``start``.
    """
    from seqfolio.backtest import with_history
    from seqfolio.data import assets_priced_in, load_benchmark, read_prices

    check_out_folder(options["out"])
    start, end = parse_period(options)
    full = _read_data(options, end)
    prices = full.loc[:end] if end is not None else full
    _check_covers(full, prices, start, end)
    # an asset with no price from --start to --end is left out (an INFO note), not an error
    prices = assets_priced_in(full, start, end, owner="seqfolio").loc[:end]
    if history is None:
        prices = prices.loc[start:]
    else:
        prices = with_history(prices, start, history)
        if len(prices) < history + 2:
            raise CLIError(
                f"--lookback {options['lookback']} (history needed: {history + 1} rows before the "
                f"first rebalance, and one more to fill) is longer than the data: {len(prices)} "
                f"rows ({prices.index[0].date()} .. {prices.index[-1].date()}); use a shorter "
                "--lookback (or --train-window) or more data"
            )
        if start is not None and start < prices.index[0]:
            _start_after_warm_up(options, prices.index, history)
    if options["benchmark"]:
        benchmark = read_prices(options["benchmark"], min_assets=1).iloc[:, 0]
        check_benchmark(prices.loc[start:] if start is not None else prices, benchmark,
                        str(options["benchmark"]))  # fmt: skip
    else:
        benchmark = load_benchmark().rename("S&P 500")
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

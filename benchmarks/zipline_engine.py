"""Benchmark: seqfolio's zipline adapter against a bare zipline algorithm, N = 20 and 100 assets.

Both run ``zipline.run_algorithm`` on the same bundle (a synthetic factor universe from
``benchmarks/universe.py``, 20 % of the assets listing late, 5 % delisting early, restricted to XNYS
sessions) in the same process, daily, 10 bps ``PerDollar`` commission, no slippage:

- **ours**: ``attach_rebalancer`` (HRP on 252 returns, monthly, 2 % cash buffer) plus
  ``zipline_result`` (the BacktestResult the reports read);
- **bare**: what a zipline user writes when the weights are already known: ``schedule_function`` on
  ``date_rules.month_start()`` and ``order_target_percent`` to the weights our run chose, precomputed
  (so it does no allocation work: the ratio includes the HRP fits).

Times are CPU seconds of this process (``time.process_time``), best of ``--repeat``, the runs
interleaved (wall time on a shared machine swings by 30 %). The bundle is ingested once, before.
The HRP fits are timed alone too (the same allocator on the same windows of the closes zipline
holds, best of ``--repeat``), so the last column is the ratio without them: what the adapter itself
costs beyond zipline (``data.history``, order planning, bookkeeping, the result).

(Named zipline_engine.py: a script named zipline.py would shadow the zipline package.)

Run: python benchmarks/zipline_engine.py [--assets 20 100] [--days 2500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import gc
import tempfile
import time
from typing import Any

import pandas as pd
from sklearn.base import clone
from universe import make_universe

from seqfolio.pipeline import RebalanceContext, TrailingReturns, history_length
from seqfolio.spec import RebalanceSpec
from seqfolio.zipline import attach_rebalancer, ingest_prices, zipline_result

LOOKBACK = 252
CASH_BUFFER = 0.02
COMMISSION = 0.001
SPEC = RebalanceSpec("hrp", lookback=LOOKBACK, cash_buffer=CASH_BUFFER, commission=COMMISSION)


def _costs(context: Any) -> None:
    from zipline.finance import commission, slippage

    context.set_commission(us_equities=commission.PerDollar(cost=COMMISSION))
    context.set_slippage(us_equities=slippage.FixedSlippage(spread=0.0))


def run_ours(bundle: Any, start: pd.Timestamp, end: pd.Timestamp) -> tuple[float, Any]:
    from zipline import run_algorithm

    holder: dict[str, Any] = {}

    def initialize(context: Any) -> None:
        _costs(context)
        holder["r"] = attach_rebalancer(context, SPEC)

    t0 = time.process_time()
    perf = run_algorithm(start=start, end=end, initialize=initialize, capital_base=1e6,
                         **bundle.run_kwargs())  # fmt: skip
    result = zipline_result(holder["r"], perf)
    return time.process_time() - t0, result


def run_bare(bundle: Any, start: pd.Timestamp, end: pd.Timestamp, targets: pd.DataFrame) -> float:
    from zipline import run_algorithm
    from zipline.api import date_rules

    def initialize(context: Any) -> None:
        _costs(context)
        finder = context.asset_finder
        context.by_symbol = {a.symbol: a for a in finder.retrieve_all(finder.sids)}
        context.schedule_function(rebalance, date_rules.month_start())

    def rebalance(context: Any, data: Any) -> None:
        day = pd.Timestamp(context.get_datetime().date())
        if day not in targets.index:
            return
        row = targets.loc[day]
        held = {a.symbol for a, p in context.portfolio.positions.items() if p.amount}
        for symbol in sorted(held - set(row.index[row > 0])):  # sells first
            context.order_target_percent(context.by_symbol[symbol], 0.0)
        for symbol, weight in row[row > 0].items():
            context.order_target_percent(context.by_symbol[symbol], weight * (1 - CASH_BUFFER))

    t0 = time.process_time()
    run_algorithm(start=start, end=end, initialize=initialize, capital_base=1e6,
                  **bundle.run_kwargs())  # fmt: skip
    return time.process_time() - t0


def _window(closes: pd.DataFrame, date: pd.Timestamp) -> pd.DataFrame:
    """The returns the run's allocator fitted at ``date`` (the pipeline's own first step)."""
    prices = closes.loc[:date].iloc[-history_length(SPEC) :]
    tradable = [name for name, close in prices.iloc[-1].items() if close == close]
    ctx = RebalanceContext(date=date, prices=prices, tradable=tradable)
    TrailingReturns(SPEC.lookback, SPEC.max_gap)(ctx)
    return ctx.returns


def time_fits(closes: pd.DataFrame, dates: pd.Index) -> float:
    """CPU seconds of the HRP fits alone: the run's allocator on each decision's trailing returns."""
    windows = [_window(closes, date) for date in dates]
    allocator = SPEC.make_allocator()
    t0 = time.process_time()
    for window in windows:
        clone(allocator).fit(window)
    return time.process_time() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--days", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    from zipline.utils.calendar_utils import get_calendar

    root = tempfile.mkdtemp(prefix="seqfolio-zipline-bench-")
    print("| N | days | decisions | ours (s) | bare, precomputed weights (s) | ours / bare | "
          "HRP fits (s) | (ours - fits) / bare |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|")
    for n in args.assets:
        prices = make_universe(n, args.days, seed=0)
        sessions = get_calendar("XNYS").sessions_in_range(prices.index[0], prices.index[-1])
        prices = prices.loc[prices.index.isin(sessions)]
        bundle = ingest_prices(prices, name=f"bench{n}", root=root)
        start, end = prices.index[LOOKBACK + 1], prices.index[-1]
        ours, bare, fits, targets = [], [], [], None
        for _ in range(args.repeat):
            gc.collect()
            seconds, result = run_ours(bundle, start, end)
            ours.append(seconds)
            targets = result.target
            gc.collect()
            bare.append(run_bare(bundle, start, end, targets))
        closes = bundle.prices()  # as zipline holds them
        fits = [time_fits(closes, targets.index) for _ in range(args.repeat)]
        best, base, fit = min(ours), min(bare), min(fits)
        print(f"| {n} | {len(prices)} | {len(targets)} | {best:.1f} | {base:.1f} | "
              f"{best / base:.2f}x | {fit:.1f} | {(best - fit) / base:.2f}x |")  # fmt: skip


if __name__ == "__main__":
    main()

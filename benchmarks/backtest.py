"""Benchmark: RebalanceStrategy vs a minimal hand-written backtrader strategy, in one run.

Both run on the same feeds (the bundled 20 stocks, 2005-2022 plus one year of history, monthly,
10 bps commission). The baseline rebalances to *precomputed* weights (the targets RebalanceStrategy
chose, so it does no allocation work at all) with ``order_target_percent``; the ratio therefore shows
everything seqfolio adds: price history, HRP refits, order planning and bookkeeping.

Prints wall time (best of ``--repeat``), bars per second, the ratio ours / baseline, and peak Python
memory (tracemalloc, measured in separate runs so it does not slow the timed ones).

Run: python benchmarks/backtest.py [--repeat 3] [--start 2005-01-01] [--end 2022-12-31]
"""

from __future__ import annotations

import argparse
import gc
import resource
import time
import tracemalloc
from collections.abc import Callable

import backtrader as bt
import pandas as pd
from sklearn.base import clone

from seqfolio.allocators import HRP
from seqfolio.backtest import with_history
from seqfolio.data import load_sample, trailing_returns
from seqfolio.strategies import (
    RebalanceStrategy,
    TearSheet,
    WeightsHistory,
    add_price_feeds,
    timer_kwargs,
)

LOOKBACK = 252
CASH_BUFFER = 0.02


class PrecomputedWeights(bt.Strategy):
    """The bare baseline: on each monthly timer, order_target_percent to a lookup table of weights."""

    params = dict(weights=None)

    def __init__(self) -> None:
        self.add_timer(**timer_kwargs("monthly"))
        self.by_name = {d._name: d for d in self.datas}

    def notify_timer(self, timer, when, *args, **kwargs) -> None:
        target = self.p.weights.get(pd.Timestamp(when))
        if target is None:
            return
        value = self.broker.getvalue()
        wanted = {name: 0.0 for name in self.by_name} | dict(target * (1 - CASH_BUFFER))
        # sells first: sort by the change in weight
        changes = sorted(wanted, key=lambda n: wanted[n] - self.getposition(self.by_name[n]).size
                         * self.by_name[n].close[0] / value)  # fmt: skip
        for name in changes:
            self.order_target_percent(self.by_name[name], target=wanted[name])


def make_cerebro(prices: pd.DataFrame) -> bt.Cerebro:
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(1_000_000)
    cerebro.broker.setcommission(commission=0.001)
    return cerebro


def ours(
    prices: pd.DataFrame, start: str, analyzers: bool = False
) -> tuple[bt.Cerebro, bt.Strategy]:
    cerebro = make_cerebro(prices)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=LOOKBACK, rebalance="monthly",
                        cash_buffer=CASH_BUFFER, start=start)  # fmt: skip
    if analyzers:
        cerebro.addanalyzer(TearSheet, output=None, start=start)
        cerebro.addanalyzer(WeightsHistory)
    return cerebro, cerebro.run()[0]


def bare(prices: pd.DataFrame, weights: dict) -> tuple[bt.Cerebro, bt.Strategy]:
    cerebro = make_cerebro(prices)
    cerebro.addstrategy(PrecomputedWeights, weights=weights)
    return cerebro, cerebro.run()[0]


def best_time(func: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        func()
        times.append(time.perf_counter() - t0)
    return min(times)


def peak_memory(func: Callable[[], object]) -> float:
    gc.collect()
    tracemalloc.start()
    func()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2005-01-01")
    parser.add_argument("--end", default="2022-12-31")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)

    prices = with_history(load_sample(end=args.end), args.start, LOOKBACK)
    bars = len(prices)
    cerebro, strategy = ours(prices, args.start)
    weights = {r.date: r.target for r in strategy.records}
    ours_value = cerebro.broker.getvalue()
    bare_cerebro, bare_strategy = bare(prices, weights)

    timings = {
        "bare (precomputed weights)": best_time(lambda: bare(prices, weights), args.repeat),
        "RebalanceStrategy": best_time(lambda: ours(prices, args.start), args.repeat),
        "RebalanceStrategy + analyzers": best_time(
            lambda: ours(prices, args.start, True), args.repeat
        ),
    }
    memory = {
        "bare (precomputed weights)": peak_memory(lambda: bare(prices, weights)),
        "RebalanceStrategy": peak_memory(lambda: ours(prices, args.start)),
        "RebalanceStrategy + analyzers": peak_memory(lambda: ours(prices, args.start, True)),
    }
    windows = [trailing_returns(prices.loc[:date], LOOKBACK) for date in weights]
    fits = best_time(lambda: [clone(HRP()).fit(w) for w in windows], args.repeat)
    base = timings["bare (precomputed weights)"]
    print(f"{prices.shape[1]} assets, {bars} daily bars ({prices.index[0].date()} .. {prices.index[-1].date()}), "
          f"{len(weights)} monthly rebalances, best of {args.repeat}")  # fmt: skip
    print(f"{'run':<31} {'wall s':>7} {'bars/s':>8} {'ratio':>6} {'peak MiB':>9}")
    for name, seconds in timings.items():
        print(
            f"{name:<31} {seconds:7.2f} {bars / seconds:8.0f} {seconds / base:6.2f} {memory[name]:9.1f}"
        )
    extra = timings["RebalanceStrategy"] - base
    print(f"the {len(windows)} HRP fits alone take {fits:.2f} s: {fits / extra:.0%} of the "
          f"{extra:.2f} s RebalanceStrategy adds; without them the ratio would be "
          f"{(timings['RebalanceStrategy'] - fits) / base:.2f}")  # fmt: skip
    print(f"final value: ours {ours_value:,.0f}, bare {bare_cerebro.broker.getvalue():,.0f} "
          f"(bare rejected orders: {sum(o.status == o.Margin for o in bare_strategy._orders)})")  # fmt: skip
    print(f"process max RSS: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MiB")
    return {name: seconds / base for name, seconds in timings.items()}


if __name__ == "__main__":
    main()

"""Benchmark: RebalanceStrategy's overhead over a hand-written backtrader HRP rebalancer, N = 20 .. 500.

Both strategies run on the same close-only feeds (``add_price_feeds``) of a synthetic factor universe
(``benchmarks/universe.py``: 20 % of the assets list late, 5 % delist early; T = ``--days``) and of the
bundled 20 stocks (2005-2022): HRP on the last 252 returns of the assets with a full window, monthly
(first bar of the month), 2 % cash buffer, 10 bps commission, no analyzers (no tear sheet). The bare
rebalancer is what a backtrader user writes by hand: ``close.get(size=253)`` per feed, ``HRP().fit``,
``order_target_percent`` (sells first); the ratio ours / bare is everything seqfolio adds around the
same HRP fits. The second baseline (``benchmarks/backtest.py``'s) trades to the weights our run chose,
precomputed, so it does no allocation work: ours / precomputed includes the HRP fits. Times are CPU
seconds of this process (``time.process_time``, BLAS threads included), best of ``--repeat``, the runs
interleaved: on a machine shared with other jobs wall time swings by 30 % from run to run, CPU time
does not.

``--profile N`` prints the cProfile top of one RebalanceStrategy run at N assets instead.

Run: python benchmarks/backtest_scale.py [--assets 20 100 250 500] [--days 2500] [--repeat 1]
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import pstats
import time

import backtrader as bt
import numpy as np
import pandas as pd
from backtest import PrecomputedWeights
from universe import make_universe

from seqfolio.allocators import HRP
from seqfolio.backtest import with_history
from seqfolio.data import load_sample
from seqfolio.strategies import RebalanceStrategy, add_price_feeds, timer_kwargs

LOOKBACK = 252
CASH_BUFFER = 0.02


class BareHRP(bt.Strategy):
    """A hand-written monthly HRP rebalancer: the baseline."""

    def __init__(self) -> None:
        self.add_timer(**timer_kwargs("monthly"))

    def notify_timer(self, timer, when, *args, **kwargs) -> None:
        started = [d for d in self.datas if len(d)]
        now = max((d.datetime[0] for d in started), default=None)
        live = [d for d in started if len(d) > LOOKBACK and d.datetime[0] == now]
        if len(live) < 2:
            return
        closes = np.column_stack([np.asarray(d.close.get(size=LOOKBACK + 1)) for d in live])
        returns = pd.DataFrame(closes[1:] / closes[:-1] - 1.0, columns=[d._name for d in live])
        weights = HRP().fit(returns).weights_.to_numpy() * (1 - CASH_BUFFER)
        value = self.broker.getvalue()
        held = np.array([self.getposition(d).size * d.close[0] / value for d in live])
        for i in np.argsort(weights - held):  # sells first
            self.order_target_percent(live[i], target=float(weights[i]))


def cerebro_for(prices: pd.DataFrame) -> bt.Cerebro:
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(1_000_000)
    cerebro.broker.setcommission(commission=0.001)
    return cerebro


def run_ours(prices: pd.DataFrame) -> float:
    cerebro = cerebro_for(prices)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=LOOKBACK,
                        rebalance="monthly", cash_buffer=CASH_BUFFER)  # fmt: skip
    cerebro.run()
    return cerebro.broker.getvalue()


def run_bare(prices: pd.DataFrame) -> float:
    cerebro = cerebro_for(prices)
    cerebro.addstrategy(BareHRP)
    cerebro.run()
    return cerebro.broker.getvalue()


def run_precomputed(prices: pd.DataFrame, weights: dict) -> float:
    cerebro = cerebro_for(prices)
    cerebro.addstrategy(PrecomputedWeights, weights=weights)
    cerebro.run()
    return cerebro.broker.getvalue()


def our_targets(prices: pd.DataFrame) -> dict:
    cerebro = cerebro_for(prices)
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), lookback=LOOKBACK,
                        rebalance="monthly", cash_buffer=CASH_BUFFER)  # fmt: skip
    return {r.date: r.target for r in cerebro.run()[0].records}


def timed(func, *args) -> tuple[float, float]:
    """(CPU seconds, final value) of one run."""
    gc.collect()
    t0 = time.process_time()
    value = func(*args)
    return time.process_time() - t0, value


def universes(args: argparse.Namespace) -> dict[str, pd.DataFrame]:
    cases = {
        "bundled 20 stocks": with_history(load_sample(end="2022-12-31"), "2005-01-01", LOOKBACK)
    }
    for n in args.assets:
        cases[f"N = {n}"] = make_universe(n, args.days, seed=n)
    return cases


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, nargs="+", default=[20, 100, 250, 500])
    parser.add_argument("--days", type=int, default=2500)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--profile", type=int, default=None, help="profile one run at N assets")
    args = parser.parse_args(argv)
    if args.profile:
        prices = make_universe(args.profile, args.days, seed=args.profile)
        profile = cProfile.Profile()
        profile.runcall(run_ours, prices)
        pstats.Stats(profile).sort_stats("tottime").print_stats(30)
        return
    print(
        f"T = {args.days} days (universes), HRP monthly, lookback {LOOKBACK}, CPU s, best of {args.repeat}"
    )
    print(f"{'case':<18} {'bare HRP s':>10} {'precomp. s':>10} {'ours s':>8} {'/ bare':>7} "
          f"{'/ precomp.':>10} {'final value ours':>17}")  # fmt: skip
    for label, prices in universes(args).items():
        weights = our_targets(prices)
        bare = precomputed = ours = float("inf")
        for _ in range(args.repeat):  # interleaved: all see the same load
            bare = min(bare, timed(run_bare, prices)[0])
            precomputed = min(precomputed, timed(run_precomputed, prices, weights)[0])
            seconds, value = timed(run_ours, prices)
            ours = min(ours, seconds)
        print(f"{label:<18} {bare:10.2f} {precomputed:10.2f} {ours:8.2f} {ours / bare:7.2f} "
              f"{ours / precomputed:10.2f} {value:17,.2f}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()

"""Research throughput: the vectorised evaluator against backtrader, and a sweep's parallel scaling.

1. The same precomputed target weights (HRP, monthly, 20 assets, 2005-2022) traded by
   :func:`seqfolio.research.evaluate_weights` and by a minimal backtrader strategy that submits the
   same orders (sized on decision-bar closes, next-bar fills, 10 bps): wall time and ratio.
2. A walk-forward sweep (8 configurations rebalanced weekly x 15 windows) with 1, 2 and 4 local worker
   processes and on a 2-worker Dask ``LocalCluster`` (loopback): wall time and speed-up over 1 worker.
   Worker start-up (imports) and the main process's share (trading the targets, bootstrap statistics)
   are included, as a user would see them.

Run: python benchmarks/research.py [--skip-dask]
"""

from __future__ import annotations

import argparse
import time
import warnings

import backtrader as bt
import numpy as np
import pandas as pd

from seqfolio.data import load_sample
from seqfolio.research import evaluate_weights
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.simulation import target_weights
from seqfolio.research.walkforward import walk_forward
from seqfolio.strategies import add_price_feeds


class PrecomputedWeights(bt.Strategy):
    """Bare strategy: on each decision date, orders to the given weights (sells first), fractional."""

    params = dict(targets=None)

    def __init__(self) -> None:
        self.schedule = {d.date(): row for d, row in self.p.targets.iterrows()}

    def next(self) -> None:
        row = self.schedule.get(self.datas[0].datetime.date(0))
        if row is None:
            return
        value = self.broker.getvalue()
        orders = []
        for data in self.datas:
            price = data.close[0]
            target = row.get(data._name, 0.0) * value / price if np.isfinite(price) else 0.0
            delta = target - self.getposition(data).size
            if abs(delta) > 1e-12:
                orders.append((delta, data))
        for delta, data in sorted(orders, key=lambda o: o[0]):  # sells first
            (self.sell if delta < 0 else self.buy)(data=data, size=abs(delta))


def time_it(function, repeats: int = 1) -> float:
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - start)
    return best


def evaluator_vs_backtrader() -> dict[str, float]:
    prices = load_sample("2004-01-01", "2022-12-31")
    targets = target_weights(prices, allocator="hrp", start="2005-01-01").weights * 0.99

    def engine() -> None:
        cerebro = bt.Cerebro(stdstats=False)
        add_price_feeds(cerebro, prices.loc["2005-01-01":])
        cerebro.broker.setcash(1_000_000.0)
        cerebro.broker.setcommission(commission=0.001)
        cerebro.addstrategy(PrecomputedWeights, targets=targets)
        cerebro.run()

    seconds_engine = time_it(engine)
    seconds_fast = time_it(
        lambda: evaluate_weights(prices.loc["2005-01-01":], targets, commission=0.001), repeats=5
    )
    return {
        "bars": float(len(prices.loc["2005-01-01":])),
        "backtrader_s": seconds_engine,
        "evaluator_s": seconds_fast,
        "ratio": seconds_engine / seconds_fast,
    }


SWEEP = [
    PortfolioConfig(name, params=params, rebalance="weekly")
    for name, params in [
        ("hrp", {}),
        ("hrp", {"linkage": "average"}),
        ("herc", {}),
        ("herc", {"risk_measure": "cdar"}),
        ("mvo", {}),
        ("mvo", {"objective": "max_sharpe"}),
        ("ivp", {}),
        ("ew", {}),
    ]
]


def sweep_scaling(skip_dask: bool) -> pd.DataFrame:
    prices = load_sample("2005-01-01", "2022-12-31")
    rows = []
    baseline = None
    for workers in (1, 2, 4):
        seconds = time_it(
            lambda w=workers: walk_forward(prices, SWEEP, train=504, test=252, workers=w)
        )
        baseline = baseline or seconds
        rows.append(
            {
                "runner": f"{workers} local process(es)",
                "seconds": seconds,
                "speed-up": baseline / seconds,
            }
        )
    if not skip_dask:
        from distributed import LocalCluster

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            cluster = LocalCluster(
                n_workers=2, threads_per_worker=1, host="127.0.0.1", dashboard_address=None
            )
        try:
            seconds = time_it(
                lambda: walk_forward(
                    prices, SWEEP, train=504, test=252, scheduler=cluster.scheduler_address
                )
            )
        finally:
            cluster.close()
        rows.append(
            {
                "runner": "Dask LocalCluster, 2 workers",
                "seconds": seconds,
                "speed-up": baseline / seconds,
            }
        )
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-dask", action="store_true")
    args = parser.parse_args(argv)
    result = evaluator_vs_backtrader()
    print(
        f"Evaluator vs backtrader on the same weights ({result['bars']:.0f} bars x 20 assets): "
        f"backtrader {result['backtrader_s']:.2f} s, evaluator {result['evaluator_s'] * 1000:.1f} ms, "
        f"ratio {result['ratio']:.0f}x"
    )
    table = sweep_scaling(args.skip_dask)
    print(f"\nWalk-forward sweep: {len(SWEEP)} configurations, weekly, x 15 windows (2005-2022)")
    print(table.to_markdown(index=False, floatfmt=".2f"))


if __name__ == "__main__":
    main()

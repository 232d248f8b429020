"""Wall time of one walk-forward LSTM backtest inside backtrader, and where it goes.

Run: python benchmarks/walk_forward.py [--start 2005-01-01] [--end 2022-12-31] [--target volatility]

Runs LSTM-vol -> HRP (20 assets, monthly rebalance, quarterly retraining on 756 bars, the example's
LSTM size) and plain HRP as the baseline measured in the same run, and prints the LSTM run's split into
training, predicting, allocating and backtrader (everything else: feeds, broker, analyzers, tear-sheet
returns). Target: the LSTM run under 3 minutes on a 2-core machine. Nothing is asserted.
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from seqfolio.allocators import HRP
from seqfolio.backtest import run_backtest
from seqfolio.data import load_sample

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "examples"))
from lstm_walk_forward import forecaster  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2005-01-01")
    parser.add_argument("--end", default="2022-12-31")
    parser.add_argument("--target", default="volatility")
    parser.add_argument("--train-window", type=int, default=756)
    args = parser.parse_args(argv)

    history = max(252, args.train_window) + 1
    prices = load_sample(end=args.end)
    first = int(prices.index.searchsorted(pd.Timestamp(args.start)))
    prices = prices.iloc[max(0, first - history) :]
    common = dict(lookback=252, start=args.start, end=args.end, commission=0.001, tearsheet=None)

    t0 = time.perf_counter()
    run_backtest(prices, allocator=HRP(), **common)
    baseline = time.perf_counter() - t0

    t0 = time.perf_counter()
    result = run_backtest(
        prices, allocator=HRP(), signal=forecaster(args.target, 0), retrain="quarterly",
        train_window=args.train_window, **common,
    )  # fmt: skip
    total = time.perf_counter() - t0
    t = result.timings
    rest = total - t["training"] - t["predicting"] - t["allocating"]
    n = len(result.retrains)
    print(f"# walk-forward benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")  # fmt: skip
    print(f"data: {prices.shape[1]} assets, {args.start}..{args.end}, {len(result.rebalances)} "
          f"monthly rebalances, {n} quarterly retrains on {args.train_window} bars")  # fmt: skip
    print(f"HRP baseline (no LSTM):        {baseline:7.1f} s")
    print(
        f"LSTM-{args.target[:3]} -> HRP total:        {total:7.1f} s  ({total / baseline:.1f}x baseline)"
    )
    for name, seconds in [("training", t["training"]), ("predicting", t["predicting"]),
                          ("allocating", t["allocating"]), ("backtrader & rest", rest)]:  # fmt: skip
        print(f"  {name:<18} {seconds:7.1f} s  {seconds / total:6.1%}")
    print(f"  per retrain        {t['training'] / max(n, 1):7.2f} s")


if __name__ == "__main__":
    main()

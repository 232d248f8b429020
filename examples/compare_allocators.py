"""(b) HRP vs HERC vs mean-variance vs equal weight on the bundled data, with a tear sheet each.

The same feeds, schedule (monthly), lookback (252 days) and costs (10 bps) for every allocator; a
side-by-side metrics table against the S&P 500 index is printed and saved as markdown.

Run: python examples/compare_allocators.py [--start 2010-01-01] [--end 2022-12-31] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from seqfolio.allocators import HERC, HRP, EqualWeight, MeanVariance
from seqfolio.backtest import run_backtest, with_history
from seqfolio.data import load_benchmark, load_sample
from seqfolio.reporting import format_metrics, metrics_table


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2010-01-01")
    parser.add_argument("--end", default="2022-12-31")
    parser.add_argument("--lookback", type=int, default=252)
    parser.add_argument("--out", default="seqfolio-report/example-b")
    args = parser.parse_args(argv)

    prices = with_history(load_sample(end=args.end), args.start, args.lookback)
    benchmark = load_benchmark().rename("S&P 500")
    allocators = {
        "HRP": HRP(),
        "HERC": HERC(),
        "MVO (min variance)": MeanVariance(objective="min_variance"),
        "Equal weight": EqualWeight(),
    }
    out = Path(args.out)
    returns = {}
    for name, allocator in allocators.items():
        slug = name.split()[0].lower()
        result = run_backtest(
            prices, allocator=allocator, lookback=args.lookback, start=args.start, end=args.end,
            benchmark=benchmark, tearsheet=out / f"tearsheet_{slug}.html", name=name,
        )  # fmt: skip
        returns[name] = result.returns
        print(f"{name:>20}: {len(result.rebalances)} rebalances, rejected orders {result.n_rejected}, "
              f"tear sheet {result.tearsheet}")  # fmt: skip
    table = metrics_table(returns, benchmark)
    text = format_metrics(table).to_string()
    print(text)
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.txt").write_text(text + "\n", encoding="utf-8")
    return table


if __name__ == "__main__":
    main()

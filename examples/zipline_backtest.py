"""seqfolio on zipline-reloaded: HRP monthly on the bundled data, in one call and inside your own algorithm.

Needs the extra: pip install "seqfolio[zipline]". Runs offline; the bundle goes to a temporary
ZIPLINE_ROOT here (by default it lives under ~/.cache/seqfolio/zipline and is ingested once).

Run: python examples/zipline_backtest.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from seqfolio.backtest import with_history
from seqfolio.data import load_benchmark, load_sample
from seqfolio.zipline import attach_rebalancer, ingest_prices, run_zipline, zipline_result

START, END = "2015-01-01", "2022-12-31"


def one_call(root: Path, out: Path) -> None:
    """run_zipline: the twin of run_backtest (same inputs, same BacktestResult, same reports)."""
    prices = with_history(load_sample(end=END), START, 252)
    result = run_zipline(prices, start=START, end=END, allocator="hrp", rebalance="monthly",
                         benchmark=load_benchmark(), tearsheet=out / "tearsheet.html", root=root)  # fmt: skip
    print(
        f"{result.name}: {len(result.rebalances)} rebalances, final value {result.final_value:,.0f}"
    )
    print(f"tear sheet: {result.tearsheet}")


def own_algorithm(root: Path) -> None:
    """attach_rebalancer inside a zipline algorithm of your own, beside your own handle_data."""
    from zipline import run_algorithm
    from zipline.finance import commission, slippage

    bundle = ingest_prices(load_sample(start="2013-01-01", end=END), name="example", root=root)
    closes_seen = []

    def initialize(context):
        context.set_commission(us_equities=commission.PerDollar(cost=0.001))
        context.set_slippage(us_equities=slippage.FixedSlippage(spread=0.0))
        context.rebalancer = attach_rebalancer(context, allocator="herc", rebalance="quarterly",
                                               max_weight=0.15)  # fmt: skip

    def handle_data(context, data):  # your own code runs as before
        closes_seen.append(context.portfolio.portfolio_value)

    def analyze(context, perf):
        result = zipline_result(context.rebalancer, perf)
        print(f"{result.name} in my own algorithm: {len(result.rebalances)} rebalances, final "
              f"value {result.final_value:,.0f}, {len(closes_seen)} sessions")  # fmt: skip

    run_algorithm(start=pd.Timestamp(START), end=pd.Timestamp("2022-12-28"), initialize=initialize,
                  handle_data=handle_data, analyze=analyze, capital_base=1e6,
                  **bundle.run_kwargs())  # fmt: skip


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as tmp:
        one_call(Path(tmp) / "zipline", Path(tmp))
        own_algorithm(Path(tmp) / "zipline")

"""Print HRP, HERC, mean-variance, inverse-variance and equal weights for the bundled universe.

Run: python examples/allocation.py [--start 2018-01-01] [--end 2022-12-31]
"""

from __future__ import annotations

import argparse

import pandas as pd

from seqfolio.allocators import HERC, HRP, EqualWeight, InverseVariance, MeanVariance
from seqfolio.data import load_sample


def allocation_table(returns: pd.DataFrame) -> pd.DataFrame:
    """Weights of each allocator (columns) per asset (rows), in per cent."""
    allocators = {
        "HRP": HRP(),
        "HERC": HERC(),
        "MVO min-var": MeanVariance(objective="min_variance"),
        "MVO max-Sharpe": MeanVariance(objective="max_sharpe"),
        "IVP": InverseVariance(),
        "EW": EqualWeight(),
    }
    table = pd.DataFrame({name: a.fit(returns).weights_ for name, a in allocators.items()})
    return table * 100


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2018-01-01")
    parser.add_argument("--end", default="2022-12-31")
    args = parser.parse_args(argv)
    returns = load_sample(args.start, args.end).pct_change().iloc[1:]
    print(
        f"Weights (%) fitted on daily returns {returns.index[0].date()} .. {returns.index[-1].date()}"
    )
    print(allocation_table(returns).round(2).to_string())


if __name__ == "__main__":
    main()

"""Fit time of seqfolio's HRP, HERC and mean-variance against PyPortfolioOpt and skfolio.

Every contender fits the same synthetic factor-model returns (1000 observations; 20, 100 and 500
assets) in this process; the table shows the best-of-N wall time and the ratio peer / seqfolio
(> 1 means seqfolio is faster).

Run: python benchmarks/allocators.py [--sizes 20 100 500] [--repeats 5]
"""

from __future__ import annotations

import argparse
import time
import warnings
from collections.abc import Callable

import numpy as np
import pandas as pd

from seqfolio.allocators import HERC, HRP, MeanVariance


def factor_returns(n_assets: int, n_obs: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Returns from 5 sector factors plus a market factor, with idiosyncratic noise."""
    rng = np.random.default_rng(seed)
    market = rng.normal(0.0003, 0.01, n_obs)
    sectors = rng.normal(0, 0.007, (n_obs, 5))
    sector_of = rng.integers(0, 5, n_assets)
    beta = rng.uniform(0.5, 1.5, n_assets)
    noise = rng.normal(0, 0.012, (n_obs, n_assets)) * rng.uniform(0.5, 2, n_assets)
    values = market[:, None] * beta + sectors[:, sector_of] + noise
    return pd.DataFrame(values, columns=[f"A{i:03d}" for i in range(n_assets)])


def best_time(fit: Callable[[], object], repeats: int) -> float:
    fit()  # warm-up: imports, caches
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fit()
        times.append(time.perf_counter() - start)
    return min(times)


def contenders(returns: pd.DataFrame) -> dict[str, dict[str, Callable[[], object]]]:
    """Per task: {implementation: a zero-argument fit}."""
    from pypfopt import EfficientFrontier, HRPOpt, risk_models
    from skfolio.optimization import (
        HierarchicalEqualRiskContribution,
        HierarchicalRiskParity,
        MeanRisk,
    )

    def pypfopt_min_vol() -> object:
        cov = risk_models.CovarianceShrinkage(returns, returns_data=True).ledoit_wolf()
        return EfficientFrontier(None, cov).min_volatility()

    return {
        "HRP": {
            "seqfolio": lambda: HRP().fit(returns),
            "seqfolio pre_order": lambda: HRP(ordering="pre_order").fit(returns),
            "PyPortfolioOpt HRPOpt": lambda: HRPOpt(returns).optimize(linkage_method="single"),
            "skfolio": lambda: HierarchicalRiskParity().fit(returns),
        },
        "HERC": {
            "seqfolio": lambda: HERC().fit(returns),
            "skfolio": lambda: HierarchicalEqualRiskContribution().fit(returns),
        },
        "MVO min-variance": {
            "seqfolio": lambda: MeanVariance().fit(returns),
            "PyPortfolioOpt": pypfopt_min_vol,
            "skfolio": lambda: MeanRisk().fit(returns),
        },
    }


def run(sizes: list[int], repeats: int) -> pd.DataFrame:
    rows = []
    for n_assets in sizes:
        returns = factor_returns(n_assets)
        for task, fits in contenders(returns).items():
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                timings = {name: best_time(fit, repeats) for name, fit in fits.items()}
            ours = timings["seqfolio"]
            for name, seconds in timings.items():
                rows.append(
                    {
                        "task": task,
                        "assets": n_assets,
                        "implementation": name,
                        "ms": round(seconds * 1000, 2),
                        "peer / seqfolio": round(seconds / ours, 2),
                    }
                )
            print(f"  done: {task} at {n_assets} assets", flush=True)
    return pd.DataFrame(rows)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[20, 100, 500])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    table = run(args.sizes, args.repeats)
    print()
    print("Fit time, 1000 observations (best of", args.repeats, "runs)")
    print(table.to_markdown(index=False))  # tabulate is a dependency


if __name__ == "__main__":
    main()

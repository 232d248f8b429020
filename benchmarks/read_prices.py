"""Benchmark: ``seqfolio.data.read_prices`` against a bare ``pandas.read_csv``, in one run.

The baseline reads the same file with ``pd.read_csv(path, index_col=0, parse_dates=True)``: no
validation at all. ``read_prices`` adds every check of docs/bad_inputs.md (headers, dates, prices,
gaps, splits, ...); the ratio shows what they cost. Three files are written to a temporary folder:
a wide file (synthetic random walks, with gaps, listings and delistings), the same as gzip, and a
long file (``date, symbol, close``).

Prints wall time (best of ``--repeat``) and the ratio read_prices / pandas.

Run: python benchmarks/read_prices.py [--rows 8000] [--assets 500] [--repeat 3]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from functools import partial
from pathlib import Path

import numpy as np
import pandas as pd

from seqfolio.data import read_prices


def synthetic_prices(rows: int, assets: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("1990-01-01", periods=rows, name="date")
    steps = rng.normal(0.0003, 0.015, (rows, assets))
    prices = pd.DataFrame(100 * np.exp(np.cumsum(steps, axis=0)), index=index,
                          columns=[f"S{i:04d}" for i in range(assets)])  # fmt: skip
    prices.iloc[: rows // 4, : assets // 10] = np.nan  # listed late
    prices.iloc[-rows // 5 :, -assets // 10 :] = np.nan  # delisted
    return prices.round(4)


def bare_wide(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, index_col=0, parse_dates=True)


def bare_long(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, parse_dates=["date"]).pivot(
        index="date", columns="symbol", values="close"
    )


def best_of(read: Callable[[], object], repeat: int) -> float:
    read()  # warm-up: imports, file cache
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        read()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8000)
    parser.add_argument("--assets", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    prices = synthetic_prices(args.rows, args.assets)
    with tempfile.TemporaryDirectory() as folder:
        wide, gz, long = (
            Path(folder, "wide.csv"),
            Path(folder, "wide.csv.gz"),
            Path(folder, "long.csv"),
        )
        prices.to_csv(wide)
        prices.to_csv(gz)
        stacked = prices.iloc[:, : max(args.assets // 10, 2)].stack().rename("close")
        stacked.rename_axis(["date", "symbol"]).reset_index().to_csv(long, index=False)
        print(f"{args.rows} rows x {args.assets} assets (long file: {len(stacked)} rows), "
              f"best of {args.repeat}")  # fmt: skip
        print(f"{'file':<10}{'pandas s':>10}{'read_prices s':>15}{'ratio':>8}")
        for name, path in (("wide", wide), ("wide .gz", gz), ("long", long)):
            bare = partial(bare_long if name == "long" else bare_wide, path)
            baseline = best_of(bare, args.repeat)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # gap / split warnings are part of the work
                ours = best_of(partial(read_prices, path), args.repeat)
            print(f"{name:<10}{baseline:>10.3f}{ours:>15.3f}{ours / baseline:>8.2f}")


if __name__ == "__main__":
    main()

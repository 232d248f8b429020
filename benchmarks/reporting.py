"""Benchmark: the report files on their own -- QuantStats' tear sheet and ``weights.png``.

Tear sheet: ``seqfolio.reporting.tearsheet`` (QuantStats rendering alone, no backtest) on the
equal-weight daily returns of the bundled 20 stocks (2005-2022, the default run's length) and of a
synthetic 500-asset universe (``benchmarks/universe.py``, T = 2,500), against the bundled S&P 500:
its own figure, the time a backtest's ``TearSheet`` analyzer adds to ``cerebro.run``. (Its cost
depends on the length of the returns, not on the number of assets.)

weights.png: ``plot_weights`` on daily weights (monthly Dirichlet targets held, late listings) at
N = 20, 100, 500 against the former chart (one area and legend entry per asset).

Times are CPU seconds of this process (``time.process_time``: on a shared machine wall time swings
by 30 % from run to run), best of ``--repeat``; weights.png's baseline and candidate interleaved.

Run: python benchmarks/reporting.py [--repeat 3] [--days 2500]
"""

from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.figure import Figure
from universe import make_universe

from seqfolio.data import load_benchmark, load_sample
from seqfolio.reporting import plot_weights, tearsheet


def timed(func: Callable[..., object], *args: object) -> float:
    t0 = time.process_time()
    func(*args)
    return time.process_time() - t0


def equal_weight_returns(prices: pd.DataFrame, name: str) -> pd.Series:
    returns = prices.pct_change(fill_method=None).iloc[1:].mean(axis=1, skipna=True).fillna(0.0)
    return returns.rename(name)


def daily_weights(prices: pd.DataFrame, seed: int = 0) -> pd.DataFrame:
    """Monthly Dirichlet targets over the listed assets, held daily (0 before listing)."""
    rng = np.random.default_rng(seed)
    listed = prices.notna().to_numpy()
    months = prices.index.to_period("M")
    rows = np.zeros(prices.shape)
    for month in months.unique():
        at = np.flatnonzero(months == month)
        alive = listed[at[0]]
        target = np.zeros(prices.shape[1])
        target[alive] = rng.dirichlet(np.full(alive.sum(), 0.5)) * 0.98
        rows[at] = target
    return pd.DataFrame(rows, index=prices.index, columns=prices.columns)


def former_plot_weights(weights: pd.DataFrame, output: Path) -> None:
    """The chart before grouping: one stacked area and legend entry per asset."""
    data = weights.fillna(0.0).clip(lower=0.0)
    data = data.loc[:, data.sum() > 0]
    fig = Figure(figsize=(11, 5.5))
    ax = fig.subplots()
    colors = [colormaps["tab20"](i % 20) for i in range(data.shape[1])]
    ax.stackplot(data.index, data.to_numpy().T, labels=list(data.columns), colors=colors,
                 linewidth=0)  # fmt: skip
    ax.set_ylim(0, max(1.0, float(data.sum(axis=1).max())))
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    fig.savefig(output, dpi=100)


def tearsheet_rows(args: argparse.Namespace, folder: Path) -> list[tuple[str, float]]:
    bench = load_benchmark().rename("S&P 500")
    cases = {
        "bundled 20 stocks, 2005-2022": equal_weight_returns(
            load_sample("2004-12-31", "2022-12-31"), "EW 20"
        ),
        f"synthetic 500 assets, T = {args.days}": equal_weight_returns(
            make_universe(500, args.days, seed=1), "EW 500"
        ),
    }
    tearsheet(cases["bundled 20 stocks, 2005-2022"], bench, folder / "warm.html")  # imports, fonts
    return [
        (
            label,
            min(timed(tearsheet, returns, bench, folder / "t.html") for _ in range(args.repeat)),
        )
        for label, returns in cases.items()
    ]


def weights_rows(args: argparse.Namespace, folder: Path) -> list[tuple[str, float, float]]:
    rows = []
    for n in (20, 100, 500):
        weights = daily_weights(make_universe(n, args.days, seed=2))
        old = new = float("inf")
        for _ in range(args.repeat):
            old = min(old, timed(former_plot_weights, weights, folder / "old.png"))
            new = min(new, timed(plot_weights, weights, folder / "new.png"))
        rows.append((f"N = {n}, T = {args.days}", old, new))
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--days", type=int, default=2500)
    args = parser.parse_args(argv)
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        sheets = tearsheet_rows(args, folder)
        charts = weights_rows(args, folder)
    print(f"tear sheet (QuantStats rendering alone), CPU seconds, best of {args.repeat}")
    for label, seconds in sheets:
        print(f"  {label:<34} {seconds:8.2f}")
    print(f"weights.png, CPU seconds, best of {args.repeat}")
    print(f"  {'case':<34} {'one area per asset':>18} {'seqfolio':>9} {'ratio':>6}")
    for label, old, new in charts:
        print(f"  {label:<34} {old:18.2f} {new:9.2f} {new / old:6.2f}")


if __name__ == "__main__":
    main()

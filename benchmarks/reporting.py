"""Benchmark: the report files on their own -- QuantStats' tear sheet and ``weights.png``.

Tear sheet: ``seqfolio.reporting.tearsheet`` (QuantStats rendering alone, no backtest) on the
equal-weight daily returns of the bundled 20 stocks (2005-2022, the default run's length) and of a
synthetic 500-asset universe (``benchmarks/universe.py``, T = 2,500), against the bundled S&P 500.
Baseline: the same call drawing on plain Agg, whose canvas redraws every figure after
``pyplot.savefig``; the two reports are checked byte-identical (fixed SVG salt and date).

weights.png: ``plot_weights`` on daily weights (monthly Dirichlet targets held, late listings) at
N = 20, 100, 500 against the former chart (one area and legend entry per asset).

Baseline and candidate are interleaved in one process (best of ``--repeat``), so the ratios hold
under load; absolute seconds do not.

Run: python benchmarks/reporting.py [--repeat 3] [--days 2500]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import matplotlib
import numpy as np
import pandas as pd
from matplotlib import colormaps
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from universe import make_universe

from seqfolio import _report_canvas
from seqfolio.data import load_benchmark, load_sample
from seqfolio.reporting import plot_weights, tearsheet


def timed(func: Callable[..., object], *args: object) -> float:
    t0 = time.perf_counter()
    func(*args)
    return time.perf_counter() - t0


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


def tearsheet_rows(args: argparse.Namespace, folder: Path) -> list[tuple[str, float, float]]:
    bench = load_benchmark().rename("S&P 500")
    cases = {
        "bundled 20 stocks, 2005-2022": equal_weight_returns(
            load_sample("2004-12-31", "2022-12-31"), "EW 20"
        ),
        f"synthetic 500 assets, T = {args.days}": equal_weight_returns(
            make_universe(500, args.days, seed=1), "EW 500"
        ),
    }
    ours = _report_canvas.FigureCanvas.draw_idle
    rows = []
    for label, returns in cases.items():
        tearsheet(returns, bench, folder / "warm.html")  # imports, font cache

        old = new = float("inf")
        for _ in range(args.repeat):  # interleaved: both see the same load
            _report_canvas.FigureCanvas.draw_idle = FigureCanvasAgg.draw_idle
            try:
                old = min(old, timed(tearsheet, returns, bench, folder / "agg.html"))
            finally:
                _report_canvas.FigureCanvas.draw_idle = ours
            new = min(new, timed(tearsheet, returns, bench, folder / "ours.html"))
        if _digest(folder / "agg.html") != _digest(folder / "ours.html"):
            raise SystemExit(f"{label}: the two tear sheets differ")
        rows.append((label, old, new))
    return rows


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


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
    os.environ["SOURCE_DATE_EPOCH"] = "0"  # SVG metadata date: reports comparable byte for byte
    matplotlib.rcParams["svg.hashsalt"] = "seqfolio-benchmark"
    warnings.simplefilter("ignore")
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        tables = {
            "tear sheet (QuantStats rendering alone)": ("plain Agg", tearsheet_rows(args, folder)),
            "weights.png": ("one area per asset", weights_rows(args, folder)),
        }
    for title, (baseline, rows) in tables.items():
        print(f"{title}, best of {args.repeat}")
        print(f"  {'case':<34} {baseline + ' s':>20} {'seqfolio s':>11} {'ratio':>6}")
        for label, old, new in rows:
            print(f"  {label:<34} {old:20.2f} {new:11.2f} {new / old:6.2f}")
    print("tear sheets byte-identical to the baseline's: yes")


if __name__ == "__main__":
    main()

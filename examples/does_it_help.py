"""Does an LSTM help? LSTM pipelines against HRP, HERC, mean-variance and 1/N, walk-forward, with seeds.

A research-path study (no backtrader): the bundled 20 stocks, 756-bar training and 252-bar test windows,
monthly rebalancing, 10 bps. LSTM-vol forecasts feed HRP and HERC (one trained model serves both), and
the direct-weights LSTM (Zhang et al.) allocates alone; each LSTM configuration runs with ``--seeds``
seeds (its network settings are the command line's, fixed in advance: nothing is tuned here). Every
model is fitted on its window's training part only, purged by its label horizon, and retrained
quarterly inside the test part.

Prints, for each configuration, the out-of-sample Sharpe ratio (for LSTM configurations: the mean and
spread across seeds), its 95 % stationary-bootstrap interval and the deflated Sharpe ratio; then the
probability of backtest overfitting (CSCV, 16 blocks) over all runs. Fitted models are cached under
``OUT/models``, so a rerun takes seconds.

Run: python examples/does_it_help.py [--seeds 3] [--workers 2] [--out seqfolio-does-it-help]
"""

from __future__ import annotations

import argparse
import re
import time

import pandas as pd

from seqfolio.data import load_sample
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.report import write_walkforward_report
from seqfolio.research.walkforward import walk_forward

BASELINES = ("hrp", "herc", "mvo", "ew")
MODELS = (("hrp", "lstm-vol"), ("herc", "lstm-vol"), ("lstm-weights", None))


def configs() -> list[PortfolioConfig]:
    lstm = [PortfolioConfig(allocator, signal=signal) for allocator, signal in MODELS]
    return lstm + [PortfolioConfig(name) for name in BASELINES]


def table(report) -> pd.DataFrame:  # noqa: ANN001
    """One row per configuration: Sharpe (mean over seeds), seed spread, bootstrap interval, DSR."""
    summary = report.summary.rename_axis(None).copy()
    summary["config"] = [re.sub(r" ?\[seed=\d+\]|,?seed=\d+", "", label) for label in summary.index]
    grouped = summary.groupby("config", sort=False)
    rows = pd.DataFrame(
        {
            "seeds": grouped.size(),
            "Sharpe": grouped["sharpe"].mean(),
            "seed sd": grouped["sharpe"].std(ddof=1),
            "95% low": grouped["sharpe_ci_low"].mean(),
            "95% high": grouped["sharpe_ci_high"].mean(),
            "DSR": grouped["dsr"].mean(),
        }
    )
    return rows.sort_values("Sharpe", ascending=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--out", default="seqfolio-does-it-help")
    args = parser.parse_args()
    prices = load_sample("2005-01-01", "2022-12-31")
    t0 = time.perf_counter()
    report = walk_forward(
        prices, configs(), train=756, test=252, seeds=args.seeds, workers=args.workers,
        cache_dir=f"{args.out}/models", progress=True,
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    write_walkforward_report(report, args.out)
    first, last = report.windows[0], report.windows[-1]
    print(
        f"{len(report.windows)} windows, out of sample {prices.index[first.test_start].date()} .. "
        f"{prices.index[last.test_stop - 1].date()}; {len(report.retrains)} model fits or loads; "
        f"{seconds:.0f} s"
    )
    print(table(report).to_markdown(floatfmt=".2f", missingval="–"))  # one seed: no spread
    verdict = report.overfitting
    print(
        f"PBO over all {verdict['trials']} runs: {verdict['pbo']:.2f} (CSCV, {verdict['n_blocks']} "
        f"blocks); best run {verdict['best']}: Sharpe {verdict['best_sharpe']:.2f}, deflated "
        f"Sharpe {verdict['dsr']:.3f}"
    )


if __name__ == "__main__":
    main()

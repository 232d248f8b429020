"""An LSTM walk-forward study on the research path: its cost, and what the model cache saves.

LSTM-vol feeding HRP and HERC (the same network settings: one model serves both), bundled 20 stocks,
2005-2019 (the search part of a default ``tune``), 756-bar training and 252-bar test windows,
quarterly retraining, the command line's network (window 40, hidden 16, 8 epochs, stride 3):

1. first run with an empty ``cache_dir``: every model is trained once (the second configuration
   loads the first one's);
2. the same study again: every model is loaded (a resumed or repeated study);
3. the first run against the same study without a cache (both configurations train).

Run: python benchmarks/research_lstm.py [--workers 1]
"""

from __future__ import annotations

import argparse
import tempfile
import time

from seqfolio.data import load_sample
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.walkforward import walk_forward


def timed(prices, configs, **kw) -> tuple[float, object]:  # noqa: ANN001
    t0 = time.perf_counter()
    report = walk_forward(prices, configs, train=756, test=252, **kw)
    return time.perf_counter() - t0, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    prices = load_sample("2005-01-01", "2019-05-31")
    configs = [PortfolioConfig(a, signal="lstm-vol") for a in ("hrp", "herc")]
    with tempfile.TemporaryDirectory() as cache:
        first, report = timed(prices, configs, cache_dir=cache, workers=args.workers)
        again, second = timed(prices, configs, cache_dir=cache, workers=args.workers)
    plain, _ = timed(prices, configs, workers=args.workers)
    fits = report.retrains["source"].value_counts().to_dict()
    print(f"{len(report.windows)} windows, {len(report.retrains)} model uses {fits}")
    print(f"no cache (both configurations train): {plain:.0f} s")
    print(f"empty cache (one training serves both): {first:.0f} s ({plain / first:.2f}x faster)")
    print(
        f"repeated study (all loaded: {set(second.retrains['source'])}): {again:.0f} s "
        f"({plain / again:.1f}x faster than no cache)"
    )
    print(report.summary[["sharpe", "dsr"]].round(3).to_markdown())
    print("(wall times measured on a shared, loaded 2-core machine; ratios from the same process)")


if __name__ == "__main__":
    main()

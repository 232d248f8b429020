"""LSTM search throughput: a population of K forecasters trained at once against K separate fits.

Run: python benchmarks/lstm_search.py [--members 1 4 16 64] [--threads 1 2] [--hidden 32] [--epochs 2]

1. Population throughput: training samples per second of ``fit_population`` on K forecasters (seeds
   0..K-1, everything else equal) against the same K forecasters fitted one after another with
   ``LSTMForecaster.fit`` — same data (20 assets × 3 years of the bundled sample), same epochs (no
   early stopping), wall time of the whole fits (data preparation included). A loop of separate fits
   runs at the same samples/s for any K, so it is timed on at most ``--loop-cap`` fits. Baseline and
   population alternate, best of ``--repeats`` each; samples per second of wall time and of the
   process's CPU time (robust to other processes on a shared machine). Target: K=16 on 1 thread >=
   4x the samples/s of the loop.

Prints figures measured in this run only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import datetime, timezone

import torch
from tabulate import tabulate

from seqfolio.data import load_sample
from seqfolio.signals import LSTMForecaster, fit_population


def _members(k: int, threads: int, hidden: int, epochs: int) -> list[LSTMForecaster]:
    common = dict(target="volatility", hidden_size=hidden, max_epochs=epochs, patience=epochs + 1,
                  sample_stride=5, ffd_d=None, n_threads=threads, device="cpu")  # fmt: skip
    return [LSTMForecaster(random_state=s, **common) for s in range(k)]


def _rates(fit, members):  # type: ignore[no-untyped-def]
    """Training samples per second of wall time and per second of this process's CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    samples = sum(m.training_.samples for m in fit(members))
    return samples / (time.perf_counter() - wall), samples / (time.process_time() - cpu)


def population_throughput(prices, *, sizes, threads, hidden, epochs, loop_cap, repeats):  # type: ignore[no-untyped-def]
    rows = []
    for n_threads in threads:
        for k in sizes:
            loop, population = (0.0, 0.0), (0.0, 0.0)
            for _ in range(repeats):  # alternate, keep the best of each
                rates = _rates(
                    lambda ms: [m.fit(prices) for m in ms],
                    _members(min(k, loop_cap), n_threads, hidden, epochs),
                )
                loop = (max(loop[0], rates[0]), max(loop[1], rates[1]))
                rates = _rates(
                    lambda ms: fit_population(ms, prices, n_threads=n_threads),  # noqa: B023
                    _members(k, n_threads, hidden, epochs),
                )
                population = (max(population[0], rates[0]), max(population[1], rates[1]))
            rows.append(
                [n_threads, k, f"{loop[0]:,.0f}", f"{population[0]:,.0f}",
                 f"{population[0] / loop[0]:.2f}x", f"{population[1] / loop[1]:.2f}x"]
            )  # fmt: skip
            print(f"  threads={n_threads} K={k}: wall {loop[0]:,.0f} vs {population[0]:,.0f}/s, "
                  f"cpu {loop[1]:,.0f} vs {population[1]:,.0f}/s", flush=True)  # fmt: skip
    print()
    headers = ["threads", "K", "loop of fits (samples/s)", "population (samples/s)", "ratio (wall)",
               "ratio (CPU time)"]  # fmt: skip
    print(tabulate(rows, headers=headers, colalign=("right",) * 6))
    print("The CPU-time ratio is the robust one on a shared machine (with 2 threads it sums both).")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--loop-cap", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    prices = load_sample("2017-01-01", "2019-12-31")
    print(f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC, torch {torch.__version__}, "
          f"{platform.processor() or platform.machine()}, {prices.shape[1]} assets × {len(prices)} days, "
          f"hidden={args.hidden}, window=60, batch_size=256, sample_stride=5, {args.epochs} epochs")  # fmt: skip
    print("\n1. Population vs a loop of separate fits (training samples per second, wall time)")
    population_throughput(
        prices,
        sizes=args.members,
        threads=args.threads,
        hidden=args.hidden,
        epochs=args.epochs,
        loop_cap=args.loop_cap,
        repeats=args.repeats,
    )


if __name__ == "__main__":
    main()

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

2. Search throughput (``--search``): ``seqfolio.research.tune`` on the bundled data (2005-2022, 20 %
   hold-out, 756-bar training and 252-bar test windows: 11 search windows), an LSTM-vol space whose
   trials share network shapes (HRP or HERC; hidden 8 or 16 padded into one population; learning rate;
   seed), quarterly retraining, the default Wilcoxon pruner, ``--batch`` trials proposed at once. Run
   with the population trainer on ``--trials`` trials and with a loop of single fits on
   ``--loop-trials`` of them; trials per hour end to end are extrapolated to 1,000 trials, with the
   cost split by stage (feature building, training, forecasting, allocation and evaluation, the rest).

Prints figures measured in this run only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import platform
import time
from datetime import UTC, datetime

import pandas as pd
import torch
from tabulate import tabulate

from seqfolio.data import load_sample
from seqfolio.signals import LSTMForecaster, fit_population


def _members(k: int, threads: int, hidden: int, epochs: int) -> list[LSTMForecaster]:
    common = dict(target="volatility", window=60, hidden_size=hidden, max_epochs=epochs,
                  patience=epochs + 1, sample_stride=5, ffd_d=None, n_threads=threads,
                  device="cpu")  # fmt: skip
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


SEARCH_SPACE = dict(
    allocators=("hrp", "herc"),
    lookback=(252, 252, 1),
    rebalance=("monthly",),
    max_weight=(None,),
    signals=("lstm-vol",),
    retrain=("quarterly",),
    model={"hidden_size": (8, 16), "learning_rate": (1e-3, 1e-2), "seed": tuple(range(10)),
           "max_epochs": (4,), "ffd": (False,)},
)  # fmt: skip


class StageClock:
    """CPU seconds spent in each stage, by wrapping the functions that do the work (in-process).

    A stage nested in another (features built inside a fit) is counted in its own stage only.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._undo: list[tuple[object, str, object]] = []
        self._children: list[float] = []  # CPU seconds of timed calls nested in the open ones

    def wrap(self, owner: object, name: str, stage: str) -> None:
        real = getattr(owner, name)

        def timed(*args, **kwargs):  # type: ignore[no-untyped-def]
            start = time.process_time()
            self._children.append(0.0)
            try:
                return real(*args, **kwargs)
            finally:
                spent = time.process_time() - start
                nested = self._children.pop()
                self.seconds[stage] = self.seconds.get(stage, 0.0) + spent - nested
                if self._children:
                    self._children[-1] += spent

        self._undo.append((owner, name, real))
        setattr(owner, name, timed)

    def restore(self) -> None:
        for owner, name, real in reversed(self._undo):
            setattr(owner, name, real)


def _search(prices, trials: int, batch: int, population: bool):  # type: ignore[no-untyped-def]
    """One tune run; returns wall seconds, CPU seconds by stage and the result."""
    import seqfolio.research.walkforward as walkforward
    from seqfolio.allocators._base import BaseAllocator
    from seqfolio.research.tuning import SearchSpace, tune
    from seqfolio.signals import forecaster

    clock = StageClock()
    clock.wrap(forecaster, "build_features", "features")
    clock.wrap(LSTMForecaster, "fit", "training")
    clock.wrap(LSTMForecaster, "predict", "forecasting")
    clock.wrap(LSTMForecaster, "predict_history", "forecasting")
    clock.wrap(BaseAllocator, "fit", "allocation")
    clock.wrap(walkforward, "evaluate_windows", "evaluation")
    import seqfolio.signals as signals

    clock.wrap(signals, "fit_population", "training")
    try:
        wall, cpu = time.perf_counter(), time.process_time()
        result = tune(prices, n_trials=trials, batch_size=batch, space=SearchSpace(**SEARCH_SPACE),
                      population=population, seed=0)  # fmt: skip
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    finally:
        clock.restore()
    stages = dict(clock.seconds)
    stages["other (pruning, bookkeeping)"] = cpu - sum(stages.values())
    return wall, cpu, stages, result


def search_throughput(trials: int, loop_trials: int, batch: int) -> None:  # type: ignore[no-untyped-def]
    prices = load_sample("2005-01-01", "2022-12-31")
    rows, splits = [], {}
    for label, n, population in (
        ("population", trials, True),
        ("loop of single fits", loop_trials, False),
    ):
        wall, cpu, stages, result = _search(prices, n, min(batch, n), population)
        states = result.trials["state"].value_counts().to_dict()
        per_hour = n / wall * 3600
        rows.append([label, n, f"{states}", f"{wall:.0f}", f"{per_hour:.0f}",
                     f"{1000 / per_hour:.1f}"])  # fmt: skip
        splits[label] = {k: f"{v:.0f} s ({v / cpu:.0%})" for k, v in stages.items()}
    print(tabulate(rows, headers=["trainer", "trials", "states", "wall s", "trials / hour",
                                  "hours for 1,000"], tablefmt="github"))  # fmt: skip
    print("\nCPU seconds by stage:")
    print(pd.DataFrame(splits).to_markdown())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, nargs="+", default=[1, 4, 16, 64])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--hidden", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--loop-cap", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--search", action="store_true", help="run section 2 only")
    parser.add_argument("--trials", type=int, default=16)
    parser.add_argument("--loop-trials", type=int, default=4)
    parser.add_argument("--batch", type=int, default=8)
    args = parser.parse_args()
    if args.search:
        print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, torch {torch.__version__}")
        print("\n2. Search throughput (tune, LSTM-vol space, 11 windows)")
        search_throughput(args.trials, args.loop_trials, args.batch)
        return
    prices = load_sample("2017-01-01", "2019-12-31")
    print(f"{datetime.now(UTC):%Y-%m-%d %H:%M} UTC, torch {torch.__version__}, "
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

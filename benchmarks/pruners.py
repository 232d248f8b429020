"""Which Optuna pruner stops more trials without losing the best configuration? A replayed study.

1. A study runs with no pruning: every trial is scored on every walk-forward window (bundled data,
   the search part before a 20 % hold-out, the default allocator space; or ``--lstm``: LSTM_SPACE
   with small networks, much slower).
2. The recorded window scores are replayed, trial by trial in the same order, through
   ``run_batched_study`` with each pruner (the sampler does not matter: each replayed trial is the
   recorded one). For each: trials pruned, windows evaluated (the work done, vs the full study),
   and whether the full study's best trial (highest mean window Sharpe) survived and stayed best.

Run: python benchmarks/pruners.py [--trials 40] [--train 756] [--test 126] [--seed 0] [--lstm]
"""

from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass

import numpy as np
import optuna
import pandas as pd

from seqfolio.data import load_sample
from seqfolio.research.parallel import executor
from seqfolio.research.tuning import LSTM_SPACE, SearchSpace, make_pruner, run_batched_study, tune


def _recorded(shared: np.ndarray, point: tuple[int, int]) -> float:
    return float(shared[point])


@dataclass
class Replay:
    """Trial k of the replay reports the recorded scores of trial k of the full study."""

    recorded: np.ndarray

    @property
    def n_windows(self) -> int:
        return self.recorded.shape[1]

    def suggest(self, trial: optuna.Trial) -> int:
        return trial.number

    def task(self, params: int, window: int):  # noqa: ANN201 - (function, argument)
        return _recorded, (params, window)

    def scores(self, params: int, payloads: list[float]) -> list[float]:
        return list(payloads)


def replay(scores: np.ndarray, pruner: str, prune_after: int, prune_every: int | None) -> dict:
    study = optuna.create_study(direction="maximize", pruner=make_pruner(pruner, prune_after))
    with executor(1, shared=scores) as run:
        run_batched_study(
            study, Replay(scores), n_trials=len(scores), run=run, prune_after=prune_after,
            prune_every=prune_every,
        )  # fmt: skip
    windows = sum(len(t.user_attrs["window_scores"]) for t in study.trials)
    best = int(np.argmax(scores.mean(axis=1)))
    return {
        "pruner": f"{pruner} (after {prune_after}, every {prune_every or 'rest'})",
        "pruned": sum(t.state.name == "PRUNED" for t in study.trials),
        "windows run": f"{windows} / {scores.size} ({windows / scores.size:.0%})",
        "best kept": study.trials[best].state.name == "COMPLETE",
        "replay's best = full best": study.best_trial.number == best,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=40)
    parser.add_argument("--train", type=int, default=756)
    parser.add_argument("--test", type=int, default=126)
    parser.add_argument("--seed", type=int, default=0, help="sampler seed of the full study")
    parser.add_argument("--lstm", action="store_true", help="search LSTM_SPACE (slow)")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    logging.getLogger("seqfolio").setLevel(logging.ERROR)  # skipped max-Sharpe decisions
    prices = load_sample("2005-01-01", "2022-12-31")
    space = LSTM_SPACE if args.lstm else SearchSpace()
    t0 = time.perf_counter()
    full = tune(
        prices, n_trials=args.trials, train=args.train, test=args.test, space=space,
        pruner="none", holdout=0.2, seed=args.seed,
        batch_size=1,  # the recorded studies (README's table) proposed one trial at a time
    )  # fmt: skip
    seconds = time.perf_counter() - t0
    trials = full.study.trials
    scores = np.array([t.user_attrs["window_scores"] for t in trials], dtype=float)
    scores[~np.isfinite(scores)] = -10.0  # as the study reports a window without a Sharpe ratio
    print(
        f"full study: {len(trials)} trials x {scores.shape[1]} windows in {seconds:.0f} s "
        f"(measured under load); best trial {int(np.argmax(scores.mean(axis=1)))}"
    )
    rows = [
        replay(scores, "median", 2, None),
        replay(scores, "median", 2, 1),
        replay(scores, "median", 4, 1),
        replay(scores, "wilcoxon", 4, 1),
        replay(scores, "wilcoxon", 6, 1),
    ]
    print(pd.DataFrame(rows).to_markdown(index=False))


if __name__ == "__main__":
    main()

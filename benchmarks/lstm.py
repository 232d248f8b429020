"""LSTM training benchmarks: trainer overhead, warm-start savings, one default fit's wall time.

Run: python benchmarks/lstm.py [--threads 1] [--epochs 3]

1. Throughput: samples/s of :func:`seqfolio.signals.trainer.train` (windows gathered on the fly,
   gradient clipping, per-epoch bookkeeping) against a bare torch loop (Adam + loss + clipping) over the
   *same* model, batches and order, pre-gathered. Target: ratio >= 0.9.
2. Warm start: after a fit on 693 days, the data grow by a quarter (63 days). A cold network trains on
   the 756 days until early stopping; its best validation loss L* is the bar. A warm network (the
   previous fit's weights) trains on the same data until its validation loss reaches L*. Cost = training
   samples processed until L* is first reached (validation checked every quarter epoch). Repeated at
   several refit dates, because the answer depends on the period. Target: cold / warm >= 3.
3. One ``LSTMForecaster(target="volatility").fit`` at :data:`SIZE` on 20 assets × 756 days.

Prints figures measured in this run only; nothing is asserted.
"""

from __future__ import annotations

import argparse
import copy
import platform
import time
from datetime import UTC, datetime

import numpy as np
import torch

from seqfolio.data import load_sample
from seqfolio.signals import LSTMForecaster
from seqfolio.signals._torch import compute_threads
from seqfolio.signals.datasets import PanelWindows
from seqfolio.signals.models import PanelLSTM
from seqfolio.signals.trainer import evaluate, train

SIZE = dict(window=60, hidden_size=32, max_epochs=20, sample_stride=1, random_state=0)
"""The network every part measures: the README's figures were taken at this size (the estimator's
former defaults; they are now the smaller network ``seqfolio backtest`` trains)."""


def bare_loop(
    model, loss_fn, batches, *, epochs: int, learning_rate: float, grad_clip: float
) -> int:  # type: ignore[no-untyped-def]
    """The baseline: a minimal torch loop over pre-gathered (x, y) batches. Returns samples processed."""
    optimizer = torch.optim.Adam(model.parameters(), lr=learning_rate)
    model.train()
    seen = 0
    for _ in range(epochs):
        for x, y in batches:
            optimizer.zero_grad(set_to_none=True)
            loss = loss_fn(model(x), y)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
            optimizer.step()
            seen += len(y)
    return seen


def throughput(prices, *, epochs: int, threads: int, repeats: int = 2) -> None:  # type: ignore[no-untyped-def]
    est = LSTMForecaster(target="volatility", **SIZE)
    est._validate_params()
    data = est._prepare(prices, warm=False)
    dataset = PanelWindows(data.features, data.labels, data.train, est.window, torch.device("cpu"))
    loss_fn = est._target().loss()
    n = len(dataset)
    order = torch.randperm(n, generator=torch.Generator().manual_seed(0))
    batches = [dataset.batch(order[i : i + est.batch_size]) for i in range(0, n, est.batch_size)]
    batches = [b for b in batches if len(b[1]) >= 2]

    best_ours, best_bare = 0.0, 0.0
    for _ in range(repeats):  # alternate, keep the best of each (the machine is shared)
        torch.manual_seed(0)
        model = PanelLSTM(data.features.shape[2], est.hidden_size)
        start = time.perf_counter()
        seen = bare_loop(
            model,
            loss_fn,
            batches,
            epochs=epochs,
            learning_rate=est.learning_rate,
            grad_clip=est.grad_clip,
        )
        best_bare = max(best_bare, seen / (time.perf_counter() - start))

        torch.manual_seed(0)
        model = PanelLSTM(data.features.shape[2], est.hidden_size)
        start = time.perf_counter()
        with compute_threads(threads, torch.device("cpu")) as workers:
            result = train(
                model,
                loss_fn,
                dataset,
                None,
                max_epochs=epochs,
                batch_size=est.batch_size,
                learning_rate=est.learning_rate,
                patience=None,
                grad_clip=est.grad_clip,
                generator=torch.Generator().manual_seed(0),
                workers=workers,
            )
        best_ours = max(best_ours, result.samples / (time.perf_counter() - start))
    print(
        f"1. throughput ({n} samples, batch {est.batch_size}, window {est.window}, hidden {est.hidden_size}, "
        f"{epochs} epochs, {threads} thread(s), best of {repeats}):\n"
        f"   bare torch loop {best_bare:,.0f} samples/s ({best_bare / est.batch_size:.1f} steps/s); "
        f"seqfolio trainer {best_ours:,.0f} samples/s -> ratio {best_ours / best_bare:.2f} (target >= 0.9)"
    )


def _samples_to_reach(history: list[dict], level: float) -> int | None:
    for row in history:
        if row["validation_loss"] <= level:
            return int(row["samples"])
    return None


def warm_vs_cold(prices, *, max_epochs: int = 20, checks_per_epoch: int = 4) -> float | None:  # type: ignore[no-untyped-def]
    """One quarterly refit: cost (training samples) to reach the cold run's best validation loss.

    Returns cold cost / warm cost (``inf`` if the warm network starts at the bar, ``0.0`` if it never
    reaches it).
    """
    first, second = prices.iloc[:-63], prices
    previous = LSTMForecaster(target="volatility", **SIZE).fit(first)
    data = previous._prepare(
        second, warm=True
    )  # the warm fit's inputs (previous scalers): both runs use them
    device = torch.device("cpu")
    train_data = PanelWindows(data.features, data.labels, data.train, previous.window, device)
    val_data = PanelWindows(data.features, data.labels, data.validation, previous.window, device)
    loss_fn = previous._target().loss()
    steps_per_epoch = -(-len(train_data) // previous.batch_size)
    eval_every = max(1, steps_per_epoch // checks_per_epoch)
    settings = dict(
        batch_size=previous.batch_size,
        learning_rate=previous.learning_rate,
        grad_clip=previous.grad_clip,
        max_epochs=max_epochs,
        patience=3 * checks_per_epoch,
        eval_every=eval_every,
    )

    torch.manual_seed(1)
    cold_model = PanelLSTM(data.features.shape[2], previous.hidden_size)
    cold = train(
        cold_model,
        loss_fn,
        train_data,
        val_data,
        generator=torch.Generator().manual_seed(1),
        **settings,
    )
    level = cold.best_loss
    cold_cost = _samples_to_reach(cold.history, level)

    warm_model = copy.deepcopy(previous.model_)
    initial = evaluate(warm_model, loss_fn, val_data)
    if initial <= level:
        warm_cost, warm = 0, None
    else:
        warm = train(
            warm_model,
            loss_fn,
            train_data,
            val_data,
            generator=torch.Generator().manual_seed(1),
            target_loss=level,
            **settings,
        )
        warm_cost = _samples_to_reach(warm.history, level)
    head = (
        f"   refit at {prices.index[-1].date()}: bar (cold best QLIKE) {level:.4f}, cold reaches it after "
        f"{cold_cost / len(train_data):.2f} epochs; warm starts at {initial:.4f}"
    )
    if warm_cost is None:
        print(f"{head}, never reaches it (best {warm.best_loss:.4f}) -> not met")
        return 0.0
    if warm_cost == 0:
        print(f"{head} (already there) -> cost 0")
        return float("inf")
    ratio = cold_cost / warm_cost
    print(
        f"{head}, reaches it after {warm_cost / len(train_data):.2f} epochs -> {ratio:.1f}x cheaper"
    )
    return ratio


def default_fit(prices, *, threads: int) -> None:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    f = LSTMForecaster(target="volatility", n_threads=threads, **SIZE).fit(prices)
    elapsed = time.perf_counter() - start
    print(
        f"3. LSTMForecaster(target='volatility', n_threads={threads}) fit at {SIZE}, {prices.shape[1]} assets x {len(prices)} days: "
        f"{elapsed:.1f} s ({f.training_.epochs} epochs, best at {f.training_.best_epoch}, "
        f"{f.n_train_samples_} training samples, {f.training_.samples / elapsed:,.0f} samples/s overall)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3, help="epochs per throughput run")
    parser.add_argument(
        "--refit-dates",
        nargs="+",
        default=["2010-12-31", "2013-12-31", "2016-12-31", "2019-12-31", "2022-12-31"],
        help="last days of the warm-start scenarios (each uses the 756 days up to it)",
    )
    parser.add_argument(
        "--parts",
        nargs="+",
        choices=["throughput", "warm", "fit"],
        default=["throughput", "warm", "fit"],
        help="which measurements to run",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    prices = load_sample().iloc[-756:]
    print(
        f"seqfolio LSTM benchmark, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; torch {torch.__version__}, "
        f"{args.threads} thread(s), {platform.processor() or platform.machine()}; data "
        f"{prices.index[0].date()}..{prices.index[-1].date()} ({prices.shape[1]} assets x {len(prices)} days)"
    )
    if "throughput" in args.parts:
        throughput(prices, epochs=args.epochs, threads=args.threads)
    if "warm" in args.parts:
        warm_start_table(args.refit_dates)
    if "fit" in args.parts:
        default_fit(prices, threads=args.threads)


def warm_start_table(refit_dates: list[str]) -> None:
    all_prices = load_sample()
    print(
        "2. warm vs cold start: a fit on 693 days, then the data grow by a quarter (63 days) and the network "
        "is refitted\n   from scratch (cold) or from the previous weights (warm), validation every quarter "
        "epoch; target: warm >= 3x cheaper"
    )
    ratios = []
    for end in refit_dates:
        window = all_prices.loc[:end].iloc[-756:]
        ratios.append(warm_vs_cold(window))
    print(
        f"   median over {len(ratios)} refit dates: {np.median(ratios):.1f}x; met at "
        f"{sum(r >= 3 for r in ratios)} of {len(ratios)}"
    )


if __name__ == "__main__":
    main()

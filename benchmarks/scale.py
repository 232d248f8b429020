"""Scale benchmark: cost of the main paths on synthetic universes of N = 20 ... 500 assets (issue 15).

Run: python benchmarks/scale.py            (N = 20, 100, 250, 500; about 10-15 minutes on 2 cores)
     python benchmarks/scale.py --quick    (N = 20, 50, small settings: a smoke test for CI)

Universes come from :mod:`universe` (3-factor model, Student-t noise, 20 % late listings, 5 %
delistings, NYSE-like calendar; seed 0). Each case runs in its own subprocess, which reports its wall
time and its own peak RSS (``resource.getrusage(RUSAGE_SELF).ru_maxrss`` at its end), so the peaks of
different cases never mix. Rows:

- ``lstm fit``: one ``LSTMForecaster(target="volatility", **SIZE).fit`` on the last 756 days
  (window 60, hidden 32, up to 20 epochs, stride 1; default ``epoch_samples="auto"``); ``features_s`` is ``build_features`` on the same prices and
  ``ffd_search_s`` the per-asset FFD order search (``ffd_orders``) the fit runs first, both timed
  separately in the same process. Targets at N = 500: peak RSS <= 2 GB, features <= 5 s.
- ``budget accuracy`` (at N = 100; 50 with --quick): the same fit with the default epoch budget and
  with ``epoch_samples=None`` (every sample every epoch): seconds, best validation QLIKE, and on the
  next 252 days the QLIKE and the correlation of the forecast with the realised forward volatility.
- ``research walk-forward``: ``seqfolio.research.walkforward.walk_forward`` of HRP (lookback 252,
  monthly) on all days, train 756 / test 252.

The LSTM walk-forward backtest (CLI settings) is a case of its own, run alone:
``python benchmarks/scale.py --case lstm_walk_forward_backtest --assets 500``.

Ratios are against the smallest N of the same row (or against the full-epoch fit for the budget
row), measured in this run. Absolute times depend on the machine's load; nothing is asserted. To add
a row, write a function ``(n_assets, quick) -> dict`` and list it in :data:`ROWS` (or, for a row
measured at one N only, in :data:`SINGLE_ROWS`).
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from universe import make_universe

FIT_DAYS = 756
TEST_DAYS = 252


def _universe(n_assets: int, n_days: int) -> pd.DataFrame:
    """The universe's last ``n_days`` days, without assets that list after it or delist before it."""
    prices = make_universe(n_assets, n_days + 300, seed=0).iloc[-n_days:]
    return prices.loc[:, prices.notna().any().to_numpy()]


# the size the README's figures were measured at (the estimator's former defaults)
SIZE = dict(window=60, hidden_size=32, max_epochs=20, sample_stride=1, random_state=0)


def _forecaster(quick: bool, **params: Any) -> Any:
    from seqfolio.signals import LSTMForecaster

    size = {**SIZE, "max_epochs": 2} if quick else SIZE
    return LSTMForecaster(target="volatility", **size, **params)


def lstm_fit(n_assets: int, quick: bool) -> dict[str, float]:
    from seqfolio.signals.features import build_features, ffd_orders

    prices = _universe(n_assets, FIT_DAYS)
    start = time.perf_counter()
    orders = ffd_orders(prices)
    ffd_search = time.perf_counter() - start
    build_features(prices, ffd_d=orders)
    features = time.perf_counter() - start - ffd_search
    model = _forecaster(quick)
    start = time.perf_counter()
    model.fit(prices)
    return {
        "seconds": time.perf_counter() - start,
        "features_s": features,
        "ffd_search_s": ffd_search,
        "epochs": model.training_.epochs,
        "samples": model.training_.samples,
    }


def _budget_case(n_assets: int, quick: bool, epoch_samples: Any) -> dict[str, float]:
    from seqfolio.signals.targets import forward_volatility

    prices = _universe(n_assets, FIT_DAYS + TEST_DAYS)
    model = _forecaster(quick, epoch_samples=epoch_samples)
    start = time.perf_counter()
    model.fit(prices.iloc[:FIT_DAYS])
    seconds = time.perf_counter() - start
    forecast = model.predict_history(prices, start=prices.index[FIT_DAYS]).to_numpy()
    realised = forward_volatility(prices.to_numpy(), model.horizon)[FIT_DAYS:]
    ok = np.isfinite(forecast) & np.isfinite(realised) & (realised > 0)
    ratio = realised[ok] ** 2 / forecast[ok] ** 2
    return {
        "seconds": seconds,
        "validation_qlike": model.training_.best_loss,
        "test_qlike": float(np.mean(ratio - np.log(ratio) - 1.0)),
        "test_corr": float(np.corrcoef(forecast[ok], realised[ok])[0, 1]),
        "samples": model.training_.samples,
    }


def budget_auto(n_assets: int, quick: bool) -> dict[str, float]:
    return _budget_case(n_assets, quick, "auto")


def budget_none(n_assets: int, quick: bool) -> dict[str, float]:
    return _budget_case(n_assets, quick, None)


def research_walk_forward(n_assets: int, quick: bool) -> dict[str, float]:
    from seqfolio.research.config import PortfolioConfig
    from seqfolio.research.walkforward import walk_forward

    prices = make_universe(n_assets, 1260 if quick else 2500, seed=0)
    start = time.perf_counter()
    walk_forward(prices, [PortfolioConfig("hrp", lookback=252)], train=756, test=252)
    return {"seconds": time.perf_counter() - start}


def lstm_walk_forward_backtest(n_assets: int, quick: bool) -> dict[str, float]:
    """The CLI's ``--signal lstm-vol`` backtest (its network settings, quarterly retrains on 756
    bars, HRP monthly) from 2017-10-01 to 2022-12-31 on 2,500 days. Not in the table (15 minutes
    at N = 500 on a loaded 2-core machine); run it alone with ``--case lstm_walk_forward_backtest
    --assets 500``."""
    from seqfolio.backtest import run_backtest
    from seqfolio.pipeline.models import make_model

    prices = make_universe(n_assets, 2500, seed=0, start="2013-01-02")
    signal = make_model("lstm-vol", "hrp")  # the CLI's network
    result = run_backtest(prices, signal=signal, retrain="quarterly", train_window=756,
                          start="2017-10-01", end="2022-12-31", tearsheet=None)  # fmt: skip
    return {"seconds": result.timings["total"], "training_s": result.timings["training"],
            "retrains": len(result.retrains)}  # fmt: skip


#: (label, case) measured at every N.
ROWS: list[tuple[str, Callable[[int, bool], dict[str, float]]]] = [
    ("lstm fit", lstm_fit),
    ("research walk-forward", research_walk_forward),
]
#: (label, case, baseline case) measured at one N (100; 50 with --quick), ratio to the baseline.
SINGLE_ROWS: list[tuple[str, Callable[[int, bool], dict[str, float]], str]] = [
    ("budget accuracy: epoch_samples='auto'", budget_auto, "budget_none"),
    ("budget accuracy: epoch_samples=None", budget_none, "budget_none"),
]


def run_case(name: str, n_assets: int, quick: bool) -> dict[str, float]:
    """Run ``name`` in a fresh interpreter; its figures plus its own peak RSS in MB."""
    command = [sys.executable, __file__, "--case", name, "--assets", str(n_assets)]
    done = subprocess.run(
        command + (["--quick"] if quick else []), capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"case {name} N={n_assets} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _case_main(name: str, n_assets: int, quick: bool) -> None:
    figures = globals()[name](n_assets, quick)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(figures))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="N = 20, 50 and small settings")
    parser.add_argument("--case", help=argparse.SUPPRESS)
    parser.add_argument("--assets", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.case:
        _case_main(args.case, args.assets, args.quick)
        return
    sizes = [20, 50] if args.quick else [20, 100, 250, 500]
    rows = []
    for label, case in ROWS:
        base = None
        for n in sizes:
            figures = run_case(case.__name__, n, args.quick)
            base = base or figures["seconds"]
            rows.append({"row": label, "N": n, **figures, "ratio": figures["seconds"] / base})
            print(f"  {label} N={n}: {figures['seconds']:.1f} s", file=sys.stderr, flush=True)
    single = sizes[-1] if args.quick else 100
    measured = {
        case.__name__: run_case(case.__name__, single, args.quick) for _, case, _ in SINGLE_ROWS
    }
    for label, case, baseline in SINGLE_ROWS:
        figures = measured[case.__name__]
        ratio = figures["seconds"] / measured[baseline]["seconds"]
        rows.append({"row": label, "N": single, **figures, "ratio": ratio})
    table = pd.DataFrame(rows)
    print(
        f"seqfolio scale benchmark ({'quick' if args.quick else 'full'}), {time.strftime('%Y-%m-%d')}"
    )
    print(table.to_markdown(index=False, floatfmt=".3g"))
    fits = table[table["row"] == "lstm fit"].set_index("N")
    largest = fits.index.max()
    print(
        f"\nN={largest} volatility fit: peak RSS {fits.loc[largest, 'peak_rss_mb']:.0f} MB (target "
        f"<= 2048), features {fits.loc[largest, 'features_s']:.2f} s + FFD search "
        f"{fits.loc[largest, 'ffd_search_s']:.2f} s (target <= 5), "
        f"{fits.loc[largest, 'ratio']:.1f}x the N={sizes[0]} fit"
    )


if __name__ == "__main__":
    main()

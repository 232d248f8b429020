"""Walk-forward forecast quality of the LSTM forecasters against simple baselines, on the bundled data.

For each target an ``LSTMForecaster`` is refitted every ``--refit-years`` on the last ``--lookback`` bars
before the block and forecasts every bar of the block (each forecast reads prices up to its bar only).
The realised values (which read the next 21 bars) are used for scoring only.

- volatility: QLIKE (on variances) and MSE (on annualised volatility) vs a 21-day rolling realised
  volatility and an EWMA (RiskMetrics, lambda = 0.94);
- return: mean cross-sectional rank IC (Spearman) vs 12-1 momentum;
- regime / drawdown: AUC pooled over asset-days vs trailing 21-day volatility as the score (for the
  regime, whose label is relative to each asset's threshold, also trailing volatility / threshold);
- correlation: MSE of the universe's forward mean pairwise correlation vs the trailing 63-day mean.

Run: python examples/forecast_quality.py [--quick] [--targets volatility return ...]
"""

from __future__ import annotations

import argparse
import time
from datetime import UTC, datetime

import numpy as np
import pandas as pd
from scipy.stats import rankdata, spearmanr

from seqfolio.data import load_sample
from seqfolio.signals import LSTMForecaster
from seqfolio.signals.features import (
    log_returns,
    realised_volatility,
    rolling_mean_correlation,
    universe_mean_correlation,
)
from seqfolio.signals.targets import forward_drawdown, forward_mean_correlation, forward_volatility

HORIZON = 21
ANNUAL = np.sqrt(252)


# --------------------------------------------------------------------------------------------------
# metrics
# --------------------------------------------------------------------------------------------------
def qlike(realised_var: np.ndarray, forecast_var: np.ndarray) -> float:
    """Mean of ``x / h - log(x / h) - 1`` (0 for a perfect forecast; Patton 2011)."""
    ratio = realised_var / forecast_var
    return float(np.mean(ratio - np.log(ratio) - 1.0))


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve via the Mann-Whitney rank sum (ties get average ranks)."""
    labels = labels.astype(bool)
    n_pos, n_neg = labels.sum(), (~labels).sum()
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def mean_rank_ic(forecast: pd.DataFrame, realised: pd.DataFrame) -> tuple[float, float]:
    """Mean over dates of the cross-sectional Spearman correlation, and its t-statistic (overlapping)."""
    ics = []
    for date in forecast.index:
        f, r = forecast.loc[date], realised.loc[date]
        ok = f.notna() & r.notna()
        if ok.sum() >= 5:
            ics.append(spearmanr(f[ok], r[ok]).statistic)
    ics = np.asarray(ics)
    return float(ics.mean()), float(ics.mean() / ics.std(ddof=1) * np.sqrt(len(ics) / HORIZON))


# --------------------------------------------------------------------------------------------------
# walk-forward
# --------------------------------------------------------------------------------------------------
def walk_forward(
    prices: pd.DataFrame,
    target: str,
    *,
    test_start: str,
    refit_years: int,
    lookback: int,
    params: dict,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Out-of-sample forecasts for every bar from ``test_start`` on, refitting every ``refit_years``.

    Returns the forecasts and, for ``target="regime"``, the stress threshold (forward volatility level)
    each bar's model was trained with — the label definition the forecast is scored against.
    """
    first = prices.index.searchsorted(pd.Timestamp(test_start))
    blocks, levels = [], []
    start = first
    while start < len(prices):
        block_end_date = prices.index[start] + pd.DateOffset(years=refit_years)
        end = min(prices.index.searchsorted(block_end_date), len(prices))
        train = prices.iloc[max(0, start - lookback) : start]
        model = LSTMForecaster(target=target, horizon=HORIZON, **params).fit(train)
        context = prices.iloc[max(0, start - 400) : end]  # enough history for the first windows
        block = model.predict_history(context, start=prices.index[start])
        blocks.append(block)
        level = (
            model.stress_level_ if model.stress_level_ is not None else [np.nan] * prices.shape[1]
        )
        levels.append(pd.DataFrame([level] * len(block), index=block.index, columns=block.columns))
        print(
            f"  {target:<11} fit on {train.index[0].date()}..{train.index[-1].date()} "
            f"({model.training_.epochs} epochs) -> forecasts {prices.index[start].date()}.."
            f"{prices.index[end - 1].date()}",
            flush=True,
        )
        start = end
    return pd.concat(blocks), pd.concat(levels)


def _row(target: str, metric: str, model: str, value: float, n: int, note: str = "") -> dict:
    return {
        "target": target,
        "metric": metric,
        "model": model,
        "value": value,
        "n": int(n),
        "note": note,
    }


def _frame(values: np.ndarray, prices: pd.DataFrame) -> pd.DataFrame:
    return pd.DataFrame(values, index=prices.index, columns=prices.columns)


def evaluate(
    target: str, forecast: pd.DataFrame, stress_level: pd.DataFrame, prices: pd.DataFrame
) -> list[dict]:
    """Scores of the forecaster and its baselines for one target: rows of (target, metric, model, value)."""
    p = prices.to_numpy()
    r = log_returns(p)
    dates = forecast.index
    rows: list[dict] = []
    if target == "volatility":
        realised = _frame(forward_volatility(p, HORIZON), prices).loc[dates].to_numpy()
        rolling = _frame(realised_volatility(r, 21), prices).loc[dates].to_numpy()
        ewma_var = (
            pd.DataFrame(r**2).ewm(alpha=1 - 0.94, adjust=False, ignore_na=True).mean().to_numpy()
        )
        ewma = _frame(np.sqrt(ewma_var), prices).loc[dates].to_numpy()
        f = forecast.to_numpy()
        ok = (
            np.isfinite(realised)
            & (realised > 0)
            & np.isfinite(f)
            & np.isfinite(rolling)
            & (rolling > 0)
        )
        for name, x in (("LSTM", f), ("21-day rolling", rolling), ("EWMA 0.94", ewma)):
            rows.append(
                _row(
                    "volatility",
                    "QLIKE (lower is better)",
                    name,
                    qlike(realised[ok] ** 2, x[ok] ** 2),
                    ok.sum(),
                )
            )
            mse = float(np.mean((ANNUAL * (realised[ok] - x[ok])) ** 2))
            rows.append(_row("volatility", "MSE of annualised vol (lower)", name, mse, ok.sum()))
    elif target == "return":
        fwd = np.full(p.shape, np.nan)
        fwd[:-HORIZON] = np.log(p[HORIZON:] / p[:-HORIZON])
        realised = _frame(fwd, prices).loc[dates]
        mom = np.full(p.shape, np.nan)
        mom[252:] = np.log(p[252 - HORIZON : -HORIZON] / p[:-252])  # 12-1 momentum: t-252 .. t-21
        momentum = _frame(mom, prices).loc[dates]
        ok = realised.notna().all(axis=1)
        for name, x in (("LSTM", forecast[ok]), ("12-1 momentum", momentum[ok])):
            ic, tstat = mean_rank_ic(x, realised[ok])
            rows.append(
                _row("return", "mean rank IC (higher)", name, ic, ok.sum(), f"t = {tstat:.2f}")
            )
    elif target in ("regime", "drawdown"):
        if target == "drawdown":
            labels = _frame(forward_drawdown(p, HORIZON), prices).loc[dates] > 0.10
            defined = _frame(forward_drawdown(p, HORIZON), prices).loc[dates].notna()
        else:
            # stress = forward volatility above the asset's threshold fitted on the block model's
            # training slice (the label definition that model was trained on)
            fv = _frame(forward_volatility(p, HORIZON), prices).loc[dates]
            labels = fv > stress_level
            defined = fv.notna() & stress_level.notna()
        trailing = _frame(realised_volatility(r, 21), prices).loc[dates]
        ok = (defined & forecast.notna() & trailing.notna()).to_numpy()
        y = labels.to_numpy()[ok]
        scores = [("LSTM", forecast.to_numpy()), ("trailing 21-day vol", trailing.to_numpy())]
        if target == "regime":  # the label is relative to each asset's threshold: so is this score
            scores.append(
                ("trailing 21-day vol / asset's threshold", (trailing / stress_level).to_numpy())
            )
        for name, x in scores:
            rows.append(
                _row(
                    target,
                    "AUC (higher)",
                    name,
                    auc(y, x[ok]),
                    ok.sum(),
                    f"base rate {y.mean():.3f}",
                )
            )
    elif target == "correlation":
        realised = pd.Series(
            universe_mean_correlation(forward_mean_correlation(p, HORIZON)), index=prices.index
        ).loc[dates]
        trailing = pd.Series(
            universe_mean_correlation(rolling_mean_correlation(r, 63)), index=prices.index
        ).loc[dates]
        lstm = forecast.mean(axis=1)
        ok = realised.notna() & trailing.notna() & lstm.notna()
        for name, x in (("LSTM (mean over assets)", lstm), ("trailing 63-day mean corr", trailing)):
            mse = float(((realised[ok] - x[ok]) ** 2).mean())
            rows.append(
                _row("correlation", "MSE of mean pairwise corr (lower)", name, mse, ok.sum())
            )
    return rows


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="one refit, small network, few epochs (~20 s)"
    )
    parser.add_argument(
        "--targets",
        nargs="+",
        default=["volatility", "return", "regime", "drawdown", "correlation"],
    )
    parser.add_argument("--test-start", default="2012-01-01")
    parser.add_argument("--refit-years", type=int, default=2)
    parser.add_argument(
        "--lookback", type=int, default=1512, help="training bars per refit (6 years)"
    )
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)

    params = dict(
        window=60,
        hidden_size=32,
        max_epochs=20,
        learning_rate=3e-3,
        patience=3,
        sample_stride=2,
        random_state=args.seed,
        n_threads=1,
    )
    if args.quick:
        args.test_start, args.refit_years = "2018-01-01", 5
        params.update(hidden_size=16, max_epochs=5, sample_stride=5)
    prices = load_sample("2000-01-01")
    print(
        f"seqfolio forecast quality, run {datetime.now(UTC):%Y-%m-%d %H:%M} UTC; data "
        f"{prices.index[0].date()}..{prices.index[-1].date()}, {prices.shape[1]} assets; horizon {HORIZON} "
        f"bars; test from {args.test_start}, refit every {args.refit_years}y on {args.lookback} bars; {params}"
    )
    rows = []
    began = time.perf_counter()
    for target in args.targets:
        forecast, stress_level = walk_forward(
            prices,
            target,
            test_start=args.test_start,
            refit_years=args.refit_years,
            lookback=args.lookback,
            params=params,
        )
        rows += evaluate(target, forecast, stress_level, prices)
    print(f"\nwall time {time.perf_counter() - began:.0f} s\n")
    print(markdown_table(rows))
    return rows


def markdown_table(rows: list[dict]) -> str:
    """The rows as a GitHub markdown table (n = scored asset-days, or dates for IC / correlation)."""
    lines = [
        "| target | metric | model | value | n | note |",
        "| --- | --- | --- | ---: | ---: | --- |",
    ]
    order = {t: i for i, t in enumerate(dict.fromkeys(r["target"] for r in rows))}
    metrics = {m: i for i, m in enumerate(dict.fromkeys(r["metric"] for r in rows))}
    for r in sorted(rows, key=lambda r: (order[r["target"]], metrics[r["metric"]])):
        lines.append(
            f"| {r['target']} | {r['metric']} | {r['model']} | {r['value']:.4f} | {r['n']} | {r['note']} |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    main()

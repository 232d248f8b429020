"""Synthetic factor-model universes for the scale benchmarks (no downloads, deterministic per seed).

Daily log returns follow a 3-factor model with Student-t idiosyncratic noise on an NYSE-like calendar
(business days minus the NYSE holidays pandas can generate: New Year, MLK, Presidents, Good Friday,
Memorial, Juneteenth from 2022, Independence, Labor, Thanksgiving, Christmas)::

    r_it = mu_i + beta_i . f_t + s_i * sqrt(h_t) * e_it,   e_it ~ t(4) scaled to unit variance

``f_t`` are three factors (market 1 %/day, two styles 0.5 %/day) whose volatility follows a shared
log-AR(1) regime ``h_t`` (clustering, so a volatility forecaster has something to learn). A fraction of
the assets list late (NaN before their first close) and a fraction delist early (NaN after their last
close); at least one year of each asset's life is priced, so every column has prices.

Run ``python benchmarks/universe.py --assets 500 --days 2500 --out u500.csv`` to write a wide CSV that
``seqfolio backtest --data u500.csv`` and :func:`seqfolio.data.read_prices` read.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import pandas as pd
from pandas.tseries.holiday import (
    AbstractHolidayCalendar,
    GoodFriday,
    Holiday,
    USLaborDay,
    USMartinLutherKingJr,
    USMemorialDay,
    USPresidentsDay,
    USThanksgivingDay,
    nearest_workday,
)
from pandas.tseries.offsets import CustomBusinessDay

_MIN_LIFE = 252  # bars every asset keeps priced (listing late or delisting early)
_NOISE_DF = 4  # Student-t degrees of freedom of the idiosyncratic noise
_NOISE_CLIP = 8.0  # standardised noise beyond this would read as an unadjusted split; clip it


class NYSEHolidays(AbstractHolidayCalendar):
    """The NYSE's regular full-day holidays (no one-off closures such as 9/11 or national mourning)."""

    rules = [
        Holiday("New Year's Day", month=1, day=1, observance=nearest_workday),
        USMartinLutherKingJr,
        USPresidentsDay,
        GoodFriday,
        USMemorialDay,
        Holiday("Juneteenth", month=6, day=19, start_date="2022-01-01", observance=nearest_workday),
        Holiday("Independence Day", month=7, day=4, observance=nearest_workday),
        USLaborDay,
        USThanksgivingDay,
        Holiday("Christmas", month=12, day=25, observance=nearest_workday),
    ]


def trading_days(start: str | pd.Timestamp, n_days: int) -> pd.DatetimeIndex:
    """``n_days`` NYSE-like trading days from ``start`` (inclusive when it is a trading day)."""
    return pd.date_range(start, periods=n_days, freq=CustomBusinessDay(calendar=NYSEHolidays()))


def make_universe(
    n_assets: int,
    n_days: int,
    late_fraction: float = 0.2,
    delist_fraction: float = 0.05,
    seed: int = 0,
    start: str = "2005-01-03",
) -> pd.DataFrame:
    """Closes of a synthetic factor-model universe.

    Parameters
    ----------
    n_assets : int
        Number of asset columns (named ``A0000``, ``A0001``, ...).
    n_days : int
        Number of trading days; must exceed ``2 * 252`` so late listings and delistings fit.
    late_fraction : float, default 0.2
        Fraction of assets whose first close comes after the first day (uniform over the span,
        keeping at least 252 priced days).
    delist_fraction : float, default 0.05
        Fraction of assets (drawn independently of the late ones) whose last close comes before the
        last day (at least 252 priced days after listing).
    seed : int, default 0
        Seed of the generator: the same arguments give the same frame.
    start : str, default "2005-01-03"
        First calendar day of the index.

    Returns
    -------
    pandas.DataFrame
        Shape ``(n_days, n_assets)``, ``DatetimeIndex`` named ``date``; NaN before listing and after
        delisting, positive closes otherwise.
    """
    if n_assets < 1 or n_days <= 2 * _MIN_LIFE:
        raise ValueError(f"make_universe: need n_assets >= 1 and n_days > {2 * _MIN_LIFE}.")
    if not (0 <= late_fraction <= 1 and 0 <= delist_fraction <= 1):
        raise ValueError("make_universe: late_fraction and delist_fraction must be in [0, 1].")
    rng = np.random.default_rng(seed)
    # Volatility regime shared by factors and noise: log h follows an AR(1) with mean 0.
    log_h = np.zeros(n_days)
    shocks = rng.normal(0.0, 0.15, n_days)
    for t in range(1, n_days):
        log_h[t] = 0.98 * log_h[t - 1] + shocks[t]
    scale = np.sqrt(np.exp(log_h - log_h.var() / 2))[:, None]  # E[h] ~ 1
    factors = rng.normal(0.0, 1.0, (n_days, 3)) * np.array([0.010, 0.005, 0.005]) * scale
    betas = np.column_stack([rng.normal(1.0, 0.3, n_assets), rng.normal(0.0, 0.5, (n_assets, 2))])
    idio_vol = rng.uniform(0.008, 0.025, n_assets)
    noise = rng.standard_t(_NOISE_DF, (n_days, n_assets)) / np.sqrt(_NOISE_DF / (_NOISE_DF - 2))
    noise = np.clip(noise, -_NOISE_CLIP, _NOISE_CLIP) * scale
    drift = rng.normal(0.0003, 0.0002, n_assets)
    log_returns = drift + factors @ betas.T + noise * idio_vol
    log_returns[0] = 0.0
    closes = rng.uniform(10.0, 200.0, n_assets) * np.exp(np.cumsum(log_returns, axis=0))

    first = np.zeros(n_assets, dtype=int)
    last = np.full(n_assets, n_days - 1)
    late = rng.random(n_assets) < late_fraction
    first[late] = rng.integers(1, n_days - _MIN_LIFE, late.sum())
    delist = rng.random(n_assets) < delist_fraction
    room = last[delist] - first[delist] - _MIN_LIFE
    last[delist] = first[delist] + _MIN_LIFE + (rng.random(delist.sum()) * room).astype(int)
    bars = np.arange(n_days)[:, None]
    closes[(bars < first) | (bars > last)] = np.nan
    columns = [f"A{i:04d}" for i in range(n_assets)]
    index = trading_days(start, n_days).rename("date")
    index.freq = None  # like a frame read from a file
    return pd.DataFrame(closes, index=index, columns=columns)


def write_universe(prices: pd.DataFrame, path: str | Path) -> Path:
    """Write ``prices`` as a wide CSV (``date`` column, one column per asset, empty cells for NaN).

    Six significant digits keep the relative rounding (~1e-6) far below a day's move.
    """
    out = Path(path)
    prices.to_csv(out, float_format="%.6g", date_format="%Y-%m-%d")
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--assets", type=int, default=100)
    parser.add_argument("--days", type=int, default=2500)
    parser.add_argument("--late", type=float, default=0.2, help="fraction listing late")
    parser.add_argument("--delist", type=float, default=0.05, help="fraction delisting early")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", required=True, help="CSV file to write")
    args = parser.parse_args()
    prices = make_universe(args.assets, args.days, args.late, args.delist, args.seed)
    print(f"wrote {write_universe(prices, args.out)}: {prices.shape[1]} assets, {len(prices)} days")


if __name__ == "__main__":
    main()

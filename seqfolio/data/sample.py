"""The bundled sample: 20 S&P 500 stocks and the S&P 500 index, daily, 1990-2022.

See ``datasets/PROVENANCE.md`` beside this module for the source (skfolio 1.12.2, BSD-3-Clause) and the
known quirks (prices rounded to 3 decimals: start examples in 2000 or later).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from importlib import resources

import pandas as pd

from seqfolio._validation import check_date
from seqfolio.data.readers import read_prices

_STOCKS_FILE = "sp500_20_adjclose_1990_2022.csv.gz"
_INDEX_FILE = "sp500_index_adjclose_1990_2022.csv.gz"

SAMPLE_ASSETS: tuple[str, ...] = (
    "AAPL", "AMD", "BAC", "BBY", "CVX", "GE", "HD", "JNJ", "JPM", "KO",
    "LLY", "MRK", "MSFT", "PEP", "PFE", "PG", "RRC", "UNH", "WMT", "XOM",
)  # fmt: skip


@lru_cache(maxsize=2)
def _read_bundled(filename: str) -> pd.DataFrame:
    with resources.as_file(resources.files("seqfolio.data") / "datasets" / filename) as path:
        # the known deep one-day moves of the sample (AAPL 2000-09-29 -52 %, RRC's 1990 rounding) are real
        return read_prices(path, min_assets=1, check_splits=False)


def _timestamp(owner: str, name: str, value: object) -> pd.Timestamp | None:
    """A ``start`` / ``end`` bound as a tz-naive Timestamp, or a ValueError in the project's template."""
    if value is None:
        return None
    stamp = check_date(owner, name, value, example="2005-01-01")  # '2018' means 2018-01-01
    if stamp.tz is not None:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be a tz-naive date (the sample's dates have no "
            f"time zone). Got {value!r} instead; drop the time zone (e.g. .tz_localize(None))."
        )
    return stamp


def _slice_dates(
    frame: pd.DataFrame,
    start: str | pd.Timestamp | None,
    end: str | pd.Timestamp | None,
    owner: str,
) -> pd.DataFrame:
    start_ts = _timestamp(owner, "start", start)
    end_ts = _timestamp(owner, "end", end)
    if start_ts is not None and end_ts is not None and start_ts > end_ts:
        raise ValueError(f"start ({start_ts.date()}) is after end ({end_ts.date()}); swap them.")
    sliced = frame.loc[start_ts:end_ts]
    if sliced.empty:
        raise ValueError(
            f"No bundled data between {start} and {end}: the sample covers "
            f"{frame.index[0].date()} to {frame.index[-1].date()}."
        )
    return sliced.copy()


def _check_assets(assets: object) -> list[str]:
    """The ``assets`` of load_sample as a list: a non-empty list-like of tickers, each once."""
    if isinstance(assets, (str, bytes)) or not isinstance(assets, Iterable):
        raise ValueError(
            "The 'assets' parameter of load_sample must be a list of tickers such as "
            f"['AAPL', 'MSFT']. Got {assets!r} instead."
        )
    names = list(assets)
    if not names:
        raise ValueError(
            "The 'assets' parameter of load_sample must list at least one ticker (None: all "
            f"{len(SAMPLE_ASSETS)}). Got {assets!r} instead."
        )
    repeated = sorted({str(a) for a in names if names.count(a) > 1})
    if repeated:
        raise ValueError(
            f"load_sample: assets {repeated} are listed more than once; list each ticker once."
        )
    return names


def load_sample(
    start: str | pd.Timestamp | None = None,
    end: str | pd.Timestamp | None = None,
    assets: list[str] | None = None,
) -> pd.DataFrame:
    """Load the bundled adjusted daily closes of 20 S&P 500 stocks.

    Parameters
    ----------
    start, end : str or Timestamp, optional
        Inclusive date bounds, e.g. ``"2005-01-01"``. Default: the whole sample (1990-01-02 to
        2022-12-28).
    assets : list of str, optional
        A subset of :data:`SAMPLE_ASSETS` to keep, in the order given.

    Returns
    -------
    pandas.DataFrame
        Prices with a ``DatetimeIndex`` named ``date`` and one float column per ticker. No missing
        values, no non-positive prices.

    Notes
    -----
    Source: skfolio 1.12.2's bundled data set (BSD-3-Clause), stale and for examples and tests only.
    Prices are rounded to 3 decimals, so 1990s returns of low-priced stocks are coarse.
    """
    prices = _read_bundled(_STOCKS_FILE)
    if assets is not None:
        assets = _check_assets(assets)
        unknown = [a for a in assets if a not in prices.columns]
        if unknown:
            raise ValueError(
                f"load_sample: unknown assets {unknown}; the sample has {list(SAMPLE_ASSETS)}."
            )
        prices = prices[list(assets)]
    return _slice_dates(prices, start, end, "load_sample")


def load_benchmark(
    start: str | pd.Timestamp | None = None, end: str | pd.Timestamp | None = None
) -> pd.Series:
    """Load the bundled S&P 500 index closes (the default benchmark), same dates as the sample.

    Returns
    -------
    pandas.Series
        Index levels named ``SP500`` with a ``DatetimeIndex`` named ``date``.
    """
    return _slice_dates(_read_bundled(_INDEX_FILE), start, end, "load_benchmark")["SP500"]

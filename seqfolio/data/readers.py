"""Read and validate users' price CSVs, wide or long.

Wide: a date column followed by one column per asset (the bundled sample's layout).
Long: columns ``date, symbol, open, high, low, close[, volume]`` (any case; ``ticker`` is accepted
for ``symbol``), one row per asset and day; the ``close`` field is pivoted to wide.

Every problem is reported with the file, the line number (1 = header) and the column, and nothing is
dropped or filled: a cell left empty stays NaN (an asset not yet listed or already delisted).

Suspicious but usable data is kept as given with a :class:`~seqfolio.data.PriceDataWarning`:

* a gap (NaN) inside an asset's life;
* an asset whose price never changes over 5 or more rows (zero variance: risk-based allocators
  reject it);
* a likely unadjusted split: a one-day move with ``|ln(p_t / p_{t-1})| >= SPLIT_LOG_MOVE = ln 1.8``
  between consecutive priced rows, i.e. a fall of 44.4 % or more or a rise of 80 % or more. That catches
  a 2-for-1 split (-50 %) or a 1-for-2 reverse split (+100 %) even with a ±10 % market move on the
  same day; a 3-for-2 split (-33 %) cannot be told from a crash and is not flagged. Real crashes that
  deep (e.g. AAPL on 2000-09-29, -52 %) are flagged too: the warning asks to check, it changes nothing.
"""

from __future__ import annotations

import warnings
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from seqfolio.data.errors import PriceDataError, PriceDataWarning

_DATE_NAMES = ("date", "datetime", "timestamp", "time")
_SYMBOL_NAMES = ("symbol", "ticker", "asset")
_MAX_LISTED = 5  # how many offending rows an error message lists
_MIN_ROWS_CONSTANT = 5  # a constant price over fewer rows is not worth a warning
SPLIT_LOG_MOVE = float(np.log(1.8))  # |one-day log move| at or above this looks like a split


def _lines(row_positions: np.ndarray) -> str:
    """Format file line numbers (header = line 1) of the first offending rows."""
    lines = [str(int(p) + 2) for p in row_positions[:_MAX_LISTED]]
    more = (
        f" and {len(row_positions) - _MAX_LISTED} more" if len(row_positions) > _MAX_LISTED else ""
    )
    return ", ".join(lines) + more


def _parse_dates(raw: pd.Series, source: str) -> pd.DatetimeIndex:
    """Parse a date column; report unparseable or inconsistently formatted cells by line."""
    text = raw.astype("string").str.strip()
    with warnings.catch_warnings():
        # pandas warns when it cannot infer one format; the NaT check below reports those rows.
        warnings.simplefilter("ignore", UserWarning)
        dates = pd.to_datetime(text, errors="coerce")
    bad = np.flatnonzero(dates.isna().to_numpy())
    if bad.size:
        examples = ", ".join(repr(str(v)) for v in raw.iloc[bad[:3]])
        raise PriceDataError(
            f"{source}: unparseable date in column '{raw.name}' at line {_lines(bad)} "
            f"(e.g. {examples}). Use one format throughout, preferably YYYY-MM-DD."
        )
    index = pd.DatetimeIndex(dates, name="date")
    if index.tz is not None:
        index = index.tz_convert(None)
    return index


def _check_dates(index: pd.DatetimeIndex, source: str) -> None:
    duplicated = np.flatnonzero(index.duplicated(keep="first"))
    if duplicated.size:
        raise PriceDataError(
            f"{source}: duplicate date {index[duplicated[0]].date()} at line {_lines(duplicated)}; "
            "keep one row per date."
        )
    steps_back = np.flatnonzero(np.diff(index.asi8) < 0) + 1
    if steps_back.size:
        raise PriceDataError(
            f"{source}: dates are not in ascending order (line {_lines(steps_back)} goes back in time); "
            "sort the file by date."
        )


def _to_prices(frame: pd.DataFrame, source: str) -> pd.DataFrame:
    """Convert every column to float, rejecting text, non-finite and non-positive prices."""
    out = {}
    for column in frame.columns:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        text_cells = np.flatnonzero(values.isna().to_numpy() & raw.notna().to_numpy())
        if text_cells.size:
            example = raw.iloc[text_cells[0]]
            raise PriceDataError(
                f"{source}: column '{column}' has a non-numeric value {example!r} at line "
                f"{_lines(text_cells)}; prices must be numbers (leave the cell empty if there is none)."
            )
        array = values.to_numpy()
        non_finite = np.flatnonzero(np.isinf(array))
        if non_finite.size:
            raise PriceDataError(
                f"{source}: column '{column}' has an infinite price at line {_lines(non_finite)}; "
                "fix or blank those cells."
            )
        non_positive = np.flatnonzero(array <= 0)
        if non_positive.size:
            raise PriceDataError(
                f"{source}: column '{column}' has a non-positive price ({array[non_positive[0]]}) at "
                f"line {_lines(non_positive)}; prices must be > 0 (blank the cell if there is none)."
            )
        out[str(column)] = values.to_numpy()
    return pd.DataFrame(out, index=frame.index)


def _warn_interior_gaps(prices: pd.DataFrame, source: str) -> None:
    """Warn about NaN *inside* an asset's life (before its first or after its last price is expected)."""
    for column in prices.columns:
        present = prices[column].notna().to_numpy()
        if not present.any():
            raise PriceDataError(f"{source}: column '{column}' has no prices at all; remove it.")
        first, last = np.argmax(present), len(present) - 1 - np.argmax(present[::-1])
        gaps = np.flatnonzero(~present[first : last + 1]) + first
        if gaps.size:
            warnings.warn(
                f"{source}: column '{column}' has {gaps.size} missing price(s) inside its life "
                f"(line {_lines(gaps)}); they are kept as NaN and the asset is left out of any "
                "allocation whose window covers them. Fill them explicitly if that is wrong.",
                PriceDataWarning,
                stacklevel=3,
            )


def _warn_suspicious(prices: pd.DataFrame, source: str, check_splits: bool, wide: bool) -> None:
    """Warn about constant prices and one-day moves that look like an unadjusted split.

    Line numbers are given for wide files only (a long file's rows are not one per date).
    """
    for column in prices.columns:
        priced = prices[column].dropna()
        values = priced.to_numpy()
        if len(values) >= _MIN_ROWS_CONSTANT and (values == values[0]).all():
            warnings.warn(
                f"{source}: column '{column}' has the same price ({values[0]}) on all "
                f"{len(values)} rows: zero variance, so HRP, HERC, mean-variance and inverse-variance "
                "allocators reject it and skip every rebalance that includes it. Remove the column "
                "(or use the equal-weight allocator).",
                PriceDataWarning,
                stacklevel=3,
            )
            continue
        if not check_splits or len(values) < 2:
            continue
        moves = np.diff(np.log(values))
        jumps = np.flatnonzero(np.abs(moves) >= SPLIT_LOG_MOVE * (1 - 1e-12)) + 1
        if jumps.size:
            rows = prices.index.get_indexer(priced.index[jumps])
            first = jumps[0]
            where = f" (line {_lines(rows)})" if wide else f" ({jumps.size} such move(s))"
            warnings.warn(
                f"{source}: column '{column}' moves {np.expm1(moves[first - 1]):+.1%} in one day on "
                f"{priced.index[first].date()}{where}: this looks like a stock split "
                "or reverse split left unadjusted (threshold: a fall of 44.4 % or a rise of 80 %, "
                "|log move| >= ln 1.8). Prices are kept as given; use split-adjusted closes, or "
                "ignore this warning if the move is real.",
                PriceDataWarning,
                stacklevel=3,
            )


def _pivot_long(
    frame: pd.DataFrame, lower: dict[str, str], source: str, field: str
) -> pd.DataFrame:
    symbol_col = next(lower[n] for n in _SYMBOL_NAMES if n in lower)
    if field not in lower:
        raise PriceDataError(
            f"{source}: long-format file has no '{field}' column; columns are {list(frame.columns)}."
        )
    value_col = lower[field]
    missing_symbol = np.flatnonzero(frame[symbol_col].isna().to_numpy())
    if missing_symbol.size:
        raise PriceDataError(
            f"{source}: empty '{symbol_col}' at line {_lines(missing_symbol)}; every row needs a symbol."
        )
    keys = pd.DataFrame({"date": frame.index, "symbol": frame[symbol_col].astype(str).to_numpy()})
    duplicated = np.flatnonzero(keys.duplicated().to_numpy())
    if duplicated.size:
        row = keys.iloc[duplicated[0]]
        raise PriceDataError(
            f"{source}: duplicate row for symbol '{row['symbol']}' on {row['date'].date()} at line "
            f"{_lines(duplicated)}; keep one row per symbol and date."
        )
    values = _to_prices(frame[[value_col]], source)[str(value_col)]
    wide = pd.Series(values.to_numpy(), index=pd.MultiIndex.from_frame(keys)).unstack("symbol")
    wide.index.name = "date"
    wide.columns.name = None
    return wide.sort_index()


def read_prices(
    path: str | PathLike[str],
    *,
    field: str = "close",
    min_assets: int = 2,
    check_splits: bool = True,
) -> pd.DataFrame:
    """Read a price CSV (wide or long) into a validated wide price frame.

    Parameters
    ----------
    path : str or path-like
        A CSV file, optionally compressed (``.gz``, ``.zip``, ... as pandas infers).
    field : str, default "close"
        For long files, which price column to pivot (``open``, ``high``, ``low`` or ``close``).
    min_assets : int, default 2
        Fewer asset columns than this is an error (an allocation needs at least two assets).
    check_splits : bool, default True
        Warn about one-day moves that look like an unadjusted split (see the module notes).

    Returns
    -------
    pandas.DataFrame
        Float prices, ``DatetimeIndex`` named ``date`` (sorted, unique, tz-naive), one column per
        asset. Cells with no price stay NaN.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    PriceDataError
        If the file is empty, has unparseable / duplicate / unsorted dates, non-numeric,
        non-finite or non-positive prices, or fewer than ``min_assets`` assets. The message names the
        file, the line and the column.

    Warns
    -----
    PriceDataWarning
        For a gap inside an asset's life, a constant price, or a likely unadjusted split (kept as
        given; see the module notes).
    """
    file = Path(path)
    source = str(file)
    if not file.is_file():
        raise FileNotFoundError(f"read_prices: no such file: {source}")
    try:
        frame = pd.read_csv(file, dtype=str, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise PriceDataError(
            f"{source}: the file is empty; expected a header and price rows."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise PriceDataError(f"{source}: not a readable CSV ({exc}).") from None
    if frame.empty:
        raise PriceDataError(f"{source}: the file has a header but no data rows.")
    frame.columns = [str(c).strip() for c in frame.columns]
    lower = {c.lower(): c for c in frame.columns}
    date_col = next((lower[n] for n in _DATE_NAMES if n in lower), frame.columns[0])
    frame.index = _parse_dates(frame[date_col], source)
    frame = frame.drop(columns=[date_col])

    wide = not any(n in lower for n in _SYMBOL_NAMES)
    if not wide:
        prices = _pivot_long(frame, lower, source, field.lower())
    else:
        _check_dates(frame.index, source)
        unnamed = [c for c in frame.columns if c.startswith("Unnamed:")]
        if unnamed:
            raise PriceDataError(
                f"{source}: columns {unnamed} have no header; name every asset column."
            )
        prices = _to_prices(frame, source)
    if prices.shape[1] < min_assets:
        raise PriceDataError(
            f"{source}: found {prices.shape[1]} asset column(s) {list(prices.columns)}; at least "
            f"{min_assets} are needed."
        )
    _warn_interior_gaps(prices, source)
    _warn_suspicious(prices, source, check_splits, wide)
    prices.index.name = "date"
    return prices

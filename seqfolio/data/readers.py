"""Read and validate users' price CSVs, wide or long.

Wide: a date column followed by one column per asset (the bundled sample's layout).
Long: columns ``date, symbol, open, high, low, close[, volume]`` (any case; ``ticker`` is accepted
for ``symbol``), one row per asset and day; the ``close`` field is pivoted to wide.
One ticker: a wide file whose columns are one ticker's ``Open, High, Low, Close[, Adj Close],
Volume`` (any case and subset with a close; yfinance's ``Dividends`` and ``Stock Splits`` too) is ONE
asset, named after the file (``AAPL.csv`` -> ``AAPL``): its ``Adj Close`` if present, else its
``Close`` (an INFO line of the ``seqfolio.data`` logger says so). Several tickers in files of their own
are read together with ``read_prices([path, ...])``: one file each, joined on their dates.

The separator is a comma; a file whose header line has no comma but semicolons (European Excel
exports), tabs or ``|`` is read with that separator. Numbers must use ``.`` as the decimal point
(a decimal comma, ``1,5``, is reported, not guessed).

Every problem is reported with the file, the line number of the file (1 = the header when it is the
first line) and the column. Nothing is filled: a cell left empty stays NaN (an asset not yet listed
or already delisted). Blank lines (and lines of empty cells only) are skipped. A dated row with no
price at all (a holiday row of empty cells) is dropped with a :class:`~seqfolio.data.PriceDataWarning`:
nothing can trade on it, and it would leave every asset out of any window that covers it.

Suspicious but usable data is kept as given with a :class:`~seqfolio.data.PriceDataWarning`:

* a gap (NaN) inside an asset's life;
* an asset whose price never changes over 5 or more rows (zero variance: risk-based allocators
  reject it);
* a likely unadjusted split: a one-day move with ``|ln(p_t / p_{t-1})| >= SPLIT_LOG_MOVE = ln 1.8``
  between consecutive priced rows, i.e. a fall of 44.4 % or more or a rise of 80 % or more. That catches
  a 2-for-1 split (-50 %) or a 1-for-2 reverse split (+100 %) even with a ±10 % market move on the
  same day; a 3-for-2 split (-33 %) cannot be told from a crash and is not flagged. Real crashes that
  deep (e.g. AAPL on 2000-09-29, -52 %) are flagged too: the warning asks to check, it changes nothing.

A price below the smallest normal float (``2.2e-308``, e.g. ``1e-320``) is an error: returns computed
from it overflow to infinity.
"""

from __future__ import annotations

import logging
import lzma
import re
import tarfile
import warnings
import zipfile
import zlib
from collections.abc import Sequence
from os import PathLike
from pathlib import Path

import numpy as np
import pandas as pd

from seqfolio._validation import check_bool, check_int
from seqfolio.data.errors import PriceDataError, PriceDataWarning
from seqfolio.data.frames import date_label

logger = logging.getLogger("seqfolio.data")

_DATE_NAMES = ("date", "datetime", "timestamp", "time")
# the columns of one ticker's OHLCV file (lower case, '_' read as ' ')
_ONE_TICKER_NAMES = frozenset(
    {"open", "high", "low", "close", "adj close", "volume", "dividends", "stock splits"}
)
_SEVERAL_TICKERS = (
    "To pass several tickers use a wide file (a date column, then one column per ticker), a long "
    "file (date, symbol, close columns; one row per ticker and date), or one file per ticker "
    "(read_prices([path, ...]); on the command line --data AAPL.csv MSFT.csv ...)."
)
_SYMBOL_NAMES = ("symbol", "ticker", "asset")
_MAX_LISTED = 5  # how many offending rows an error message lists
_MIN_ROWS_CONSTANT = 5  # a constant price over fewer rows is not worth a warning
SPLIT_LOG_MOVE = float(np.log(1.8))  # |one-day log move| at or above this looks like a split
_TINY_PRICE = float(np.finfo(float).tiny)  # below this a price is subnormal: 1 / p overflows
_MAX_PERCENT_LOG_MOVE = float(np.log(1e6))  # bigger one-day moves are written as a power of ten

# pandas' default NA strings (read_csv's ``na_values`` documentation). The file is read with
# ``na_filter=False`` so that header cells stay as written; data cells are then matched to these.
_NA_STRINGS = frozenset(
    {"", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan", "1.#IND", "1.#QNAN",
     "<NA>", "N/A", "NA", "NULL", "NaN", "None", "n/a", "nan", "null"}
)  # fmt: skip
# pandas infers compression from these suffixes (tar variants first: ".tar.gz" also ends in ".gz")
_COMPRESSION = (
    (".tar.gz", "tar"), (".tar.bz2", "tar"), (".tar.xz", "tar"), (".tar", "tar"), (".gz", "gzip"),
    (".bz2", "bzip2"), (".zip", "zip"), (".xz", "xz"), (".zst", "zstd"),
)  # fmt: skip
_OTHER_SEPARATORS = (";", "\t", "|")
_SEPARATOR_NAMES = {";": "semicolon", "\t": "tab", "|": "'|'"}
_TZ_OFFSET = re.compile(r"\d:\d{2}(?::\d{2}(?:\.\d*)?)?\s*(Z|UTC|GMT|[+-]\d{2}(?::?\d{2})?)$", re.I)
_SLASH_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{2}|\d{4})")


def _listed(items: Sequence[str], total: int) -> str:
    """The first few of ``total`` offending items, and how many more there are."""
    more = f" and {total - _MAX_LISTED} more" if total > _MAX_LISTED else ""
    return ", ".join(items[:_MAX_LISTED]) + more


def _lines(line_numbers: np.ndarray) -> str:
    """Format the first few file line numbers of offending rows."""
    return _listed([str(int(n)) for n in line_numbers[:_MAX_LISTED]], len(line_numbers))


class _Where:
    """File line numbers of a price frame's cells: one line per row (wide) or per cell (long)."""

    def __init__(
        self,
        index: pd.DatetimeIndex,
        row_lines: np.ndarray | None = None,
        cell_lines: pd.Series | None = None,
    ) -> None:
        self.index = index
        self.row_lines = row_lines  # wide: the file line of each frame row
        # long: the file line of each (date, symbol) row present in the file
        self.cell_lines = cell_lines if cell_lines is not None else pd.Series(dtype=int)

    def cells(self, column: str, positions: np.ndarray) -> str:
        """Where the cells of ``column`` at frame rows ``positions`` are (or would be) in the file."""
        if self.row_lines is not None:
            return f"line {_lines(self.row_lines[positions])}"
        items = []
        for position in positions[:_MAX_LISTED]:
            line = self.cell_lines.get((self.index[position], column))
            where = f"line {line}" if line is not None else "no row in the file"
            items.append(f"{date_label(self.index[position])} ({where})")
        return "on " + _listed(items, len(positions))

    def rows(self, positions: np.ndarray) -> str:
        """The dates and file lines of whole frame rows."""
        items = []
        for position in positions[:_MAX_LISTED]:
            date = self.index[position]
            if self.row_lines is not None:
                items.append(f"{date_label(date)} (line {self.row_lines[position]})")
            else:
                lines = np.sort(self.cell_lines.xs(date, level="date").to_numpy())
                items.append(
                    f"{date_label(date)} (line{'s' if len(lines) > 1 else ''} {_lines(lines)})"
                )
        return _listed(items, len(positions))

    def keep(self, mask: np.ndarray) -> _Where:
        row_lines = self.row_lines[mask] if self.row_lines is not None else None
        return _Where(self.index[mask], row_lines, self.cell_lines)


# ------------------------------------------------------------------------------------------------
# reading the file
# ------------------------------------------------------------------------------------------------
def _compression(file: Path) -> str | None:
    name = file.name.lower()
    return next((kind for suffix, kind in _COMPRESSION if name.endswith(suffix)), None)


def _check_not_binary(file: Path, source: str) -> None:
    """Recognise the binary files people pass for a CSV by their first bytes."""
    with open(file, "rb") as handle:
        head = handle.read(1024)
    if head[:2] == b"\x1f\x8b":
        raise PriceDataError(
            f"{source}: the file is gzip-compressed but its name does not end in .gz; rename it "
            "(e.g. prices.csv.gz) or decompress it."
        )
    if head[:4] == b"PK\x03\x04":
        raise PriceDataError(
            f"{source}: the file is a zip archive (an Excel .xlsx workbook?), not a CSV; export the "
            "sheet as CSV (a zipped CSV must be named .zip)."
        )
    if head[:2] in (b"\xff\xfe", b"\xfe\xff"):
        raise PriceDataError(f"{source}: the file is UTF-16 text; save it as UTF-8 CSV.")
    if b"\x00" in head:
        raise PriceDataError(f"{source}: this is a binary file, not a CSV text file.")


def _separator(header_cell: str) -> str:
    """The separator of a file whose header parsed as one column with commas (see module notes)."""
    counts = {sep: header_cell.count(sep) for sep in _OTHER_SEPARATORS}
    best = max(counts, key=lambda sep: counts[sep])
    return best if counts[best] else ","


def _fields_error(exc: pd.errors.ParserError, source: str, sep: str) -> PriceDataError:
    found = re.search(r"Expected (\d+) fields in line (\d+), saw (\d+)", str(exc))
    if found is None:
        return PriceDataError(f"{source}: not a readable CSV ({str(exc).strip()}).")
    expected, line, saw = found.groups()
    name = "comma" if sep == "," else _SEPARATOR_NAMES[sep]
    return PriceDataError(
        f"{source}: line {line} has {saw} fields but the header has {expected}; every row needs one "
        f"value per column (leave a cell empty when there is no price; quote a value holding a {name})."
    )


def _read_csv(
    file: Path, source: str, compression: str | None, sep: str, **options: object
) -> pd.DataFrame:
    """``pandas.read_csv`` of every cell as text, its exceptions turned into PriceDataError."""
    try:
        return pd.read_csv(
            file, sep=sep, header=None, dtype=str, na_filter=False, skipinitialspace=True, **options
        )
    except pd.errors.EmptyDataError:
        raise PriceDataError(
            f"{source}: the file is empty; expected a header and price rows."
        ) from None
    except pd.errors.ParserError as exc:
        raise _fields_error(exc, source, sep) from None
    except UnicodeDecodeError as exc:
        raise PriceDataError(
            f"{source}: the file is not UTF-8 text ({exc}); save it as UTF-8 CSV "
            "(in Excel: 'CSV UTF-8')."
        ) from None
    except (FileNotFoundError, PermissionError, IsADirectoryError):
        raise
    except (OSError, EOFError, zlib.error, zipfile.BadZipFile, lzma.LZMAError, tarfile.TarError,
            ValueError) as exc:  # fmt: skip
        if compression is None:
            raise
        first = (
            str(exc).strip().splitlines()[0].rstrip(":") if str(exc).strip() else type(exc).__name__
        )
        if compression in ("zip", "tar") and isinstance(exc, ValueError):  # pandas: not one file
            raise PriceDataError(
                f"{source}: {first.rstrip('.')}; read_prices reads a {compression} archive that "
                "holds exactly one CSV file."
            ) from None
        # corrupt or truncated archives raise a different exception type in each module
        raise PriceDataError(
            f"{source}: not a valid {compression} file ({first}); re-download or re-compress it, "
            "or pass the uncompressed CSV."
        ) from None


def _read_cells(file: Path, source: str) -> tuple[list[str], pd.DataFrame, np.ndarray, int]:
    """Read every cell as text: the header, the data rows (NA strings -> NaN), their file lines.

    Reads with ``header=None`` and ``na_filter=False`` so that header cells are kept as written
    (pandas would rename a repeated ``A`` to ``A.1``) and blank lines keep their place (the line
    numbers in messages are the file's).
    """
    compression = _compression(file)
    if compression is None:
        _check_not_binary(file, source)
    sep = ","
    head = _read_csv(file, source, compression, sep, nrows=1).iloc[0].tolist()
    if len(head) == 1 and _separator(str(head[0])) != ",":
        sep = _separator(str(head[0]))
        head = _read_csv(file, source, compression, sep, nrows=1).iloc[0].tolist()
    if all(str(cell).strip() == "" for cell in head):
        # the field count of the body read comes from this line: it must be the header
        raise PriceDataError(
            f"{source}: the first non-blank line holds only empty cells ({sep!r}-separated blanks); delete "
            "the empty lines above the header (date, then one column per asset)."
        )
    if str(head[0]).startswith("#"):
        raise PriceDataError(
            f"{source}: the first line {str(head[0])!r} looks like a comment; read_prices does "
            "not skip comment lines: delete it so that the header (date, then one column per "
            "asset) comes first."
        )
    fast = _read_cells_as_numbers(file, sep, len(head))
    if fast is not None:
        return fast
    body = _read_csv(file, source, compression, sep, names=range(len(head)), skip_blank_lines=False)
    cells = body.to_numpy(dtype=object)
    used = np.flatnonzero((cells != "").any(axis=1))
    header_position, data_positions = used[0], used[1:]
    header = [str(c).strip() or f"Unnamed: {i}" for i, c in enumerate(body.iloc[header_position])]
    data = body.iloc[data_positions].reset_index(drop=True)
    data = data.mask(data.isin(list(_NA_STRINGS)))
    data.columns = range(len(header))
    return header, data, data_positions + 1, int(header_position) + 1


def _read_cells_as_numbers(
    file: Path, sep: str, width: int
) -> tuple[list[str], pd.DataFrame, np.ndarray, int] | None:
    """:func:`_read_cells` for a clean file, with pandas' C parser reading the prices as floats.

    The usual file (dates, a symbol column in long files, numbers, empty cells) is read in one pass
    without converting every cell from text, with the same result as the text path. Anything else
    (text or an NA string in a price column, ragged rows, a header far down the file, ...) returns
    None, and the text path reads the file again and says exactly what is wrong.
    """
    try:
        top = pd.read_csv(file, sep=sep, header=None, names=range(width), dtype=str,
                          na_filter=False, skipinitialspace=True, skip_blank_lines=False,
                          nrows=64)  # fmt: skip
        used = np.flatnonzero((top.to_numpy(dtype=object) != "").any(axis=1))
        if not used.size:
            return None
        header_position = int(used[0])
        header = [
            str(c).strip() or f"Unnamed: {i}" for i, c in enumerate(top.iloc[header_position])
        ]
        text = {0} | {
            i for i, name in enumerate(header) if name.lower() in _DATE_NAMES + _SYMBOL_NAMES
        }
        # price columns are left to the parser's inference (not dtype=float, which would read
        # True / False as 1.0 / 0.0): a column that is not all numbers comes back non-numeric
        body = pd.read_csv(file, sep=sep, header=None, names=range(width),
                           dtype={i: str for i in text}, keep_default_na=False, na_values=[""],
                           skipinitialspace=True, skip_blank_lines=False,
                           skiprows=header_position + 1)  # fmt: skip
    except Exception:  # noqa: BLE001 - the text path reads it again and names the problem
        return None
    if any(body[i].dtype.kind not in "iuf" for i in range(width) if i not in text):
        return None
    positions = np.flatnonzero(body.notna().any(axis=1).to_numpy())
    data = body.iloc[positions].reset_index(drop=True)
    # NA strings in the date / symbol cells, as the text path reads them
    for column in sorted(text):
        data[column] = data[column].mask(data[column].isin(list(_NA_STRINGS)))
    return header, data, positions + header_position + 2, header_position + 1


def _check_header(header: list[str], data: pd.DataFrame, source: str, header_line: int) -> None:
    """Reject repeated column names, which pandas would silently rename (``A``, ``A.1``)."""
    seen: dict[str, list[int]] = {}
    for position, name in enumerate(header, start=1):
        seen.setdefault(name, []).append(position)
    repeated = {name: where for name, where in seen.items() if len(where) > 1}
    if not repeated:
        return
    if len(data) and str(data.iloc[0, 0]).strip().lower() == "ticker":
        raise PriceDataError(
            f"{source}: lines {header_line}-{header_line + 2} look like the multi-row header yfinance "
            "writes (Price / Ticker / Date rows); keep one header line: date, then one column per "
            "ticker (e.g. save yf.download(...)['Close'] with to_csv)."
        )
    where = "; ".join(
        f"columns {' and '.join(map(str, cols))} are {name!r}" for name, cols in repeated.items()
    )
    raise PriceDataError(
        f"{source}: duplicate column header(s) {list(repeated)} in line {header_line} ({where}, "
        "counting from 1, spaces stripped); give every column its own name (one column per asset): "
        "delete or rename the repeats."
    )


# ------------------------------------------------------------------------------------------------
# dates
# ------------------------------------------------------------------------------------------------
def _offset(cell: object) -> str | None:
    """The time-zone offset written at the end of a timestamp, normalised to ``+HH:MM``."""
    if not isinstance(cell, str):
        return None
    found = _TZ_OFFSET.search(cell)
    if found is None:
        return None
    offset = found.group(1).upper()
    if offset in ("Z", "UTC", "GMT"):
        return "+00:00"
    digits = offset[1:].replace(":", "")
    return f"{offset[0]}{digits[:2]}:{digits[2:4] or '00'}"


def _mixed_offsets(text: pd.Series, lines: np.ndarray, source: str) -> PriceDataError | None:
    """An error naming the first two lines with different time-zone offsets, if there are such."""
    present = np.flatnonzero(text.notna().to_numpy())
    if not present.size:
        return None
    offsets = [_offset(text.iloc[p]) for p in present]
    other = next((i for i, o in enumerate(offsets) if o != offsets[0]), None)
    if other is None:
        return None

    def name(offset: str | None) -> str:
        return repr(offset) if offset is not None else "no offset"

    return PriceDataError(
        f"{source}: column '{text.name}' mixes time-zone offsets ({name(offsets[0])} at line "
        f"{lines[present[0]]}, {name(offsets[other])} at line {lines[present[other]]}); use one "
        "offset throughout, or plain dates (YYYY-MM-DD)."
    )


def _date_hints(raw: pd.Series, bad: np.ndarray, lines: np.ndarray) -> str:
    """Likely causes of unparseable dates: extra header rows, day-first dates."""
    if bad.size <= 3 and bad.size < len(raw) and (bad == np.arange(bad.size)).all():
        span = f"{lines[0]}" if bad.size == 1 else f"{lines[0]}-{lines[bad.size - 1]}"
        return (
            f" Line(s) {span} at the top are not dates: if they are extra header rows (yfinance "
            "writes 'Ticker' and 'Date' rows), delete them; read_prices reads one header line."
        )
    for cell in raw.iloc[bad[:_MAX_LISTED]]:
        found = _SLASH_DATE.fullmatch(str(cell).strip())
        if found is not None and int(found.group(1)) > 12:
            return (
                " These look like day-first dates (DD/MM/YYYY), which are read month-first: "
                "write the dates as YYYY-MM-DD."
            )
    return ""


def _parse_dates(raw: pd.Series, source: str, lines: np.ndarray) -> pd.DatetimeIndex:
    """Parse a date column; report unparseable or inconsistently formatted cells by line."""
    text = raw.astype("string").str.strip()
    try:
        with warnings.catch_warnings():
            # pandas warns when it cannot infer one format; the NaT check below reports those rows.
            warnings.simplefilter("ignore", UserWarning)
            # pandas < 3 returns mixed offsets as objects, with a FutureWarning; checked below.
            warnings.simplefilter("ignore", FutureWarning)
            dates = pd.to_datetime(text, errors="coerce")
        if not pd.api.types.is_datetime64_any_dtype(dates):
            raise ValueError("Mixed timezones detected")
    except (ValueError, TypeError) as exc:  # e.g. "Mixed timezones detected" (not coerced)
        mixed = _mixed_offsets(text, lines, source)
        if mixed is not None:
            raise mixed from None
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise PriceDataError(
            f"{source}: cannot read the dates in column '{raw.name}' ({first}). Use one format "
            "throughout, preferably YYYY-MM-DD."
        ) from None
    bad = np.flatnonzero(dates.isna().to_numpy())
    if bad.size:
        mixed = _mixed_offsets(text, lines, source)  # a plain date among timestamps with offsets
        if mixed is not None:
            raise mixed
        examples = ", ".join(
            repr(str(v)) if isinstance(v, str) else "an empty cell" for v in raw.iloc[bad[:3]]
        )
        raise PriceDataError(
            f"{source}: unparseable date in column '{raw.name}' at line {_lines(lines[bad])} "
            f"(e.g. {examples}). Use one format throughout, preferably YYYY-MM-DD."
            + _date_hints(raw, bad, lines)
        )
    index = pd.DatetimeIndex(dates, name="date")
    if index.tz is not None:
        index = index.tz_convert(None)
    return index


def _check_dates(index: pd.DatetimeIndex, source: str, lines: np.ndarray) -> None:
    duplicated = np.flatnonzero(index.duplicated(keep="first"))
    if duplicated.size:
        raise PriceDataError(
            f"{source}: duplicate date {index[duplicated[0]].date()} at line "
            f"{_lines(lines[duplicated])}; keep one row per date."
        )
    steps_back = np.flatnonzero(np.diff(index.asi8) < 0) + 1
    if steps_back.size:
        raise PriceDataError(
            f"{source}: dates are not in ascending order (line {_lines(lines[steps_back])} goes back "
            "in time); sort the file by date."
        )


# ------------------------------------------------------------------------------------------------
# prices
# ------------------------------------------------------------------------------------------------
def _to_prices(frame: pd.DataFrame, source: str, lines: np.ndarray) -> pd.DataFrame:
    """Convert every column to float, rejecting text, non-finite, non-positive and subnormal prices."""
    if all(dtype.kind in "iuf" for dtype in frame.dtypes):  # parsed as numbers: check all at once
        array = frame.to_numpy(dtype=float)
        with np.errstate(invalid="ignore"):
            bad = np.isinf(array) | (array < _TINY_PRICE)  # NaN (no price) compares False
        if not bad.any():
            return pd.DataFrame(array, index=frame.index, columns=[str(c) for c in frame.columns])
        first = int(np.flatnonzero(bad.any(axis=0))[0])
        frame = frame.iloc[:, [first]]  # the first bad column: the checks below name its problem
    out = {}
    for column in frame.columns:
        raw = frame[column]
        values = pd.to_numeric(raw, errors="coerce").astype(float)
        text_cells = np.flatnonzero(values.isna().to_numpy() & raw.notna().to_numpy())
        if text_cells.size:
            example = raw.iloc[text_cells[0]]
            hint = (
                " Write numbers with a '.' decimal point and no thousands separator (1234.5, not "
                "1234,5 or 1,234.5)."
                if "," in str(example)
                else ""
            )
            raise PriceDataError(
                f"{source}: column '{column}' has a non-numeric value {example!r} at line "
                f"{_lines(lines[text_cells])}; prices must be numbers (leave the cell empty if there "
                f"is none).{hint}"
            )
        array = values.to_numpy()
        non_finite = np.flatnonzero(np.isinf(array))
        if non_finite.size:
            raise PriceDataError(
                f"{source}: column '{column}' has an infinite price at line "
                f"{_lines(lines[non_finite])}; fix or blank those cells."
            )
        non_positive = np.flatnonzero(array <= 0)
        if non_positive.size:
            raise PriceDataError(
                f"{source}: column '{column}' has a non-positive price ({array[non_positive[0]]}) at "
                f"line {_lines(lines[non_positive])}; prices must be > 0 (blank the cell if there is "
                "none)."
            )
        tiny = np.flatnonzero(array < _TINY_PRICE)
        if tiny.size:
            raise PriceDataError(
                f"{source}: column '{column}' has a price too small to use ({raw.iloc[tiny[0]]}) at "
                f"line {_lines(lines[tiny])}: below {_TINY_PRICE:.3g}, the smallest normal float, "
                "returns computed from it overflow. Check the units, or rescale the column "
                "(multiply it by a power of ten)."
            )
        out[str(column)] = values.to_numpy()
    return pd.DataFrame(out, index=frame.index)


def _check_every_column_priced(prices: pd.DataFrame, source: str) -> None:
    for column in prices.columns:
        if not prices[column].notna().any():
            raise PriceDataError(f"{source}: column '{column}' has no prices at all; remove it.")


def _drop_unpriced_rows(
    prices: pd.DataFrame, source: str, where: _Where
) -> tuple[pd.DataFrame, _Where]:
    """Drop the dates on which no asset has a price (e.g. a holiday row of empty cells), warning once."""
    empty = prices.isna().all(axis=1).to_numpy()
    if not empty.any():
        return prices, where
    warnings.warn(
        f"{source}: rows with no price at all are dropped: {where.rows(np.flatnonzero(empty))}; "
        "no engine can trade on a date without prices (and such a row would leave every asset out "
        "of any window covering it). Delete those rows from the file to silence this warning.",
        PriceDataWarning,
        stacklevel=3,
    )
    return prices[~empty], where.keep(~empty)


def _warn_interior_gaps(prices: pd.DataFrame, source: str, where: _Where) -> None:
    """Warn about NaN *inside* an asset's life (before its first or after its last price is expected)."""
    for column in prices.columns:
        present = prices[column].notna().to_numpy()
        first, last = np.argmax(present), len(present) - 1 - np.argmax(present[::-1])
        gaps = np.flatnonzero(~present[first : last + 1]) + first
        if gaps.size:
            warnings.warn(
                f"{source}: column '{column}' has {gaps.size} missing price(s) inside its life "
                f"({where.cells(column, gaps)}); they are kept as NaN and the asset is left out of any "
                "allocation whose window covers them. Fill them explicitly if that is wrong.",
                PriceDataWarning,
                stacklevel=3,
            )


def _move(log_move: float) -> str:
    """A one-day move as a percentage, or as a power of ten when the percentage is absurd."""
    if abs(log_move) <= _MAX_PERCENT_LOG_MOVE:
        return f"{np.expm1(log_move):+.1%}"
    return f"by a factor of about 1e{log_move / np.log(10):+.0f}"


def _warn_suspicious(
    prices: pd.DataFrame, source: str, check_splits: bool, wide: bool, where: _Where
) -> None:
    """Warn about constant prices and one-day moves that look like an unadjusted split.

    Line numbers are given for wide files only (a long file's rows are not one per date).
    """
    for column in prices.columns:
        priced = prices[column].dropna()
        values = priced.to_numpy()
        if len(values) >= _MIN_ROWS_CONSTANT and (values == values[0]).all():
            warnings.warn(
                f"{source}: column '{column}' has the same price ({values[0]}) on all "
                f"{len(values)} rows: zero variance, so the allocators that need a positive variance "
                "(needs_positive_variance: HRP, HERC, inverse-variance, inverse-volatility) reject it "
                "and skip every rebalance that includes it. Remove the column (or use an allocator "
                "that accepts it: equal weight or mean-variance).",
                PriceDataWarning,
                stacklevel=3,
            )
            continue
        if not check_splits or len(values) < 2:
            continue
        moves = np.diff(np.log(values))  # finite: prices are positive normal floats
        jumps = np.flatnonzero(np.abs(moves) >= SPLIT_LOG_MOVE * (1 - 1e-12)) + 1
        if jumps.size:
            rows = prices.index.get_indexer(priced.index[jumps])
            first = jumps[0]
            at = f" ({where.cells(column, rows)})" if wide else f" ({jumps.size} such move(s))"
            warnings.warn(
                f"{source}: column '{column}' moves {_move(moves[first - 1])} in one day on "
                f"{priced.index[first].date()}{at}: this looks like a stock split "
                "or reverse split left unadjusted (threshold: a fall of 44.4 % or a rise of 80 %, "
                "|log move| >= ln 1.8). Prices are kept as given; use split-adjusted closes, or "
                "ignore this warning if the move is real.",
                PriceDataWarning,
                stacklevel=3,
            )


def _pivot_long(
    frame: pd.DataFrame, lower: dict[str, str], source: str, field: str, lines: np.ndarray
) -> tuple[pd.DataFrame, _Where]:
    symbol_col = next(lower[n] for n in _SYMBOL_NAMES if n in lower)
    if field not in lower:
        raise PriceDataError(
            f"{source}: long-format file has no '{field}' column; columns are {list(frame.columns)}. "
            f"(A column named {' / '.join(repr(n) for n in _SYMBOL_NAMES)} makes the file long-format: "
            "rename it if it holds an asset's prices, or pass field= the price column.)"
        )
    value_col = lower[field]
    missing_symbol = np.flatnonzero(frame[symbol_col].isna().to_numpy())
    if missing_symbol.size:
        raise PriceDataError(
            f"{source}: empty '{symbol_col}' at line {_lines(lines[missing_symbol])}; every row needs "
            "a symbol."
        )
    keys = pd.DataFrame({"date": frame.index, "symbol": frame[symbol_col].astype(str).to_numpy()})
    duplicated = np.flatnonzero(keys.duplicated().to_numpy())
    if duplicated.size:
        row = keys.iloc[duplicated[0]]
        raise PriceDataError(
            f"{source}: duplicate row for symbol '{row['symbol']}' on {row['date'].date()} at line "
            f"{_lines(lines[duplicated])}; keep one row per symbol and date."
        )
    values = _to_prices(frame[[value_col]], source, lines)[str(value_col)]
    cells = pd.MultiIndex.from_frame(keys)
    wide = pd.Series(values.to_numpy(), index=cells).unstack("symbol")
    wide.index.name = "date"
    wide.columns.name = None
    wide = wide.sort_index()
    return wide, _Where(pd.DatetimeIndex(wide.index), cell_lines=pd.Series(lines, index=cells))


def _check_paths(path: object) -> list[Path]:
    """``path`` (one path, or a non-empty list / tuple of paths) as a list of Paths."""
    several = isinstance(path, (list, tuple))
    paths = list(path) if several else [path]
    if several and not paths:
        raise ValueError(
            "The 'path' parameter of read_prices must be a file path or a non-empty list of file "
            "paths (one per ticker). Got an empty list instead."
        )
    for item in paths:
        if not isinstance(item, (str, PathLike)):
            raise TypeError(
                "The 'path' parameter of read_prices must be a file path (str or os.PathLike) or a "
                f"list of them. Got {item!r} instead."
            )
        if isinstance(item, str) and not item.strip():
            raise ValueError(
                "The 'path' parameter of read_prices must be a file path. Got '' instead."
            )
    return [Path(item) for item in paths]


def _check_parameters(field: object, min_assets: object, check_splits: object) -> None:
    if not isinstance(field, str) or not field.strip():
        raise ValueError(
            "The 'field' parameter of read_prices must be a column name such as 'close'. "
            f"Got {field!r} instead."
        )
    check_int("read_prices", "min_assets", min_assets, low=1)
    check_bool("read_prices", "check_splits", check_splits)


def _asset_name(file: Path) -> str:
    """The ticker a one-ticker file is named after: ``AAPL.csv`` / ``AAPL.csv.gz`` -> ``AAPL``."""
    suffix = next((sfx for sfx, _ in _COMPRESSION if file.name.lower().endswith(sfx)), "")
    name = file.name[: len(file.name) - len(suffix)]
    return name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name


def _one_ticker_close(columns: Sequence[str]) -> str | None:
    """The price column of one ticker's OHLCV columns (``Adj Close``, else ``Close``), else None."""
    names = {" ".join(re.split(r"[\s_]+", c.strip().lower())): c for c in columns}
    if not names or not set(names) <= _ONE_TICKER_NAMES:
        return None
    return names.get("adj close", names.get("close"))


def _read_file(file: Path, field: str) -> tuple[pd.DataFrame, _Where, str]:
    """One price file as a wide frame (not yet checked for assets without prices), the file lines
    of its cells, and its layout: ``"wide"``, ``"long"`` or ``"one ticker"``."""
    source = str(file)
    if file.is_dir():
        raise IsADirectoryError(
            f"read_prices: {source} is a folder, not a file; pass the path of a price CSV."
        )
    if not file.is_file():
        raise FileNotFoundError(f"read_prices: no such file: {source}")
    header, frame, lines, header_line = _read_cells(file, source)
    if frame.empty:
        raise PriceDataError(f"{source}: the file has a header but no data rows.")
    _check_header(header, frame, source, header_line)
    frame.columns = header
    lower = {c.lower(): c for c in frame.columns}
    date_col = next((lower[n] for n in _DATE_NAMES if n in lower), frame.columns[0])
    frame.index = _parse_dates(frame[date_col], source, lines)
    frame = frame.drop(columns=[date_col])

    if any(n in lower for n in _SYMBOL_NAMES):
        prices, where = _pivot_long(frame, lower, source, field.lower(), lines)
        return prices, where, "long"
    _check_dates(pd.DatetimeIndex(frame.index), source, lines)
    unnamed = [c for c in frame.columns if c.startswith("Unnamed:")]
    if unnamed:
        hint = ""
        if header[0].startswith("Unnamed:"):
            hint = (
                " (A first column without a header is often an index written by "
                "DataFrame.to_csv: write the file with index=False, or delete that column.)"
            )
        elif header[-1].startswith("Unnamed:") and frame[header[-1]].isna().all():
            hint = " (Does every line end with a comma? Delete the trailing commas.)"
        raise PriceDataError(
            f"{source}: columns {unnamed} have no header; name every asset column.{hint}"
        )
    close = _one_ticker_close(list(frame.columns))
    layout = "wide" if close is None else "one ticker"
    if close is None:
        prices = _to_prices(frame, source, lines)
    else:
        name = _asset_name(file)
        logger.info(
            "%s: columns %s are one ticker's prices: read as ONE asset '%s' (its '%s' column)",
            source, list(frame.columns), name, close,
        )  # fmt: skip
        prices = _to_prices(frame[[close]], source, lines).set_axis([name], axis=1)
    return prices, _Where(pd.DatetimeIndex(prices.index), row_lines=lines), layout


def _join_files(
    paths: list[Path], field: str
) -> tuple[pd.DataFrame, _Where, list[tuple[str, list[str]]]]:
    """Several price files (one per ticker, or any wide / long files) joined on their dates."""
    frames, cells, origin = [], [], {}
    for file in paths:
        prices, where, _ = _read_file(file, field)
        _check_every_column_priced(prices, str(file))
        prices, where = _drop_unpriced_rows(prices, str(file), where)
        for column in prices.columns:
            if column in origin:
                raise PriceDataError(
                    f"read_prices: asset '{column}' is in both {origin[column]} and {file}; each "
                    "asset must come from one file (drop a file or rename its column / file)."
                )
            origin[column] = str(file)
        frames.append(prices)
        if where.row_lines is not None:  # one line per row: give every cell its row's line
            where = _Where(
                where.index,
                cell_lines=pd.Series(
                    np.repeat(where.row_lines, prices.shape[1]),
                    index=pd.MultiIndex.from_product([where.index, prices.columns]),
                ),
            )
        cells.append(where.cell_lines)
    joined = pd.concat(frames, axis=1, join="outer").sort_index()
    joined.index = pd.DatetimeIndex(joined.index.to_numpy())  # no inferred freq: as one file reads
    groups = [(str(file), list(f.columns)) for file, f in zip(paths, frames, strict=True)]
    return joined, _Where(pd.DatetimeIndex(joined.index), cell_lines=pd.concat(cells)), groups


def read_prices(
    path: str | PathLike[str] | Sequence[str | PathLike[str]],
    *,
    field: str = "close",
    min_assets: int = 2,
    check_splits: bool = True,
) -> pd.DataFrame:
    """Read a price CSV (wide, long, or one ticker's OHLCV), or one file per ticker, into a validated
    wide price frame.

    Parameters
    ----------
    path : str or path-like, or a list of them
        A CSV file, optionally compressed (``.gz``, ``.zip``, ... as pandas infers). Comma-separated;
        a header line with no comma but semicolons, tabs or ``|`` selects that separator. A list
        reads one file per ticker (or any price files) and joins them on their dates (an outer join:
        a ticker without a row on a date has no price there); an asset in two files is an error.
    field : str, default "close"
        For long files, which price column to pivot (``open``, ``high``, ``low`` or ``close``).
    min_assets : int, default 2
        Fewer assets than this (an int >= 1) is an error (an allocation needs at least two
        assets; pass 1 for a benchmark file).
    check_splits : bool, default True
        Warn about one-day moves that look like an unadjusted split (see the module notes).

    Returns
    -------
    pandas.DataFrame
        Float prices, ``DatetimeIndex`` named ``date`` (sorted, unique, tz-naive), one column per
        asset. Cells with no price stay NaN; dates with no price at all are dropped (with a warning).

    Raises
    ------
    FileNotFoundError
        If a ``path`` does not exist.
    IsADirectoryError
        If a ``path`` is a folder.
    TypeError
        If ``path`` is not a path or a list of paths.
    ValueError
        If ``path`` is an empty list, or ``field``, ``min_assets`` or ``check_splits`` is invalid.
    PriceDataError
        If the file is empty, not UTF-8 CSV text, a corrupt archive, has repeated column headers,
        rows with more fields than the header, unparseable / mixed-offset / duplicate / unsorted
        dates, non-numeric, non-finite, non-positive or subnormal prices, or fewer than
        ``min_assets`` assets (the message says how to pass several tickers); if two files hold the
        same asset. The message names the file, the line and the column.

    Warns
    -----
    PriceDataWarning
        For a gap inside an asset's life (in a file, or a date of the other files that a ticker's
        file lacks), a constant price, a likely unadjusted split (kept as given), or dates with no
        price at all (dropped); see the module notes.
    """
    paths = _check_paths(path)
    _check_parameters(field, min_assets, check_splits)
    if isinstance(path, (list, tuple)):
        prices, where, groups = _join_files(paths, field)
        layout, found = "wide", f"read_prices: the files {[str(p) for p in paths]} hold"
    else:
        source = str(paths[0])
        prices, where, layout = _read_file(paths[0], field)
        groups, found = [(source, list(prices.columns))], f"{source}: found"
        if layout == "one ticker":
            found = f"{source}: its columns are one ticker's prices, read as"
    if prices.shape[1] < min_assets:
        raise PriceDataError(
            f"{found} {prices.shape[1]} asset column(s) {list(prices.columns)}; at least "
            f"{min_assets} are needed. {_SEVERAL_TICKERS}"
        )
    if not isinstance(path, (list, tuple)):
        _check_every_column_priced(prices, source)
        prices, where = _drop_unpriced_rows(prices, source, where)
    for source, columns in groups:
        _warn_interior_gaps(prices[columns], source, where)
        _warn_suspicious(prices[columns], source, check_splits, layout != "long", where)
    prices.index.name = "date"
    return prices

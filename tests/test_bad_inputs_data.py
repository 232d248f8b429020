"""Bad inputs to the data loader (seqfolio.data): read_prices, load_sample, trailing_returns.

Each test is one row of ``docs/bad_inputs.md`` (Price data): a PriceDataError / ValueError / TypeError
whose message names the file, line and column and says what to do, or a documented recovery with a
PriceDataWarning and the exact recovered frame. Tiny synthetic files throughout.
"""

from __future__ import annotations

import bz2
import gzip
import warnings
import zipfile

import numpy as np
import pandas as pd
import pytest

from seqfolio.data import (
    PriceDataError,
    PriceDataWarning,
    load_benchmark,
    load_sample,
    read_prices,
    trailing_returns,
)

BASE = "date,A,B\n2021-01-04,1,2\n2021-01-05,1.1,2.1\n2021-01-06,1.2,2.2\n"
EXPECTED = pd.DataFrame(
    {"A": [1.0, 1.1, 1.2], "B": [2.0, 2.1, 2.2]},
    index=pd.DatetimeIndex(["2021-01-04", "2021-01-05", "2021-01-06"], name="date"),
)


def _write(tmp_path, content: str | bytes, name: str = "prices.csv"):
    path = tmp_path / name
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content, encoding="utf-8")
    return path


def _read_quietly(path, **kwargs) -> pd.DataFrame:
    """read_prices with every warning an error (so a recovery that should be silent is)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        return read_prices(path, **kwargs)


def _prices(n: int = 120, assets: tuple[str, ...] = ("A", "B", "C"), seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    index = pd.bdate_range("2021-01-01", periods=n, name="date")
    steps = rng.normal(0.0003, 0.01, (n, len(assets)))
    return pd.DataFrame(100 * np.exp(np.cumsum(steps, axis=0)), index=index, columns=list(assets))


# =================================================================================================
# duplicate column headers (review item 5)
# =================================================================================================
@pytest.mark.parametrize(
    "header",
    ["date,A,A", "date,A, A", "date,A,A "],
    ids=["repeated", "repeated after a space", "repeated with a trailing space"],
)
def test_duplicate_headers_are_rejected(tmp_path, header):
    path = _write(tmp_path, f"{header}\n2021-01-04,1,2\n2021-01-05,1.1,2.1\n")
    with pytest.raises(
        PriceDataError,
        match=r"prices.csv: duplicate column header\(s\) \['A'\] in line 1 \(columns 2 and 3 are "
        r"'A', .*give every column its own name",
    ):
        read_prices(path)


def test_duplicate_headers_list_every_repeat(tmp_path):
    path = _write(tmp_path, "date,A,A,B,B,A\n2021-01-04,1,2,3,4,5\n")
    with pytest.raises(
        PriceDataError,
        match=r"\['A', 'B'\] .*columns 2 and 3 and 6 are 'A'; columns 4 and 5 are 'B'",
    ):
        read_prices(path)


def test_a_header_that_looks_like_a_pandas_rename_is_kept(tmp_path):
    path = _write(tmp_path, "date,A,A.1\n2021-01-04,1,2\n2021-01-05,1.1,2.1\n")
    assert list(_read_quietly(path).columns) == ["A", "A.1"]


def test_yfinance_multirow_header_is_named(tmp_path):
    text = "Price,Close,Close\nTicker,AAPL,MSFT\nDate,,\n2021-01-04,1,2\n2021-01-05,1.1,2.1\n"
    with pytest.raises(PriceDataError, match=r"lines 1-3 look like the multi-row header yfinance"):
        read_prices(_write(tmp_path, text))


def test_extra_header_rows_are_named(tmp_path):
    text = "Price,Close,Open\nTicker,AAPL,AAPL\nDate,,\n2021-01-04,1,2\n2021-01-05,1.1,2.1\n"
    with pytest.raises(
        PriceDataError,
        match=r"unparseable date in column 'Price' at line 2, 3 .*Line\(s\) 2-3 at the top are not "
        r"dates: if they are extra header rows",
    ):
        read_prices(_write(tmp_path, text))


# =================================================================================================
# dates: time-zone offsets, day-first dates, empty cells (review item 8)
# =================================================================================================
@pytest.mark.parametrize(
    ("first", "second", "message"),
    [
        ("2021-01-04T00:00:00+00:00", "2021-01-05T00:00:00+05:00", r"\('\+00:00' at line 2, '\+05:00' at line 3\)"),
        ("2021-01-04", "2021-01-05T00:00:00+05:00", r"\(no offset at line 2, '\+05:00' at line 3\)"),
        ("2021-03-12T16:00:00-05:00", "2021-03-15T16:00:00-04:00", r"\('-05:00' at line 2, '-04:00' at line 3\)"),
    ],
    ids=["two offsets", "plain date then offset", "daylight saving change"],
)  # fmt: skip
def test_mixed_time_zone_offsets(tmp_path, first, second, message):
    path = _write(tmp_path, f"date,A,B\n{first},1,2\n{second},1.1,2.1\n")
    with pytest.raises(
        PriceDataError,
        match=r"column 'date' mixes time-zone offsets " + message + r"; use one offset "
        r"throughout, or plain dates \(YYYY-MM-DD\)",
    ):
        read_prices(path)


def test_one_offset_throughout_is_read(tmp_path):
    text = "date,A,B\n2021-01-04T00:00:00Z,1,2\n2021-01-05T00:00:00+00:00,1.1,2.1\n"
    got = _read_quietly(_write(tmp_path, text))
    assert list(got.index) == [pd.Timestamp("2021-01-04"), pd.Timestamp("2021-01-05")]


def test_day_first_dates_are_named(tmp_path):
    text = "date,A,B\n04/01/2021,1,2\n05/01/2021,1.1,2.1\n13/01/2021,1.2,2.2\n"
    with pytest.raises(
        PriceDataError,
        match=r"at line 4 \(e.g. '13/01/2021'\).* These look like day-first dates \(DD/MM/YYYY\), "
        r"which are read month-first: write the dates as YYYY-MM-DD",
    ):
        read_prices(_write(tmp_path, text))


def test_empty_date_cell_is_called_empty(tmp_path):
    with pytest.raises(
        PriceDataError, match=r"unparseable date in column 'date' at line 3 \(e.g. an empty cell\)"
    ):
        read_prices(_write(tmp_path, "date,A,B\n2021-01-04,1,2\n,1.1,2.1\n"))


# =================================================================================================
# the file itself: compression, encoding, folders, separators (review items 8 and 9)
# =================================================================================================
@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.csv.gz", b"not gzip at all", r"p.csv.gz: not a valid gzip file \(Not a gzipped file"),
        ("p.csv.gz", gzip.compress(BASE.encode())[:-10], r"p.csv.gz: not a valid gzip file \(Compressed file ended"),
        ("p.zip", b"PK\x03\x04garbage", r"p.zip: not a valid zip file \(File is not a zip file\)"),
        ("p.csv.bz2", b"BZh9garbage", r"p.csv.bz2: not a valid bzip2 file \(Invalid data stream\)"),
    ],
    ids=["not gzip", "truncated gzip", "corrupt zip", "corrupt bzip2"],
)  # fmt: skip
def test_corrupt_compressed_file(tmp_path, name, content, message):
    with pytest.raises(PriceDataError, match=message + r".*re-download or re-compress it"):
        read_prices(_write(tmp_path, content, name))


def test_zip_with_two_files(tmp_path):
    path = tmp_path / "p.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", BASE)
        archive.writestr("b.csv", BASE)
    with pytest.raises(
        PriceDataError,
        match=r"p.zip: Multiple files found .*\['a.csv', 'b.csv'\]; read_prices reads a zip archive "
        r"that holds exactly one CSV file",
    ):
        read_prices(path)


def test_valid_compressed_files_still_read(tmp_path):
    path = tmp_path / "p.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.csv", BASE)
    pd.testing.assert_frame_equal(_read_quietly(path), EXPECTED)
    pd.testing.assert_frame_equal(
        _read_quietly(_write(tmp_path, bz2.compress(BASE.encode()), "P.CSV.BZ2")), EXPECTED
    )


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("p.csv", gzip.compress(BASE.encode()), r"gzip-compressed but its name does not end in .gz"),
        ("p.xlsx", b"PK\x03\x04" + bytes(60), r"a zip archive \(an Excel .xlsx workbook\?\), not a CSV; export the sheet as CSV"),
        ("p.csv", BASE.encode("utf-16"), r"the file is UTF-16 text; save it as UTF-8 CSV"),
        ("p.csv", "date,Ä,B\n2021-01-04,1,2\n".encode("latin-1"), r"the file is not UTF-8 text \(.*\); save it as UTF-8 CSV"),
        ("p.csv", bytes(range(256)) * 4, r"this is a binary file, not a CSV text file"),
    ],
    ids=["gzip named .csv", "excel workbook", "utf-16", "latin-1", "binary"],
)  # fmt: skip
def test_files_that_are_not_csv_text(tmp_path, name, content, message):
    with pytest.raises(PriceDataError, match=message):
        read_prices(_write(tmp_path, content, name))


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"read_prices: .* is a folder, not a file"):
        read_prices(tmp_path)


@pytest.mark.parametrize("sep", [";", "\t", "|"], ids=["semicolon", "tab", "pipe"])
def test_semicolon_tab_and_pipe_separated_files_are_read(tmp_path, sep):
    got = _read_quietly(_write(tmp_path, BASE.replace(",", sep)))
    pd.testing.assert_frame_equal(got, EXPECTED)


def test_semicolon_separated_long_file_is_read(tmp_path):
    text = "date;symbol;close\n2021-01-04;A;1\n2021-01-04;B;2\n2021-01-05;A;1.1\n2021-01-05;B;2.1\n"
    got = _read_quietly(_write(tmp_path, text))
    pd.testing.assert_frame_equal(got, EXPECTED.iloc[:2])


@pytest.mark.parametrize(
    "text",
    ["date;A;B\n2021-01-04;1,5;2,5\n", 'date,A,B\n2021-01-04,"1,5",2\n'],
    ids=["decimal comma", "thousands separator"],
)
def test_decimal_comma_is_named(tmp_path, text):
    with pytest.raises(
        PriceDataError,
        match=r"column 'A' has a non-numeric value '1,5' at line 2; .*Write numbers with a '.' "
        r"decimal point and no thousands separator",
    ):
        read_prices(_write(tmp_path, text))


# =================================================================================================
# rows: file line numbers, blank lines, ragged rows, comments
# =================================================================================================
def test_line_numbers_count_blank_lines(tmp_path):
    text = "\ndate,A,B\n2021-01-04,1,2\n\n2021-01-05,x,2\n"
    with pytest.raises(PriceDataError, match=r"column 'A' has a non-numeric value 'x' at line 5;"):
        read_prices(_write(tmp_path, text))


def test_lines_of_empty_cells_are_skipped(tmp_path):
    got = _read_quietly(
        _write(tmp_path, BASE.replace("\n2021-01-05", "\n,,\n \n2021-01-05") + ",,\n")
    )
    pd.testing.assert_frame_equal(got, EXPECTED)


def test_row_with_more_fields_than_the_header(tmp_path):
    text = "date,A,B\n2021-01-04,1,2,3\n2021-01-05,1.1,2.1\n"
    with pytest.raises(
        PriceDataError,
        match=r"line 2 has 4 fields but the header has 3; every row needs one value per column",
    ):
        read_prices(_write(tmp_path, text))


@pytest.mark.parametrize(
    "text",
    [",,,\n,,,\n", ",,\ndate,A,B,C\n2021-01-04,1,2,3\n"],
    ids=["only empty cells", "empty cells above the header"],
)
def test_empty_cells_above_the_header_are_named(tmp_path, text):
    with pytest.raises(PriceDataError, match=r"the first non-blank line holds only empty cells "
                                              r"\(','-separated blanks\); delete the empty lines "
                                              r"above the header"):  # fmt: skip
        read_prices(_write(tmp_path, text))


def test_comment_line_is_named(tmp_path):
    with pytest.raises(PriceDataError, match=r"the first line '# prices' looks like a comment"):
        read_prices(_write(tmp_path, "# prices\n" + BASE))


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (",date,A,B\n0,2021-01-04,1,2\n1,2021-01-05,1.1,2.1\n", r"\['Unnamed: 0'\] have no header.*an index written by DataFrame.to_csv: write the file with index=False"),
        ("date,A,B,\n2021-01-04,1,2,\n2021-01-05,1.1,2.1,\n", r"\['Unnamed: 3'\] have no header.*Does every line end with a comma\?"),
    ],
    ids=["saved index", "trailing commas"],
)  # fmt: skip
def test_unnamed_column_hints(tmp_path, text, message):
    with pytest.raises(PriceDataError, match=message):
        read_prices(_write(tmp_path, text))


def test_na_strings_are_missing_and_headers_stay_as_written(tmp_path):
    text = (
        "date,NA,null\n2021-01-04,1,2\n2021-01-05,NA,2.1\n2021-01-06,1.2,N/A\n2021-01-07,1.3,2.3\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = read_prices(_write(tmp_path, text))
    assert [str(w.message).split(": ", 1)[1][:35] for w in caught] == [
        "column 'NA' has 1 missing price(s) ",
        "column 'null' has 1 missing price(s",
    ]
    assert list(got.columns) == ["NA", "null"]
    assert got.isna().to_numpy().tolist() == [
        [False, False],
        [True, False],
        [False, True],
        [False, False],
    ]


# =================================================================================================
# rows with no price at all (a holiday row of empty cells): dropped with one warning
# =================================================================================================
def test_rows_with_no_price_are_dropped_with_one_warning(tmp_path):
    text = (
        BASE.replace("2021-01-05,1.1,2.1\n", "2021-01-05,1.1,2.1\n2021-01-06,,\n").replace(
            "2021-01-06,1.2", "2021-01-07,1.2"
        )
        + "2021-01-08, ,\n"
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = read_prices(_write(tmp_path, text))
    messages = [str(w.message) for w in caught]
    assert len(messages) == 1 and caught[0].category is PriceDataWarning  # no gap warnings
    assert (
        "rows with no price at all are dropped: 2021-01-06 (line 4), 2021-01-08 (line 6);"
        in (messages[0])
    )
    expected = EXPECTED.set_axis(
        pd.DatetimeIndex(["2021-01-04", "2021-01-05", "2021-01-07"], name="date")
    )
    pd.testing.assert_frame_equal(got, expected)
    assert list(trailing_returns(got, 2).columns) == ["A", "B"]  # the window keeps both assets


def test_row_with_one_price_stays(tmp_path):
    text = BASE.replace("2021-01-05,1.1,2.1", "2021-01-05,1.1,")
    with pytest.warns(
        PriceDataWarning, match=r"column 'B' has 1 missing price\(s\) inside its life \(line 3\)"
    ):
        got = read_prices(_write(tmp_path, text))
    assert len(got) == 3 and np.isnan(got.loc["2021-01-05", "B"])


def test_long_file_date_with_no_price_is_dropped(tmp_path):
    text = (
        "date,symbol,close\n2021-01-04,A,1\n2021-01-04,B,2\n2021-01-05,A,\n2021-01-05,B,\n"
        "2021-01-06,A,1.1\n2021-01-06,B,2.1\n"
    )
    with pytest.warns(
        PriceDataWarning, match=r"rows with no price at all are dropped: 2021-01-05 \(lines 4, 5\);"
    ):
        got = read_prices(_write(tmp_path, text))
    expected = EXPECTED.iloc[:2].set_axis(
        pd.DatetimeIndex(["2021-01-04", "2021-01-06"], name="date")
    )
    pd.testing.assert_frame_equal(got, expected)


# =================================================================================================
# long-format gap warnings give the file's lines, not the pivoted frame's (review item 9)
# =================================================================================================
def test_long_gap_warning_names_file_lines_and_missing_rows(tmp_path):
    text = (
        "date,symbol,close\n"
        "2021-01-04,A,1\n2021-01-05,A,1.1\n2021-01-06,A,1.2\n2021-01-07,A,1.3\n"  # lines 2-5
        "2021-01-04,B,2\n2021-01-06,B,\n2021-01-07,B,2.3\n"  # lines 6-8: no 01-05 row; 01-06 blank
    )
    with pytest.warns(
        PriceDataWarning,
        match=r"column 'B' has 2 missing price\(s\) inside its life \(on 2021-01-05 \(no row in the "
        r"file\), 2021-01-06 \(line 7\)\)",
    ):
        got = read_prices(_write(tmp_path, text))
    assert got["B"].isna().tolist() == [False, True, True, False]


# =================================================================================================
# absurdly small prices and absurd one-day moves (review item 9)
# =================================================================================================
def test_subnormal_price_is_rejected(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(
            PriceDataError,
            match=r"column 'A' has a price too small to use \(1e-320\) at line 2: below 2.23e-308, "
            r"the smallest normal float, returns computed from it overflow. Check the units",
        ):
            read_prices(_write(tmp_path, "date,A,B\n2021-01-04,1e-320,2\n2021-01-05,1,2.1\n"))


def test_huge_one_day_move_is_reported_finitely(tmp_path):
    path = _write(tmp_path, "date,A,B\n2021-01-04,1e-300,2\n2021-01-05,1e10,2.1\n")
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # no overflow in the log-ratio formatting
        with pytest.warns(
            PriceDataWarning,
            match=r"column 'A' moves by a factor of about 1e\+310 in one day on 2021-01-05 \(line 3\)",
        ):
            got = read_prices(path)
    assert got.loc["2021-01-04", "A"] == 1e-300


# =================================================================================================
# parameters of read_prices
# =================================================================================================
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"min_assets": "2"}, r"The 'min_assets' parameter of read_prices must be an int >= 1. Got '2' instead."),
        ({"min_assets": 0}, r"The 'min_assets' parameter of read_prices must be an int >= 1. Got 0 instead."),
        ({"min_assets": True}, r"'min_assets' parameter of read_prices must be an int >= 1. Got True"),
        ({"field": None}, r"The 'field' parameter of read_prices must be a column name such as 'close'. Got None"),
        ({"field": ""}, r"The 'field' parameter of read_prices must be a column name"),
        ({"check_splits": "no"}, r"The 'check_splits' parameter of read_prices must be a bool. Got 'no'"),
    ],
    ids=["min_assets str", "min_assets 0", "min_assets bool", "field None", "field empty", "check_splits str"],
)  # fmt: skip
def test_read_prices_bad_parameters(tmp_path, kwargs, message):
    with pytest.raises(ValueError, match=message):
        read_prices(_write(tmp_path, BASE), **kwargs)


def test_read_prices_path_must_be_a_path():
    with pytest.raises(TypeError, match=r"The 'path' parameter of read_prices must be a file path"):
        read_prices(None)  # type: ignore[arg-type]


def test_numpy_parameters_are_accepted(tmp_path):
    path = _write(tmp_path, BASE)
    got = _read_quietly(path, min_assets=np.int64(2), check_splits=np.bool_(False))
    pd.testing.assert_frame_equal(got, EXPECTED)


# =================================================================================================
# one ticker's OHLCV file; one file per ticker (issue 11 item 5)
# =================================================================================================
def _ohlcv(adj_close: bool = False) -> str:
    """One ticker's Yahoo-style file (Adj Close 50 on every row); a Volume of 0 is not a price."""
    rows = [(4, 10, 5000), (5, 11, 0), (6, 12, 7000)]
    adj = ",Adj Close" if adj_close else ""
    return f"Date,Open,High,Low,Close{adj},Volume\n" + "".join(
        f"2021-01-{d:02d},{o},{o + 2},{o - 1},{o + 1}{',50' if adj_close else ''},{v}\n"
        for d, o, v in rows
    )


@pytest.mark.parametrize(("adj", "column"), [(False, "Close"), (True, "Adj Close")])
def test_one_tickers_ohlcv_file_is_one_asset(tmp_path, caplog, adj, column):
    path = _write(tmp_path, _ohlcv(adj), "AAPL.csv")
    with caplog.at_level("INFO", logger="seqfolio.data"):
        got = read_prices(path, min_assets=1, check_splits=False)
    assert list(got.columns) == ["AAPL"] and got.index.name == "date"
    assert got["AAPL"].tolist() == ([50.0] * 3 if adj else [11.0, 12.0, 13.0])
    assert f"read as ONE asset 'AAPL' (its '{column}' column)" in caplog.text
    with pytest.raises(
        PriceDataError,
        match=r"AAPL.csv: its columns are one ticker's prices, read as 1 asset column\(s\) "
        r"\['AAPL'\]; at least 2 are needed. To pass several tickers use a wide file .* a long "
        r"file .* or one file per ticker \(read_prices\(\[path, ...\]\); on the command line "
        r"--data AAPL.csv MSFT.csv ...\)",
    ):
        read_prices(path)


def test_one_file_per_ticker_is_joined_on_dates(tmp_path):
    aapl = _write(tmp_path, _ohlcv(), "AAPL.csv")
    msft = tmp_path / "MSFT.csv.gz"  # named without its compression suffix too
    msft.write_bytes(gzip.compress(b"date,close\n2021-01-04,200\n2021-01-06,202\n2021-01-07,203\n"))
    with pytest.warns(PriceDataWarning) as caught:
        got = read_prices([aapl, str(msft)])
    expected = pd.DataFrame(
        {"AAPL": [11.0, 12.0, 13.0, np.nan], "MSFT": [200.0, np.nan, 202.0, 203.0]},
        index=pd.DatetimeIndex(
            ["2021-01-04", "2021-01-05", "2021-01-06", "2021-01-07"], name="date"
        ),
    )
    pd.testing.assert_frame_equal(got, expected)
    (gap,) = [str(w.message) for w in caught]  # AAPL ends before 2021-01-07: not a gap
    assert gap.startswith(f"{msft}: column 'MSFT' has 1 missing price(s) inside its life (on "
                          "2021-01-05 (no row in the file))")  # fmt: skip
    # the same as one wide file, and a one-element list as the path itself
    wide = _write(tmp_path, "date,A,B\n2021-01-04,1,2\n2021-01-05,1.1,2.1\n", "wide.csv")
    pd.testing.assert_frame_equal(_read_quietly([wide]), _read_quietly(wide))


def test_one_file_per_ticker_errors(tmp_path):
    aapl = _write(tmp_path, _ohlcv(), "AAPL.csv")
    (tmp_path / "other").mkdir()
    again = _write(tmp_path / "other", _ohlcv(), "AAPL.csv")
    with pytest.raises(PriceDataError, match=r"asset 'AAPL' is in both .*AAPL.csv and .*other/AAPL.csv; "
                                             r"each asset must come from one file"):  # fmt: skip
        read_prices([aapl, again])
    with pytest.raises(PriceDataError, match=r"read_prices: the files \[.*AAPL.csv'\] hold 1 asset "
                                             r"column\(s\) \['AAPL'\]; at least 2 .* one file per ticker"):  # fmt: skip
        read_prices([aapl])
    with pytest.raises(ValueError, match=r"a non-empty list of file paths .* Got an empty list"):
        read_prices([])
    with pytest.raises(
        TypeError, match=r"file path \(str or os.PathLike\) or a list of them. Got 3"
    ):
        read_prices([aapl, 3])  # type: ignore[list-item]
    with pytest.raises(FileNotFoundError, match="no such file: .*MSFT.csv"):
        read_prices([aapl, tmp_path / "MSFT.csv"])


# =================================================================================================
# load_sample / load_benchmark parameters
# =================================================================================================
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": "garbage"}, r"The 'start' parameter of load_sample must be a date \(e.g. '2005-01-01'\) or None. Got 'garbage' instead."),
        ({"end": 2020}, r"The 'end' parameter of load_sample must be a date \(e.g. '2005-01-01'\) or None. Got 2020 instead."),
        ({"start": pd.Timestamp("2020-01-01", tz="UTC")}, r"The 'start' parameter of load_sample must be a tz-naive date"),
        ({"assets": "AAPL"}, r"The 'assets' parameter of load_sample must be a list of tickers such as \['AAPL', 'MSFT'\]. Got 'AAPL'"),
        ({"assets": []}, r"The 'assets' parameter of load_sample must list at least one ticker"),
        ({"assets": ["KO", "KO"]}, r"load_sample: assets \['KO'\] are listed more than once; list each ticker once."),
    ],
    ids=["start garbage", "end an int", "tz-aware start", "assets a string", "assets empty", "assets repeated"],
)  # fmt: skip
def test_load_sample_bad_parameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        load_sample(**kwargs)


def test_load_benchmark_bad_date():
    with pytest.raises(ValueError, match=r"The 'end' parameter of load_benchmark must be a date"):
        load_benchmark(end="not a date")


# =================================================================================================
# trailing_returns
# =================================================================================================
def test_trailing_returns_accepts_a_numpy_int_lookback():
    prices = _prices()
    pd.testing.assert_frame_equal(
        trailing_returns(prices, np.int64(20)), trailing_returns(prices, 20)
    )


@pytest.mark.parametrize("kind", ["str", "object", "int"])
def test_trailing_returns_of_numeric_text_or_ints_are_float_returns(kind):
    prices = _prices().round(2)
    expected = trailing_returns(prices, 20)
    if kind == "int":
        prices, expected = (
            (prices * 100).astype(int),
            trailing_returns((prices * 100).astype(int).astype(float), 20),
        )
    else:
        prices = prices.map(lambda v: f"{v:.2f}").astype(kind)
    got = trailing_returns(prices, 20)
    assert all(dtype == np.float64 for dtype in got.dtypes)
    pd.testing.assert_frame_equal(got, expected)


@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (lambda p: p.to_numpy(), TypeError, r"trailing_returns: prices must be a pandas DataFrame with one column per asset. Got a 2-D ndarray"),
        (lambda p: p["A"], TypeError, r"Got Series instead; use series.to_frame\(\)"),
        (lambda p: p.assign(X="x"), ValueError, r"trailing_returns: prices columns \['X'\] are not numeric \(e.g. 'x' on .*\); prices must be numbers: convert them to float"),
        (lambda p: p.assign(Z=0.0), ValueError, r"trailing_returns: column 'Z' has a non-positive price \(0\) on 2021-04-22; prices must be positive and finite"),
        (lambda p: p.assign(Z=np.inf), ValueError, r"column 'Z' has an infinite price \(inf\) on .*; prices must be positive and finite"),
        (lambda p: p.set_axis(["A", "A", "B"], axis=1), ValueError, r"trailing_returns: prices have duplicate columns \['A'\]"),
    ],
    ids=["ndarray", "series", "text column", "zero price", "infinite price", "duplicate columns"],
)  # fmt: skip
def test_trailing_returns_bad_prices(make, error, message):
    with pytest.raises(error, match=message):
        trailing_returns(make(_prices(100)), 20)

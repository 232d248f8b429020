"""The bundled sample, the CSV reader's validation, and trailing return windows."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import numpy as np
import pandas as pd
import pytest

from seqfolio.data import (
    SAMPLE_ASSETS,
    PriceDataError,
    load_benchmark,
    load_sample,
    read_prices,
    trailing_returns,
)


def test_bundled_sample_matches_provenance():
    prices = load_sample()
    assert prices.shape == (8313, 20)
    assert tuple(prices.columns) == SAMPLE_ASSETS
    assert prices.index[0] == pd.Timestamp("1990-01-02") and prices.index[-1] == pd.Timestamp(
        "2022-12-28"
    )
    assert prices.notna().all().all() and (prices > 0).all().all()
    folder = resources.files("seqfolio.data") / "datasets"
    digest = hashlib.sha256(
        (folder / "sp500_20_adjclose_1990_2022.csv.gz").read_bytes()
    ).hexdigest()
    assert digest.startswith("655ed9cec12a2789")
    assert "skfolio" in (folder / "PROVENANCE.md").read_text()


def test_load_sample_slices_and_subsets():
    prices = load_sample("2005-01-01", "2005-12-31", assets=["MSFT", "AAPL"])
    assert list(prices.columns) == ["MSFT", "AAPL"]
    assert prices.index.min() >= pd.Timestamp("2005-01-01") and prices.index.max() <= pd.Timestamp(
        "2005-12-31"
    )
    prices.iloc[0, 0] = -1.0  # a copy: the cache is not touched
    assert (load_sample("2005-01-01", "2005-12-31")["MSFT"] > 0).all()
    with pytest.raises(ValueError, match=r"unknown assets \['TSLA'\]"):
        load_sample(assets=["TSLA"])
    with pytest.raises(ValueError, match="start .* is after end"):
        load_sample("2010", "2005")
    with pytest.raises(ValueError, match="No bundled data between 2030 and None"):
        load_sample("2030")


def test_benchmark_shares_the_sample_dates():
    bench = load_benchmark()
    assert isinstance(bench, pd.Series) and bench.name == "SP500"
    assert bench.index.equals(load_sample().index)


def write(tmp_path, text: str, name: str = "prices.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_read_wide_csv(tmp_path):
    path = write(tmp_path, "date,A,B\n2020-01-02,10,20\n2020-01-03,11,21\n2020-01-06,12,\n")
    prices = read_prices(path)
    assert list(prices.columns) == ["A", "B"] and prices.index.name == "date"
    assert prices.loc["2020-01-06", "A"] == 12.0 and np.isnan(prices.loc["2020-01-06", "B"])


def test_read_gzipped_wide_csv(tmp_path):
    path = tmp_path / "p.csv.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("Date,A,B\n2020-01-02,1,2\n2020-01-03,1.5,2.5\n")
    assert read_prices(path).shape == (2, 2)


def test_read_long_csv(tmp_path):
    text = (
        "date,symbol,open,high,low,close,volume\n"
        "2020-01-02,AAA,1,1,1,10,100\n2020-01-02,BBB,1,1,1,20,100\n"
        "2020-01-03,AAA,1,1,1,11,100\n2020-01-03,BBB,1,1,1,21,100\n2020-01-06,BBB,1,1,1,22,100\n"
    )
    prices = read_prices(write(tmp_path, text))
    assert list(prices.columns) == ["AAA", "BBB"]
    assert prices.loc["2020-01-03", "AAA"] == 11.0
    assert np.isnan(prices.loc["2020-01-06", "AAA"])  # not filled: AAA stops early
    assert read_prices(write(tmp_path, text), field="open").iloc[0].tolist() == [1.0, 1.0]


def test_late_listing_and_early_delisting_stay_nan(tmp_path):
    text = "date,A,B,C\n2020-01-02,1,,3\n2020-01-03,1,2,3\n2020-01-06,1,2,\n"
    prices = read_prices(write(tmp_path, text))
    assert prices.isna().sum().tolist() == [0, 1, 1]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"prices.csv: the file is empty"),
        ("date,A,B\n", r"the file has a header but no data rows"),
        (
            "date,A,B\n2020-01-02,1,2\nnot-a-date,1,2\n",
            r"unparseable date in column 'date' at line 3",
        ),
        ("date,A,B\n2020-01-02,1,2\n01/03/2020,1,2\n", r"unparseable date .* line 3 .*one format"),
        ("date,A,B\n2020-01-02,1,2\n2020-01-02,1,2\n", r"duplicate date 2020-01-02 at line 3"),
        (
            "date,A,B\n2020-01-03,1,2\n2020-01-02,1,2\n",
            r"not in ascending order \(line 3 goes back",
        ),
        (
            "date,A,B\n2020-01-02,1,2\n2020-01-03,abc,2\n",
            r"column 'A' has a non-numeric value 'abc' at line 3",
        ),
        ("date,A,B\n2020-01-02,1,0\n", r"column 'B' has a non-positive price \(0.0\) at line 2"),
        ("date,A,B\n2020-01-02,1,-3\n", r"column 'B' has a non-positive price \(-3.0\)"),
        ("date,A,B\n2020-01-02,inf,2\n", r"column 'A' has an infinite price at line 2"),
        ("date,A\n2020-01-02,1\n", r"found 1 asset column\(s\) \['A'\]; at least 2 are needed"),
        ("date,A,B\n2020-01-02,1,\n2020-01-03,1,\n", r"column 'B' has no prices at all"),
        (
            "date,symbol,close\n2020-01-02,A,1\n2020-01-02,A,2\n",
            r"duplicate row for symbol 'A' on 2020-01-02 at line 3",
        ),
        ("date,symbol,open\n2020-01-02,A,1\n", r"long-format file has no 'close' column"),
    ],
)
def test_bad_files_name_file_line_and_column(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(PriceDataError, match=message):
        read_prices(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="no such file"):
        read_prices(tmp_path / "nope.csv")


def test_interior_gap_warns_and_is_kept(tmp_path):
    path = write(tmp_path, "date,A,B\n2020-01-02,1,2\n2020-01-03,,2\n2020-01-06,1.1,2\n")
    with pytest.warns(
        UserWarning, match=r"column 'A' has 1 missing price\(s\) inside its life \(line 3\)"
    ):
        prices = read_prices(path)
    assert np.isnan(prices.loc["2020-01-03", "A"])


def test_trailing_returns_only_keeps_assets_alive_over_the_window():
    prices = pd.DataFrame(
        {"A": [1.0, 1.1, 1.2, 1.3], "B": [np.nan, 2.0, 2.2, 2.4], "C": [3.0, 3.0, 3.3, np.nan]},
        index=pd.date_range("2020-01-01", periods=4),
    )
    window = trailing_returns(prices.iloc[1:4], lookback=2)
    assert list(window.columns) == ["A", "B"] and len(window) == 2
    assert list(trailing_returns(prices.iloc[:3], lookback=2).columns) == ["A", "C"]
    assert list(trailing_returns(prices, lookback=2).columns) == ["A", "B"]
    with pytest.raises(ValueError, match="lookback=5 needs 6 price rows; got 4"):
        trailing_returns(prices, 5)
    with pytest.raises(
        ValueError, match="'lookback' parameter of trailing_returns must be an int >= 2"
    ):
        trailing_returns(prices, 1)  # the lookback's one lower bound (defaults.MIN_LOOKBACK)

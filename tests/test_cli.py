"""The ``seqfolio`` command line: smoke tests on small date ranges, config files and one-line errors."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pandas as pd
import pytest

from seqfolio.cli import main
from seqfolio.data import load_sample

pytestmark = pytest.mark.filterwarnings("ignore")

SMALL = ["--start", "2021-01-01", "--end", "2021-08-31", "--lookback", "60"]


def test_backtest_writes_report(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["backtest", *SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "| metric" in printed and "HRP monthly" in printed and "S&P 500" in printed
    assert "rejected orders 0" in printed
    for name in ("tearsheet.html", "weights.png", "weights.csv", "returns.csv", "rebalances.csv"):
        assert (out / name).stat().st_size > 0, name
    html = (out / "tearsheet.html").read_text(encoding="utf-8")
    assert "HRP monthly" in html and "S&amp;P 500" in html
    returns = pd.read_csv(out / "returns.csv", index_col=0, parse_dates=True)
    assert returns.index[0] >= pd.Timestamp("2021-01-01") and returns.index[-1] <= pd.Timestamp(
        "2021-08-31"
    )
    weights = pd.read_csv(out / "weights.csv")
    assert set(weights["kind"]) == {"target", "realised"}
    assert len(weights) == 2 * 8  # 8 monthly rebalances, target + realised


def test_quiet_prints_nothing(tmp_path, capsys):
    assert main(["backtest", *SMALL, "--allocator", "ew", "--quiet", "--out", str(tmp_path)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "" and captured.err == ""
    assert (tmp_path / "tearsheet.html").is_file()


def test_compare_writes_table_and_tearsheets(tmp_path, capsys):
    assert (
        main(["compare", "--allocators", "ew,ivp", *SMALL, "--quiet", "--out", str(tmp_path)]) == 0
    )
    table = pd.read_csv(tmp_path / "comparison.csv", index_col=0)
    assert list(table.columns) == ["EqualWeight monthly", "InverseVariance monthly", "S&P 500"]
    assert "Sharpe" in table.index and "Mean turnover" in table.index
    markdown = (tmp_path / "comparison.md").read_text()
    assert markdown.startswith("| metric") and "InverseVariance monthly" in markdown
    assert (tmp_path / "tearsheet_ew.html").is_file() and (
        tmp_path / "tearsheet_ivp.html"
    ).is_file()


def test_config_file_and_command_line_precedence(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text(
        'allocator = "ivp"\nrebalance = "quarterly"\nstart = 2021-01-01\nend = "2021-08-31"\n'
        "lookback = 60\ncommission = 0\nquiet = true\n"
    )
    out = tmp_path / "r"
    assert (
        main(["backtest", "--config", str(config), "--rebalance", "monthly", "--out", str(out)])
        == 0
    )
    rebalances = pd.read_csv(out / "rebalances.csv")
    assert len(rebalances) == 8  # monthly from the command line beats quarterly from the file
    assert rebalances["costs"].sum() == 0.0  # commission = 0 from the file
    assert "InverseVariance" in (out / "tearsheet.html").read_text(encoding="utf-8")


def test_user_csv_data_and_benchmark(tmp_path, capsys):
    prices = load_sample("2020-06-01", "2021-06-30", assets=["KO", "PG", "XOM"])
    prices.to_csv(tmp_path / "prices.csv")
    prices[["KO"]].rename(columns={"KO": "BENCH"}).to_csv(tmp_path / "bench.csv")
    args = [
        "backtest",
        "--data",
        str(tmp_path / "prices.csv"),
        "--benchmark",
        str(tmp_path / "bench.csv"),
        "--start",
        "2021-01-01",
        "--end",
        "2021-06-30",
        "--lookback",
        "60",
        "--out",
        str(tmp_path / "o"),
    ]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "BENCH" in printed


@pytest.mark.parametrize(
    "args,message",
    [
        (["backtest", "--allocator", "hrpp"], "--allocator hrpp: must be one of"),
        (["backtest", "--rebalance", "montly"], "--rebalance montly: must be one of ['daily', 'weekly', 'monthly', 'quarterly']; did you mean"),
        (["backtest", "--lookback", "-3"], "--lookback -3: must be an int >= 2"),
        (["backtest", "--data", "no/such.csv"], "no such file"),
        (["backtest", "--start", "2022-01-01", "--end", "2021-01-01"], "must be before --end"),
        (["backtest", "--commission", "5"], "--commission 5.0: must be a float in [0.0, 0.1)"),
        (["compare", "--allocators", "hrp,nope"], "--allocators nope: must be one of"),
        (["backtest", "--config", "missing.toml"], "config file not found"),
    ],
)
def test_errors_are_one_line(tmp_path, capsys, args, message):
    assert main([*args, "--out", str(tmp_path), "--quiet"]) == 1
    captured = capsys.readouterr()
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqfolio: error: ")
    assert message in lines[0]
    assert "Traceback" not in captured.err


def test_bad_config_key(tmp_path, capsys):
    config = tmp_path / "bad.toml"
    config.write_text('alocator = "hrp"\n')
    assert main(["backtest", "--config", str(config)]) == 1
    assert "unknown option(s) ['alocator']" in capsys.readouterr().err


def test_console_script_installed():
    exe = shutil.which("seqfolio") or shutil.which(
        "seqfolio", path=str(__import__("pathlib").Path(sys.executable).parent)
    )
    if exe is None:
        pytest.skip("console script not on PATH (package not installed)")
    result = subprocess.run([exe, "backtest", "--help"], capture_output=True, text=True, check=True)
    assert "--allocator" in result.stdout and "--config" in result.stdout
    bad = subprocess.run([exe, "frobnicate"], capture_output=True, text=True)
    assert bad.returncode == 2


@pytest.mark.slow
def test_default_backtest_full_period(tmp_path, capsys):
    """The README's main command: HRP monthly 2005-2022 on the bundled data, no rejected orders."""
    assert main(["backtest", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "HRP monthly: 2005-01-04 .. 2022-12-28, 216 rebalances" in printed
    assert "rejected orders 0" in printed
    rebalances = pd.read_csv(tmp_path / "rebalances.csv")
    assert (rebalances["n_rejected"] == 0).all() and (rebalances["n_cancelled"] == 0).all()
    html = (tmp_path / "tearsheet.html").read_text(encoding="utf-8")
    assert "HRP monthly" in html and "S&amp;P 500" in html

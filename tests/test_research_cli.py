"""``seqfolio walkforward`` and ``seqfolio tune`` end to end (small windows, few trials)."""

from __future__ import annotations

import sys

import pandas as pd
import pytest

from seqfolio.cli import main

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

SMALL = [
    "--start",
    "2014-01-01",
    "--end",
    "2018-12-31",
    "--train",
    "300",
    "--test",
    "250",
    "--quiet",
]


def test_walkforward_writes_its_report(tmp_path, capsys):
    out = tmp_path / "wf"
    assert (
        main(
            [
                "walkforward",
                "--allocators",
                "hrp,ew",
                "--lookback",
                "126",
                "--out",
                str(out),
                *SMALL,
            ]
        )
        == 0
    )
    for name in (
        "summary.md",
        "summary.csv",
        "per_window.csv",
        "returns.csv",
        "equity.png",
        "window_sharpe.png",
        "weights.png",
    ):
        assert (out / name).is_file() and (out / name).stat().st_size > 0, name
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    assert set(summary.index) == {"hrp() lb126 monthly", "ew() lb126 monthly"}
    assert {"Sharpe", "Sharpe 95% low", "PSR", "DSR"} <= set(summary.columns)
    assert capsys.readouterr().out == ""  # --quiet


def test_tune_writes_a_config_that_backtest_accepts(tmp_path, capsys):
    out = tmp_path / "tune"
    assert main(["tune", "--trials", "3", "--holdout", "0.25", "--out", str(out), *SMALL]) == 0
    for name in (
        "best.toml",
        "trials.md",
        "trials.csv",
        "history.png",
        "study.db",
        "holdout/summary.md",
    ):
        assert (out / name).is_file(), name
    config = tomllib.loads((out / "best.toml").read_text())
    assert config["allocator"] in {"hrp", "herc", "mvo", "ivp", "ew"}
    trials = pd.read_csv(out / "trials.csv")
    assert len(trials) == 3
    # resume: asking for 5 trials adds 2 to the stored study
    assert main(["tune", "--trials", "5", "--holdout", "0.25", "--out", str(out), *SMALL]) == 0
    assert len(pd.read_csv(out / "trials.csv")) == 5
    report = tmp_path / "bt"
    code = main(["backtest", "--config", str(out / "best.toml"), "--start", "2018-01-01", "--end", "2018-12-31",
                 "--out", str(report), "--quiet"])  # fmt: skip
    assert code == 0 and (report / "tearsheet.html").is_file()


def test_backtest_config_with_allocator_params(tmp_path):
    config = tmp_path / "run.toml"
    config.write_text(
        'allocator = "herc"\nlookback = 126\n\n[allocator_params]\nrisk_measure = "cdar"\n'
    )
    out = tmp_path / "bt"
    assert (
        main(
            [
                "backtest",
                "--config",
                str(config),
                "--start",
                "2018-01-01",
                "--end",
                "2018-12-31",
                "--out",
                str(out),
                "--quiet",
            ]
        )
        == 0
    )
    bad = tmp_path / "bad.toml"
    bad.write_text('allocator = "hrp"\n[allocator_params]\nrisk_measure = "cdar"\n')
    assert main(["backtest", "--config", str(bad), "--out", str(out), "--quiet"]) == 1


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["walkforward", "--allocators", "hrp,nope"], "allocator"),
        (["walkforward", "--start", "2020-01-01", "--end", "2019-01-01"], "must be before --end"),
        (["tune", "--holdout", "1.5"], "'holdout' parameter of tune"),
        (["walkforward", "--train", "100"], "shorter than the lookback"),
    ],
)
def test_research_errors_are_one_line(argv, message, capsys):
    assert main([*argv, "--quiet", "--out", "/tmp/never-written"]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("seqfolio: error:") and message in err and "\n" not in err

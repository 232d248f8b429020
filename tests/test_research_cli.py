"""``seqfolio walkforward`` and ``seqfolio tune`` end to end (small windows, few trials)."""

from __future__ import annotations

import tomllib

import pandas as pd
import pytest

from seqfolio.cli import main

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
    assert set(summary.index) == {"HRP monthly", "EqualWeight monthly"}
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


def test_walkforward_runs_an_lstm_signal_and_its_toml_replays_in_backtest(tmp_path, capsys):
    """The same [model] table drives a study and a backtest (best.toml's shape)."""
    from seqfolio.data import load_sample
    from seqfolio.research.config import PortfolioConfig

    data = tmp_path / "four.csv"
    load_sample("2015-01-01", "2018-12-31").iloc[:, :4].to_csv(data, index_label="date")
    model = {"window": 10, "horizon": 5, "hidden_size": 4, "max_epochs": 2, "ffd": False}
    study = tmp_path / "study.toml"
    study.write_text(
        'allocators = ["hrp"]\nsignal = "lstm-vol"\nlookback = 60\n[model]\n'
        + "".join(f"{k} = {str(v).lower()}\n" for k, v in model.items())
    )
    out = tmp_path / "wf"
    args = ["--data", str(data), "--start", "2015-01-01", "--end", "2018-12-31"]
    code = main(["walkforward", "--config", str(study), "--train", "300", "--test", "250",
                 "--out", str(out), *args])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0, printed
    assert "overfitting over 1 configurations" not in printed  # PBO needs several
    summary = pd.read_csv(out / "summary.csv", index_col=0)
    assert len(summary) == 1 and summary.index[0].startswith("LSTM-vol → HRP monthly")
    assert any((out / "models").rglob("*")), "fitted models are cached under OUT/models"

    best = tmp_path / "best.toml"
    config = PortfolioConfig("hrp", lookback=60, signal="lstm-vol", model=model)
    best.write_text(config.replace(train_window=300).to_toml())
    report = tmp_path / "bt"
    code = main(["backtest", "--config", str(best), *args[:2], "--start", "2017-01-01",
                 "--end", "2018-06-30", "--out", str(report), "--quiet"])  # fmt: skip
    assert code == 0
    assert len(pd.read_csv(report / "rebalances.csv")) > 0
    assert any((report / "checkpoints" / "lstm-volatility").iterdir())


def test_model_settings_without_a_model_are_an_error(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('allocator = "hrp"\n[model]\nhidden_size = 4\n')
    assert main(["backtest", "--config", str(config), "--out", str(tmp_path / "o")]) == 1
    assert "model settings ['hidden_size'] given but no model is used" in capsys.readouterr().err


def test_tune_then_another_space_then_backtest_do_what_the_readme_says(tmp_path, capsys):
    # The README's order: `seqfolio tune`, then `seqfolio tune --space ...` into the same folder, then
    # `seqfolio backtest --config seqfolio-tune/best.toml`. Each space has its own study in study.db,
    # so the second search does not resume the first (whose trials hold other parameters).
    out = tmp_path / "tune"
    space = tmp_path / "ivp_only.toml"
    space.write_text('allocators = ["ivp"]\nlookback = [63, 126, 63]\nrebalance = ["monthly"]\n')
    common = ["--trials", "2", "--holdout", "0.25", "--out", str(out), *SMALL]
    assert main(["tune", *common]) == 0
    assert main(["tune", *common, "--space", str(space)]) == 0
    assert tomllib.loads((out / "best.toml").read_text())["allocator"] == "ivp"
    assert set(pd.read_csv(out / "trials.csv")["param.allocator"]) == {"ivp"}
    report = tmp_path / "bt"
    code = main(["backtest", "--config", str(out / "best.toml"), "--start", "2018-01-01",
                 "--end", "2018-12-31", "--out", str(report), "--quiet"])  # fmt: skip
    assert code == 0
    # the same space file, edited: its study's trials are not comparable; refused, saying how to go on
    space.write_text('allocators = ["herc"]\nlookback = [63, 126, 63]\nrebalance = ["monthly"]\n')
    capsys.readouterr()
    assert main(["tune", *common, "--space", str(space)]) == 1
    err = capsys.readouterr().err
    assert "study 'seqfolio-ivp_only'" in err and "space.allocators: ['ivp'] (now ['herc'])" in err
    assert "--study-name" in err and "\n" not in err.strip()


def test_tune_says_when_it_resumes_and_when_nothing_is_left(tmp_path, capsys):
    out = tmp_path / "tune"
    common = ["--holdout", "0.25", "--out", str(out), *SMALL[:-1]]  # not --quiet
    assert main(["tune", "--trials", "2", *common]) == 0
    capsys.readouterr()
    assert main(["tune", "--trials", "3", *common]) == 0
    printed = capsys.readouterr()
    assert "resuming study 'seqfolio-default'" in printed.err
    assert "2 of 3 trials already finished" in printed.err
    assert "3 finished trials (2 from an earlier run)" in printed.out
    assert main(["tune", "--trials", "3", *common]) == 0
    printed = capsys.readouterr()  # a finished study: nothing to run, and it says so
    assert "already has 3 finished trials" in printed.err and "no trial to run" in printed.err
    assert "raise --trials" in printed.out

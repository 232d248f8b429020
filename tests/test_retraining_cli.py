"""``seqfolio backtest --signal ...`` / ``--allocator lstm-weights`` and ``seqfolio compare`` with them."""

from __future__ import annotations

import pandas as pd
import pytest

from seqfolio.cli import main

pytestmark = pytest.mark.filterwarnings("ignore")

SMALL = [
    "--start",
    "2021-01-01",
    "--end",
    "2021-08-31",
    "--lookback",
    "60",
    "--train-window",
    "300",
]


def test_backtest_with_lstm_signal_writes_report_and_checkpoints(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["backtest", "--signal", "lstm-vol", *SMALL, "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "LSTM-vol → HRP monthly" in printed
    assert f", 3 models: 3 trained, 0 loaded from {out / 'checkpoints'}\n" in printed
    assert "skipped" not in printed and not (out / "events.csv").exists()  # nothing went wrong
    assert (out / "tearsheet.html").stat().st_size > 0
    assert len(list((out / "checkpoints" / "lstm-volatility").glob("retrain-*.pt"))) == 3
    # the same command again resumes from the checkpoints and gives the same returns
    first = pd.read_csv(out / "returns.csv", index_col=0)
    assert main(["backtest", "--signal", "lstm-vol", *SMALL, "--out", str(out), "--quiet"]) == 0
    pd.testing.assert_frame_equal(pd.read_csv(out / "returns.csv", index_col=0), first)


def test_compare_accepts_signal_and_lstm_weights(tmp_path, capsys):
    args = ["compare", "--allocators", "hrp,lstm-weights", "--signal", "lstm-regime",
            "--retrain", "monthly", *SMALL, "--quiet", "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    table = pd.read_csv(tmp_path / "comparison.csv", index_col=0)
    assert list(table.columns) == ["LSTM-regime → HRP monthly", "LSTM weights monthly", "S&P 500"]
    assert (tmp_path / "checkpoints" / "lstm-weights").is_dir()


def test_train_window_from_config(tmp_path, capsys):
    config = tmp_path / "run.toml"
    config.write_text('signal = "lstm-drawdown"\ntrain_window = 300\nretrain = "quarterly"\n')
    args = ["backtest", "--config", str(config), "--start", "2021-01-01", "--end", "2021-04-30",
            "--lookback", "60", "--out", str(tmp_path)]  # fmt: skip
    assert main(args) == 0
    assert "LSTM-drawdown → HRP monthly" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args,message",
    [
        (["backtest", "--signal", "lstm-foo"], "--signal lstm-foo: must be one of ['lstm-return'"),
        (["backtest", "--signal", "lstm-vol", "--train-window", "1"], "--train-window 1: must be"),
        (
            ["backtest", "--signal", "lstm-vol", "--retrain", "montly"],
            "--retrain montly: must be one of ['daily', 'weekly', 'monthly', 'quarterly']; did "
            "you mean 'monthly'?",
        ),
        (["compare", "--allocators", "hrp,lstm-weightz"], "--allocators lstm-weightz: must be one of"),
    ],  # fmt: skip
)
def test_errors_are_one_line(tmp_path, capsys, args, message):
    assert main([*args, "--out", str(tmp_path), "--quiet"]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("seqfolio: error: ") and message in lines[0]


@pytest.mark.slow
def test_default_lstm_vol_backtest_full_period(tmp_path, capsys):
    """The issue's "done when": ``seqfolio backtest --signal lstm-vol`` with defaults (2005-2022)."""
    assert main(["backtest", "--signal", "lstm-vol", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out
    assert "LSTM-vol → HRP monthly: 2005-01-04 .. 2022-12-28, 216 rebalances" in printed
    assert f", 72 models: 72 trained, 0 loaded from {tmp_path / 'checkpoints'}\n" in printed
    assert "skipped" not in printed
    assert (tmp_path / "tearsheet.html").stat().st_size > 0

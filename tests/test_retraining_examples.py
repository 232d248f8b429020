"""Smoke tests of the walk-forward examples (short periods, tiny settings)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name: str):  # type: ignore[no-untyped-def]
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # backtrader's metaclass looks classes' modules up there
    spec.loader.exec_module(module)
    return module


def test_lstm_own_strategy(tmp_path: Path) -> None:
    summary = load("lstm_own_strategy").main(
        ["--start", "2021-01-01", "--end", "2021-09-30", "--train-window", "300",
         "--out", str(tmp_path)]
    )  # fmt: skip
    assert summary["retrains"] == 3 and summary["rebalances"] == 9
    assert (tmp_path / "tearsheet.html").is_file()


def test_lstm_walk_forward_comparison(tmp_path: Path) -> None:
    only = "LSTM-vol → HRP,LSTM-vol → HERC,Regime overlay on HRP,LSTM weights (direct),HRP"
    table = load("lstm_walk_forward").main(
        ["--start", "2021-01-01", "--end", "2021-06-30", "--lookback", "60", "--train-window",
         "300", "--only", only, "--out", str(tmp_path)]
    )  # fmt: skip
    assert list(table.index) == [
        "CAGR", "Volatility (ann.)", "Sharpe", "Sortino", "Max drawdown", "Turnover (ann.)"
    ]  # fmt: skip
    assert list(table.columns) == [*only.split(","), "S&P 500"]
    assert "Highest Sharpe:" in (tmp_path / "comparison.md").read_text()
    assert len(list(tmp_path.glob("tearsheet_*.html"))) == 5
    assert len(list(tmp_path.glob("weights_*.png"))) == 5
    assert (tmp_path / "regime.png").stat().st_size > 10_000
    # LSTM-vol -> HERC reused LSTM-vol -> HRP's checkpoints
    manifest = (tmp_path / "checkpoints" / "volatility" / "manifest.json").read_text()
    assert '"source": "checkpoint"' in manifest

"""Smoke tests of the example scripts (short date ranges; the full defaults run in under a minute each)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.filterwarnings("ignore")

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def load(name):
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # backtrader's metaclass looks classes' modules up there
    spec.loader.exec_module(module)
    return module


def test_backtrader_dropin(tmp_path, capsys):
    summary = load("backtrader_dropin").main(
        ["--start", "2021-01-01", "--end", "2021-12-31", "--out", str(tmp_path)]
    )
    assert summary["rebalances"] == 12 and summary["rejected"] == 0
    assert summary["costs"] > 0
    assert (tmp_path / "tearsheet.html").is_file()


def test_compare_allocators(tmp_path, capsys):
    table = load("compare_allocators").main(
        ["--start", "2021-06-01", "--end", "2021-12-31", "--lookback", "60", "--out", str(tmp_path)]
    )
    assert list(table.columns) == ["HRP", "HERC", "MVO (min variance)", "Equal weight", "S&P 500"]
    assert len(list(tmp_path.glob("tearsheet_*.html"))) == 4
    assert (tmp_path / "comparison.txt").is_file()


def test_indicator_strategy(tmp_path, capsys):
    value = load("indicator_strategy").main(
        ["--start", "2020-01-01", "--end", "2021-06-30", "--out", str(tmp_path)]
    )
    assert value > 0
    assert "drift-band rebalances" in capsys.readouterr().out
    assert (tmp_path / "indicator_plot.png").stat().st_size > 10_000

"""Smoke test of examples/forecast_quality.py on its --quick setting (two targets)."""

from __future__ import annotations

import importlib.util
import math
import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "forecast_quality.py"


def test_forecast_quality_quick(capsys):
    spec = importlib.util.spec_from_file_location("example_forecast_quality", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    rows = module.main(["--quick", "--targets", "volatility", "correlation"])
    models = {(r["target"], r["metric"].split(" (")[0], r["model"]) for r in rows}
    assert ("volatility", "QLIKE", "EWMA 0.94") in models
    assert ("correlation", "MSE of mean pairwise corr", "trailing 63-day mean corr") in models
    assert all(math.isfinite(r["value"]) and r["n"] > 0 for r in rows)
    assert "| target | metric | model |" in capsys.readouterr().out

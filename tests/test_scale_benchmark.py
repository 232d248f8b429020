"""Smoke test of the scale benchmark (``benchmarks/scale.py --quick``): every row runs end to end on
synthetic universes with late listings and delistings, and the table has its figures."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "scale.py"


@pytest.mark.slow
def test_scale_benchmark_quick_runs_end_to_end() -> None:
    done = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick"], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr[-2000:]
    table = done.stdout
    for row in ("lstm fit", "research walk-forward", "epoch_samples='auto'", "epoch_samples=None"):
        assert row in table
    assert "N=50 volatility fit: peak RSS" in table and "nan MB" not in table

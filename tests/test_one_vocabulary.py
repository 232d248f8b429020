"""Drift between the engine path, the research path and the CLI: one rule, one answer.

Each test reproduces a place where copies of a concept had drifted apart (capability rules, date
parsing, schedules, NumPy scalars, the Sharpe ratio, backtrader imports) and pins the shared answer.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap

import numpy as np
import pandas as pd
import pytest

from seqfolio.allocators import ALLOCATORS, zero_variance_intolerant
from seqfolio.backtest import run_backtest
from seqfolio.cli import main
from seqfolio.data import load_sample
from seqfolio.research.config import PortfolioConfig
from seqfolio.research.simulation import target_weights

START, END = "2019-01-01", "2020-06-30"


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_sample("2018-01-01", END).iloc[:, :5]


@pytest.fixture(scope="module")
def with_constant(prices, tmp_path_factory) -> tuple[pd.DataFrame, str]:
    frame = prices.assign(FLAT=100.0)
    path = tmp_path_factory.mktemp("data") / "flat.csv"
    frame.to_csv(path, index_label="date")
    return frame, str(path)


def test_capability_is_read_from_the_allocators():
    assert sorted(zero_variance_intolerant()) == ["herc", "hrp", "ivol", "ivp"]
    for name, cls in ALLOCATORS.items():
        assert isinstance(cls.needs_positive_variance, bool), name


@pytest.mark.filterwarnings("ignore")
def test_cli_and_run_backtest_agree_on_a_constant_price_for_mvo(with_constant, tmp_path, capsys):
    """mean-variance accepts a constant column in run_backtest, so the CLI must too."""
    frame, path = with_constant
    direct = run_backtest(frame, allocator="mvo", lookback=60, start=START, end=END)
    args = ["backtest", "--data", path, "--lookback", "60", "--start", START, "--end", END]
    assert main([*args, "--allocator", "mvo", "--out", str(tmp_path / "mvo")]) == 0
    rebalances = pd.read_csv(tmp_path / "mvo" / "rebalances.csv")
    assert len(rebalances) == len(direct.rebalances) > 0
    assert not direct.skipped


@pytest.mark.filterwarnings("ignore")
def test_cli_refuses_a_constant_price_for_an_allocator_that_needs_variance(
    with_constant, tmp_path, capsys
):
    _, path = with_constant
    args = ["backtest", "--data", path, "--lookback", "60", "--start", START, "--end", END]
    assert main([*args, "--allocator", "hrp", "--out", str(tmp_path / "hrp")]) == 1
    assert "['FLAT'] have a constant price" in capsys.readouterr().err


def test_a_number_is_not_a_date_in_either_path(prices):
    with pytest.raises(ValueError, match="'start' parameter of run_backtest must be a date"):
        run_backtest(prices, start=2018)
    with pytest.raises(ValueError, match="'start' parameter of target_weights must be a date"):
        target_weights(prices, allocator="hrp", start=2018)


def returns_one(day) -> int:
    return 1


def test_a_callable_schedule_must_return_a_bool_in_both_paths(prices):
    with pytest.raises(TypeError, match="returns_one must return a bool"):
        target_weights(prices, allocator="ew", lookback=20, rebalance=returns_one)
    with pytest.raises(TypeError, match="returns_one must return a bool"):
        run_backtest(prices, allocator="ew", lookback=20, rebalance=returns_one)


def test_numpy_scalars_are_accepted_everywhere(prices):
    plain = run_backtest(prices, allocator="ew", lookback=20, start=START)
    numpy = run_backtest(
        prices, allocator="ew", lookback=np.int64(20), start=START,
        strategy_kwargs={"fractional": np.True_},
    )  # fmt: skip
    fractional = run_backtest(
        prices, allocator="ew", lookback=20, start=START, strategy_kwargs={"fractional": True}
    )
    assert numpy.final_value == fractional.final_value != plain.final_value
    config = PortfolioConfig("hrp", lookback=np.int64(252), cash_buffer=np.float32(0.25))
    assert type(config.lookback) is int and config.lookback == 252
    assert type(config.cash_buffer) is float


def test_one_sharpe_rule_for_a_flat_series():
    from seqfolio.reporting import metrics_table
    from seqfolio.stats import sharpe_ratio

    flat = pd.Series(0.0, index=pd.bdate_range("2020-01-01", periods=30))
    assert sharpe_ratio(flat) == 0.0
    assert metrics_table({"cash": flat}).loc["Sharpe", "cash"] == 0.0
    noisy = pd.Series(np.random.default_rng(0).normal(5e-4, 0.01, 300),
                      index=pd.bdate_range("2020-01-01", periods=300))  # fmt: skip
    assert metrics_table({"x": noisy}).loc["Sharpe", "x"] == pytest.approx(sharpe_ratio(noisy))


def test_research_never_imports_backtrader():
    """``import seqfolio.research`` and a walk-forward study stay free of backtrader."""
    script = textwrap.dedent(
        """
        import sys
        import seqfolio.research
        from seqfolio.research.config import PortfolioConfig
        from seqfolio.research.walkforward import walk_forward
        from seqfolio.data import load_sample
        assert "backtrader" not in sys.modules, "import seqfolio.research"
        prices = load_sample("2016-01-01", "2018-12-31").iloc[:, :4]
        configs = [PortfolioConfig("hrp", lookback=60), PortfolioConfig("mvo")]
        report = walk_forward(prices, configs, train=300, test=200)
        assert len(report.windows) >= 2
        assert "backtrader" not in sys.modules, "walk_forward"
        """
    )
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]

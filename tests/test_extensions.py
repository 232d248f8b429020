"""Extension points that are real (issue 20, item 3): a user's allocator and forecast target,
registered with one call or an entry point, work everywhere a built-in does -- ``--allocator`` /
TOML, ``compare``, a walk-forward study and the tuning space (read from the allocator's own declared
ranges) -- and in a fresh process when declared as entry points.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pandas as pd
import pytest

from seqfolio.allocators import ALLOCATORS, BaseAllocator, register_allocator, search_space
from seqfolio.cli import main
from seqfolio.data import load_sample
from seqfolio.research.tuning import SearchSpace, tune
from seqfolio.research.walkforward import walk_forward
from seqfolio.signals import Target, register_target
from seqfolio.signals.targets import _REGISTRY, forward_log_return
from seqfolio.spec import RebalanceSpec


class Tilt(BaseAllocator):
    """A toy allocator: weights proportional to exp(tilt x the assets' mean return / its sd)."""

    search_space: ClassVar[dict[str, Any]] = {"tilt": {"low": 0.0, "high": 2.0}}

    def __init__(self, tilt: float = 1.0, min_weight: float = 0.0, max_weight: float = 1.0):
        self.tilt = tilt
        self.min_weight = min_weight
        self.max_weight = max_weight

    def _allocate(self, returns, covariance, expected_returns):  # noqa: ANN001, ANN202
        score = returns.mean().to_numpy() / returns.std().to_numpy()
        raw = np.exp(self.tilt * (score - score.max()))
        return raw / raw.sum()


class BigMove(Target):
    """A toy target: the probability of a move larger than 5 % over the horizon (an exposure)."""

    name, feeds, probability = "bigmove", "exposure", True

    def labels(self, prices, horizon, params):  # noqa: ANN001, ANN201
        moves = forward_log_return(prices, horizon)
        return np.where(np.isnan(moves), np.nan, (np.abs(moves) > 0.05).astype(float))


TINY = {"window": 10, "hidden_size": 4, "max_epochs": 1, "sample_stride": 5}


@pytest.fixture(scope="module", autouse=True)
def registered() -> None:
    register_allocator("tilt", Tilt, replace=True)
    register_target(BigMove(), replace=True)
    yield
    ALLOCATORS._entries.pop("tilt", None)
    _REGISTRY.pop("bigmove", None)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_sample("2014-01-01", "2019-12-31").iloc[:, :6]


def test_a_registered_allocator_is_a_setting_with_its_declared_search_space() -> None:
    spec = RebalanceSpec("tilt", {"tilt": 0.5})
    assert spec.label == "Tilt(tilt=0.5) monthly"
    assert search_space("tilt") == {"tilt": {"low": 0.0, "high": 2.0}}
    with pytest.raises(ValueError, match="did you mean 'tilt'"):
        RebalanceSpec("tilt", {"tlt": 0.5})


def test_the_cli_runs_a_registered_allocator_and_target(tmp_path: Path) -> None:
    config = tmp_path / "run.toml"
    config.write_text(
        'allocator = "tilt"\nsignal = "lstm-bigmove"\nretrain = "quarterly"\ntrain_window = 252\n'
        "[allocator_params]\ntilt = 0.5\n[model]\n"
        + "".join(f"{k} = {v}\n" for k, v in TINY.items())
    )
    common = ["--start", "2018-01-01", "--end", "2019-06-30", "--quiet"]
    assert main(["backtest", "--config", str(config), "--out", str(tmp_path / "bt"), *common]) == 0
    assert (tmp_path / "bt" / "tearsheet.html").exists()
    assert list((tmp_path / "bt" / "checkpoints" / "lstm-bigmove").glob("*.pt"))
    out = tmp_path / "cmp"
    assert main(["compare", "--allocators", "tilt,hrp", "--out", str(out), *common]) == 0
    assert "Tilt monthly" in (out / "comparison.md").read_text()


def test_a_study_and_a_search_use_them(prices: pd.DataFrame, tmp_path: Path) -> None:
    report = walk_forward(
        prices,
        [RebalanceSpec("tilt"), RebalanceSpec("ew", signal="lstm-bigmove", model=TINY)],
        train=504, test=252,
    )  # fmt: skip
    assert set(report.summary.index) == {"Tilt monthly", "LSTM-bigmove → EqualWeight monthly"}
    space = SearchSpace(allocators=("tilt",), rebalance=("monthly",), lookback=(63, 126, 63))
    result = tune(
        prices, n_trials=6, holdout=0.0, train=504, test=252, space=space, seed=1,
        storage=f"sqlite:///{tmp_path / 'study.db'}", pruner="none",
    )  # fmt: skip
    tilts = [t.params["tilt.tilt"] for t in result.study.trials if "tilt.tilt" in t.params]
    assert len(tilts) == 6 and len(set(tilts)) == 6  # searched over the class's declared range
    assert all(0.0 <= t <= 2.0 for t in tilts)


def test_entry_points_register_in_a_fresh_process(tmp_path: Path) -> None:
    plugin = tmp_path / "seqfolio_toy_plugin.py"
    plugin.write_text(
        textwrap.dedent(
            """
            import numpy as np
            from seqfolio.allocators import BaseAllocator
            from seqfolio.signals import Target
            from seqfolio.signals.targets import forward_log_return

            class Flat(BaseAllocator):
                def __init__(self, min_weight=0.0, max_weight=1.0):
                    self.min_weight = min_weight
                    self.max_weight = max_weight

                def _allocate(self, returns, covariance, expected_returns):
                    return np.full(returns.shape[1], 1.0 / returns.shape[1])

            class Calm(Target):
                name, feeds, probability = "calm", "exposure", True

                def labels(self, prices, horizon, params):
                    r = forward_log_return(prices, horizon)
                    return np.where(np.isnan(r), np.nan, (np.abs(r) < 0.01).astype(float))
            """
        )
    )
    info = tmp_path / "seqfolio_toy_plugin-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: seqfolio-toy-plugin\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        "[seqfolio.allocators]\nflat = seqfolio_toy_plugin:Flat\n\n"
        "[seqfolio.targets]\ncalm = seqfolio_toy_plugin:Calm\n"
    )
    code = (
        "from seqfolio.cli import main; raise SystemExit(main(['backtest', '--allocator', 'flat', "
        "'--signal', 'lstm-calm', '--start', '2018-01-01', '--end', '2018-12-31', "
        "'--train-window', '252', '--out', 'out', '--quiet']))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "out" / "tearsheet.html").exists()

"""Determinism under load: the same run gives bit-identical models, forecasts, weights and metrics with
1 or 2 threads, with or without other CPU-heavy processes, under every runonce / preload mode.

torch's own multi-threaded kernels (oneDNN's LSTM, MKL's GEMM) split reductions by thread count, so
``torch.set_num_threads(2)`` alone moves trained weights by ~1e-8. seqfolio instead computes every
batch in fixed micro-batches, each on one thread, summed in a fixed order (``signals/_torch.Workers``,
``signals/trainer.batch_gradients``); these tests hold it to "bit-identical", not "close".
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from seqfolio.backtest import run_backtest
from seqfolio.cli import main as cli_main
from seqfolio.data import load_sample
from seqfolio.reporting import metrics_table
from seqfolio.signals import LSTMAllocator, LSTMForecaster
from seqfolio.signals._torch import compute_threads
from tests._wfutil import tiny_forecaster

ASSETS = ["AAPL", "MSFT", "JPM", "XOM", "JNJ", "WMT"]


@pytest.fixture
def cpu_load() -> Iterator[None]:
    """Two busy-looping processes (one per core here) for the duration of a test."""
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        yield
        assert all(p.poll() is None for p in burners), "the load processes died during the test"
    finally:
        for p in burners:
            p.kill()
        for p in burners:
            p.wait()


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_sample("2015-01-01", "2018-12-31", assets=ASSETS)


def _fit_forecaster(prices: pd.DataFrame, n_threads: int, **kw: object) -> LSTMForecaster:
    params = dict(target="volatility", window=20, hidden_size=8, max_epochs=3, sample_stride=1,
                  random_state=0)  # fmt: skip
    return LSTMForecaster(**{**params, **kw, "n_threads": n_threads}).fit(prices)  # type: ignore[arg-type]


def _assert_same_model(a: torch.nn.Module, b: torch.nn.Module) -> None:
    state_a, state_b = a.state_dict(), b.state_dict()
    assert state_a.keys() == state_b.keys()
    for key in state_a:
        assert torch.equal(state_a[key], state_b[key]), f"{key} differs"


def test_workers_keep_order_and_one_torch_thread_each() -> None:
    before = torch.get_num_threads()
    with compute_threads(3, torch.device("cpu")) as workers:
        assert torch.get_num_threads() == 1
        seen = workers.map(lambda i: (i, torch.get_num_threads()), list(range(12)))
    assert [i for i, _ in seen] == list(range(12))
    assert {threads for _, threads in seen} == {1}
    assert torch.get_num_threads() == before


@pytest.mark.parametrize(
    "kw",
    [{}, {"target": "regime"}, {"num_layers": 2, "dropout": 0.2}],
    ids=["volatility", "regime", "two-layers-dropout"],
)
def test_forecaster_bit_identical_with_1_or_2_threads(prices: pd.DataFrame, kw: dict) -> None:
    one = _fit_forecaster(prices, 1, **kw)
    two = _fit_forecaster(prices, 2, **kw)
    assert one.n_train_samples_ > 4 * 64  # several micro-batches and a partial last batch
    _assert_same_model(one.model_, two.model_)
    assert one.training_.history == two.training_.history
    np.testing.assert_array_equal(one.predict_history(prices), two.predict_history(prices))
    # Control: the comparison does see a difference when there is one.
    other = _fit_forecaster(prices, 1, **{**kw, "random_state": 1})
    assert not np.array_equal(one.predict(prices), other.predict(prices))


def test_forecaster_bit_identical_under_cpu_load(
    prices: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    quiet = _fit_forecaster(prices, 1)
    request.getfixturevalue("cpu_load")  # from here on two busy loops hold both cores
    busy = _fit_forecaster(prices, 2)
    _assert_same_model(quiet.model_, busy.model_)
    np.testing.assert_array_equal(quiet.predict(prices), busy.predict(prices))


def test_lstm_allocator_bit_identical_with_1_or_2_threads(prices: pd.DataFrame) -> None:
    returns = prices.pct_change().iloc[1:]
    fits = [
        LSTMAllocator(window=20, hidden_size=8, max_epochs=3, batch_size=256, random_state=0,
                      n_threads=n).fit(returns)
        for n in (1, 2)
    ]  # fmt: skip
    _assert_same_model(fits[0].model_, fits[1].model_)
    pd.testing.assert_series_equal(fits[0].weights_, fits[1].weights_, check_exact=True)
    pd.testing.assert_series_equal(
        fits[0].predict(returns), fits[1].predict(returns), check_exact=True
    )


def _walk_forward(prices: pd.DataFrame, n_threads: int, runonce: bool, preload: bool) -> dict:
    result = run_backtest(
        prices,
        allocator="hrp",
        signal=tiny_forecaster(n_threads=n_threads),
        lookback=60,
        train_window=250,
        start="2017-01-01",
        cerebro_kwargs=dict(runonce=runonce, preload=preload),
    )
    return {
        "returns": result.returns,
        "weights": result.weights,
        "target": result.target,
        "forecasts": result.forecasts,
        "metrics": metrics_table({"run": result.returns}),
        "final_value": result.final_value,
    }


@pytest.mark.slow
def test_walk_forward_backtest_bit_identical_across_threads_modes_and_load(
    prices: pd.DataFrame, request: pytest.FixtureRequest
) -> None:
    reference = _walk_forward(prices, n_threads=1, runonce=True, preload=True)
    assert len(reference["target"]) >= 20  # two years of monthly rebalances, all traded
    assert np.isfinite(reference["forecasts"].to_numpy()).any()  # the model was trained and used
    variants = [
        (2, True, True, False),
        (2, False, False, False),
        (1, False, True, True),
        (2, True, False, True),
    ]
    for n_threads, runonce, preload, loaded in variants:
        if loaded:
            request.getfixturevalue("cpu_load")
        got = _walk_forward(prices, n_threads, runonce, preload)
        label = f"threads={n_threads} runonce={runonce} preload={preload} load={loaded}"
        for key in ("returns", "weights", "target", "forecasts", "metrics"):
            frame_or_series = reference[key]
            if isinstance(frame_or_series, pd.Series):
                pd.testing.assert_series_equal(
                    got[key], frame_or_series, check_exact=True, obj=label
                )
            else:
                pd.testing.assert_frame_equal(
                    got[key], frame_or_series, check_exact=True, obj=label
                )
        assert got["final_value"] == reference["final_value"], label


@pytest.mark.slow
def test_cli_command_bit_identical_with_threads_1_and_2_under_load(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], request: pytest.FixtureRequest
) -> None:
    command = ["backtest", "--signal", "lstm-vol", "--start", "2021-01-01", "--end", "2022-06-30"]
    outputs = {}
    for threads in ("1", "2"):
        if threads == "2":
            request.getfixturevalue("cpu_load")
        out = tmp_path / f"threads-{threads}"
        assert cli_main([*command, "--threads", threads, "--out", str(out)]) == 0
        printed = capsys.readouterr().out
        table = printed[printed.index("| metric") : printed.index("wrote")]
        outputs[threads] = (table, {f: (out / f).read_bytes() for f in
                                    ("returns.csv", "weights.csv", "rebalances.csv")})  # fmt: skip
    assert outputs["1"][0] == outputs["2"][0]  # the printed metrics
    for name, content in outputs["1"][1].items():
        assert outputs["2"][1][name] == content, f"{name} differs between --threads 1 and 2"
    # A rerun with another thread count reuses the first run's checkpoints (same keys).
    first = sorted(p.name for p in (tmp_path / "threads-1" / "checkpoints").rglob("*.pt"))
    second = sorted(p.name for p in (tmp_path / "threads-2" / "checkpoints").rglob("*.pt"))
    assert first and first == second


@pytest.mark.parametrize(
    "args,config,message",
    [
        (["--threads", "0"], None, "--threads 0: must be a whole number >= 1"),
        ([], 'threads = "two"\n', "'threads' must be an int (e.g. threads = 1); got 'two'"),
    ],
)
def test_cli_rejects_bad_thread_counts(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    config: str | None,
    message: str,
) -> None:
    extra = []
    if config is not None:
        (tmp_path / "run.toml").write_text(config)
        extra = ["--config", str(tmp_path / "run.toml")]
    command = ["backtest", "--signal", "lstm-vol", "--out", str(tmp_path / "out"), *extra, *args]
    assert cli_main(command) == 1
    assert message in capsys.readouterr().err

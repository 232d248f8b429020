"""Same seed, same forecast on another CPU? (issue 21, item 6: forecast_quality's LSTM figures).

The README's forecast-quality figures did not reproduce on the development machine (QLIKE 0.3901
against 0.392): the LSTM's weights depend on the CPU's instruction set. On one machine a fit is
bit-identical across threads, processes and load (tests/test_determinism.py), but torch runs
``nn.LSTM`` on CPU through oneDNN's fused kernel, which dispatches on the widest instruction set it
finds (AVX-512 here, AVX2 on many other x86 CPUs) and sums in another order: the last bits differ,
early stopping can pick another epoch over a long study, and the figures move in the third
decimal (0.3923 with ``DNNL_MAX_CPU_ISA=AVX2`` on this machine: the README's 0.392).

Making fits bit-identical across instruction sets was prototyped (oneDNN off, a portable softmax,
libm ``log`` / ``exp``): it cost ~2.9x the CPU time of every lone fit and still left ATen's LSTM
cell rounding differently for the default hidden size, so it was not adopted (README, "LSTM
signals": what is and is not reproducible). These tests pin what the README states: one fit on
AVX2 kernels agrees with the AVX-512 fit to rounding, and is not bit-identical (strict xfail, so
the README is revisited the day it is).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.slow

FIT = """
import json
from seqfolio.data import load_sample
from seqfolio.signals import LSTMForecaster
prices = load_sample("2016-01-01", "2018-12-31")
model = LSTMForecaster(target="volatility", window=20, hidden_size=8, max_epochs=2,
                       random_state=0).fit(prices)
print(json.dumps(model.predict(prices).tolist()))
"""


def _has_avx512() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.exists() and "avx512f" in cpuinfo.read_text()


def _forecast(**env: str) -> np.ndarray:
    done = subprocess.run([sys.executable, "-c", FIT], env={**os.environ, **env},
                          capture_output=True, text=True, check=True, timeout=600)  # fmt: skip
    return np.array(json.loads(done.stdout))


needs_avx512 = pytest.mark.skipif(not _has_avx512(), reason="needs an AVX-512 CPU to compare with AVX2")


@pytest.fixture(scope="module")
def forecasts() -> tuple[np.ndarray, np.ndarray]:
    return _forecast(), _forecast(DNNL_MAX_CPU_ISA="AVX2")


@needs_avx512
def test_an_avx2_fit_agrees_to_rounding(forecasts):
    native, avx2 = forecasts
    np.testing.assert_allclose(avx2, native, rtol=1e-4)


@needs_avx512
@pytest.mark.xfail(strict=True, reason="oneDNN's LSTM kernel rounds differently on AVX-512 and AVX2")
def test_an_avx2_fit_is_bit_identical(forecasts):
    native, avx2 = forecasts
    assert native.tobytes() == avx2.tobytes()

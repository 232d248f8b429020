"""Same seed, same forecast on another CPU (issue 21, item 6: forecast_quality's LSTM figures).

The README's forecast-quality figures did not reproduce on the development machine (QLIKE 0.3901
against 0.392): the LSTM's weights depend on the CPU's instruction set. On one machine a fit is
bit-identical across threads, processes and load (tests/test_determinism.py), but torch runs
``nn.LSTM`` on CPU through oneDNN's fused kernel, which dispatches on the widest instruction set
it finds (AVX-512 here, AVX2 on many other x86 CPUs) and sums in another order: a few last bits
differ, early stopping can pick another epoch, and the figures move (0.3923 with
``DNNL_MAX_CPU_ISA=AVX2`` on this machine: the README's 0.392). With oneDNN off
(``torch.backends.mkldnn``) AVX-512 and AVX2 fits are bit-identical. This test pins the symptom
(oneDNN's instruction set is capped to AVX2 in one of two processes) until the lead decides the
remedy, hence strict xfail.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

FIT = """
import hashlib
import numpy as np
from seqfolio.data import load_sample
from seqfolio.signals import LSTMForecaster
prices = load_sample("2016-01-01", "2018-12-31")
model = LSTMForecaster(target="volatility", window=20, hidden_size=8, max_epochs=2,
                       random_state=0).fit(prices)
print(hashlib.sha256(np.ascontiguousarray(model.predict(prices).to_numpy()).tobytes()).hexdigest())
"""


def _has_avx512() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.exists() and "avx512f" in cpuinfo.read_text()


def _fit_digest(**env: str) -> str:
    done = subprocess.run([sys.executable, "-c", FIT], env={**os.environ, **env},
                          capture_output=True, text=True, check=True, timeout=600)  # fmt: skip
    return done.stdout.strip()


@pytest.mark.skipif(not _has_avx512(), reason="needs an AVX-512 CPU to compare against AVX2")
@pytest.mark.xfail(
    strict=True,
    reason="issue 21 item 6: oneDNN's LSTM kernel rounds differently on AVX-512 and AVX2 CPUs",
)
def test_a_fit_is_the_same_on_an_avx2_cpu():
    assert _fit_digest() == _fit_digest(DNNL_MAX_CPU_ISA="AVX2")

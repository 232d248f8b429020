"""PBO (CSCV) and the deflated Sharpe of the best trial, against noise, a planted edge and hand work."""

from __future__ import annotations

from itertools import combinations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from seqfolio.research.overfitting import (
    deflated_sharpe_of_best,
    overfitting_summary,
    probability_of_overfitting,
)
from seqfolio.stats import EULER_GAMMA


def test_pure_noise_strategies_have_pbo_near_one_half():
    # 50 zero-skill trials: the in-sample winner is a random draw out of sample. Over 8 seeds the
    # mean PBO is within 0.1 of 0.5 and no single one is outside [0.2, 0.8] (each PBO is a mean over
    # correlated splits of one data set, so single values spread).
    pbos = []
    for seed in range(8):
        noise = np.random.default_rng(seed).normal(0.0, 0.01, size=(1000, 50))
        pbos.append(probability_of_overfitting(noise, n_blocks=10).pbo)
    assert abs(np.mean(pbos) - 0.5) < 0.1
    assert all(0.2 <= p <= 0.8 for p in pbos)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_a_planted_edge_has_pbo_near_zero(seed):
    rng = np.random.default_rng(seed)
    returns = rng.normal(0.0, 0.01, size=(1000, 20))
    returns[:, 7] += 0.003  # daily Sharpe 0.3: best in and out of sample in nearly every split
    result = probability_of_overfitting(returns, n_blocks=10)
    assert result.pbo < 0.02
    assert result.prob_oos_loss == 0.0


def _hand_pbo(values: np.ndarray, n_blocks: int) -> tuple[float, list[float]]:
    """CSCV written out loop by loop, straight from the paper's steps."""
    blocks = np.array_split(np.arange(len(values)), n_blocks)
    logits = []
    n = values.shape[1]
    for picked in combinations(range(n_blocks), n_blocks // 2):
        train = np.concatenate([blocks[b] for b in picked])
        test = np.concatenate([blocks[b] for b in range(n_blocks) if b not in picked])
        is_sr = [values[train, j].mean() / values[train, j].std(ddof=1) for j in range(n)]
        oos_sr = [values[test, j].mean() / values[test, j].std(ddof=1) for j in range(n)]
        best = int(np.argmax(is_sr))
        rank = 1 + sum(s < oos_sr[best] for s in oos_sr)
        w = rank / (n + 1)
        logits.append(np.log(w / (1 - w)))
    return float(np.mean(np.array(logits) <= 0)), logits


def test_matches_a_hand_computation_on_a_tiny_matrix():
    values = np.array(
        [[0.01, 0.00, -0.01], [0.02, 0.01, 0.00], [-0.01, 0.02, 0.01], [0.00, -0.02, 0.03],
         [0.03, 0.01, -0.02], [-0.02, 0.00, 0.01], [0.01, 0.03, 0.00], [0.00, -0.01, 0.02]]
    )  # fmt: skip
    result = probability_of_overfitting(values, n_blocks=4)
    pbo, logits = _hand_pbo(values, 4)
    assert len(result.logits) == 6  # C(4, 2)
    np.testing.assert_allclose(result.logits, logits, rtol=0, atol=1e-12)
    assert result.pbo == pbo
    # the first split (blocks 0, 1 in sample = rows 0-3) by hand: in-sample Sharpes
    first = values[:4].mean(axis=0) / values[:4].std(axis=0, ddof=1)
    assert result.is_sharpe[0] == pytest.approx(first.max(), rel=1e-12)


def test_deflated_sharpe_of_best_matches_the_formula():
    rng = np.random.default_rng(3)
    values = rng.normal(0.0005, 0.01, size=(500, 5))
    values[:, 2] += 0.001
    got = deflated_sharpe_of_best(pd.DataFrame(values))
    sr = values.mean(axis=0) / values.std(axis=0, ddof=1)
    best = int(np.argmax(sr))
    n = 5
    sr0 = np.sqrt(np.var(sr, ddof=1)) * (
        (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n)
        + EULER_GAMMA * stats.norm.ppf(1 - 1 / (n * np.e))
    )
    x = values[:, best]
    g3, g4 = stats.skew(x), stats.kurtosis(x, fisher=False)
    z = (
        (sr[best] - sr0)
        * np.sqrt(len(x) - 1)
        / np.sqrt(1 - g3 * sr[best] + (g4 - 1) / 4 * sr[best] ** 2)
    )
    assert got["best"] == best == 2
    assert got["dsr"] == pytest.approx(stats.norm.cdf(z), rel=1e-10)
    assert got["sharpe"] == pytest.approx(sr[best] * np.sqrt(252), rel=1e-10)


def test_summary_and_bad_inputs():
    frame = pd.DataFrame(np.random.default_rng(0).normal(0, 0.01, (40, 3)), columns=list("abc"))
    summary = overfitting_summary(frame)
    assert summary["n_blocks"] == 16 and summary["trials"] == 3 and 0 <= summary["pbo"] <= 1
    assert overfitting_summary(frame.iloc[:22])["n_blocks"] == 10  # blocks of >= 2 rows
    with pytest.raises(ValueError, match="N >= 2 trials"):
        probability_of_overfitting(frame[["a"]])
    with pytest.raises(ValueError, match="even"):
        probability_of_overfitting(frame, n_blocks=5)
    with pytest.raises(ValueError, match="blocks of >= 2 rows"):
        probability_of_overfitting(frame, n_blocks=32)
    broken = frame.copy()
    broken.iloc[5, 1] = np.nan
    with pytest.raises(ValueError, match="row 5, trial 'b'"):
        probability_of_overfitting(broken)


def test_walkforward_report_folder_has_the_verdict(tmp_path):
    from seqfolio.data import load_sample
    from seqfolio.research.config import PortfolioConfig
    from seqfolio.research.report import write_walkforward_report
    from seqfolio.research.walkforward import walk_forward

    prices = load_sample("2015-01-01", "2017-12-31").iloc[:, :5]
    configs = [PortfolioConfig("hrp", lookback=63), PortfolioConfig("ew", lookback=63)]
    report = walk_forward(prices, configs, train=100, test=250)
    folder = write_walkforward_report(report, tmp_path)
    table = pd.read_csv(folder / "overfitting.csv", index_col=0)
    assert table.index[0] == "all 2 configurations"
    assert table.loc["all 2 configurations", "pbo"] == report.overfitting["pbo"]

"""PBO (CSCV) and the deflated Sharpe of the best trial, against noise, a planted edge and hand work."""

from __future__ import annotations

import warnings
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
    assert table.loc["all 2 configurations", "pbo"] == pytest.approx(report.overfitting["pbo"], rel=1e-15)


# --- one flatness rule (issue 19, item 10) -----------------------------------------------------------


def test_a_constant_non_zero_column_is_flat_not_the_best():
    # Noise plus one column of constant returns (0.0007 a day). A flat column has Sharpe 0, so it must
    # rank exactly as a column of zeros does; the one-pass variance once left a rounding residual that
    # gave it a Sharpe of ~2e7 and PBO 0.0.
    noise = np.random.default_rng(0).normal(0.0, 0.01, size=(1000, 10))
    flat, zero = noise.copy(), noise.copy()
    flat[:, 3], zero[:, 3] = 0.0007, 0.0
    result = probability_of_overfitting(flat, n_blocks=10)
    np.testing.assert_array_equal(result.logits, probability_of_overfitting(zero, 10).logits)
    assert 0.2 < result.pbo < 0.8
    best = deflated_sharpe_of_best(flat)  # raised "non-positive variance term"
    assert best["best"] != 3 and 0.0 <= best["dsr"] <= 1.0
    assert best == deflated_sharpe_of_best(zero)


def test_a_best_trial_that_is_flat_has_a_defined_dsr():
    # Every other trial loses: the flat one (Sharpe 0) is the best, with no skew or kurtosis to speak of.
    values = -np.abs(np.random.default_rng(1).normal(0.001, 0.01, size=(300, 3)))
    values[:, 0] = 0.0004
    best = deflated_sharpe_of_best(values)
    assert best["best"] == 0 and best["sharpe"] == 0.0
    assert 0.0 <= best["dsr"] <= 0.5


def test_messages_for_nan_trials_and_too_few_rows_read_well():
    noise = np.random.default_rng(0).normal(0, 0.01, (40, 3))
    noise[7, 0] = np.nan
    with pytest.raises(ValueError, match=r"first at row 7, column 0\)") as raised:
        probability_of_overfitting(noise)
    assert "np.int64" not in str(raised.value)
    dated = pd.DataFrame(noise, columns=["hrp", "ew", "ivp"],
                         index=pd.bdate_range("2020-01-01", periods=40))  # fmt: skip
    with pytest.raises(ValueError, match=r"first at 2020-01-10 \(row 7\), trial 'hrp'"):
        deflated_sharpe_of_best(dated)
    for rows in (0, 3):  # said "The 'n_blocks' parameter ... must be an int >= 2. Got 0 instead."
        with pytest.raises(ValueError, match=f"overfitting_summary: {rows} rows of returns are too "
                           "few; give at least 4"):  # fmt: skip
            overfitting_summary(dated.iloc[:rows].fillna(0.0))
    with pytest.raises(ValueError, match="deflated_sharpe_of_best: 2 rows of returns are too few"):
        deflated_sharpe_of_best(dated.iloc[:2])


def test_stated_conventions_uneven_blocks_and_ties():
    # T = 10 rows in S = 4 blocks: rows 0-2, 3-5, 6-7, 8-9 (the first T mod S blocks one row longer).
    rng = np.random.default_rng(4)
    a = rng.normal(0.002, 0.01, 10)
    values = np.column_stack([a, a, a - 0.01])  # trials 0 and 1 tie everywhere; trial 2 is worst
    result = probability_of_overfitting(values, n_blocks=4)
    first = values[:6, 0]  # split 0: blocks 0 and 1 in sample = rows 0-5
    assert result.is_sharpe[0] == pytest.approx(first.mean() / first.std(ddof=1), rel=1e-12)
    # the in-sample tie goes to the first column; out of sample the twins share rank (2 + 3) / 2,
    # so w = 2.5 / (N + 1) = 2.5 / 4 in every split
    np.testing.assert_allclose(result.logits, np.log(2.5 / 1.5), rtol=1e-12)
    assert result.pbo == 0.0


# --- one periods-per-year from the data's bar period (issue 19, item 11) ------------------------------


def _hand_dsr(returns: pd.DataFrame, label: str) -> float:
    """The DSR of ``label`` among the columns, written out with per-period Sharpe ratios."""
    sr = returns.mean() / returns.std(ddof=1)
    n = returns.shape[1]
    sr0 = np.sqrt(np.var(sr.to_numpy(), ddof=1)) * (
        (1 - EULER_GAMMA) * stats.norm.ppf(1 - 1 / n)
        + EULER_GAMMA * stats.norm.ppf(1 - 1 / (n * np.e))
    )
    x = returns[label].to_numpy()
    g3, g4 = stats.skew(x), stats.kurtosis(x, fisher=False)
    z = (
        (sr[label] - sr0)
        * np.sqrt(len(x) - 1)
        / np.sqrt(1 - g3 * sr[label] + (g4 - 1) / 4 * sr[label] ** 2)
    )
    return float(stats.norm.cdf(z))


@pytest.mark.parametrize(
    ("rule", "bars", "lookback", "train", "test"),
    [("W-FRI", 52, 26, 104, 104), ("ME", 12, 24, 36, 24)],
)
def test_weekly_and_monthly_studies_use_their_own_bars_a_year(rule, bars, lookback, train, test):
    # Weekly (52 bars a year) and monthly (12) closes: every Sharpe is annualised with the data's bars
    # a year, and the DSR compares per-period Sharpe ratios with their per-period variance. Once the
    # trial Sharpes were annualised with 52 / 12 and de-annualised with 252 (monthly DSR 0.996 where the
    # consistent figure is 0.829).
    from seqfolio.data import load_sample
    from seqfolio.research.config import PortfolioConfig
    from seqfolio.research.walkforward import walk_forward

    prices = load_sample("2000-01-01", "2022-12-31").iloc[:, :6].resample(rule).last()
    configs = [
        PortfolioConfig("ew", lookback=lookback),
        PortfolioConfig("ivp", lookback=lookback, rebalance="quarterly"),
        PortfolioConfig("hrp", lookback=lookback),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # BarPeriodWarning: not daily bars (said once, wanted)
        report = walk_forward(prices, configs, train=train, test=test)
    returns = pd.DataFrame(report.returns)
    per_period = returns.mean() / returns.std(ddof=1)
    for label in returns:
        row = report.summary.loc[label]
        assert row["sharpe"] == pytest.approx(per_period[label] * np.sqrt(bars), rel=1e-10)
        assert row["dsr"] == pytest.approx(_hand_dsr(returns, label), rel=1e-10)
    best = per_period.idxmax()
    assert report.overfitting["best"] == best
    assert report.overfitting["best_sharpe"] == pytest.approx(report.summary.loc[best, "sharpe"])
    assert report.overfitting["dsr"] == pytest.approx(report.summary.loc[best, "dsr"], rel=1e-10)
    first = report.per_window.iloc[0]
    part = returns[first["config"]].loc[str(first["test_start"]) : str(first["test_end"])]
    assert first["sharpe"] == pytest.approx(part.mean() / part.std(ddof=1) * np.sqrt(bars))

"""The vectorised evaluator, walk-forward windows and Sharpe statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from seqfolio.research import (
    bootstrap_sharpe_interval,
    deflated_sharpe_ratio,
    evaluate_weights,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_ratio,
    sharpe_summary,
    walk_forward_windows,
)


def prices_frame(rows: dict[str, list[float]]) -> pd.DataFrame:
    n = len(next(iter(rows.values())))
    return pd.DataFrame(rows, index=pd.bdate_range("2021-01-04", periods=n))


def test_hand_checked_two_asset_case_with_costs():
    prices = prices_frame({"A": [10, 10, 11, 11, 12.1], "B": [20, 20, 20, 18, 18]})
    targets = pd.DataFrame({"A": [0.5], "B": [0.5]}, index=prices.index[:1])
    result = evaluate_weights(prices, targets, commission=0.01, lag=1)
    # decided on bar 0 (value 1.0): 1.0 of buys + 1 % commission exceeds the cash, so the buys are
    # scaled by 1 / 1.01 -> 0.0495 A and 0.02475 B, filled on bar 1 at unchanged prices, cash 0.
    a, b = 0.5 / 10 / 1.01, 0.5 / 20 / 1.01
    assert result.turnover.iloc[0] == pytest.approx(1 / 1.01)
    assert result.costs.iloc[0] == pytest.approx(0.01 / 1.01)
    expected_values = [1.0, a * 10 + b * 20, a * 11 + b * 20, a * 11 + b * 18, a * 12.1 + b * 18]
    np.testing.assert_allclose(result.values, expected_values)
    np.testing.assert_allclose(
        result.returns.iloc[1:], np.diff(expected_values) / expected_values[:-1]
    )
    assert result.weights.iloc[-1].sum() == pytest.approx(1.0)
    assert result.weights.iloc[-1, 0] == pytest.approx(a * 12.1 / expected_values[-1])


def test_daily_rebalanced_fixed_weights_without_costs_are_the_weighted_return():
    rng = np.random.default_rng(3)
    prices = pd.DataFrame(
        100 * np.exp(np.cumsum(rng.normal(0, 0.01, (60, 3)), axis=0)),
        index=pd.bdate_range("2020-01-01", periods=60),
        columns=list("XYZ"),
    )
    weights = np.array([0.2, 0.3, 0.5])
    targets = pd.DataFrame(np.tile(weights, (60, 1)), index=prices.index, columns=prices.columns)
    result = evaluate_weights(prices, targets, commission=0.0, lag=0)
    asset_returns = prices.pct_change()
    # lag 0: every day starts at the target weights, so its return is the weighted asset return
    np.testing.assert_allclose(result.returns.iloc[1:], asset_returns.iloc[1:] @ weights, rtol=1e-9)


def test_cash_buffer_and_lag_zero():
    prices = prices_frame({"A": [10, 20, 20], "B": [10, 10, 10]})
    targets = pd.DataFrame({"A": [0.5]}, index=prices.index[:1])  # half in cash, B not held
    result = evaluate_weights(prices, targets, commission=0.0, lag=0)
    np.testing.assert_allclose(result.values, [1.0, 1.5, 1.5])


def test_decision_uses_no_future_prices():
    prices = prices_frame({"A": [10, 11, 12, 13, 14], "B": [5, 5, 6, 6, 7]})
    targets = pd.DataFrame({"A": [0.6, 0.2], "B": [0.4, 0.8]}, index=prices.index[[0, 2]])
    base = evaluate_weights(prices, targets)
    shocked = prices.copy()
    shocked.iloc[3:] *= 3.0  # perturb every price after the trade on bar 3
    after = evaluate_weights(shocked, targets)
    pd.testing.assert_series_equal(base.values.iloc[:3], after.values.iloc[:3])


def test_evaluator_rejects_bad_targets():
    prices = prices_frame({"A": [10, 11, np.nan], "B": [5, 5, 5]})
    with pytest.raises(ValueError, match="targets contain NaN"):
        evaluate_weights(prices, pd.DataFrame({"A": [np.nan]}, index=prices.index[:1]))
    with pytest.raises(ValueError, match="sum to more than 1"):
        evaluate_weights(prices, pd.DataFrame({"A": [0.7], "B": [0.7]}, index=prices.index[:1]))
    with pytest.raises(ValueError, match="negative weights"):
        evaluate_weights(prices, pd.DataFrame({"A": [-0.1]}, index=prices.index[:1]))
    with pytest.raises(ValueError, match=r"assets \['C'\] that have no prices"):
        evaluate_weights(prices, pd.DataFrame({"C": [1.0]}, index=prices.index[:1]))
    with pytest.raises(
        ValueError, match="target on 'A' decided on 2021-01-06 but it has no price then"
    ):
        evaluate_weights(prices, pd.DataFrame({"A": [1.0]}, index=prices.index[2:3]), lag=0)
    with pytest.raises(ValueError, match="'lag' parameter of evaluate_weights"):
        evaluate_weights(prices, pd.DataFrame({"A": [1.0]}, index=prices.index[:1]), lag=-1)


def test_asset_delisted_between_decision_and_trade_is_not_bought():
    # Formerly an error, but a decision at t cannot know that the prices stop at t (no look-ahead):
    # a walk-forward over a universe with delistings stopped on it. backtrader leaves such an order
    # unfilled; so does the evaluator, with a warning, and the weight stays in cash.
    prices = prices_frame({"A": [10, 11, np.nan, np.nan], "B": [5, 5, 6, 6]})
    targets = pd.DataFrame({"A": [0.5], "B": [0.5]}, index=prices.index[1:2])
    with pytest.warns(RuntimeWarning, match="target on 'A' decided on 2021-01-05 is not traded"):
        result = evaluate_weights(prices, targets, commission=0.0)
    # B: 0.1 share sized on the decision close 5, bought at 6; A's half stays in cash
    np.testing.assert_allclose(result.values, [1.0, 1.0, 1.0])
    np.testing.assert_allclose(result.weights["B"].iloc[1:], 0.6)
    assert (result.weights["A"] == 0).all()


def test_delisted_holding_is_valued_at_its_last_price_with_a_warning():
    prices = prices_frame({"A": [10, 10, 12, np.nan, np.nan], "B": [5, 5, 5, 5, 5]})
    targets = pd.DataFrame({"A": [1.0]}, index=prices.index[:1])
    with pytest.warns(RuntimeWarning, match="held asset 'A' has no price after"):
        result = evaluate_weights(prices, targets, commission=0.0)
    np.testing.assert_allclose(result.values, [1.0, 1.0, 1.2, 1.2, 1.2])


def test_walk_forward_windows_never_overlap_and_respect_purge_and_embargo():
    windows = walk_forward_windows(100, train=30, test=20, purge=5, embargo=2)
    assert [(w.train_start, w.train_stop, w.test_start, w.test_stop) for w in windows] == [
        (0, 30, 37, 57),
        (20, 50, 57, 77),
        (40, 70, 77, 97),
        (60, 90, 97, 100),
    ]
    for w in windows:
        assert w.test_start - w.train_stop == 7
        assert w.train_stop <= w.test_start
    tests = [range(w.test_start, w.test_stop) for w in windows]
    assert sum(len(t) for t in tests) == len(
        set().union(*map(set, tests))
    )  # tests tile without overlap
    expanding = walk_forward_windows(100, train=30, test=20, expanding=True)
    assert {w.train_start for w in expanding} == {0}
    assert [w.train_stop for w in expanding] == [30, 50, 70, 90]


def test_walk_forward_windows_errors():
    with pytest.raises(
        ValueError, match="'train' parameter of walk_forward_windows must be an int >= 1"
    ):
        walk_forward_windows(100, train=0, test=10)
    with pytest.raises(ValueError, match="100 bars cannot hold one window"):
        walk_forward_windows(100, train=95, test=10, purge=5)


def test_deflated_sharpe_matches_the_papers_worked_example():
    # Bailey & López de Prado (2014), section 6: annual SR 2.5 over 1250 daily returns (250 a year),
    # skew -3, kurtosis 10, 100 trials whose annual Sharpe ratios have variance 1/2.
    sharpe = 2.5 / np.sqrt(250)
    variance = 0.5 / 250
    assert expected_max_sharpe(100, variance) == pytest.approx(0.1132, abs=1e-4)
    dsr = deflated_sharpe_ratio(
        sharpe, n_trials=100, sharpe_variance=variance, n_obs=1250, skew=-3, kurtosis=10
    )
    assert dsr == pytest.approx(0.9004, abs=2e-4)
    # one trial: no deflation, DSR = PSR against zero
    psr = probabilistic_sharpe_ratio(sharpe, n_obs=1250, skew=-3, kurtosis=10)
    assert (
        deflated_sharpe_ratio(
            sharpe, n_trials=1, sharpe_variance=variance, n_obs=1250, skew=-3, kurtosis=10
        )
        == psr
    )


def test_sharpe_statistics_on_simulated_returns():
    rng = np.random.default_rng(5)
    returns = pd.Series(rng.normal(0.0008, 0.01, 2520))
    true_sharpe = 0.0008 / 0.01 * np.sqrt(252)
    assert sharpe_ratio(returns) == pytest.approx(true_sharpe, abs=0.4)
    low, high = bootstrap_sharpe_interval(returns, n_resamples=500, random_state=1)
    assert low < sharpe_ratio(returns) < high and high - low < 1.5
    assert bootstrap_sharpe_interval(returns, n_resamples=500, random_state=1) == (low, high)
    summary = sharpe_summary(returns, n_trials=50, trial_sharpes=rng.normal(0, 0.5, 50))
    assert summary["psr"] > 0.99 and summary["dsr"] < summary["psr"]
    demeaned = returns - returns.mean()  # a sample Sharpe of exactly zero: even odds
    assert sharpe_summary(demeaned)["psr"] == pytest.approx(0.5)


@pytest.mark.parametrize("level", [0.0004, -0.0004, 0.0, 1e-12])
def test_a_flat_series_has_sharpe_zero_everywhere(level):
    # One flatness rule (seqfolio.stats.is_flat): a constant series, whatever its level, has no
    # Sharpe ratio to speak of: 0, an interval of (0, 0) and even odds (PSR 0.5), not 5.8e16 and 1.0.
    flat = pd.Series(np.full(300, level))
    assert sharpe_ratio(flat) == 0.0
    summary = sharpe_summary(flat, n_trials=3, trial_sharpes=np.array([0.5, 0.0, -0.2]))
    assert summary["sharpe"] == 0.0
    assert (summary["sharpe_ci_low"], summary["sharpe_ci_high"]) == (0.0, 0.0)
    assert summary["psr"] == 0.5 and summary["dsr"] < 0.5
    assert bootstrap_sharpe_interval(flat, n_resamples=50) == (0.0, 0.0)


def test_tiny_but_real_variation_is_not_flat():
    # The tolerance is relative: returns of 1e-9 a day that vary by 10 % are not flat.
    values = pd.Series(1e-9 * (1 + 0.1 * np.random.default_rng(0).normal(size=300)))
    assert sharpe_ratio(values) == pytest.approx(
        values.mean() / values.std(ddof=1) * np.sqrt(252), rel=1e-12
    )

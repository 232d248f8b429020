"""Property tests (hypothesis) on random but valid inputs: the evaluator's accounting and the causality
of the feature pipeline."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from seqfolio.research.evaluator import evaluate_weights
from seqfolio.signals.features import FEATURE_NAMES, build_features

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _prices(seed: int, n_bars: int, n_assets: int, vol: float = 0.02) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    steps = rng.normal(0.0002, vol, size=(n_bars, n_assets))
    start = rng.uniform(5, 500, size=n_assets)
    index = pd.bdate_range("2020-01-01", periods=n_bars, name="date")
    return pd.DataFrame(start * np.exp(np.cumsum(steps, axis=0)), index=index,
                        columns=[f"A{i}" for i in range(n_assets)])  # fmt: skip


@st.composite
def portfolios(draw: st.DrawFn) -> tuple[pd.DataFrame, pd.DataFrame, float, int, float]:
    n_bars = draw(st.integers(5, 80))
    n_assets = draw(st.integers(1, 5))
    prices = _prices(draw(st.integers(0, 2**32 - 1)), n_bars, n_assets, draw(st.floats(0.0, 0.08)))
    rows = draw(st.lists(st.integers(0, n_bars - 1), min_size=1, max_size=8, unique=True))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    raw = rng.uniform(0, 1, size=(len(rows), n_assets)) * (
        rng.uniform(size=(len(rows), n_assets)) > 0.3
    )
    invested = np.array([draw(st.floats(0.0, 1.0)) for _ in rows])
    sums = raw.sum(axis=1, keepdims=True)
    weights = np.divide(raw, sums, out=np.zeros_like(raw), where=sums > 0) * invested[:, None]
    targets = pd.DataFrame(weights, index=prices.index[sorted(rows)], columns=prices.columns)
    commission = draw(st.sampled_from([0.0, 0.0005, 0.001, 0.01, 0.05]))
    lag = draw(st.integers(0, 2))
    initial = draw(st.sampled_from([1.0, 1000.0, 1e6]))
    return prices, targets, commission, lag, initial


@SETTINGS
@given(portfolios())
def test_evaluator_accounting(case: tuple[pd.DataFrame, pd.DataFrame, float, int, float]) -> None:
    prices, targets, commission, lag, initial = case
    result = evaluate_weights(
        prices, targets, commission=commission, lag=lag, initial_value=initial
    )
    values = result.values.to_numpy()
    returns = result.returns.to_numpy()
    # returns are exactly the value changes (the first against the initial value)
    assert np.all(np.isfinite(values)) and np.all(values > 0)
    expected = np.r_[values[0] / initial - 1.0, values[1:] / values[:-1] - 1.0]
    np.testing.assert_allclose(returns, expected, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(initial * np.prod(1.0 + returns), values[-1], rtol=1e-9)
    assert result.returns.index.equals(result.values.index)
    # weights finite, long-only, at most fully invested (up to the drift between decision and fill)
    weights = result.weights.to_numpy()
    assert np.isfinite(weights).all() and (weights >= -1e-12).all()
    assert (weights.sum(axis=1) <= 1.0 + 0.5).all()
    # costs are never negative and are the commission on the turnover
    assert (result.costs >= 0).all() and (result.turnover >= 0).all()
    np.testing.assert_allclose(result.costs, commission * result.turnover, rtol=1e-12, atol=1e-15)
    if commission == 0:
        assert (result.costs == 0).all()
    # before the first trade nothing moves
    first_trade = result.turnover.index[0] if len(result.turnover) else None
    if first_trade is not None:
        before = result.returns.loc[: first_trade - pd.Timedelta(days=1)]
        assert (before == 0).all()


@SETTINGS
@given(portfolios())
def test_evaluator_without_costs_or_cash_tracks_a_buy_and_hold(
    case: tuple[pd.DataFrame, pd.DataFrame, float, int, float],
) -> None:
    """One fully invested decision, no commission: the value follows the held shares exactly."""
    prices, targets, _, lag, initial = case
    target = targets.iloc[[0]]
    if target.iloc[0].sum() == 0:
        target = target * 0 + 1.0 / target.shape[1]
    target = target.div(target.sum(axis=1), axis=0)
    result = evaluate_weights(prices, target, commission=0.0, lag=lag, initial_value=initial)
    start = prices.index.get_loc(target.index[0])
    if start + lag >= len(prices):
        assert (result.values == initial).all()
        return
    decided, traded = prices.iloc[start], prices.iloc[start + lag]
    shares = target.iloc[0] * initial / decided
    cash = initial - float((shares * traded).sum())
    expected = cash + prices.iloc[start + lag :] @ shares
    np.testing.assert_allclose(result.values.iloc[lag:], expected, rtol=1e-10)


@st.composite
def price_paths(draw: st.DrawFn) -> tuple[pd.DataFrame, int, np.ndarray, list[float] | None]:
    n_bars = draw(st.integers(2, 160))
    n_assets = draw(st.integers(1, 4))
    prices = _prices(
        draw(st.integers(0, 2**32 - 1)), n_bars, n_assets, draw(st.floats(0.001, 0.06))
    )
    # an asset may list late or delist early (NaN outside its life)
    for j in range(n_assets):
        if draw(st.booleans()):
            first = draw(st.integers(0, n_bars - 1))
            last = draw(st.integers(first, n_bars - 1))
            prices.iloc[:first, j] = np.nan
            prices.iloc[last + 1 :, j] = np.nan
    t = draw(st.integers(0, n_bars - 1))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    shock = np.exp(rng.normal(0, 0.3, size=(n_bars - t - 1, n_assets)))
    ffd = draw(st.one_of(st.none(), st.lists(st.floats(0.05, 1.0), min_size=n_assets,
                                              max_size=n_assets)))  # fmt: skip
    return prices, t, shock, ffd


@SETTINGS
@given(price_paths())
def test_features_are_causal(
    case: tuple[pd.DataFrame, int, np.ndarray, list[float] | None],
) -> None:
    """Changing (or deleting) prices after bar t changes no feature at bars <= t."""
    prices, t, shock, ffd = case
    changed = prices.copy()
    changed.iloc[t + 1 :] = changed.iloc[t + 1 :].to_numpy() * shock
    truncated = prices.iloc[: t + 1]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        base = build_features(prices, ffd_d=ffd)
        other = build_features(changed, ffd_d=ffd)
        short = build_features(truncated, ffd_d=ffd)
    assert base.shape == (len(prices), prices.shape[1], len(FEATURE_NAMES))
    np.testing.assert_allclose(other[: t + 1], base[: t + 1], rtol=1e-9, atol=1e-12, equal_nan=True)
    np.testing.assert_allclose(short, base[: t + 1], rtol=1e-9, atol=1e-12, equal_nan=True)
    # NaN only where history is missing, never inf
    assert not np.isinf(base).any()

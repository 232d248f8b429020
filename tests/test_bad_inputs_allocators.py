"""Bad allocator parameters and inputs: checked up front, clear messages, solver failures fall back.

Review items 2 (every parameter checked by ``check_params``, which the strategy calls when it is
built), 3 (solver failures and window-dependent infeasibility are ``AllocationError``) and 8 (raw
library errors from bad ``fit`` inputs).
"""

from __future__ import annotations

import re
import warnings

import backtrader as bt
import cvxpy
import numpy as np
import pandas as pd
import pytest
from _btutil import synthetic_prices

from seqfolio.allocators import (
    HERC,
    HRP,
    AllocationError,
    EqualWeight,
    Fallback,
    InverseVariance,
    InverseVolatility,
    MeanVariance,
)
from seqfolio.pipeline import Allocate, RebalanceContext
from seqfolio.strategies import RebalanceStrategy, add_price_feeds


@pytest.fixture
def returns() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    index = pd.bdate_range("2021-01-01", periods=120, name="date")
    return pd.DataFrame(rng.normal(0.0004, 0.01, (120, 4)), index=index, columns=list("ABCD"))


def _context(returns: pd.DataFrame, **fields) -> RebalanceContext:
    return RebalanceContext(
        date=returns.index[-1],
        prices=None,
        tradable=list(returns.columns),
        returns=returns,
        **fields,
    )


# -- item 2: every parameter is checked by check_params (so at strategy construction) ------

BAD_PARAMETERS = [
    (
        HRP(max_weight=1.5),
        "The 'max_weight' parameter of HRP must be a float in (0.0, 1.0]. Got 1.5",
    ),
    (HRP(min_weight=-0.1), "The 'min_weight' parameter of HRP must be a float in [0.0, 1.0]"),
    (
        HRP(min_weight=0.5, max_weight=0.4),
        "The 'min_weight' parameter of HRP (0.5) must not exceed",
    ),
    (HERC(max_weight=0), "The 'max_weight' parameter of HERC must be a float in (0.0, 1.0]. Got 0"),
    (HERC(min_weight="0.1"), "The 'min_weight' parameter of HERC must be a float"),
    (InverseVariance(max_weight=float("nan")), "The 'max_weight' parameter of InverseVariance"),
    (InverseVolatility(max_weight=2), "The 'max_weight' parameter of InverseVolatility"),
    (EqualWeight(max_weight=1.5), "The 'max_weight' parameter of EqualWeight must be a float"),
    (
        MeanVariance(target_volatility=-0.1),
        "The 'target_volatility' parameter of MeanVariance must be a float in (0.0, inf]",
    ),
    (MeanVariance(target_return="5%"), "The 'target_return' parameter of MeanVariance"),
    (
        MeanVariance(frequency=10**300),
        "The 'frequency' parameter of MeanVariance must be an int in [1, 100000000].",
    ),
]


@pytest.mark.parametrize(("allocator", "message"), BAD_PARAMETERS)
def test_check_params_checks_every_parameter(allocator, message, returns):
    with pytest.raises(ValueError, match=re.escape(message)) as early:
        allocator.check_params()
    assert not isinstance(early.value, AllocationError)  # a set-up bug, never swallowed
    # fit runs the same validation: the same message
    with pytest.raises(ValueError) as late:
        allocator.fit(returns)
    assert str(late.value) == str(early.value)


def test_valid_numpy_parameters_pass(returns):
    HRP(min_weight=np.float64(0.0), max_weight=np.float32(0.5)).check_params()
    MeanVariance(frequency=np.int64(52), weight_bounds=[np.float64(0), 1]).check_params()
    weights = MeanVariance(frequency=np.int64(252)).fit(returns).weights_
    pd.testing.assert_series_equal(weights, MeanVariance().fit(returns).weights_)


def test_a_subclass_hook_cannot_skip_the_bound_checks(returns):
    class MyHRP(HRP):
        def _validate_params(self) -> None:  # its own checks only, no super() call
            pass

    with pytest.raises(ValueError, match=r"The 'max_weight' parameter of MyHRP must be a float"):
        MyHRP(max_weight=1.5).check_params()
    with pytest.raises(ValueError, match=r"The 'max_weight' parameter of MyHRP must be a float"):
        MyHRP(max_weight=1.5).fit(returns)


def test_feasibility_for_the_window_is_left_to_fit(returns):
    allocator = HRP(max_weight=0.2)
    allocator.check_params()  # valid: whether 0.2 can be met depends on the window
    with pytest.raises(
        AllocationError, match=re.escape("'max_weight' parameter of HRP (0.2) cannot be met with 4")
    ):
        allocator.fit(returns)


def _build(allocator) -> RebalanceStrategy:
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, synthetic_prices(n_bars=30, n_assets=2))
    cerebro.addstrategy(RebalanceStrategy, allocator=allocator, lookback=10)
    return cerebro.run()[0]


@pytest.mark.parametrize(
    ("allocator", "message"),
    [
        (HRP(max_weight=1.5), "The 'max_weight' parameter of HRP must be a float in (0.0, 1.0]"),
        (
            Fallback([MeanVariance(), HERC(min_weight=-1)]),
            "The 'min_weight' parameter of HERC must be a float in [0.0, 1.0]",
        ),
        (MeanVariance(solver="nope"), "The 'solver' parameter of MeanVariance"),
    ],
)
def test_strategy_rejects_bad_allocator_parameters_when_built(allocator, message):
    with pytest.raises(ValueError, match=re.escape(message)):
        _build(allocator)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([], "The 'allocators' parameter of Fallback must be a non-empty list of allocators"),
        (HRP(), "The 'allocators' parameter of Fallback must be a non-empty list of allocators"),
        ("hrp", "The 'allocators' parameter of Fallback must be a non-empty list of allocators"),
        ([HRP, EqualWeight()], "member 0 is the class HRP; use HRP() instead"),
        ([EqualWeight(), "hrp"], "must hold allocators (with fit and get_params). Got 'hrp'"),
        ([HRP(max_weight=1.5), EqualWeight()], "The 'max_weight' parameter of HRP"),
        ([Fallback([EqualWeight(max_weight=7)])], "The 'max_weight' parameter of EqualWeight"),
    ],
)
def test_fallback_validates_its_members(members, message, returns):
    with pytest.raises(ValueError, match=re.escape(message)):
        Fallback(members).check_params()
    with pytest.raises(ValueError, match=re.escape(message)):
        Fallback(members).fit(returns)


# -- item 3: solver failures and window-dependent infeasibility are AllocationError ------------


def test_unknown_solver_is_a_parameter_error_naming_the_installed_ones(returns):
    installed = sorted(cvxpy.installed_solvers())
    message = (
        "The 'solver' parameter of MeanVariance must be None or one of the installed cvxpy "
        f"solvers {installed}. Got 'foo' instead."
    )
    with pytest.raises(ValueError, match=re.escape(message)) as info:
        MeanVariance(solver="foo").check_params()
    assert type(info.value) is ValueError
    # a parameter error: Fallback raises it rather than falling back (before: cvxpy SolverError)
    with pytest.raises(ValueError, match=re.escape(message)):
        Fallback([MeanVariance(solver="foo"), HRP()]).fit(returns)
    with pytest.raises(ValueError, match="Got 123 instead"):
        MeanVariance(solver=123).check_params()


def test_solver_name_is_case_insensitive(returns, monkeypatch):
    used: list[object] = []
    solve = cvxpy.Problem.solve

    def recording_solve(problem, *args, **kwargs):
        used.append(kwargs.get("solver"))
        return solve(problem, *args, **kwargs)

    monkeypatch.setattr(cvxpy.Problem, "solve", recording_solve)
    unequal = returns * [1.0, 2.0, 3.0, 4.0]  # min-variance weights far from 1/N
    lower = MeanVariance(solver="scs", covariance="sample").fit(unequal).weights_
    upper = MeanVariance(solver="SCS", covariance="sample").fit(unequal).weights_
    assert [str(s).upper() for s in used] == ["SCS", "SCS"]  # the named solver ran, both times
    assert lower.max() - lower.min() > 0.3
    pd.testing.assert_series_equal(lower, upper)


def test_solver_failure_is_an_allocation_error(returns):
    with pytest.raises(
        AllocationError,
        match=re.escape("MeanVariance(objective='min_variance').fit found no solution: Solver"),
    ):
        MeanVariance().fit(returns, covariance=np.eye(4) * 1e300)


def test_fallback_falls_back_on_a_solver_failure(returns):
    fallback = Fallback([MeanVariance(), EqualWeight()])
    with pytest.warns(RuntimeWarning, match=r"member 0 \(MeanVariance\) failed"):
        fallback.fit(returns, covariance=np.eye(4) * 1e300)
    assert fallback.used_index_ == 1
    assert fallback.weights_.tolist() == [0.25] * 4


def test_strategy_step_skips_a_rebalance_on_a_solver_failure(returns):
    step = Allocate(MeanVariance())
    ctx = _context(
        returns, covariance=pd.DataFrame(np.eye(4) * 1e300, returns.columns, returns.columns)
    )
    step(ctx)  # before: cvxpy's SolverError escaped and aborted the backtest
    assert ctx.weights is None
    assert "MeanVariance failed" in ctx.skip_reason
    assert "found no solution" in ctx.skip_reason
    assert [e.kind for e in ctx.events] == ["allocation_failed"]


@pytest.mark.parametrize(
    ("allocator", "message"),
    [
        (
            HRP(max_weight=0.2),
            "The 'max_weight' parameter of HRP (0.2) cannot be met with 3 assets: 3 x 0.2 < 1. "
            "Raise it to at least 0.3333.",
        ),
        (
            InverseVariance(min_weight=0.4),
            "The 'min_weight' parameter of InverseVariance (0.4) cannot be met with 3 assets",
        ),
        (
            MeanVariance(weight_bounds=(0.0, 0.2)),
            "The 'weight_bounds' parameter of MeanVariance (0.0, 0.2) cannot sum to 1 over 3 "
            "assets; widen them.",
        ),
    ],
)
def test_bounds_infeasible_for_the_window_fall_back(allocator, message, returns):
    window = returns[["A", "B", "C"]]  # only 3 assets alive in this window
    with pytest.raises(AllocationError, match=re.escape(message)):
        allocator.fit(window)
    fallback = Fallback([allocator, EqualWeight()])
    with pytest.warns(RuntimeWarning, match="failed, trying the next"):
        fallback.fit(window)
    assert fallback.used_index_ == 1
    assert fallback.weights_.tolist() == [1 / 3] * 3
    # the same in the strategy's step: a fallback is recorded, not a skipped rebalance
    step = Allocate(Fallback([allocator, EqualWeight()]))
    ctx = _context(window)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        step(ctx)
    assert ctx.weights.tolist() == [1 / 3] * 3
    assert [e.kind for e in ctx.events] == ["fallback"]


@pytest.mark.parametrize(
    "allocator", [HRP(), HERC(), InverseVariance()], ids=lambda a: type(a).__name__
)
def test_zero_variance_in_the_window_falls_back(allocator, returns):
    window = returns[["A", "B", "C"]].copy()
    window["C"] = 0.0  # a constant price over this window
    with pytest.raises(AllocationError, match=r"columns \['C'\] have zero variance"):
        allocator.fit(window)
    fallback = Fallback([allocator, EqualWeight()])
    with pytest.warns(RuntimeWarning, match="failed, trying the next"):
        fallback.fit(window)
    assert fallback.used_index_ == 1
    assert fallback.weights_.tolist() == [1 / 3] * 3


# -- item 8: raw library errors from bad fit inputs --------------------------------------------


@pytest.mark.parametrize("allocator", [HRP(), MeanVariance(), EqualWeight()])
def test_covariance_name_passed_to_fit(allocator, returns):
    with pytest.raises(
        TypeError,
        match=re.escape(
            "covariance= takes a matrix (a DataFrame or an (n, n) array), got the string "
            "'ledoit_wolf'. To choose an estimator by name, set it in the constructor instead, "
            "e.g. HRP(covariance='ledoit_wolf')."
        ),
    ):
        allocator.fit(returns, covariance="ledoit_wolf")


def test_expected_returns_name_passed_to_fit(returns):
    with pytest.raises(TypeError, match=re.escape("MeanVariance(expected_returns='ema')")):
        MeanVariance(objective="max_sharpe").fit(returns, expected_returns="ema")


def test_covariance_with_text_values(returns):
    text = returns.cov().astype(object)
    text.iloc[0, 0] = "x"
    with pytest.raises(ValueError, match=r"HRP.fit: covariance must hold real numbers"):
        HRP().fit(returns, covariance=text)
    with pytest.raises(
        ValueError, match=r"covariance must hold real numbers; got values of dtype complex"
    ):
        HRP().fit(returns, covariance=returns.cov().to_numpy() + 0j)


def test_annualising_into_overflow_is_bad_data_not_a_window_without_solution(returns):
    with pytest.raises(ValueError, match=r"annualised expected returns or covariance") as caught:
        MeanVariance(frequency=10**8).fit(returns, covariance=np.eye(4) * 1e301)
    assert not isinstance(caught.value, AllocationError)  # Fallback must not hide bad data


def test_covariance_with_duplicate_labels(returns):
    cov = returns.cov()
    dup = cov.set_axis(list("AABC"), axis=0).set_axis(list("AABC"), axis=1)
    with pytest.raises(
        ValueError,
        match=re.escape(
            "HRP.fit: covariance has duplicate labels ['A']; give each asset one row and one column."
        ),
    ):
        HRP().fit(returns, covariance=dup)


def test_expected_returns_with_duplicate_labels(returns):
    mu = pd.Series([0.001] * 5, index=list("AABCD"))
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MeanVariance.fit: expected_returns has duplicate labels ['A']; give each asset one value."
        ),
    ):
        MeanVariance(objective="max_sharpe").fit(returns, expected_returns=mu)


@pytest.mark.parametrize(
    ("allocator", "estimator"),
    [
        (MeanVariance(), "ledoit_wolf"),
        (HRP(), "sample"),
        (InverseVolatility(covariance="oas"), "oas"),
    ],
)
def test_overflowing_returns(allocator, estimator, returns):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no overflow RuntimeWarning either
        with pytest.raises(
            ValueError,
            match=re.escape(
                f"the '{estimator}' covariance estimate of these returns is not finite"
            ),
        ) as info:
            allocator.fit(returns * 1e200)
    assert "pass per-period simple returns (0.01 = 1%)" in str(info.value)
    assert not isinstance(info.value, AllocationError)  # bad data, not an infeasible problem


@pytest.mark.parametrize(
    ("make", "dtype"),
    [
        (lambda r: r.assign(E=pd.Timestamp("2020-01-01")), "datetime64"),
        (lambda r: r.assign(E=pd.Timedelta("1D")), "timedelta64"),
        (lambda r: r.astype(complex), "complex128"),
        (lambda r: r > 0, "bool"),
        (lambda r: r.assign(E=r["A"] > 0), "bool"),
    ],
)
@pytest.mark.parametrize("allocator", [HRP(), MeanVariance(), EqualWeight()])
def test_returns_that_are_not_real_numbers(make, dtype, allocator, returns):
    name = type(allocator).__name__
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # before: ComplexWarning, or weights on a date column
        with pytest.raises(ValueError, match=re.escape(f"{name}.fit: returns columns [")) as info:
            allocator.fit(make(returns))
    assert "are not numeric (dtype " + dtype in str(info.value)
    assert "pass per-period simple returns as floats" in str(info.value)


def test_returns_with_duplicate_columns_are_named(returns):
    with pytest.raises(
        ValueError,
        match=re.escape(
            "MeanVariance.fit: returns have duplicate columns ['A']; give each asset one"
        ),
    ):
        MeanVariance().fit(returns.set_axis(list("AABC"), axis=1))


@pytest.mark.parametrize("allocator", [HRP(), HERC(), MeanVariance(), InverseVariance()])
def test_shapes_and_integer_returns(allocator, returns):
    name = type(allocator).__name__
    with pytest.raises(ValueError, match=re.escape(f"{name}.fit: returns have no columns")):
        allocator.fit(pd.DataFrame())
    with pytest.raises(
        TypeError, match=re.escape(f"{name}.fit: returns must be a pandas DataFrame")
    ):
        allocator.fit(returns["A"])
    with pytest.raises(TypeError, match=re.escape("Got a 1-D ndarray")):
        allocator.fit(returns["A"].to_numpy())
    with pytest.raises(ValueError, match=re.escape("returns have 1 observation(s); at least 2")):
        allocator.fit(returns.iloc[:1])
    # integer returns (e.g. in basis points) work exactly as the same values in float
    integers = (returns * 10_000).round().astype(int)
    pd.testing.assert_series_equal(
        type(allocator)().fit(integers).weights_,
        type(allocator)().fit(integers.astype(float)).weights_,
    )


def test_equal_weight_accepts_a_single_row(returns):
    assert EqualWeight().fit(returns.iloc[:1]).weights_.tolist() == [0.25] * 4

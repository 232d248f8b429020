"""Mean-variance optimisation on PyPortfolioOpt, one fresh problem per fit."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import pandas as pd

from seqfolio import defaults
from seqfolio._validation import InvalidParameter, check_choice, check_int, check_real
from seqfolio.allocators._base import AllocationError, BaseAllocator
from seqfolio.allocators._covariance import COVARIANCE_ESTIMATORS

if TYPE_CHECKING:
    from pypfopt import EfficientFrontier

OBJECTIVES = ("min_variance", "max_sharpe", "efficient_risk", "efficient_return", "max_utility")
EXPECTED_RETURN_ESTIMATORS = ("mean", "ema")
_EMA_SPAN = 60
_MAX_FREQUENCY = 10**8  # periods per year; one-second bars around the clock are about 3.2e7


@functools.lru_cache(maxsize=1)
def _installed_solvers() -> tuple[str, ...]:
    """cvxpy's installed solvers (asking cvxpy takes about a millisecond: once per process)."""
    import cvxpy  # about a second to import: only when a solver is named

    return tuple(sorted(cvxpy.installed_solvers()))


def _check_solver(owner: str, solver: object) -> None:
    """Raise ValueError unless ``solver`` names an installed cvxpy solver (in any case)."""
    installed = list(_installed_solvers())
    if not isinstance(solver, str) or solver.upper() not in installed:
        raise ValueError(
            f"The 'solver' parameter of {owner} must be None or one of the installed cvxpy solvers "
            f"{installed}. Got {solver!r} instead."
        )


def _historical_expected_returns(returns: pd.DataFrame, method: str) -> np.ndarray:
    if method == "ema":
        return returns.ewm(span=_EMA_SPAN, adjust=True).mean().iloc[-1].to_numpy()
    return returns.mean().to_numpy()


class MeanVariance(BaseAllocator):
    """Long-only (by default) mean-variance portfolios, solved with PyPortfolioOpt.

    Inputs are per-period (daily) returns; the covariance and expected returns are annualised with
    ``frequency`` before they reach the optimiser, so ``target_volatility``, ``target_return`` and
    ``risk_free_rate`` are annual figures.

    Parameters
    ----------
    objective : {"min_variance", "max_sharpe", "efficient_risk", "efficient_return", "max_utility"}
        ``min_variance`` with ``weight_bounds=(0, 1)`` is the long-only minimum-variance portfolio
        (what the critical line algorithm finds in López de Prado 2016, Table 16.1).
    covariance : {"ledoit_wolf", "sample", "oas", "exponential"}, default "ledoit_wolf"
        Estimator used when ``fit`` gets no ``covariance=``.
    expected_returns : {"mean", "ema"}, default "mean"
        Estimator used when ``fit`` gets no ``expected_returns=`` and the objective needs them.
    risk_free_rate : float, default 0.0
        Annual rate for ``max_sharpe``.
    target_volatility : float, optional
        Annual volatility for ``efficient_risk`` (required there).
    target_return : float, optional
        Annual return for ``efficient_return`` (required there).
    risk_aversion : float, default 1.0
        For ``max_utility``.
    l2_gamma : float, default 0.0
        Strength of an L2 penalty on weights (more assets get non-negligible weight).
    weight_bounds : tuple of float, default (0, 1)
        Per-asset (min, max) weight, within [0, 1]: seqfolio allocations are long-only.
    frequency : int, default 252
        Periods per year used to annualise, at most 10**8.
    solver : str, optional
        Name of an installed cvxpy solver (``cvxpy.installed_solvers()``, any case); None lets
        PyPortfolioOpt choose.

    Attributes
    ----------
    weights_ : pandas.Series
    solver_warnings_ : list of str
        Warnings the solver raised during the last ``fit`` (e.g. "Solution may be inaccurate"); the
        weights are still within bounds and sum to one.

    Raises
    ------
    AllocationError
        From ``fit`` when the problem is infeasible for this window (including ``weight_bounds``
        that cannot sum to one over its number of assets) or the solver fails (never None or NaN
        weights).
    """

    search_space: ClassVar[Mapping[str, Any]] = {
        "objective": ("min_variance", "max_sharpe"),
        "covariance": ("ledoit_wolf", "sample"),
    }

    def __init__(
        self,
        objective: str = "min_variance",
        covariance: str = "ledoit_wolf",
        expected_returns: str = "mean",
        risk_free_rate: float = 0.0,
        target_volatility: float | None = None,
        target_return: float | None = None,
        risk_aversion: float = 1.0,
        l2_gamma: float = 0.0,
        weight_bounds: tuple[float, float] = (0.0, 1.0),
        frequency: int = defaults.PERIODS_PER_YEAR,
        solver: str | None = None,
    ) -> None:
        self.objective = objective
        self.covariance = covariance
        self.expected_returns = expected_returns
        self.risk_free_rate = risk_free_rate
        self.target_volatility = target_volatility
        self.target_return = target_return
        self.risk_aversion = risk_aversion
        self.l2_gamma = l2_gamma
        self.weight_bounds = weight_bounds
        self.frequency = frequency
        self.solver = solver

    _has_weight_bounds = False  # weight_bounds go to the optimiser itself

    def _validate_params(self) -> None:
        owner = "MeanVariance"
        check_choice(owner, "objective", self.objective, OBJECTIVES)
        check_choice(owner, "covariance", self.covariance, COVARIANCE_ESTIMATORS)
        check_choice(owner, "expected_returns", self.expected_returns, EXPECTED_RETURN_ESTIMATORS)
        check_real(owner, "risk_free_rate", self.risk_free_rate)
        check_real(owner, "risk_aversion", self.risk_aversion, low=0.0, low_open=True)
        check_real(owner, "l2_gamma", self.l2_gamma, low=0.0)
        check_int(owner, "frequency", self.frequency, low=1, high=_MAX_FREQUENCY)
        # required by their objective; checked whenever given, so a typo fails even if unused
        if self.objective == "efficient_risk" or self.target_volatility is not None:
            check_real(owner, "target_volatility", self.target_volatility, low=0.0, low_open=True)
        if self.objective == "efficient_return" or self.target_return is not None:
            check_real(owner, "target_return", self.target_return)
        bounds = self.weight_bounds
        if not (isinstance(bounds, (tuple, list)) and len(bounds) == 2):
            raise InvalidParameter(owner, "weight_bounds", bounds, "a (min, max) pair")
        low = check_real(owner, "weight_bounds[0]", bounds[0], low=0.0, high=1.0)
        high = check_real(owner, "weight_bounds[1]", bounds[1], low=0.0, high=1.0, low_open=True)
        if low > high:
            raise ValueError(
                f"The 'weight_bounds' parameter of {owner} has min {low} > max {high}."
            )
        if self.solver is not None:
            _check_solver(owner, self.solver)

    def _allocate(
        self,
        returns: pd.DataFrame,
        covariance: np.ndarray | None,
        expected_returns: np.ndarray | None,
    ) -> np.ndarray:
        # PyPortfolioOpt imports cvxpy, which takes about a second: import on first use.
        from cvxpy.error import SolverError
        from pypfopt import EfficientFrontier, objective_functions
        from pypfopt.exceptions import OptimizationError

        n_assets = returns.shape[1]
        low, high = float(self.weight_bounds[0]), float(self.weight_bounds[1])
        if high * n_assets < 1 - 1e-12 or low * n_assets > 1 + 1e-12:
            # valid bounds that this window's number of assets cannot meet: Fallback may go on
            raise AllocationError(
                f"The 'weight_bounds' parameter of MeanVariance {tuple(self.weight_bounds)} cannot sum "
                f"to 1 over {n_assets} assets; widen them."
            )
        cov = self._covariance_matrix(returns, covariance)
        mu = expected_returns
        if mu is None:
            mu = _historical_expected_returns(returns, self.expected_returns)
        with np.errstate(over="ignore", invalid="ignore"):
            annual_mu, annual_cov = mu * self.frequency, cov * self.frequency
        if not (np.isfinite(annual_mu).all() and np.isfinite(annual_cov).all()):
            raise ValueError(  # bad data, like overflowing returns: not a window without a solution
                f"MeanVariance.fit: the annualised expected returns or covariance (x frequency="
                f"{self.frequency}) are not finite; check the scale of the returns and of any "
                "covariance= or expected_returns= given."
            )
        labels = list(map(str, range(n_assets)))
        # A solver that fails on this data (cvxpy's SolverError, e.g. OSQP on absurd scales) is an
        # AllocationError like an infeasible problem, so Fallback and the strategy can go on.
        failures = (OptimizationError, SolverError, ValueError, ArithmeticError)
        try:
            frontier = EfficientFrontier(
                pd.Series(annual_mu, index=labels),
                pd.DataFrame(annual_cov, index=labels, columns=labels),
                weight_bounds=(low, high),
                solver=self.solver,
            )
            if self.l2_gamma > 0:
                frontier.add_objective(objective_functions.L2_reg, gamma=self.l2_gamma)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                self._solve(frontier)
        except failures as exc:
            reason = str(exc).strip().splitlines()[0].rstrip(".") if str(exc).strip() else ""
            raise AllocationError(
                f"MeanVariance(objective={self.objective!r}).fit found no solution: "
                f"{reason or type(exc).__name__}. "
                "Relax the target or the bounds, or wrap it in Fallback([MeanVariance(...), HRP()])."
            ) from exc
        # cvxpy's "Solution may be inaccurate" and the like: kept on the estimator, not re-raised
        # at every rebalance of a long backtest.
        self.solver_warnings_ = [str(w.message) for w in caught]
        weights = np.asarray(frontier.weights, dtype=float)
        if weights.shape != (n_assets,) or not np.isfinite(weights).all():
            raise AllocationError("MeanVariance.fit: the solver returned no finite weights.")
        # Solvers land a hair outside the bounds (about 1e-9); pull back before renormalising.
        return np.clip(weights, low, high)

    def _solve(self, frontier: EfficientFrontier) -> None:
        objective = self.objective
        if objective == "min_variance":
            frontier.min_volatility()
        elif objective == "max_sharpe":
            frontier.max_sharpe(risk_free_rate=self.risk_free_rate)
        elif objective == "efficient_risk":
            frontier.efficient_risk(target_volatility=self.target_volatility)
        elif objective == "efficient_return":
            frontier.efficient_return(target_return=self.target_return)
        else:
            frontier.max_quadratic_utility(risk_aversion=self.risk_aversion)

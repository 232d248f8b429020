"""Vectorised portfolio evaluation: from target weights at decision dates to daily net returns.

Timing and accounting mirror :class:`~seqfolio.strategies.RebalanceStrategy` on close-only data: a
target decided on the close of bar ``t`` is sized in shares on bar ``t``'s closes and portfolio value,
then filled at bar ``t + lag``'s price (``lag=1``: the next bar, where backtrader fills a market order
on open = close). Fills pay ``commission x traded value``. Between trades the holdings drift with
prices. Weights that sum to less than one leave the rest in cash at zero return; a price move between
decision and fill can take cash slightly below zero (the strategy's ``cash_buffer`` exists for that).
Shares are fractional.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from seqfolio import defaults
from seqfolio._validation import check_int, check_real, is_real_number
from seqfolio.data.frames import check_price_frame, date_label


@dataclass(frozen=True)
class Evaluation:
    """What :func:`evaluate_weights` returns.

    Attributes
    ----------
    returns : pandas.Series
        Daily portfolio returns net of costs, from the first decision date to the last price.
    values : pandas.Series
        Portfolio value (starting at ``initial_value``) on the same dates.
    weights : pandas.DataFrame
        End-of-day weights after drift and trades (cash is ``1 - weights.sum(axis=1)``).
    turnover : pandas.Series
        Traded value at each trade date over the portfolio value before it (buying a full portfolio
        from cash counts 1.0).
    costs : pandas.Series
        Commission paid at each trade date as a fraction of the portfolio value before the trade.
    """

    returns: pd.Series
    values: pd.Series
    weights: pd.DataFrame
    turnover: pd.Series
    costs: pd.Series


def _check_inputs(
    prices: pd.DataFrame,
    targets: pd.DataFrame,
    commission: float,
    lag: int,
    initial_value: float,
) -> None:
    if not isinstance(targets, pd.DataFrame):
        raise TypeError(
            "evaluate_weights: targets must be a pandas DataFrame (one row of weights per decision "
            f"date, one column per asset). Got {type(targets).__name__} instead."
        )
    check_int("evaluate_weights", "lag", lag, low=0)
    check_real("evaluate_weights", "commission", commission, low=0.0, high=1.0, high_open=True)
    if not (is_real_number(initial_value) and np.isfinite(initial_value) and initial_value > 0):
        raise ValueError(
            "The 'initial_value' parameter of evaluate_weights must be a finite float > 0. "
            f"Got {initial_value!r} instead."
        )
    if len(targets.index) == 0:
        raise ValueError(
            "evaluate_weights: targets has no rows; give at least one decision date (one row of "
            "weights per date)."
        )
    check_price_frame(prices, "evaluate_weights")
    unknown = [c for c in targets.columns if c not in prices.columns]
    if unknown:
        raise ValueError(f"evaluate_weights: targets name assets {unknown} that have no prices.")
    missing_dates = targets.index.difference(prices.index)
    if len(missing_dates):
        raise ValueError(
            f"evaluate_weights: decision dates {[date_label(d) for d in missing_dates[:3]]} are not "
            "price dates; decide on bars that exist."
        )
    try:
        values = targets.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise ValueError(
            "evaluate_weights: targets must be numbers (weights); convert them with "
            "targets.astype(float)."
        ) from None
    if not np.isfinite(values).all():
        raise ValueError("evaluate_weights: targets contain NaN or inf; use 0 for assets not held.")
    if (values < -1e-12).any():
        raise ValueError(
            "evaluate_weights: targets contain negative weights; seqfolio is long-only."
        )
    over = values.sum(axis=1) > 1 + 1e-9
    if over.any():
        raise ValueError(
            f"evaluate_weights: targets on {date_label(targets.index[over][0])} sum to more than 1 (leverage)."
        )


def drop_empty_rows(prices: pd.DataFrame) -> pd.DataFrame:
    """``prices`` without the rows on which no asset has a price (e.g. a blank holiday row).

    Such a date is not a bar: backtrader feeds carry only priced rows, so a backtest never sees it.
    The research functions drop it too, so both paths decide, fill and return on the same bars.
    ``prices`` itself is returned when there is nothing to drop.
    """
    if prices.shape[1] == 0:
        return prices
    present = ~np.isnan(prices.to_numpy(dtype=float)).all(axis=1)
    return prices if present.all() else prices.loc[present]


def _afford_buys(
    shares: np.ndarray, new_shares: np.ndarray, price: np.ndarray, cash: float, commission: float
) -> np.ndarray:
    """Scale the buys down, as the strategy's order planner does, if the cash after the sells
    cannot pay for them and their commission at the decision prices."""
    delta = new_shares - shares
    buying = delta > 0
    sells_cash = float(np.sum(-delta[~buying] * price[~buying])) * (1.0 - commission)
    needed = float(np.sum(delta[buying] * price[buying])) * (1.0 + commission)
    available = cash + sells_cash
    if needed <= available or needed == 0:
        return new_shares
    scale = max(available, 0.0) / needed
    return np.where(buying, shares + delta * scale, new_shares)


def evaluate_weights(
    prices: pd.DataFrame,
    targets: pd.DataFrame,
    *,
    commission: float = defaults.COMMISSION,
    lag: int = 1,
    initial_value: float = 1.0,
) -> Evaluation:
    """Simulate a long-only portfolio that rebalances to ``targets``.

    Parameters
    ----------
    prices : pandas.DataFrame
        Close prices (> 0), dates x assets, one row per date in increasing order. NaN outside an
        asset's life. A row with no price at all (a blank holiday row) is not a bar and is left out,
        as backtrader's feeds leave it out.
    targets : pandas.DataFrame
        Target weights indexed by decision date (a subset of ``prices.index``); columns a subset of
        ``prices.columns``; a missing column or 0 means "not held".
    commission : float, default 0.001
        Proportional cost on traded value (0.001 = 10 bps).
    lag : int, default 1
        Bars between the decision and the trade.
    initial_value : float, default 1.0

    Returns
    -------
    Evaluation

    Raises
    ------
    ValueError
        For empty, NaN / negative / levered targets, unknown assets or dates, a target on an asset with
        no price at the decision bar, prices with unsorted or repeated dates, repeated columns, text or
        prices <= 0, or an ``initial_value`` that is not a finite number > 0.
    """
    _check_inputs(prices, targets, commission, lag, initial_value)
    bars = drop_empty_rows(prices)
    if len(bars) < len(prices):
        on_empty = targets.index.intersection(prices.index.difference(bars.index))
        if len(on_empty):
            raise ValueError(
                f"evaluate_weights: decision dates {[date_label(d) for d in on_empty[:3]]} are rows with "
                "no price for any asset (not a bar); decide on bars that exist."
            )
        prices = bars
    targets = targets.sort_index().reindex(columns=prices.columns, fill_value=0.0)
    start = prices.index.get_loc(targets.index[0])
    dates = prices.index[start:]
    raw = prices.iloc[start:].to_numpy(dtype=float)
    valuation = pd.DataFrame(raw).ffill().to_numpy()  # a delisted holding keeps its last price
    n_days, n_assets = raw.shape

    decision_rows = prices.index.get_indexer(targets.index) - start
    keep = decision_rows + lag < n_days  # a decision on the last bars has no bar left to trade on
    decision_rows, target_matrix = decision_rows[keep], targets.to_numpy(dtype=float)[keep]
    decision_rows, unique_at = np.unique(decision_rows[::-1], return_index=True)  # last one wins
    target_matrix = target_matrix[::-1][unique_at]
    trade_rows = decision_rows + lag
    if np.any(np.diff(trade_rows) < 1):
        raise ValueError("evaluate_weights: two decisions trade on the same bar.")

    values = np.empty(n_days)
    weights = np.zeros((n_days, n_assets))
    turnover = np.zeros(len(trade_rows))
    costs = np.zeros(len(trade_rows))
    shares = np.zeros(n_assets)
    cash = float(initial_value)
    warned: set[int] = set()
    bounds = np.append(trade_rows, n_days)
    values[: bounds[0]] = cash
    for k, (decided, traded) in enumerate(zip(decision_rows, trade_rows, strict=True)):
        wanted = target_matrix[k] > 0
        no_price = wanted & ~np.isfinite(raw[decided])
        if no_price.any():
            asset = prices.columns[np.flatnonzero(no_price)[0]]
            raise ValueError(
                f"evaluate_weights: target on {asset!r} decided on {dates[decided].date()} but it "
                "has no price then; only allocate to assets alive at the decision."
            )
        # Size on the decision bar's closes (as the strategy's market orders are), fill at the trade bar.
        decision_value = cash + float(np.nansum(shares * valuation[decided]))
        decision_price = np.where(wanted, raw[decided], 1.0)
        new_shares = np.where(wanted, target_matrix[k] * decision_value / decision_price, 0.0)
        # Delisted between decision and trade (unknowable at the decision): like a backtrader order
        # on a feed that has ended, it is not filled; the position stays as it is.
        unfilled = wanted & ~np.isfinite(raw[traded])
        for asset in np.flatnonzero(unfilled):
            warnings.warn(
                f"evaluate_weights: target on {prices.columns[asset]!r} decided on "
                f"{dates[decided].date()} is not traded: it has no price on {dates[traded].date()} "
                "(delisted in between); its position stays as it is (nothing is bought).",
                RuntimeWarning,
                stacklevel=2,
            )
        new_shares = np.where(unfilled, shares, new_shares)
        new_shares = _afford_buys(shares, new_shares, decision_price, cash, commission)
        fill_price = np.where(np.isfinite(raw[traded]), raw[traded], valuation[traded])
        value_before = cash + float(np.nansum(shares * valuation[traded]))
        traded_value = np.abs(new_shares - shares) * np.nan_to_num(fill_price)
        costs[k] = commission * traded_value.sum() / value_before
        turnover[k] = traded_value.sum() / value_before
        cash -= (
            float(np.nansum((new_shares - shares) * fill_price)) + commission * traded_value.sum()
        )
        shares = new_shares
        stop = bounds[k + 1]
        stale = ~np.isfinite(raw[traded:stop]) & (shares > 0)
        for asset in {int(a) for a in np.flatnonzero(stale.any(axis=0))} - warned:
            warned.add(asset)
            warnings.warn(
                f"evaluate_weights: held asset {prices.columns[asset]!r} has no price after "
                f"{dates[traded].date()}; it is valued at its last price until the next trade.",
                RuntimeWarning,
                stacklevel=2,
            )
        held = np.nan_to_num(valuation[traded:stop]) * shares
        values[traded:stop] = cash + held.sum(axis=1)
        weights[traded:stop] = held / values[traded:stop, None]

    value_series = pd.Series(values, index=dates, name="value")
    returns = value_series.pct_change().fillna(value_series.iloc[0] / initial_value - 1.0)
    trade_dates = dates[trade_rows]
    return Evaluation(
        returns=returns.rename("returns"),
        values=value_series,
        weights=pd.DataFrame(weights, index=dates, columns=prices.columns),
        turnover=pd.Series(turnover, index=trade_dates, name="turnover"),
        costs=pd.Series(costs, index=trade_dates, name="costs"),
    )

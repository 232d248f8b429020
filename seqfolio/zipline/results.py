"""From ``run_algorithm``'s output and the rebalancer to the :class:`~seqfolio.results.BacktestResult`
that :func:`~seqfolio.backtest.run_backtest` returns, so :mod:`seqfolio.reporting` writes the same files."""

from __future__ import annotations

from collections import defaultdict
from os import PathLike
from typing import Any

import pandas as pd

from seqfolio.results import BacktestResult, rebalance_table
from seqfolio.zipline.algorithm import ZiplineRebalancer

__all__ = ["zipline_result"]

# zipline's ORDER_STATUS names -> the backtrader status names the order log uses
_STATUS = {"FILLED": "Completed", "CANCELLED": "Canceled", "REJECTED": "Rejected",
           "OPEN": "Canceled", "HELD": "Canceled", "TRIGGERED": "Canceled"}  # fmt: skip


def _session_dates(index: pd.Index, tz: Any) -> pd.DatetimeIndex:
    """zipline's UTC session-close stamps as tz-naive session dates (the calendar's local date)."""
    stamps = pd.DatetimeIndex(index)
    if stamps.tz is not None:
        stamps = stamps.tz_convert(tz).tz_localize(None)
    return pd.DatetimeIndex(stamps.normalize(), name="date")


def _daily_weights(perf: pd.DataFrame, names: list[str], dates: pd.DatetimeIndex) -> pd.DataFrame:
    """Position value / portfolio value at every session's close, one column per traded asset."""
    column = {n: j for j, n in enumerate(names)}
    rows = []
    for positions, value in zip(perf["positions"], perf["portfolio_value"], strict=True):
        row = [0.0] * len(names)
        for p in positions:
            j = column.get(p["sid"].symbol)
            if j is not None and value:
                row[j] = p["amount"] * p["last_sale_price"] / value
        rows.append(row)
    return pd.DataFrame(rows, index=dates, columns=names, dtype=float)


def _settle_orders(
    rebalancer: ZiplineRebalancer, perf: pd.DataFrame, tz: Any, weights: pd.DataFrame
) -> None:
    """Fill in each order's outcome and each record's turnover, costs, fill date and realised weights
    from the run's orders and transactions."""
    final: dict[str, dict[str, Any]] = {}
    for day in perf["orders"]:
        for order in day:
            final[order["id"]] = order
    fills: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for day in perf["transactions"]:
        for txn in day:
            if txn.get("order_id") is not None:
                fills[txn["order_id"]].append(txn)
    stamps = {t["dt"] for txns in fills.values() for t in txns}  # one conversion per fill session
    session_of = dict(zip(stamps, _session_dates(pd.Index(list(stamps)), tz), strict=True))
    done: dict[int, pd.Timestamp] = {}
    for order_id, event, record in rebalancer.orders:
        order = final.get(order_id) if order_id is not None else None
        status = "Rejected" if order is None else _STATUS.get(order["status"].name, "Canceled")
        event.status = status
        txns = fills.get(order_id, []) if order_id is not None else []
        if txns:
            size = float(sum(t["amount"] for t in txns))
            traded = float(sum(abs(t["amount"] * t["price"]) for t in txns))
            when = session_of[txns[-1]["dt"]]
            event.executed_date, event.executed_size = when, size
            event.executed_price = traded / abs(size) if size else float("nan")
            event.commission = float(order["commission"] or 0.0) if order else 0.0
            record.traded += traded
            record.costs += event.commission
            done[id(record)] = max(done.get(id(record), when), when)
        if status == "Rejected":
            record.n_rejected += 1
        elif status == "Canceled":
            record.n_cancelled += 1
    for record in rebalancer.records:
        record.fill_date = done.get(id(record), record.date)
        if record.fill_date in weights.index:
            row = weights.loc[record.fill_date]
            keep = [n for n in weights.columns if row[n] != 0 or n in record.target.index]
            record.realised = row[keep].rename("weight").astype(float)


def _per_rebalance(records: list[Any], attribute: str, names: list[str]) -> pd.DataFrame:
    frame = pd.DataFrame(
        {r.date: getattr(r, attribute) for r in records if getattr(r, attribute) is not None}
    ).T.fillna(0.0)
    frame.index.name = "date"
    return frame.reindex(columns=[c for c in names if c in frame.columns])


def zipline_result(
    rebalancer: ZiplineRebalancer,
    perf: pd.DataFrame,
    *,
    start: Any = None,
    benchmark: pd.Series | None = None,
    benchmark_name: str | None = None,
    tearsheet: str | PathLike[str] | None = None,
    name: str | None = None,
    timings: dict[str, float] | None = None,
) -> BacktestResult:
    """The :class:`~seqfolio.results.BacktestResult` of a zipline run.

    Parameters
    ----------
    rebalancer : ZiplineRebalancer
        What :func:`~seqfolio.zipline.attach_rebalancer` returned in ``initialize``.
    perf : pandas.DataFrame
        ``run_algorithm``'s output.
    start : date-like or None
        Returns and daily weights from this date on.
    benchmark, benchmark_name, tearsheet, name
        As :func:`~seqfolio.backtest.run_backtest`: a QuantStats tear sheet is written to
        ``tearsheet`` if given (a failure is a warning and ``tearsheet_error``, never an exception).
    timings : dict or None
        ``{"total": seconds}`` of the run; the rebalancer's own parts are added.
    """
    from seqfolio.reporting import write_tearsheet

    s = rebalancer.settings
    tz = rebalancer.calendar.tz
    dates = _session_dates(perf.index, tz)
    weights = _daily_weights(perf, rebalancer.names, dates)
    _settle_orders(rebalancer, perf, tz, weights)
    rebalancer.close()
    label = name or s.spec.label
    returns = pd.Series(perf["returns"].to_numpy(dtype=float), index=dates, name=label)
    if start is not None:
        returns, weights = returns.loc[start:], weights.loc[start:]
    path = error = None
    if tearsheet is not None:
        path, error = write_tearsheet(returns, benchmark, tearsheet, benchmark_name=benchmark_name)
    wf = rebalancer.retrainer
    forecasts = None
    if rebalancer.forecast_step is not None:
        forecasts = pd.DataFrame(rebalancer.forecast_step.forecasts).T
        forecasts.index.name = "date"
    spent = {
        "training": wf.timings["training"] if wf else 0.0,
        "predicting": wf.timings["predicting"] if wf else 0.0,
        "allocating": rebalancer.timings["allocating"],
    }
    times = dict(timings or {})
    if "total" in times:
        times.update(spent)
        times["zipline"] = times["total"] - sum(spent.values())
    return BacktestResult(
        name=label,
        returns=returns,
        weights=weights,
        target=_per_rebalance(rebalancer.records, "target", rebalancer.names),
        realised=_per_rebalance(rebalancer.records, "realised", rebalancer.names),
        rebalances=rebalance_table(rebalancer.records),
        final_value=float(perf["portfolio_value"].iloc[-1]),
        n_rejected=sum(r.n_rejected for r in rebalancer.records),
        event_log=rebalancer.events,
        orders=[event for _, event, _ in rebalancer.orders],
        tearsheet=path,
        tearsheet_error=error,
        retrains=None if wf is None else wf.retrain_table(),
        forecasts=forecasts,
        timings=times,
    )

"""One-call zipline backtests on a price frame: the zipline twin of :func:`seqfolio.backtest.run_backtest`."""

from __future__ import annotations

import time
from os import PathLike
from typing import Any

import pandas as pd

from seqfolio import defaults
from seqfolio._validation import check_real
from seqfolio.data import period_prices
from seqfolio.results import BacktestResult
from seqfolio.spec import RebalanceSpec, as_spec
from seqfolio.zipline._require import require_zipline
from seqfolio.zipline.bundles import DEFAULT_CALENDAR, ingest_prices
from seqfolio.zipline.settings import rebalancer_settings

__all__ = ["run_zipline"]

_OWNER = "run_zipline"


def run_zipline(
    prices: pd.DataFrame,
    spec: RebalanceSpec | None = None,
    *,
    start: Any = None,
    end: Any = None,
    cash: float = defaults.CASH,
    benchmark: pd.Series | None = None,
    benchmark_name: str | None = None,
    tearsheet: str | PathLike[str] | None = None,
    name: str | None = None,
    calendar: str = DEFAULT_CALENDAR,
    bundle: str = "seqfolio",
    root: str | PathLike[str] | None = None,
    checkpoint_dir: str | PathLike[str] | None = None,
    **settings: Any,
) -> BacktestResult:
    """Backtest seqfolio's rebalancer on zipline-reloaded: the same inputs and result as
    :func:`~seqfolio.backtest.run_backtest`.

    ``prices`` are ingested as a bundle (:func:`~seqfolio.zipline.ingest_prices`, once), and
    ``zipline.run_algorithm`` runs daily from ``start`` (or the first price) to ``end`` with the
    spec's proportional ``commission`` (``PerDollar``) and no slippage (``FixedSlippage(0)``), the
    backtrader path's broker.

    Parameters
    ----------
    prices : pandas.DataFrame
        Close prices (NaN = no price), with the history the first decision needs before ``start``.
    spec : RebalanceSpec, optional
        The decision settings, or give them as keyword ``settings`` (not both).
    start, end, cash, benchmark, benchmark_name, tearsheet, name, checkpoint_dir
        As :func:`~seqfolio.backtest.run_backtest`.
    calendar : str, default "XNYS"
        The trading calendar; every price date must be one of its sessions.
    bundle, root : str, path or None
        The bundle's name and ``ZIPLINE_ROOT`` (default ``~/.cache/seqfolio/zipline``).

    Returns
    -------
    BacktestResult

    Raises
    ------
    seqfolio.zipline.ZiplineMissingError
        Without zipline-reloaded (``pip install "seqfolio[zipline]"``).
    TypeError, ValueError
        As :func:`~seqfolio.backtest.run_backtest`, and for an unknown calendar.
    """
    require_zipline()
    from zipline import run_algorithm
    from zipline.finance import commission as commissions
    from zipline.finance import slippage

    from seqfolio.zipline.algorithm import attach_rebalancer
    from seqfolio.zipline.results import zipline_result

    spec = as_spec(spec, settings, _OWNER)
    check_real(_OWNER, "cash", cash, low=0.0, low_open=True)
    prices, start_date, end_date = period_prices(prices, start, end, owner=_OWNER)
    rebalancer_settings(spec, start=start_date)  # every setting checked before any work
    ingested = ingest_prices(prices, name=bundle, root=root, calendar=calendar)
    first = ingested.start if start_date is None else max(ingested.start, start_date)
    holder: dict[str, Any] = {}

    def initialize(context: Any) -> None:
        context.set_commission(us_equities=commissions.PerDollar(cost=spec.commission))
        context.set_slippage(us_equities=slippage.FixedSlippage(spread=0.0))
        holder["rebalancer"] = attach_rebalancer(
            context, spec, start=start_date, checkpoint_dir=checkpoint_dir,
            assets=list(ingested.assets),  # the frame's column order, as run_backtest's feeds
        )  # fmt: skip

    kwargs = ingested.run_kwargs()
    sessions = kwargs["trading_calendar"].sessions_in_range(first, ingested.end)
    if not len(sessions):
        raise ValueError(
            f"{_OWNER}: no {calendar} session between {first.date()} and {ingested.end.date()}; "
            "choose a period the prices cover."
        )
    t0 = time.perf_counter()
    perf = run_algorithm(
        start=pd.Timestamp(sessions[0]), end=pd.Timestamp(sessions[-1]), initialize=initialize,
        capital_base=float(cash), data_frequency="daily", **kwargs,
    )  # fmt: skip
    total = time.perf_counter() - t0
    return zipline_result(
        holder["rebalancer"], perf, start=start_date, benchmark=benchmark,
        benchmark_name=benchmark_name, tearsheet=tearsheet, name=name, timings={"total": total},
    )  # fmt: skip

"""The zipline rebalancer's settings: the backtrader strategy's, checked by the same checks, in one place.

:func:`rebalancer_settings` is the only place the adapter reads or checks a setting; when seqfolio's
single settings object arrives it replaces this function and nothing else in the adapter.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from seqfolio._validation import check_bool
from seqfolio.allocators import make_allocator
from seqfolio.calendar import Schedule, check_schedule, naive_date
from seqfolio.pipeline import check_train_window
from seqfolio.pipeline.params import REBALANCER_PARAMS, check_strategy_params, walk_forward_model

__all__ = ["OWNER", "PARAMS", "RebalancerSettings", "rebalancer_settings"]

OWNER = "attach_rebalancer"

PARAMS: dict[str, Any] = {
    ("assets" if k == "feeds" else k): v for k, v in REBALANCER_PARAMS.items()
}
"""The settings and their defaults: :class:`~seqfolio.strategies.RebalanceStrategy`'s ``params``
(``feeds`` is ``assets``); a test keeps the two equal."""


@dataclass(frozen=True)
class RebalancerSettings:
    """Checked settings of one zipline rebalancer (see :func:`~seqfolio.zipline.attach_rebalancer`)."""

    allocator: Any
    lookback: int
    rebalance: Schedule
    min_trade: float
    cash_buffer: float
    max_weight: float | None
    start: pd.Timestamp | None
    assets: tuple[str, ...] | None
    capital: float | None
    max_gap: int
    model: Any
    signal: Any
    retrain: Schedule
    train_window: int | str
    warm_start: bool
    checkpoint_dir: str | os.PathLike[str] | None
    progress: bool
    exposure_floor: float
    exposure_threshold: float


def rebalancer_settings(**kwargs: Any) -> RebalancerSettings:
    """Check ``kwargs`` (names of :data:`PARAMS`) with the backtrader strategy's checks.

    Raises
    ------
    TypeError
        For an unknown setting, or a ``signal`` that is not a forecaster.
    ValueError
        ``The 'lookback' parameter of attach_rebalancer must be an int >= 2. Got 1 instead.`` and
        the same template for the others; ``fractional=True`` and ``delisted="hold"``, which zipline
        cannot do.
    """
    unknown = sorted(set(kwargs) - set(PARAMS))
    if unknown:
        raise TypeError(
            f"{OWNER} got unknown setting(s) {unknown}; the settings are {sorted(PARAMS)}."
        )
    p = {**PARAMS, **kwargs}
    allocator = make_allocator(p["allocator"], owner=OWNER)
    check_strategy_params(
        lookback=p["lookback"], rebalance=p["rebalance"], min_trade=p["min_trade"],
        cash_buffer=p["cash_buffer"], max_weight=p["max_weight"], fractional=p["fractional"],
        retry_rejected=p["retry_rejected"], capital=p["capital"], delisted=p["delisted"],
        max_gap=p["max_gap"], owner=OWNER,
    )  # fmt: skip
    if p["fractional"]:
        raise ValueError(
            f"The 'fractional' parameter of {OWNER} must be False: zipline trades whole shares. "
            "Got True instead."
        )
    if p["delisted"] != "cash":
        raise ValueError(
            f"The 'delisted' parameter of {OWNER} must be 'cash': zipline itself closes a delisted "
            f"asset's position at its last close. Got {p['delisted']!r} instead."
        )
    check_schedule(OWNER, "retrain", p["retrain"])
    check_train_window(OWNER, p["train_window"])
    check_bool(OWNER, "warm_start", p["warm_start"])
    check_bool(OWNER, "progress", p["progress"])
    assets = p["assets"]
    if assets is not None:
        if isinstance(assets, str) or not all(isinstance(a, str) for a in assets) or not assets:
            raise ValueError(
                f"The 'assets' parameter of {OWNER} must be a non-empty list of symbols or None "
                f"(every asset of the bundle). Got {assets!r} instead."
            )
        assets = tuple(dict.fromkeys(assets))
    return RebalancerSettings(
        allocator=allocator, lookback=int(p["lookback"]), rebalance=p["rebalance"],
        min_trade=float(p["min_trade"]), cash_buffer=float(p["cash_buffer"]),
        max_weight=None if p["max_weight"] is None else float(p["max_weight"]),
        start=naive_date(p["start"], "start", OWNER), assets=assets,
        capital=None if p["capital"] is None else float(p["capital"]), max_gap=int(p["max_gap"]),
        model=walk_forward_model(OWNER, p["signal"], allocator), signal=p["signal"],
        retrain=p["retrain"], train_window=p["train_window"], warm_start=bool(p["warm_start"]),
        checkpoint_dir=p["checkpoint_dir"], progress=bool(p["progress"]), exposure_floor=float(p["exposure_floor"]),
        exposure_threshold=float(p["exposure_threshold"]),
    )  # fmt: skip

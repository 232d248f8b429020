"""The zipline rebalancer's settings: a :class:`~seqfolio.spec.RebalanceSpec` and where it trades.

:func:`rebalancer_settings` is the only place the adapter reads or checks a setting: the decision
settings are the spec's (checked once, by its constraint table, as for backtrader), plus what is
zipline's own (the assets traded, the first decision date, checkpoints, a progress bar).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import pandas as pd

from seqfolio._validation import InvalidParameter, check_bool
from seqfolio.calendar import naive_date
from seqfolio.spec import RebalanceSpec, as_spec

__all__ = ["OWNER", "RebalancerSettings", "rebalancer_settings"]

OWNER = "attach_rebalancer"


@dataclass(frozen=True)
class RebalancerSettings:
    """Checked settings of one zipline rebalancer (see :func:`~seqfolio.zipline.attach_rebalancer`):
    the decision settings (``spec``) and the zipline run's own."""

    spec: RebalanceSpec
    start: pd.Timestamp | None
    assets: tuple[str, ...] | None
    checkpoint_dir: str | os.PathLike[str] | None
    progress: bool


def rebalancer_settings(
    spec: RebalanceSpec | None = None,
    *,
    start: Any = None,
    assets: Any = None,
    checkpoint_dir: str | os.PathLike[str] | None = None,
    progress: bool = False,
    **settings: Any,
) -> RebalancerSettings:
    """The spec (``spec=`` or keyword settings, as :class:`~seqfolio.spec.RebalanceSpec`) and the
    zipline run's own settings, checked.

    Raises
    ------
    ValueError
        ``The 'lookback' parameter of attach_rebalancer must be an int >= 2. Got 1 instead.`` and
        the same template for the others; ``fractional=True``, ``delisted="hold"`` and
        ``capital``, which a zipline algorithm cannot do.
    """
    spec = as_spec(spec, settings, OWNER)
    for name, allowed, why in (
        ("fractional", False, "zipline trades whole shares"),
        ("delisted", "cash", "zipline itself closes a delisted asset's position at its last close"),
        ("capital", None, "a zipline algorithm is one account with one rebalancer (backtrader's "
         "capital= is a strategy's sleeve of a shared account)"),
    ):  # fmt: skip
        if getattr(spec, name) != allowed:
            raise InvalidParameter(OWNER, name, getattr(spec, name), f"{allowed!r}: {why}")
    check_bool(OWNER, "progress", progress)
    if assets is not None:
        if isinstance(assets, str) or not assets or not all(isinstance(a, str) for a in assets):
            raise InvalidParameter(
                OWNER, "assets", assets, "a non-empty list of symbols or None (every asset of the "
                "bundle)"
            )  # fmt: skip
        assets = tuple(dict.fromkeys(assets))
    return RebalancerSettings(
        spec=spec,
        start=naive_date(start, "start", OWNER),
        assets=assets,
        checkpoint_dir=checkpoint_dir,
        progress=bool(progress),
    )

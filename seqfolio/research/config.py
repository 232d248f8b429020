"""``PortfolioConfig``: what research code called :class:`~seqfolio.spec.RebalanceSpec` before 0.2.

A walk-forward study's configurations and a tuning trial's are specs: the very settings a backtest
runs with, so a tuned ``best.toml`` (``RebalanceSpec.to_toml``) is a ``seqfolio backtest --config``.
"""

from __future__ import annotations

from seqfolio.spec import RebalanceSpec as PortfolioConfig

__all__ = ["PortfolioConfig"]

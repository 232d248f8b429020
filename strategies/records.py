"""The rebalance and order records moved to :mod:`seqfolio.results` (shared by every engine adapter);
this name is kept so existing imports work."""

from __future__ import annotations

from seqfolio.results import OrderEvent, RebalanceRecord

__all__ = ["OrderEvent", "RebalanceRecord"]

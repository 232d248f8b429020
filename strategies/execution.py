"""Order planning moved to :mod:`seqfolio.pipeline.orders` (engine-free, shared by every engine adapter);
this name is kept so existing imports work."""

from __future__ import annotations

from seqfolio.pipeline.orders import CommissionFn, PlannedOrder, plan_orders

__all__ = ["CommissionFn", "PlannedOrder", "plan_orders"]

"""backtrader integration: RebalanceStrategy, schedules, feeds, execution and analyzers.

>>> import backtrader as bt
>>> from seqfolio.allocators import HRP
>>> from seqfolio.data import load_sample
>>> from seqfolio.strategies import RebalanceStrategy, TearSheet, add_price_feeds
>>> cerebro = bt.Cerebro()
>>> feeds = add_price_feeds(cerebro, load_sample("2015-01-01", "2022-12-31"))   # doctest: +SKIP
>>> cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), rebalance="monthly", lookback=252)
>>> cerebro.addanalyzer(TearSheet, output="tearsheet.html", benchmark=...)     # doctest: +SKIP
"""

from __future__ import annotations

from seqfolio.strategies.analyzers import TearSheet, WeightsHistory, rebalance_table, strategy_label
from seqfolio.strategies.checkpoints import CheckpointStore
from seqfolio.strategies.execution import PlannedOrder, plan_orders
from seqfolio.strategies.feeds import ClosePriceData, add_price_feeds, feed_names, price_feeds
from seqfolio.strategies.forecast_steps import Forecast, ModelWeights, ScaleExposure
from seqfolio.strategies.pipeline import (
    Allocate,
    CapWeights,
    RebalanceContext,
    Step,
    TrailingReturns,
    cap_weights,
    run_steps,
)
from seqfolio.strategies.rebalance import RebalanceStrategy, resolve_allocator
from seqfolio.strategies.records import OrderEvent, RebalanceRecord
from seqfolio.strategies.schedules import SCHEDULES, add_schedule_timer, timer_kwargs
from seqfolio.strategies.walkforward import RetrainRecord, WalkForward

__all__ = [
    "SCHEDULES",
    "Allocate",
    "CapWeights",
    "CheckpointStore",
    "ClosePriceData",
    "Forecast",
    "ModelWeights",
    "OrderEvent",
    "PlannedOrder",
    "RebalanceContext",
    "RebalanceRecord",
    "RebalanceStrategy",
    "RetrainRecord",
    "ScaleExposure",
    "Step",
    "TearSheet",
    "TrailingReturns",
    "WalkForward",
    "WeightsHistory",
    "add_price_feeds",
    "add_schedule_timer",
    "cap_weights",
    "feed_names",
    "plan_orders",
    "price_feeds",
    "rebalance_table",
    "resolve_allocator",
    "run_steps",
    "strategy_label",
    "timer_kwargs",
]

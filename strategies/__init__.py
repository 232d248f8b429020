"""backtrader integration: RebalanceStrategy, schedules, feeds, execution and analyzers.

>>> import backtrader as bt
>>> from seqfolio.allocators import HRP
>>> from seqfolio.data import load_sample
>>> from seqfolio.strategies import RebalanceStrategy, TearSheet, add_price_feeds
>>> cerebro = bt.Cerebro()
>>> feeds = add_price_feeds(cerebro, load_sample("2015-01-01", "2022-12-31"))   # doctest: +SKIP
>>> cerebro.addstrategy(RebalanceStrategy, allocator=HRP(), rebalance="monthly", lookback=252)
>>> cerebro.addanalyzer(TearSheet, output="tearsheet.html", benchmark=...)     # doctest: +SKIP

The decision pipeline itself (steps, forecasts, retraining rules) is engine-agnostic and lives in
:mod:`seqfolio.pipeline`; its main names are re-exported here for backtrader users.
"""

from __future__ import annotations

from seqfolio.pipeline import (
    Allocate,
    CapWeights,
    CheckpointStore,
    Forecast,
    ModelWeights,
    RebalanceContext,
    RetrainRecord,
    ScaleExposure,
    Step,
    TrailingReturns,
    cap_weights,
    run_steps,
)
from seqfolio.pipeline.orders import PlannedOrder, plan_orders
from seqfolio.results import OrderEvent, RebalanceRecord
from seqfolio.strategies.analyzers import TearSheet, WeightsHistory, rebalance_table, strategy_label
from seqfolio.strategies.feeds import ClosePriceData, add_price_feeds, feed_names, price_feeds
from seqfolio.strategies.rebalance import RebalanceStrategy
from seqfolio.strategies.retraining import Retrainer, WalkForward
from seqfolio.strategies.schedules import (
    SCHEDULES,
    TradedSessions,
    add_schedule_timer,
    timer_kwargs,
)

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
    "Retrainer",
    "ScaleExposure",
    "Step",
    "TearSheet",
    "TradedSessions",
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
    "run_steps",
    "strategy_label",
    "timer_kwargs",
]

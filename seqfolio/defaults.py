"""Default settings shared by the backtrader strategy, the research path and the CLI.

Each number has this one home; signatures, the CLI's option table and its help text read it here, so a
default changes in one place (docs/architecture.md, "Where each concept lives").
"""

from __future__ import annotations

LOOKBACK = 252
"""Bars of daily returns an allocator sees at each rebalance (one trading year)."""

REBALANCE = "monthly"
"""Rebalance schedule (a name from :data:`seqfolio.calendar.SCHEDULES`)."""

RETRAIN = "quarterly"
"""Retrain schedule of walk-forward models."""

TRAIN_BARS = 756
"""Bars of history per model fit, and bars per training window of a walk-forward study (3 years)."""

TEST_BARS = 252
"""Bars per test window of a walk-forward study (one year)."""

CASH = 1_000_000.0
"""Starting cash of a backtest."""

COMMISSION = 0.001
"""Proportional cost of traded value (10 bps)."""

CASH_BUFFER = 0.02
"""Fraction of the portfolio kept in cash at each rebalance (absorbs fill-price moves)."""

"""Default settings shared by the backtrader strategy, the research path and the CLI.

Each number has this one home; signatures, the CLI's option table and its help text read it here, so a
default changes in one place (docs/architecture.md, "Where each concept lives").
"""

from __future__ import annotations

ALLOCATOR = "hrp"
"""Allocator of a strategy or configuration that names none (a name in the allocator registry)."""

PERIODS_PER_YEAR = 252
"""Daily bars in a trading year: annualises daily figures (weekly and monthly bars use 52 and 12)."""

LOOKBACK = 252
"""Bars of daily returns an allocator sees at each rebalance (one trading year)."""

MIN_LOOKBACK = 2
"""The fewest returns a window may hold: a variance needs two."""

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

MIN_TRADE = 0.0
"""Smallest weight change worth a trade (0: every change is traded; full exits always are)."""

MAX_GAP = 5
"""Longest run of missing bars inside a lookback window that is bridged (a week of trading days)."""

DELISTED = "cash"
"""What happens to a position whose feed has ended: sold at its last close."""

EXPOSURE_FLOOR = 0.25
"""Lowest gross exposure a regime / drawdown signal can set (the rest is cash)."""

EXPOSURE_THRESHOLD = 0.5
"""Stress probability above which a regime / drawdown signal starts cutting exposure."""

PRUNER = "wilcoxon"
"""Pruner of ``seqfolio tune``. Replayed studies (``benchmarks/pruners.py``, 40 trials x 23 windows,
seeds 0 and 1) kept the full study's best configuration only with Wilcoxon after 6 windows, checked
every window (63-72 % of the windows run); the median pruner saved more work but lost the best."""

PRUNE_AFTER = 6
"""Windows a trial runs before the pruner may stop it."""

PRUNE_EVERY = 1
"""After that, the pruner is asked after every window (Wilcoxon tests paired window scores)."""

BATCH_SIZE = 4
"""Trials ``seqfolio tune`` proposes at once, wherever they run (this process, ``--workers`` processes or a
Dask cluster), so the same settings give the same trials and winner everywhere. A batch's windows run
in parallel (4 trials x 6 windows before the first pruning), and trials of a batch whose networks share
shapes train as one population; the sampler learns from a batch only once it has finished (and
assumes its running trials score badly, so a batch spreads out). On the bundled data (default space,
40 trials, seeds 0 and 1) batches of 4 found best scores 1.326 and 1.380, against 1.277 and 1.338 for
one trial at a time and 1.290 and 1.310 for 8 (``--batch-size``)."""

# The LSTM models: the signatures of LSTMForecaster (a signal) and the direct-weights network (an allocator
# trained walk-forward) read these, and a configuration's [model] table overrides them key by key. They are the
# small networks `seqfolio backtest` trains (a 2005-2022 run takes a minute or two on two cores).

MODEL_WINDOW = 40
"""Bars of features an LSTM reads per sample (``window``)."""

HIDDEN_SIZE = 16
"""LSTM units per layer (``hidden_size``)."""

LEARNING_RATE = 1e-3
"""Adam's step size (``learning_rate``)."""

GRAD_CLIP = 1.0
"""Clip on the gradients' global norm (``grad_clip``)."""

WINSORIZE_LIMIT = 5.0
"""Scaled inputs (and regression labels) are clipped to this many training standard deviations."""

SEED = 0
"""``random_state`` of the LSTM models: a fit is repeatable unless another seed (or None) is given."""

HORIZON = 21
"""Bars a forecast looks ahead (``horizon``; one month)."""

FORECASTER_MAX_EPOCHS = 8
"""Upper bound on the forecaster's epochs (``max_epochs``; early stopping usually ends sooner)."""

FORECASTER_BATCH_SIZE = 256
"""Samples (asset-days) per optimiser step of the forecaster."""

FORECASTER_PATIENCE = 3
"""Epochs without a better validation loss before the forecaster stops."""

FORECASTER_VALIDATION_FRACTION = 0.2
"""Last fraction of the forecaster's training bars used for early stopping."""

SAMPLE_STRIDE = 3
"""The forecaster trains on every third bar (overlapping windows are nearly duplicates)."""

FFD_THRESHOLD = 1e-3
"""Weight cut-off of the fractionally differentiated price feature (sets its window)."""

DRAWDOWN_THRESHOLD = 0.10
"""Forward drawdown that counts as an event for the ``drawdown`` target."""

STRESS_QUANTILE = 0.8
"""Training-slice quantile of forward volatility above which the ``regime`` target labels stress."""

ALLOCATOR_MAX_EPOCHS = 10
"""Upper bound on the direct-weights network's epochs."""

ALLOCATOR_BATCH_SIZE = 64
"""Windows per optimiser step of the direct-weights network (its loss is a batch Sharpe ratio)."""

ALLOCATOR_PATIENCE = 10
"""Epochs without a better validation loss before the direct-weights network stops."""

ALLOCATOR_VALIDATION_FRACTION = 0.1
"""Last fraction of the direct-weights network's training windows used for early stopping."""

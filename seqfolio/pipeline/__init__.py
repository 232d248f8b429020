"""From prices to target weights: the decision pipeline both the engine and research run.

Nothing here imports backtrader: :class:`~seqfolio.strategies.RebalanceStrategy` drives these steps
from timers, :func:`~seqfolio.research.target_weights` from a price frame (docs/architecture.md).

- :mod:`~seqfolio.pipeline.steps`: the context and the allocation steps;
- :mod:`~seqfolio.pipeline.forecasts`: the steps that bring a walk-forward model in;
- :mod:`~seqfolio.pipeline.builder`: which steps a configuration runs;
- :mod:`~seqfolio.pipeline.models`: which walk-forward model a configuration names (``--signal``);
- :mod:`~seqfolio.pipeline.retraining`: the retraining rules of a walk-forward model;
- :mod:`~seqfolio.pipeline.checkpoints`: retrained models on disk, for resuming.
"""

from __future__ import annotations

from seqfolio.pipeline.builder import build_steps, history_length
from seqfolio.pipeline.checkpoints import CheckpointStore, checkpoint_key
from seqfolio.pipeline.forecasts import NO_MODEL, Forecast, ModelSource, ModelWeights, ScaleExposure
from seqfolio.pipeline.models import SIGNALS, make_model
from seqfolio.pipeline.retraining import ModelRetrainer, RetrainRecord, fit_on_prices
from seqfolio.pipeline.steps import (
    Allocate,
    CapWeights,
    RebalanceContext,
    Step,
    Timed,
    TrailingReturns,
    bridge_gaps,
    cap_weights,
    run_steps,
)

__all__ = [
    "NO_MODEL",
    "SIGNALS",
    "Allocate",
    "CapWeights",
    "CheckpointStore",
    "Forecast",
    "ModelRetrainer",
    "ModelSource",
    "ModelWeights",
    "RebalanceContext",
    "RetrainRecord",
    "ScaleExposure",
    "Step",
    "Timed",
    "TrailingReturns",
    "bridge_gaps",
    "build_steps",
    "cap_weights",
    "checkpoint_key",
    "fit_on_prices",
    "history_length",
    "make_model",
    "run_steps",
]

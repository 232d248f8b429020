"""Research at scale: a vectorised evaluator, walk-forward windows and honest statistics.

Nothing here imports backtrader or torch.
"""

from __future__ import annotations

from seqfolio.research.evaluator import Evaluation, evaluate_weights
from seqfolio.research.overfitting import (
    PBOResult,
    deflated_sharpe_of_best,
    overfitting_summary,
    probability_of_overfitting,
)
from seqfolio.research.splits import Window, walk_forward_windows
from seqfolio.stats import (
    bootstrap_sharpe_interval,
    deflated_sharpe_ratio,
    expected_max_sharpe,
    probabilistic_sharpe_ratio,
    sharpe_ratio,
    sharpe_summary,
)

__all__ = [
    "Evaluation",
    "PBOResult",
    "Window",
    "bootstrap_sharpe_interval",
    "deflated_sharpe_of_best",
    "deflated_sharpe_ratio",
    "evaluate_weights",
    "expected_max_sharpe",
    "overfitting_summary",
    "probability_of_overfitting",
    "probabilistic_sharpe_ratio",
    "sharpe_ratio",
    "sharpe_summary",
    "walk_forward_windows",
]

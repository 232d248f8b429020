"""LSTM signal generators (PyTorch): features, windowing, models, trainer and estimators.

Public API
----------
LSTMForecaster
    Panel LSTM forecasting ``"volatility"``, ``"return"``, ``"regime"``, ``"drawdown"``,
    ``"correlation"`` or a registered target per asset over the next ``horizon`` bars.
Target, register_target, target_names
    Forecast targets as objects (label, loss, output transform, baseline, how the forecast reaches
    the allocator) and their registry (:mod:`seqfolio.signals.targets`): a registered target works
    wherever a built-in one does (``LSTMForecaster(target=...)``, ``--signal lstm-<name>``, studies).
fit_population
    Train many ``LSTMForecaster`` (seeds, hidden sizes, learning rates...) at once as one batched
    network (:mod:`seqfolio.signals.population`).
LSTMEnsemble
    The mean forecast of N seeds of one ``LSTMForecaster``, trained as one population.
LSTMAllocator
    Long-only weights straight from an LSTM trained on minus the Sharpe ratio (allocator protocol).
volatility_to_covariance, returns_to_expected, shrink_correlation, exposure_multiplier
    Forecasts -> allocator inputs (:mod:`seqfolio.signals.convert`).
frac_diff_ffd, ffd_weights, min_ffd_d, build_features
    Features (:mod:`seqfolio.signals.features`).

Importing this package does not import torch: the estimators import it inside ``fit`` / ``predict``.
Nothing here imports backtrader or ``seqfolio.allocators``.
"""

from __future__ import annotations

from seqfolio.signals.allocator import LSTMAllocator
from seqfolio.signals.convert import (
    exposure_multiplier,
    returns_to_expected,
    shrink_correlation,
    volatility_to_covariance,
)
from seqfolio.signals.ensemble import LSTMEnsemble
from seqfolio.signals.features import (
    FEATURE_NAMES,
    build_features,
    ffd_weights,
    frac_diff_ffd,
    min_ffd_d,
)
from seqfolio.signals.forecaster import LSTMForecaster
from seqfolio.signals.population import fit_population
from seqfolio.signals.targets import TARGETS, Target, register_target, target_names

__all__ = [
    "FEATURE_NAMES",
    "TARGETS",
    "LSTMAllocator",
    "LSTMEnsemble",
    "LSTMForecaster",
    "Target",
    "build_features",
    "exposure_multiplier",
    "ffd_weights",
    "fit_population",
    "frac_diff_ffd",
    "min_ffd_d",
    "register_target",
    "returns_to_expected",
    "shrink_correlation",
    "target_names",
    "volatility_to_covariance",
]

"""seqfolio: sequence-aware portfolio allocation for backtrader.

Sub-packages
------------
seqfolio.allocators
    Engine-agnostic allocation estimators (HRP, HERC, mean-variance, naive).
seqfolio.signals
    LSTM signal generators (PyTorch).
seqfolio.strategies
    backtrader RebalanceStrategy, timers and analyzers.
seqfolio.data
    The bundled real price data and a validating CSV reader.

Nothing heavy is imported here: torch, backtrader and quantstats each take seconds to import.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]

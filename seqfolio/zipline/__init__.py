"""The zipline-reloaded engine adapter: seqfolio's rebalancer, walk-forward models and reports on zipline.

A second engine beside backtrader's (:mod:`seqfolio.strategies`), over the same pipeline
(:mod:`seqfolio.pipeline`), so a decision at session t is the same decision on both engines
(docs/zipline.md). zipline is an optional extra (``pip install "seqfolio[zipline]"``) imported only
when one of these is called, so ``import seqfolio.zipline`` never needs it.

- :func:`ingest_prices`: the bundled data, price files or a DataFrame as a zipline bundle;
- :func:`attach_rebalancer`: one call in ``initialize(context)`` attaches the rebalancer;
- :func:`zipline_result`: ``run_algorithm``'s output as a :class:`~seqfolio.results.BacktestResult`;
- :func:`run_zipline`: all of it in one call, the twin of :func:`~seqfolio.backtest.run_backtest`.
"""

from __future__ import annotations

from typing import Any

from seqfolio.zipline._require import INSTALL_HINT, ZiplineMissingError, require_zipline

__all__ = [
    "INSTALL_HINT",
    "ZiplineMissingError",
    "attach_rebalancer",
    "ingest_prices",
    "require_zipline",
    "run_zipline",
    "zipline_result",
]

_LAZY = {
    "attach_rebalancer": "seqfolio.zipline.algorithm",
    "ZiplineRebalancer": "seqfolio.zipline.algorithm",
    "ingest_prices": "seqfolio.zipline.bundles",
    "Bundle": "seqfolio.zipline.bundles",
    "run_zipline": "seqfolio.zipline.run",
    "zipline_result": "seqfolio.zipline.results",
}


def __getattr__(name: str) -> Any:
    """Import the adapter's modules on first use (they import only seqfolio until called)."""
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'seqfolio.zipline' has no attribute {name!r}")

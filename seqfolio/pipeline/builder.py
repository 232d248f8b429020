"""The pipeline a rebalance runs, built from explicit settings (no strategy, no side effects).

The engine (:class:`~seqfolio.strategies.RebalanceStrategy`) and the research path
(:func:`~seqfolio.research.target_weights`) both call :func:`build_steps`, so a configuration decides
alike on both.

==========================================  ===========================================================
what decides                                steps
==========================================  ===========================================================
an allocator                                ``TrailingReturns -> Allocate -> CapWeights``
an allocator fed by a forecast (``signal``)  ``TrailingReturns -> Forecast -> Allocate -> CapWeights
                                            -> ScaleExposure``
a direct-weights model (``LSTMAllocator``)  ``TrailingReturns -> ModelWeights -> CapWeights``
==========================================  ===========================================================
"""

from __future__ import annotations

from typing import Any

from seqfolio.pipeline.forecasts import Forecast, ModelSource, ModelWeights, ScaleExposure
from seqfolio.pipeline.steps import Allocate, CapWeights, Step, Timed, TrailingReturns

__all__ = ["build_steps", "history_length", "is_weights_model"]


def is_weights_model(model: Any) -> bool:
    """Whether ``model`` outputs portfolio weights itself (``LSTMAllocator``) rather than forecasts."""
    from seqfolio.signals import LSTMAllocator

    return isinstance(model, LSTMAllocator)


def build_steps(
    *,
    allocator: Any,
    lookback: int,
    max_weight: float | None = None,
    max_gap: int = 5,
    source: ModelSource | None = None,
    weights_model: bool = False,
    exposure_floor: float = 0.25,
    exposure_threshold: float = 0.5,
    timings: dict[str, float] | None = None,
) -> list[Step]:
    """The steps of one rebalance (see the module table).

    Parameters
    ----------
    allocator : allocator instance
        Fitted (a clone) at every decision; unused with a direct-weights model.
    lookback, max_weight, max_gap
        :class:`TrailingReturns`' window and gap bridging, :class:`CapWeights`' cap.
    source : ModelSource or None
        Where the walk-forward model comes from (None: no model).
    weights_model : bool
        The source's model outputs weights (``LSTMAllocator``): ``ModelWeights`` replaces
        ``Allocate``.
    exposure_floor, exposure_threshold : float
        :class:`Forecast`'s exposure rule (regime / drawdown targets).
    timings : dict or None
        If given, the allocator's wall time is added to ``timings["allocating"]``.
    """
    trailing = TrailingReturns(int(lookback), int(max_gap))
    allocate: Step = Allocate(allocator)
    if timings is not None:
        allocate = Timed(allocate, timings)
    if source is None:
        return [trailing, allocate, CapWeights(max_weight)]
    if weights_model:
        return [trailing, ModelWeights(source), CapWeights(max_weight)]
    forecast = Forecast(
        source, exposure_floor=exposure_floor, exposure_threshold=exposure_threshold
    )
    return [trailing, forecast, allocate, CapWeights(max_weight), ScaleExposure()]


def history_length(lookback: int, source: ModelSource | None = None, *, max_gap: int) -> int:
    """Bars of closes a rebalance reads.

    ``lookback + 1`` (or more if the model needs more), plus ``max_gap`` bars before the window so
    that a gap of at most ``max_gap`` bars on the window's first rows can be bridged from the close
    before it (:class:`~seqfolio.pipeline.TrailingReturns`).
    """
    window = int(lookback) + 1
    if source is not None:
        window = max(window, source.history_needed() + 1)
    return window + int(max_gap)

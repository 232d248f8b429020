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
a trained allocator (direct weights)       ``TrailingReturns -> ModelWeights -> CapWeights``
==========================================  ===========================================================
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from seqfolio.allocators import needs_training
from seqfolio.pipeline.forecasts import Forecast, ModelSource, ModelWeights, ScaleExposure
from seqfolio.pipeline.steps import Allocate, CapWeights, Step, Timed, TrailingReturns

if TYPE_CHECKING:
    from seqfolio.spec import RebalanceSpec

__all__ = ["build_steps", "history_length"]


def build_steps(
    spec: RebalanceSpec,
    *,
    allocator: Any = None,
    source: ModelSource | None = None,
    timings: dict[str, float] | None = None,
) -> list[Step]:
    """The steps of one rebalance (see the module table), from the spec's settings.

    Parameters
    ----------
    spec : RebalanceSpec
        ``lookback`` and ``max_gap`` (:class:`TrailingReturns`), ``max_weight`` (:class:`CapWeights`),
        ``exposure_floor`` / ``exposure_threshold`` (:class:`Forecast`).
    allocator : allocator instance, optional
        Fitted (a clone) at every decision (default: ``spec.make_allocator()``); unused when the
        source's model outputs weights.
    source : ModelSource or None
        Where the walk-forward model comes from (None: no model). A model that outputs weights
        (its ``needs_training`` capability) puts ``ModelWeights`` in place of ``Allocate``.
    timings : dict or None
        If given, the allocator's wall time is added to ``timings["allocating"]``.
    """
    trailing = TrailingReturns(spec.lookback, spec.max_gap)
    cap = CapWeights(spec.max_weight)
    if source is not None and needs_training(source.template):
        return [trailing, ModelWeights(source), cap]
    allocate: Step = Allocate(spec.make_allocator() if allocator is None else allocator)
    if timings is not None:
        allocate = Timed(allocate, timings)
    if source is None:
        return [trailing, allocate, cap]
    forecast = Forecast(
        source, exposure_floor=spec.exposure_floor, exposure_threshold=spec.exposure_threshold
    )
    return [trailing, forecast, allocate, cap, ScaleExposure()]


def history_length(spec: RebalanceSpec, source: ModelSource | None = None) -> int:
    """Bars of closes a rebalance reads.

    ``lookback + 1`` (or more if the model needs more), plus ``max_gap`` bars before the window so
    that a gap of at most ``max_gap`` bars on the window's first rows can be bridged from the close
    before it (:class:`~seqfolio.pipeline.TrailingReturns`).
    """
    window = spec.lookback + 1
    if source is not None:
        window = max(window, source.history_needed() + 1)
    return window + spec.max_gap

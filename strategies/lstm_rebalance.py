"""Walk-forward LSTM parameters for :class:`~seqfolio.strategies.RebalanceStrategy`.

The functions here are what ``RebalanceStrategy`` calls when it gets ``signal=`` (an
``LSTMForecaster``) or a direct-weights ``LSTMAllocator`` as ``allocator=``: they build the
:class:`~seqfolio.strategies.WalkForward` controller, the pipeline and the history length.
"""

from __future__ import annotations

from typing import Any

from seqfolio.strategies.forecast_steps import Forecast, ModelWeights, ScaleExposure, Timed
from seqfolio.strategies.pipeline import Allocate, CapWeights, Step, TrailingReturns
from seqfolio.strategies.walkforward import WalkForward, check_train_window

__all__ = ["build_walkforward", "walkforward_history", "walkforward_steps"]

WALKFORWARD_PARAMS: dict[str, Any] = dict(
    signal=None,
    retrain="quarterly",
    train_window=756,
    warm_start=False,
    checkpoint_dir=None,
    progress=False,
    exposure_floor=0.25,
    exposure_threshold=0.5,
)
"""The walk-forward params RebalanceStrategy adds (documented there)."""


def _is_lstm_allocator(allocator: Any) -> bool:
    from seqfolio.signals import LSTMAllocator

    return isinstance(allocator, LSTMAllocator)


def build_walkforward(strategy: Any, owner: str = "RebalanceStrategy") -> WalkForward | None:
    """The controller for ``strategy.p.signal`` or an ``LSTMAllocator`` allocator (None if neither).

    Call it in ``__init__`` *before* adding the rebalance timer, so that on a bar where both fire the
    model is retrained before the rebalance reads it.
    """
    p = strategy.p
    signal = p.signal
    if signal is not None:
        if isinstance(signal, type) or not (hasattr(signal, "fit") and hasattr(signal, "predict")):
            raise TypeError(
                f"The 'signal' parameter of {owner} must be a forecaster instance such as "
                f"LSTMForecaster(target='volatility'). Got {signal!r} instead."
            )
        if _is_lstm_allocator(signal):
            raise TypeError(
                f"The 'signal' parameter of {owner} got an LSTMAllocator, which outputs weights: "
                "pass it as allocator= instead."
            )
        if _is_lstm_allocator(strategy.allocator):
            raise ValueError(
                f"{owner}: signal= cannot be combined with allocator=LSTMAllocator(...); the "
                "direct-weights model does not read forecasts."
            )
        model = signal
    elif _is_lstm_allocator(strategy.allocator):
        model = strategy.allocator
    else:
        check_train_window(owner, p.train_window)  # validate even when unused
        return None
    # the strategy's start already made tz-naive like the feeds (RebalanceStrategy._start_date)
    start = getattr(strategy, "_start_date", p.start)
    return WalkForward(
        strategy, model, datas=getattr(strategy, "feeds", None), retrain=p.retrain, train_window=p.train_window, warm_start=p.warm_start,
        checkpoint_dir=p.checkpoint_dir, start=start, progress=p.progress, owner=owner,
    )  # fmt: skip


def walkforward_steps(strategy: Any, wf: WalkForward | None) -> list[Step]:
    """The pipeline for a walk-forward strategy (allocation wall time goes to ``strategy.timings``)."""
    p = strategy.p
    timings = strategy.timings
    if wf is None:
        return [
            TrailingReturns(int(p.lookback), int(p.max_gap)),
            Timed(Allocate(strategy.allocator), timings),
            CapWeights(p.max_weight),
        ]
    if _is_lstm_allocator(wf.template):
        return [
            TrailingReturns(int(p.lookback), int(p.max_gap)),
            ModelWeights(wf),
            CapWeights(p.max_weight),
        ]
    strategy.forecast_step = Forecast(
        wf, exposure_floor=p.exposure_floor, exposure_threshold=p.exposure_threshold
    )
    return [
        TrailingReturns(int(p.lookback), int(p.max_gap)),
        strategy.forecast_step,
        Timed(Allocate(strategy.allocator), timings),
        CapWeights(p.max_weight),
        ScaleExposure(),
    ]


def walkforward_history(strategy: Any, wf: WalkForward | None) -> int:
    """Bars of closes to keep: the lookback and what the model needs to predict."""
    base = int(strategy.p.lookback) + 1
    return base if wf is None else max(base, wf.history_needed() + 1)

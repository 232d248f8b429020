"""The rebalancer's settings checks, shared by every engine adapter and the CLI.

The backtrader strategy (:class:`~seqfolio.strategies.RebalanceStrategy`), the zipline adapter
(:mod:`seqfolio.zipline`) and the CLI check their settings here, with one message each.
"""

from __future__ import annotations

import math
from typing import Any

from seqfolio import defaults
from seqfolio._validation import check_bool, check_choice, check_int, check_real, is_real_number
from seqfolio.calendar import check_schedule
from seqfolio.pipeline.builder import is_weights_model

__all__ = [
    "DELISTED_POLICIES",
    "REBALANCER_PARAMS",
    "check_broker",
    "check_strategy_params",
    "walk_forward_model",
]

DELISTED_POLICIES: tuple[str, ...] = ("cash", "hold")
"""What happens to a position in a feed that has ended: sold at its last close, or kept."""


REBALANCER_PARAMS: dict[str, Any] = dict(
    allocator=None,
    lookback=defaults.LOOKBACK,
    rebalance=defaults.REBALANCE,
    min_trade=0.0,
    cash_buffer=defaults.CASH_BUFFER,
    max_weight=None,
    fractional=False,
    start=None,
    retry_rejected=True,
    feeds=None,
    capital=None,
    delisted="cash",
    max_gap=5,
    signal=None,
    retrain=defaults.RETRAIN,
    train_window=defaults.TRAIN_BARS,
    warm_start=False,
    checkpoint_dir=None,
    progress=False,
    exposure_floor=0.25,
    exposure_threshold=0.5,
)
"""The rebalancer's settings and defaults (``RebalanceStrategy.params``; the zipline adapter's, with
``feeds`` named ``assets``)."""


def check_strategy_params(
    *,
    lookback: Any = defaults.LOOKBACK,
    rebalance: Any = defaults.REBALANCE,
    min_trade: Any = 0.0,
    cash_buffer: Any = defaults.CASH_BUFFER,
    max_weight: Any = None,
    fractional: Any = False,
    retry_rejected: Any = True,
    capital: Any = None,
    delisted: Any = "cash",
    max_gap: Any = 5,
    owner: str = "RebalanceStrategy",
) -> None:
    """Validate the rebalancer's own params (RebalanceStrategy, the zipline adapter, the CLI's options).

    ``owner`` names the caller in the messages.

    Raises
    ------
    ValueError
        ``The 'lookback' parameter of RebalanceStrategy must be an int >= 2. Got 1 instead.`` and
        the same template for the others.
    """
    check_int(owner, "lookback", lookback, low=2)
    check_schedule(owner, "rebalance", rebalance)
    check_real(owner, "min_trade", min_trade, low=0.0, high=1.0, high_open=True)
    check_real(owner, "cash_buffer", cash_buffer, low=0.0, high=0.5, high_open=True)
    check_real(owner, "max_weight", max_weight, low=0.0, high=1.0, low_open=True, allow_none=True)
    check_real(owner, "capital", capital, low=0.0, high=1.0, low_open=True, allow_none=True)
    check_bool(owner, "fractional", fractional)
    check_bool(owner, "retry_rejected", retry_rejected)
    check_choice(owner, "delisted", delisted, DELISTED_POLICIES)
    check_int(owner, "max_gap", max_gap, low=0)


def check_broker(*, cash: Any = defaults.CASH, commission: Any = defaults.COMMISSION) -> None:
    """Validate :func:`run_backtest`'s ``cash`` and ``commission`` (any real number type but bool).

    Raises
    ------
    ValueError
        ``commission must be a fraction of traded value in [0, 0.1) ...`` or ``cash must be a
        positive number ...``.
    """
    if not is_real_number(commission) or not math.isfinite(commission) or not 0 <= commission < 0.1:
        raise ValueError(
            f"commission must be a fraction of traded value in [0, 0.1) (0.001 = 10 bps). Got {commission!r}."
        )
    if not is_real_number(cash) or not math.isfinite(cash) or cash <= 0:
        raise ValueError(f"cash must be a positive number. Got {cash!r}.")


def walk_forward_model(owner: str, signal: Any, allocator: Any) -> Any:
    """The model a rebalancer retrains walk-forward: ``signal``, or an ``LSTMAllocator`` given as the
    allocator, else None.

    Raises
    ------
    TypeError
        If ``signal`` is not a forecaster instance, or is a direct-weights model.
    ValueError
        If ``signal`` is combined with a direct-weights allocator.
    """
    if signal is not None:
        if isinstance(signal, type) or not (hasattr(signal, "fit") and hasattr(signal, "predict")):
            raise TypeError(
                f"The 'signal' parameter of {owner} must be a forecaster instance such as "
                f"LSTMForecaster(target='volatility'). Got {signal!r} instead."
            )
        if is_weights_model(signal):
            raise TypeError(
                f"The 'signal' parameter of {owner} got an LSTMAllocator, which outputs "
                "weights: pass it as allocator= instead."
            )
        if is_weights_model(allocator):
            raise ValueError(
                f"{owner}: signal= cannot be combined with allocator=LSTMAllocator(...); the "
                "direct-weights model does not read forecasts."
            )
        return signal
    return allocator if is_weights_model(allocator) else None

"""The rule for subclasses of RebalanceStrategy: a hook you override must call ``super()``.

RebalanceStrategy keeps its books in backtrader's hooks: ``next`` (every bar: it settles a
rebalance's fills and realised weights and, under ``exactbars``, copies the closes; ``prenext`` and
``nextstart`` hand over to it), ``notify_order`` (each order's end: status, fill, commission, retry)
and ``notify_timer`` (the rebalance and retrain schedules). A subclass overriding one of them without
calling ``super()`` would silently corrupt the records -- every order left "Submitted", no costs,
realised weights measured a month late, no rebalance at all -- so the strategy notices that its own
hook did not run and raises one of the errors below, naming the method. The checks cost a counter
per bar. ``stop`` needs no rule: the end-of-run bookkeeping runs before any subclass's ``stop``.
"""

from __future__ import annotations

from typing import Any

__all__ = ["BAR_HOOKS", "missed_next", "missed_notify_order", "missed_notify_timer", "overridden"]

BAR_HOOKS: tuple[str, ...] = ("prenext", "nextstart", "next")
"""The per-bar hooks backtrader calls (``prenext`` while some feed has not started)."""


def overridden(strategy: Any, base: type, names: tuple[str, ...]) -> list[str]:
    """Which of ``base``'s methods ``names`` the strategy's class overrides."""
    cls = type(strategy)
    return [name for name in names if getattr(cls, name) is not getattr(base, name)]


def _methods(strategy: Any, names: list[str]) -> str:
    cls = type(strategy).__name__
    return " and ".join(f"{cls}.{name}()" for name in names)


def missed_next(strategy: Any, base: type, bar: Any) -> RuntimeError:
    """The error for a bar on which ``base.next`` did not run."""
    names = overridden(strategy, base, BAR_HOOKS) or ["next"]
    return RuntimeError(
        f"{_methods(strategy, names)} must call {base.__name__}'s own on every bar (super().next() "
        f"in next(), super().prenext() in prenext(), super().nextstart() in nextstart()): its "
        f"bookkeeping did not run on the bar of {bar}, so fills, realised weights and retries "
        "would be recorded late or not at all."
    )


def missed_notify_order(strategy: Any, asset: str, date: Any, status: str) -> RuntimeError:
    """The error for an order that ended without reaching ``base.notify_order``."""
    return RuntimeError(
        f"{_methods(strategy, ['notify_order'])} must call super().notify_order(order): the "
        f"{asset} order of the {date} rebalance ended ({status}) but the strategy was never told, "
        "so its status, fill, commission and any retry would go unrecorded."
    )


def missed_notify_timer(strategy: Any, when: Any) -> RuntimeError:
    """The error for a rebalance timer fire that did not reach ``base.notify_timer``."""
    when = when.date() if hasattr(when, "date") else when
    return RuntimeError(
        f"{_methods(strategy, ['notify_timer'])} must call super().notify_timer(timer, when, "
        f"*args, **kwargs) for the timers it does not own: the rebalance timer fired at {when} but "
        "the strategy never heard of it, so it would never rebalance (nor retrain its model)."
    )

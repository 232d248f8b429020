"""Subclasses of RebalanceStrategy: an overridden hook that skips ``super()`` is caught, by name.

Overriding ``next`` or ``notify_order`` without calling ``super()`` used to corrupt the records
silently: every order left "Submitted", costs 0, retries lost, realised weights measured a month late
(issue 19, item 7). docs/backtrader.md, "Habits that work".
"""

from __future__ import annotations

import pytest
from _btutil import RUN_MODES, make_cerebro, order_tuples, small_prices

from seqfolio.allocators import HRP
from seqfolio.strategies import RebalanceStrategy


@pytest.fixture(scope="module")
def prices():
    return small_prices("2018-06-01", "2019-12-31")


def _run(prices, cls, mode=None, **params):
    cerebro = make_cerebro(prices, **(mode or {}))
    cerebro.addstrategy(cls, allocator=HRP(), lookback=60, **params)
    return cerebro.run()[0]


class LogsBars(RebalanceStrategy):
    def next(self):
        self.seen = getattr(self, "seen", 0) + 1  # and forgets super().next()


class LogsOrders(RebalanceStrategy):
    def notify_order(self, order):
        self.last_status = order.getstatusname()  # and forgets super().notify_order(order)


class OwnTimer(RebalanceStrategy):
    def notify_timer(self, timer, when, *args, **kwargs):
        pass  # handles its own timers only


class QuietWarmUp(RebalanceStrategy):
    def prenext(self):
        pass  # skips the bars before every feed has started


@pytest.mark.parametrize("mode", RUN_MODES.values(), ids=RUN_MODES.keys())
@pytest.mark.parametrize(
    ("cls", "message"),
    [
        (LogsBars, r"LogsBars.next\(\) must call RebalanceStrategy's own on every bar"),
        (LogsOrders, r"LogsOrders.notify_order\(\) must call super\(\).notify_order\(order\)"),
        (OwnTimer, r"OwnTimer.notify_timer\(\) must call super\(\).notify_timer"),
    ],
    ids=["next", "notify_order", "notify_timer"],
)
def test_a_hook_overridden_without_super_raises_naming_it(prices, cls, message, mode):
    with pytest.raises(RuntimeError, match=message):
        _run(prices, cls, mode)


def test_prenext_overridden_without_handing_over_raises(prices):
    late = prices.copy()
    late.iloc[:150, 2] = float("nan")  # KO lists late: prenext runs over the first rebalances
    with pytest.raises(RuntimeError, match=r"QuietWarmUp.prenext\(\) must call"):
        _run(late, QuietWarmUp)


class Polite(RebalanceStrategy):
    """Follows the rule in every hook, and overrides stop without super (not needed there)."""

    def prenext(self):
        super().prenext()

    def next(self):
        super().next()

    def notify_order(self, order):
        super().notify_order(order)

    def notify_timer(self, timer, when, *args, **kwargs):
        super().notify_timer(timer, when, *args, **kwargs)

    def stop(self):
        self.final = self.broker.getvalue()


@pytest.mark.parametrize("mode", RUN_MODES.values(), ids=RUN_MODES.keys())
def test_a_subclass_following_the_rule_records_what_the_base_records(prices, mode):
    late = prices.copy()
    late.iloc[:150, 2] = float("nan")
    base, polite = _run(late, RebalanceStrategy, mode), _run(late, Polite, mode)
    assert len(base.orders_log) > 30
    assert order_tuples(polite) == order_tuples(base)
    assert [r.fill_date for r in polite.records] == [r.fill_date for r in base.records]
    # stop() without super: the books were closed before it ran all the same
    assert all(r.realised is not None for r in polite.records)
    assert polite.final == pytest.approx(base.broker.getvalue())

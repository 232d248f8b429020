"""Bad parameters fail when the strategy is built, with a message naming the parameter."""

from __future__ import annotations

import re

import backtrader as bt
import pytest
from _btutil import synthetic_prices

from seqfolio.allocators import HRP
from seqfolio.strategies import RebalanceStrategy, add_price_feeds


def build(**params):
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, synthetic_prices(n_bars=30, n_assets=2))
    cerebro.addstrategy(RebalanceStrategy, **params)
    return cerebro.run()[0]


@pytest.mark.parametrize(
    "params,error,message",
    [
        (
            dict(allocator="hrpp"),
            ValueError,
            "The 'allocator' parameter of RebalanceStrategy must be one of ['ew', 'herc', 'hrp', "
            "'ivol', 'ivp', 'lstm-weights', 'mvo']. Got 'hrpp' instead. Did you mean 'hrp'?",
        ),
        (dict(allocator=HRP), TypeError, "not the class itself"),
        (dict(allocator=object()), TypeError, "must be a seqfolio allocator"),
        (
            dict(lookback=-5),
            ValueError,
            "The 'lookback' parameter of RebalanceStrategy must be an int >= 2. Got -5 instead.",
        ),
        (dict(lookback=20.0), ValueError, "'lookback' parameter"),
        (
            dict(rebalance="montly"),
            ValueError,
            "The 'rebalance' parameter of RebalanceStrategy must be one of ['daily', 'weekly', "
            "'monthly', 'quarterly'] or a callable date -> bool. Got 'montly' instead.",
        ),
        (dict(cash_buffer=0.7), ValueError, "The 'cash_buffer' parameter of RebalanceStrategy"),
        (dict(min_trade=-0.1), ValueError, "The 'min_trade' parameter of RebalanceStrategy"),
        (dict(max_weight=0.0), ValueError, "The 'max_weight' parameter of RebalanceStrategy"),
        (dict(max_weight=float("nan")), ValueError, "'max_weight' parameter"),
        (dict(fractional="yes"), ValueError, "The 'fractional' parameter"),
        (dict(start="not a date"), ValueError, "The 'start' parameter"),
    ],
)
def test_bad_params_fail_at_construction(params, error, message):
    with pytest.raises(error, match=re.escape(message)):
        build(**params)


def test_good_params_build():
    strategy = build(
        allocator=HRP(linkage="single"), lookback=10, rebalance="weekly", max_weight=0.8
    )
    assert type(strategy.allocator).__name__ == "HRP"
    assert strategy.allocator.get_params()["linkage"] == "single"


def test_allocator_is_cloned_not_mutated():
    allocator = HRP()
    strategy = build(allocator=allocator, lookback=10, rebalance="weekly")
    assert strategy.records  # it did rebalance
    assert not hasattr(allocator, "weights_")


def test_bad_allocator_parameter_fails_at_construction():
    import backtrader as bt

    from seqfolio.allocators import HRP
    from seqfolio.data import load_sample
    from seqfolio.strategies import RebalanceStrategy, add_price_feeds

    cerebro = bt.Cerebro()
    add_price_feeds(cerebro, load_sample("2020-01-01", "2020-03-31", assets=["AAPL", "KO"]))
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(linkage="singel"))
    with pytest.raises(ValueError, match="The 'linkage' parameter of HRP must be one of"):
        cerebro.run()

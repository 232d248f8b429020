"""(c) The allocator as a backtrader indicator inside a hand-written Strategy.

``AllocatorWeights`` gives one line per feed holding that asset's HRP target weight (fitted on the
closes up to the current bar). This strategy trades to those weights with ``order_target_percent``
whenever a weight drifted more than 2 points from its target - a drift-band rebalance, something
RebalanceStrategy's calendar schedule does not do. The chart is written headless.

Run: python examples/indicator_strategy.py [--start 2018-01-01] [--end 2022-12-31] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import backtrader as bt
import backtrader.plot  # noqa: F401  (must come before matplotlib.use, docs/architecture.md, Backtrader facts)
import matplotlib

from seqfolio.allocators import HRP
from seqfolio.allocators.indicators import AllocatorWeights
from seqfolio.data import load_sample
from seqfolio.strategies import add_price_feeds

matplotlib.use("Agg")


class DriftBandHRP(bt.Strategy):
    """Trade to HRP weights when any position drifts more than ``band`` from its target."""

    params = dict(lookback=126, band=0.02, invested=0.97)

    def __init__(self) -> None:
        self.weights = AllocatorWeights(*self.datas, allocator=HRP(), lookback=self.p.lookback,
                                        refit_every=21)  # fmt: skip
        self.trades = 0

    def next(self) -> None:
        value = self.broker.getvalue()
        target = self.weights.weights() * self.p.invested
        current = [self.getposition(d).size * d.close[0] / value for d in self.datas]
        if max(abs(t - c) for t, c in zip(target, current, strict=True)) < self.p.band:
            return
        # sells first so their cash funds the buys (both fill at the next bar's open)
        order = sorted(range(len(self.datas)), key=lambda i: target.iloc[i] - current[i])
        for i in order:
            self.order_target_percent(self.datas[i], target=float(target.iloc[i]))
        self.trades += 1


def main(argv: list[str] | None = None) -> float:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2018-01-01")
    parser.add_argument("--end", default="2022-12-31")
    parser.add_argument("--out", default="seqfolio-report/example-c")
    args = parser.parse_args(argv)

    cerebro = bt.Cerebro(stdstats=True)
    add_price_feeds(
        cerebro, load_sample(args.start, args.end, assets=["AAPL", "KO", "XOM", "JPM", "JNJ"])
    )
    cerebro.broker.setcash(100_000)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(DriftBandHRP)
    strategy = cerebro.run()[0]
    value = cerebro.broker.getvalue()
    print(f"final value {value:,.2f} after {strategy.trades} drift-band rebalances")
    print("last target weights:", strategy.weights.weights().round(3).to_dict())

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure = cerebro.plot(iplot=False, volume=False)[0][0]
    figure.set_size_inches(12, 14)
    figure.savefig(out / "indicator_plot.png", dpi=80)
    print(f"chart: {out / 'indicator_plot.png'}")
    return value


if __name__ == "__main__":
    main()

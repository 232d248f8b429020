"""Walk-forward LSTM retraining in your *own* backtrader Strategy, in a few lines.

An inverse-volatility portfolio whose volatilities are LSTM forecasts: the forecaster is retrained every
quarter on the last 756 closes (``Retrainer``), its forecasts are an indicator that follows every
retrain (``ForecastIndicator``, safe in backtrader's default runonce mode), and the strategy rebalances
monthly in ``next()``: decided on bar t's closes, filled at bar t+1.

Run: python examples/lstm_own_strategy.py [--start 2015-01-01] [--end 2022-12-31] [--out DIR]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path
from typing import Any

import backtrader as bt

from seqfolio.data import load_benchmark, load_sample
from seqfolio.signals import LSTMForecaster
from seqfolio.strategies import Retrainer, TearSheet, add_price_feeds, add_schedule_timer


class InverseForecastVol(bt.Strategy):
    """Monthly inverse-volatility weights from walk-forward LSTM volatility forecasts."""

    params = dict(forecaster=None, retrain="quarterly", train_window=756, start=None)

    def __init__(self) -> None:
        # 1. the walk-forward controller: adds a "retrain" timer (create it before your own timers)
        self.retrainer = Retrainer(self, self.p.forecaster, retrain=self.p.retrain,
                              train_window=self.p.train_window, start=self.p.start)  # fmt: skip
        # 2. the forecasts as an indicator, one line per feed, following every retrain
        self.vol = self.retrainer.indicator()
        add_schedule_timer(self, "monthly", action="rebalance")
        self.rebalance_due = False
        self.rebalances = 0

    def notify_timer(self, timer: Any, when: Any, *args: Any, **kwargs: Any) -> None:
        # 3. let the controller handle its own timer first
        if self.retrainer.notify_timer(timer, when, *args, **kwargs):
            return
        if kwargs.get("action") == "rebalance":
            self.rebalance_due = True

    def next(self) -> None:
        if not self.rebalance_due:
            return
        self.rebalance_due = False
        vols = [self.vol.lines[i][0] for i in range(len(self.datas))]
        if any(math.isnan(v) or v <= 0 for v in vols):
            return  # no model yet (or not enough history): keep the portfolio as it is
        inverse = [1.0 / v for v in vols]
        total = sum(inverse)
        for data, w in zip(self.datas, inverse, strict=True):
            self.order_target_percent(data, target=0.98 * w / total)
        self.rebalances += 1

    def stop(self) -> None:
        self.retrainer.close()  # 4. close the progress bar


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2015-01-01")
    parser.add_argument("--end", default="2022-12-31")
    parser.add_argument("--train-window", type=int, default=756)
    parser.add_argument("--out", default="seqfolio-report/lstm-own-strategy")
    args = parser.parse_args(argv)

    prices = load_sample(
        end=args.end, assets=["AAPL", "JNJ", "KO", "XOM", "JPM", "WMT", "MSFT", "PG"]
    )
    first = int(prices.index.searchsorted(args.start))
    prices = prices.iloc[max(0, first - args.train_window) :]
    forecaster = LSTMForecaster(target="volatility", window=40, hidden_size=16, max_epochs=8,
                                sample_stride=3, random_state=0, n_threads=1)  # fmt: skip
    cerebro = bt.Cerebro(stdstats=False)  # default runonce=True: the indicator forces next mode
    add_price_feeds(cerebro, prices)
    cerebro.broker.setcash(1_000_000.0)
    cerebro.broker.setcommission(commission=0.001)
    cerebro.addstrategy(InverseForecastVol, forecaster=forecaster, start=args.start,
                        train_window=args.train_window)  # fmt: skip
    out = Path(args.out)
    cerebro.addanalyzer(TearSheet, _name="ts", output=out / "tearsheet.html", start=args.start,
                        benchmark=load_benchmark().rename("S&P 500"),
                        strategy_name="Inverse LSTM vol")  # fmt: skip
    strat = cerebro.run()[0]
    table = strat.retrainer.retrain_table()
    print(table[["n_bars", "seconds", "source"]].to_string())
    summary = {
        "value": cerebro.broker.getvalue(),
        "retrains": strat.retrainer.version,
        "rebalances": strat.rebalances,
        "tearsheet": strat.analyzers.ts.path,
    }
    print(f"final value {summary['value']:,.0f}; {summary['retrains']} retrains, "
          f"{summary['rebalances']} rebalances; tear sheet {summary['tearsheet']}")  # fmt: skip
    return summary


if __name__ == "__main__":
    main()

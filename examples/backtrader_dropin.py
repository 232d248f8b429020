"""(a) A classic backtrader script - own feeds, broker settings, analyzers - with RebalanceStrategy dropped in.

Everything except the ``cerebro.addstrategy(RebalanceStrategy, ...)`` line is plain backtrader: the
feeds are built with ``bt.feeds.PandasData`` by hand (any feeds work, as long as each has a name), the
broker gets a commission and slippage, and the usual analyzers are attached. No sizer: the strategy
sizes its own orders (one added would be ignored, with a warning).

Run: python examples/backtrader_dropin.py [--start 2015-01-01] [--end 2022-12-31] [--out DIR]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import backtrader as bt
import pandas as pd

from seqfolio.allocators import HRP
from seqfolio.data import load_benchmark, load_sample
from seqfolio.strategies import RebalanceStrategy, TearSheet, WeightsHistory


def make_feed(close: pd.Series) -> bt.feeds.PandasData:
    """A user's own feed: OHLC from a close-only series (open = high = low = close)."""
    frame = pd.DataFrame(
        {"open": close, "high": close, "low": close, "close": close, "volume": 0.0}
    )
    return bt.feeds.PandasData(dataname=frame.dropna(), openinterest=None)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--start", default="2015-01-01")
    parser.add_argument("--end", default="2022-12-31")
    parser.add_argument("--out", default="seqfolio-report/example-a")
    args = parser.parse_args(argv)

    lookback = 126
    history_start = pd.Timestamp(args.start) - pd.Timedelta(days=lookback * 2)
    prices = load_sample(
        history_start, args.end, assets=["AAPL", "JNJ", "JPM", "KO", "MSFT", "PG", "WMT", "XOM"]
    )

    cerebro = bt.Cerebro(stdstats=False)
    for ticker in prices.columns:
        cerebro.adddata(make_feed(prices[ticker]), name=ticker)
    cerebro.broker.setcash(250_000)
    cerebro.broker.setcommission(commission=0.0005)  # 5 bps
    # 5 bps against us on every fill; slip_out=True because backtrader caps a slipped price at the
    # bar's high / low, which on these close-only bars is the fill price itself (no slippage at all)
    cerebro.broker.set_slippage_perc(0.0005, slip_out=True)

    # The one seqfolio line:
    cerebro.addstrategy(RebalanceStrategy, allocator=HRP(linkage="ward"), lookback=lookback,
                        rebalance="monthly", max_weight=0.25, start=args.start)  # fmt: skip

    cerebro.addanalyzer(bt.analyzers.SharpeRatio, _name="sharpe", timeframe=bt.TimeFrame.Days,
                        annualize=True, riskfreerate=0.0)  # fmt: skip
    cerebro.addanalyzer(bt.analyzers.DrawDown, _name="drawdown")
    cerebro.addanalyzer(bt.analyzers.TradeAnalyzer, _name="trades")
    cerebro.addanalyzer(WeightsHistory, _name="weights")
    out = Path(args.out)
    cerebro.addanalyzer(TearSheet, _name="tearsheet", output=str(out / "tearsheet.html"),
                        benchmark=load_benchmark().rename("S&P 500"), start=args.start)  # fmt: skip

    strategy = cerebro.run()[0]
    rebalances = strategy.analyzers.weights.get_analysis()["rebalances"]
    summary = {
        "final_value": cerebro.broker.getvalue(),
        "sharpe": strategy.analyzers.sharpe.get_analysis()["sharperatio"],
        "max_drawdown_pct": strategy.analyzers.drawdown.get_analysis()["max"]["drawdown"],
        "rebalances": len(rebalances),
        "costs": float(rebalances["costs"].sum()),
        "rejected": strategy.n_rejected,
    }
    for key, value in summary.items():
        print(f"{key:>17}: {value:,.2f}" if isinstance(value, float) else f"{key:>17}: {value}")
    print(f"tear sheet: {strategy.analyzers.tearsheet.path}")
    return summary


if __name__ == "__main__":
    main()

"""Analyzers: a QuantStats tear sheet written at the end of the run, and the weights history.

With several strategies on one cerebro (one broker account), each analyzer reports its strategy's
*sleeve* (:class:`~seqfolio.strategies.sleeve.Sleeve`, ``capital=``): its own positions and cash.
``TearSheet(account=True)`` reports the whole account instead.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path
from typing import Any

import backtrader as bt
import pandas as pd

from seqfolio.calendar import naive_date
from seqfolio.reporting import TearSheetWarning
from seqfolio.results import rebalance_table
from seqfolio.strategies.feeds import feed_names

__all__ = [
    "TearSheet",
    "WeightsHistory",
    "rebalance_table",
    "run_output_path",
    "strategy_label",
]


def strategy_label(strategy: bt.Strategy) -> str:
    """A RebalanceStrategy's :attr:`~seqfolio.spec.RebalanceSpec.label` (``"HRP monthly"``,
    ``"LSTM-vol → HRP monthly"``), else the strategy's class name."""
    spec = getattr(strategy, "spec", None)
    return spec.label if spec is not None else type(strategy).__name__


def _slug(value: Any) -> str:
    """A parameter value as a file-name fragment: ``HRP(linkage='average')`` -> ``HRP_linkage_average``."""
    text = value if isinstance(value, str) else repr(value)
    return re.sub(r"[^\w.=-]+", "_", text).strip("_") or "_"


def running_strategies(strategy: bt.Strategy) -> list[bt.Strategy]:
    """The strategies of ``strategy``'s run (its cerebro's, built together), itself included."""
    running = list(getattr(strategy.env, "runningstrats", None) or [])
    return running if any(s is strategy for s in running) else [strategy]


def run_output_path(
    output: str | Path,
    strategy: bt.Strategy,
    owner: str = "TearSheet",
    *,
    per_strategy: bool = True,
) -> Path:
    """The file one run writes: ``output`` with the strategy's parameters filled in.

    ``output`` may name any strategy parameter in braces (``"ts-{lookback}-{rebalance}.html"``).
    Without braces it is used as it is, except in two cases where every report would overwrite the
    same file:

    - several strategies in one cerebro (``per_strategy``): the strategy's position among them and
      its label are added (``tearsheet-2-HRP_monthly.html``);
    - ``cerebro.optstrategy``: the parameters that differ from the strategy's defaults are added
      (``tearsheet-lookback=126-rebalance=quarterly.html``), so that each run keeps its own report
      and two runs get the same name only if their parameters are the same.

    Raises
    ------
    ValueError
        If ``output`` names a parameter the strategy does not have.
    """
    text = str(output)
    params = dict(strategy.params._getkwargs())
    if "{" in text:
        try:
            return Path(text.format(**{k: _slug(v) for k, v in params.items()}))
        except (KeyError, IndexError, ValueError) as exc:
            raise ValueError(
                f"{owner}: 'output' {text!r} names {exc} in braces, which is not a parameter of "
                f"{type(strategy).__name__}; use one of {sorted(params)}."
            ) from None
    parts = []
    running = running_strategies(strategy)
    if per_strategy and len(running) > 1:
        position = next(i for i, s in enumerate(running) if s is strategy)
        parts.append(f"{position + 1}-{_slug(strategy_label(strategy))}")
    if getattr(strategy.env, "_dooptimize", False):
        defaults = dict(type(strategy).params._getkwargsdefault())
        parts += [
            f"{key}={_slug(value)}"
            for key, value in params.items()
            if not (key in defaults and _same(value, defaults[key]))
        ]
    if not parts:
        return Path(text)
    path = Path(text)
    return path.with_name(f"{path.stem}-{'-'.join(parts)}{path.suffix}")


def _same(value: Any, default: Any) -> bool:
    try:
        return bool(value == default) and type(value) is type(default)
    except Exception:  # noqa: BLE001 - e.g. an array-valued parameter: not the default
        return False


class WeightsHistory(bt.Analyzer):
    """Position weights at every bar's close, plus the rebalance records of a RebalanceStrategy.

    Works with any strategy. ``get_analysis()`` returns a dict with

    - ``"daily"``: DataFrame, one row per bar, one column per feed (per traded feed of a
      RebalanceStrategy given ``feeds=``): position value / portfolio value (the strategy's sleeve's
      value with ``capital=``, as its realised weights);
    - ``"target"`` and ``"realised"``: DataFrames, one row per rebalance (decision date), if the
      strategy has ``records`` (RebalanceStrategy), else empty;
    - ``"rebalances"``: DataFrame of turnover, costs and order counts per rebalance (see
      :func:`rebalance_table`).

    Params
    ------
    daily : bool, default True
        Record the per-bar weights (turn off to save time on very long runs).
    """

    params = dict(daily=True)

    def start(self) -> None:
        datas = list(self.strategy.datas)
        names = dict(zip(map(id, datas), feed_names(datas), strict=True))
        # a RebalanceStrategy's traded feeds (its ``feeds``), else every feed
        self._datas = list(getattr(self.strategy, "feeds", None) or datas)
        self._names = [names[id(d)] for d in self._datas]
        self._closes = [d.lines.close for d in self._datas]
        self._sleeve = getattr(self.strategy, "sleeve", None)
        self._stamps: list[float] = []
        self._rows: list[list[float]] = []

    def next(self) -> None:
        if not self.p.daily:
            return
        broker = self.strategy.broker
        value = broker.getvalue() if self._sleeve is None else self._sleeve.value()
        positions = broker.positions
        row = [
            (positions[d].size * c[0] / value) if value and len(c) else 0.0
            for d, c in zip(self._datas, self._closes, strict=True)
        ]
        stamp = self.strategy.datetime[0]
        if self._stamps and self._stamps[-1] == stamp:
            self._rows[-1] = row
        else:
            self._stamps.append(stamp)
            self._rows.append(row)

    def stop(self) -> None:
        dates = pd.DatetimeIndex([bt.num2date(t) for t in self._stamps], name="date")
        daily = pd.DataFrame(self._rows, index=dates, columns=self._names, dtype=float)
        records = getattr(self.strategy, "records", [])
        target = pd.DataFrame({r.date: r.target for r in records}).T.fillna(0.0)
        realised = pd.DataFrame(
            {r.date: r.realised for r in records if r.realised is not None}
        ).T.fillna(0.0)
        for frame in (target, realised):
            frame.index.name = "date"
        # The feeds and their lines are dropped: under optstrategy an analyzer is pickled back to the
        # parent process (backtrader strips only attributes named data*), and it must carry its
        # results, not the whole run's feeds.
        self._datas, self._closes, self._sleeve = [], [], None
        self.rets = {
            "daily": daily,
            "target": target.reindex(columns=[c for c in self._names if c in target.columns]),
            "realised": realised.reindex(columns=[c for c in self._names if c in realised.columns]),
            "rebalances": rebalance_table(records),
        }

    def get_analysis(self) -> dict[str, pd.DataFrame]:
        return self.rets


class TearSheet(bt.analyzers.TimeReturn):
    """Portfolio returns per bar (a ``TimeReturn``), handed at ``stop`` to
    :func:`seqfolio.reporting.write_tearsheet` for a QuantStats HTML tear sheet.

    What "portfolio" means: a strategy alone in its cerebro reports the broker's whole account. With
    several strategies on one cerebro (one account), each reports its own *sleeve*: a
    RebalanceStrategy with ``capital=`` (:class:`~seqfolio.strategies.sleeve.Sleeve`) its own
    positions plus its own cash, net of its own commissions -- the returns it would have alone with
    that share of the cash -- each in its own file (:func:`run_output_path`). A strategy without a
    sleeve there has no returns of its own: its report is not written (``error`` says why).
    ``account=True`` reports the whole account instead, written once (by the first strategy's
    analyzer) under ``output`` as given.

    A tear sheet that cannot be written never aborts the run (which would lose every other result):
    a strategy that never traded (all-zero returns: every rebalance skipped), too few returns after
    ``start``, an unwritable ``output`` or any QuantStats failure leaves ``path`` None, the reason in
    ``error``, and issues one :class:`~seqfolio.reporting.TearSheetWarning`. Weekly or monthly bars
    (resampled feeds) are reported as such (:func:`~seqfolio.reporting.bar_period`).

    Params
    ------
    output : str or path or None, default "tearsheet.html"
        Where to write the HTML; None = only collect returns. Strategy parameters in braces are
        filled in (``"ts-{lookback}.html"``); with several strategies, or under ``optstrategy``,
        each strategy and run gets its own file (:func:`run_output_path`).
    benchmark : pandas.Series or None
        Benchmark daily returns (or prices, converted). Never a ticker: offline QuantStats would
        silently show a zero benchmark.
    title : str or None
        Report title (default: the strategy label against the benchmark name).
    strategy_name, benchmark_name : str or None
        Labels in the report (defaults: :func:`strategy_label`, ``"account"`` for the account of
        several strategies, and the benchmark's ``name``).
    start : date-like or None
        Drop returns before this date (e.g. the warm-up before the first rebalance); a tz-aware
        date is compared on its own wall-clock time, like the feeds' bars.
    periods : int or None
        Bars a year for annualisation (default: from the bars' dates, 252 for daily bars).
    account : bool, default False
        Report the broker's whole account rather than the strategy's sleeve.

    Attributes
    ----------
    returns : pandas.Series or None
        Returns per bar, tz-naive ``DatetimeIndex`` (set at ``stop``); None for a strategy without
        returns of its own (see above).
    path : pathlib.Path or None
        The tear sheet written (checked to exist); None if none was asked for or it failed.
    error : str or None
        Why the tear sheet asked for was not written (None if it was, or none was asked for).
    """

    params = dict(
        output="tearsheet.html",
        benchmark=None,
        title=None,
        strategy_name=None,
        benchmark_name=None,
        start=None,
        periods=None,
        account=False,
    )

    def __init__(self) -> None:
        super().__init__()
        benchmark = self.p.benchmark
        if isinstance(benchmark, str):
            raise TypeError(
                "TearSheet: 'benchmark' must be a pandas Series of returns or prices, not a ticker "
                "string (offline QuantStats silently shows a zero benchmark); try "
                "seqfolio.data.load_benchmark()."
            )
        if benchmark is not None and not isinstance(benchmark, pd.Series):
            # checked here, before the run, rather than when the report is drawn at the end
            raise TypeError(
                "TearSheet: 'benchmark' must be a pandas Series of returns or prices (e.g. "
                f"seqfolio.data.load_benchmark()). Got {type(benchmark).__name__} instead."
            )
        self._start_date = naive_date(self.p.start, "start", "TearSheet")
        self.returns: pd.Series | None = None
        self.path: Path | None = None
        self.error: str | None = None
        running = running_strategies(self.strategy)
        account = bool(self.p.account)
        self._sleeve = None if account else getattr(self.strategy, "sleeve", None)
        self._own = account or self._sleeve is not None or len(running) == 1
        if account and len(running) > 1:
            self._label = self.p.strategy_name or "account"
        else:
            self._label = self.p.strategy_name or strategy_label(self.strategy)
        # this run's file (checked now, not after the run): parameters filled in, one per
        # strategy and per optstrategy run; the account's written once, by the first strategy
        writes = self.p.output is not None and not (account and running[0] is not self.strategy)
        self._output = (
            run_output_path(self.p.output, self.strategy, per_strategy=not account)
            if writes else None
        )  # fmt: skip
        if not self._own:
            others = len(running) - 1
            self.error = (
                f"no tear sheet for {self._label}: it shares the broker's account with {others} "
                f"other strateg{'y' if others == 1 else 'ies'} and keeps no sleeve of its own (a "
                "RebalanceStrategy with capital= does), so its own returns are unknown and the "
                "account's would be mislabelled. TearSheet(account=True) reports the account."
            )
            self._output = None
            if self.p.output is not None:
                warnings.warn(f"TearSheet: {self.error}", TearSheetWarning, stacklevel=2)
        self._check_unique_output(running)

    def _check_unique_output(self, running: list[bt.Strategy]) -> None:
        """Refuse a file another strategy's TearSheet of this run writes too (braces in ``output``
        that resolve alike for both)."""
        if self._output is None:
            return
        mine = next(i for i, s in enumerate(running) if s is self.strategy)
        for position, other in enumerate(running[:mine]):
            for analyzer in other.analyzers:
                if isinstance(analyzer, TearSheet) and analyzer._output == self._output:
                    raise ValueError(
                        f"TearSheet: 'output' {str(self.p.output)!r} gives {self._output} to "
                        f"strategies {position + 1} and {mine + 1} of the "
                        "cerebro; name a parameter that tells them apart in braces (e.g. "
                        "{feeds}), or leave the braces out and each strategy gets its own file."
                    )

    def start(self) -> None:
        super().start()
        if self._sleeve is not None and not self._fundmode:
            self._lastvalue = self._sleeve.value()

    def notify_fund(self, cash: float, value: float, fundvalue: float, shares: float) -> None:
        if self._sleeve is not None:
            value = self._sleeve.value()
        super().notify_fund(cash, value, fundvalue, shares)

    def stop(self) -> None:
        super().stop()
        from seqfolio.reporting import returns_from_analysis, write_tearsheet

        self._sleeve = None  # optreturn pickles the analyzer: results only, no broker
        if not self._own:
            return
        returns = returns_from_analysis(self.get_analysis())
        if self._start_date is not None:
            returns = returns.loc[self._start_date :]
        returns.name = self._label
        self.returns = returns
        if self._output is not None:
            self.path, self.error = write_tearsheet(
                returns, self.p.benchmark, self._output, self.p.title,
                benchmark_name=self.p.benchmark_name, periods=self.p.periods,
            )  # fmt: skip

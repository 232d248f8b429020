"""Reports: QuantStats HTML tear sheets, a side-by-side metrics table and a weights chart.

QuantStats and matplotlib are imported lazily (QuantStats takes seconds to import). Facts this module
relies on (docs/architecture.md, QuantStats facts): ``reports.html`` needs ``output=``; a benchmark
given as a ticker goes to Yahoo and silently becomes zero offline, so only Series are accepted;
``qs.extend_pandas()`` is never called; the ``matplotlib.font_manager`` logger is silenced.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import warnings
from collections.abc import Iterator, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqfolio import defaults
from seqfolio._atomic import atomic_path, atomic_savefig, atomic_write_text
from seqfolio.stats import sharpe_ratio

__all__ = [
    "BARS_PER_YEAR",
    "MAX_WEIGHT_AREAS",
    "METRICS",
    "BarPeriodWarning",
    "TearSheetWarning",
    "align_benchmark",
    "bar_period",
    "bars_per_year",
    "first_traded",
    "format_metrics",
    "format_number",
    "markdown_table",
    "metrics_table",
    "plot_weights",
    "returns_from_analysis",
    "tearsheet",
    "to_returns",
    "write_comparison",
    "write_events_csv",
    "write_orders_csv",
    "write_run_files",
    "write_tearsheet",
]

# (bar period, bars a year, largest median spacing of the dates in days, one bar as an offset)
_PERIODS = (
    ("daily", defaults.PERIODS_PER_YEAR, 4, pd.Timedelta(days=1)),
    ("weekly", 52, 10, pd.Timedelta(days=7)),
    ("monthly", 12, 45, pd.DateOffset(months=1)),
    ("quarterly", 4, 135, pd.DateOffset(months=3)),
    ("yearly", 1, 400, pd.DateOffset(years=1)),
)
BARS_PER_YEAR: dict[str, int] = {period: bars for period, bars, _, _ in _PERIODS}
"""Bars a year for each bar period of :func:`bar_period` (the annualisation factor)."""
_ONE_BAR = {period: offset for period, _, _, offset in _PERIODS}


class TearSheetWarning(RuntimeWarning):
    """A tear sheet could not be written; the backtest's results are kept (see ``TearSheet``)."""


class BarPeriodWarning(UserWarning):
    """Returns are not daily bars (e.g. a weekly resampled backtest): they are annualised with their
    own bars a year and the benchmark is compounded over each bar (see :func:`bar_period`)."""


METRICS: tuple[str, ...] = (
    "Total return",
    "CAGR",
    "Volatility (ann.)",
    "Sharpe",
    "Sortino",
    "Max drawdown",
    "Calmar",
    "Best day",
    "Worst day",
)
"""Rows of :func:`metrics_table`, in order."""

MAX_WEIGHT_AREAS = 15
"""Assets :func:`plot_weights` draws one by one; beyond, the smaller ones are stacked as "other"."""

_RATIO_ROWS = {"Sharpe", "Sortino", "Calmar"}  # the other rows of METRICS are percentages


def _naive_dates(index: pd.Index) -> pd.DatetimeIndex:
    dates = pd.DatetimeIndex(index)
    return dates if dates.tz is None else dates.tz_convert(None)


def _naive_index(series: pd.Series) -> pd.Series:
    out = series.copy()
    out.index = _naive_dates(out.index)
    return out.astype(float)


def returns_from_analysis(analysis: Mapping[Any, float]) -> pd.Series:
    """A ``TimeReturn`` analysis (datetime -> return) as a float Series with a tz-naive index."""
    series = pd.Series(dict(analysis), dtype=float)
    if series.empty:
        return pd.Series(dtype=float, index=pd.DatetimeIndex([], name="date"))
    series = _naive_index(series)
    series.index.name = "date"
    return series


def bar_period(index: pd.Index) -> str:
    """The bar period of a return series' dates: a key of :data:`BARS_PER_YEAR`.

    Read from the median spacing of the dates: up to 4 days is ``"daily"`` (weekends and holidays
    included), up to 10 ``"weekly"``, 45 ``"monthly"``, 135 ``"quarterly"``, 400 ``"yearly"``. Fewer
    than two dates count as daily.

    Raises
    ------
    ValueError
        For bars shorter than half a day or longer than 400 days, which are not annualised here.
    """
    stamps = pd.DatetimeIndex(index).to_numpy(dtype="datetime64[ns]")
    if len(stamps) < 2:
        return "daily"
    days = float(np.median(np.diff(stamps)) / np.timedelta64(1, "D"))
    for period, _, largest, _ in _PERIODS:
        if 0.5 <= days <= largest:
            return period
    raise ValueError(
        f"bar_period: the returns' dates are {days:g} days apart (median); reports annualise daily "
        "to yearly bars only. Give returns per day (e.g. compound intraday returns by date) or per "
        "week, month, quarter or year."
    )


def bars_per_year(index: pd.Index) -> int:
    """The annualisation factor of returns on these dates: ``BARS_PER_YEAR[bar_period(index)]``
    (252 for daily bars, 52 weekly, 12 monthly ...)."""
    return BARS_PER_YEAR[bar_period(index)]


def _warn_if_not_daily(period: str, owner: str) -> None:
    if period != "daily":
        warnings.warn(
            f"{owner}: the returns are {period} bars, not daily: annualised with "
            f"{BARS_PER_YEAR[period]} bars a year, the benchmark compounded over each bar "
            "(a 'day' in the report is one bar).",
            BarPeriodWarning,
            stacklevel=3,
        )


def align_benchmark(benchmark: pd.Series, index: pd.Index, period: str | None = None) -> pd.Series:
    """Benchmark returns compounded over each bar of ``index`` (e.g. weekly bars from daily prices).

    Bar ``i`` covers the dates after ``index[i - 1]`` up to and including ``index[i]``; the first bar
    covers one ``period`` (:func:`bar_period` of ``index`` by default) back from ``index[0]``. A bar
    with no benchmark date in it has a benchmark return of 0; benchmark dates after the last bar are
    left out.

    Parameters
    ----------
    benchmark : pandas.Series
        Benchmark returns or prices (:func:`to_returns`).
    index : DatetimeIndex-like
        The strategy's bar dates, sorted.
    period : str, optional
        A key of :data:`BARS_PER_YEAR`.

    Returns
    -------
    pandas.Series
        One return per bar of ``index``, named as ``benchmark``.
    """
    bench = to_returns(benchmark)
    bars = _naive_dates(index)
    if not len(bars):
        return pd.Series(dtype=float, index=bars, name=benchmark.name)
    bench = bench.loc[bench.index > bars[0] - _ONE_BAR[period or bar_period(bars)]]
    bar = bars.searchsorted(bench.index, side="left")
    inside = bar < len(bars)
    growth = (1.0 + bench[inside]).groupby(bar[inside]).prod()
    out = growth.reindex(range(len(bars)), fill_value=1.0).to_numpy() - 1.0
    return pd.Series(out, index=bars, name=benchmark.name)


def to_returns(series: pd.Series) -> pd.Series:
    """Daily simple returns from a Series of returns or of prices.

    A Series is taken as prices if every value is positive and its median is above 0.5 (impossible
    for daily returns); prices are converted with ``pct_change`` (the first row dropped).

    Raises
    ------
    TypeError
        If ``series`` is not a pandas Series (e.g. a ticker string).
    """
    if not isinstance(series, pd.Series):
        raise TypeError(
            f"A benchmark must be a pandas Series of returns or prices, got {type(series).__name__}"
            " (a ticker string would make QuantStats download it, or silently use zeros offline)."
        )
    values = series.dropna()
    if len(values) and (values > 0).all() and values.median() > 0.5:
        out = values.pct_change().iloc[1:]
    else:
        out = values
    out = _naive_index(out)
    out.name = series.name
    return out


def first_traded(returns: pd.Series) -> pd.Timestamp | None:
    """The date of the first non-zero return (None if every return is 0).

    Where reports start: the days before it are the warm-up before the first rebalance filled,
    which QuantStats' tear sheet (``match_dates``) and :func:`metrics_table` leave out, and so does
    the command line's summary line.
    """
    traded = returns.to_numpy() != 0
    return pd.Timestamp(returns.index[traded.argmax()]) if traded.any() else None


def _metrics(returns: pd.Series, periods: int) -> dict[str, float]:
    r = returns.dropna().astype(float)
    n = len(r)
    if n == 0:
        return dict.fromkeys(METRICS, float("nan"))
    total = float((1.0 + r).prod() - 1.0)
    years = n / periods
    cagr = (1.0 + total) ** (1.0 / years) - 1.0 if total > -1 else -1.0
    std = float(r.std(ddof=1)) if n > 1 else float("nan")
    vol = std * math.sqrt(periods)
    sharpe = sharpe_ratio(r, periods) if n >= 3 else float("nan")
    downside = math.sqrt(float((np.minimum(r.to_numpy(), 0.0) ** 2).mean()))
    sortino = float(r.mean()) / downside * math.sqrt(periods) if downside > 0 else float("nan")
    wealth = (1.0 + r).cumprod()
    max_dd = float((wealth / wealth.cummax() - 1.0).min())
    calmar = cagr / abs(max_dd) if max_dd < 0 else float("nan")
    return {
        "Total return": total,
        "CAGR": cagr,
        "Volatility (ann.)": vol,
        "Sharpe": sharpe,
        "Sortino": sortino,
        "Max drawdown": max_dd,
        "Calmar": calmar,
        "Best day": float(r.max()),
        "Worst day": float(r.min()),
    }


def metrics_table(
    returns: Mapping[str, pd.Series] | pd.Series,
    benchmark: pd.Series | None = None,
    *,
    benchmark_name: str | None = None,
    periods: int | None = None,
    match_dates: bool = True,
) -> pd.DataFrame:
    """Performance metrics of several return series side by side (rows :data:`METRICS`).

    Parameters
    ----------
    returns : mapping of name -> Series, or a Series
        Simple returns per bar (a Series is used under its ``name``); daily, or weekly, monthly ...
        bars (:func:`bar_period`, with a :class:`BarPeriodWarning`).
    benchmark : pandas.Series, optional
        Benchmark returns or prices (see :func:`to_returns`), compounded over each bar of the first
        strategy (:func:`align_benchmark`) and added as the last column.
    benchmark_name : str, optional
        Column label for the benchmark (default: its ``name`` or ``"Benchmark"``).
    periods : int, optional
        Bars per year for annualisation; default from the bar period of the first strategy
        (:data:`BARS_PER_YEAR`: 252 for daily bars, 52 weekly, 12 monthly ...).
    match_dates : bool, default True
        Start every column (benchmark included) at the first non-zero strategy return, as QuantStats'
        tear sheet does, so the table matches the report (the leading zeros are the days before the
        first rebalance filled).

    Returns
    -------
    pandas.DataFrame
        Fractions, not per cent. Risk-free rate 0. Sharpe = mean / std * sqrt(periods); Sortino uses
        the root mean square of negative returns; CAGR from the number of bars; Calmar = CAGR / |max
        drawdown|.
    """
    if isinstance(returns, pd.Series):
        returns = {str(returns.name or "Strategy"): returns}
    if not returns:
        raise ValueError("metrics_table: give at least one return series.")
    series = {name: _naive_index(r) for name, r in returns.items()}
    if match_dates:
        starts = [d for d in map(first_traded, series.values()) if d is not None]
        if starts:
            series = {name: r.loc[min(starts) :] for name, r in series.items()}
    first = next(iter(series.values()))
    period = bar_period(first.index)
    _warn_if_not_daily(period, "metrics_table")
    periods = periods or BARS_PER_YEAR[period]
    columns = {name: _metrics(r, periods) for name, r in series.items()}
    if benchmark is not None:
        bench = align_benchmark(benchmark, first.index, period)
        columns[benchmark_name or str(benchmark.name or "Benchmark")] = _metrics(bench, periods)
    table = pd.DataFrame(columns).reindex(list(METRICS))
    table.index.name = "metric"
    return table


def format_number(value: Any, kind: str = "ratio") -> str:
    """One number as every command prints it: a ``percent`` with two decimals (``13.50%``), a
    ``ratio`` (Sharpe, Sortino, Calmar) with two, a ``probability`` (PSR, DSR, PBO) with three;
    ``-`` for a missing value."""
    if value is None or pd.isna(value):
        return "-"
    if kind == "percent":
        return f"{value * 100:.2f}%"
    return f"{value:.3f}" if kind == "probability" else f"{value:.2f}"


def format_metrics(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`metrics_table` as strings (:func:`format_number`: percentages for returns and risk,
    two decimals for ratios)."""
    out = table.astype(object).copy()
    for row in table.index:
        for col in table.columns:
            kind = "ratio" if row in _RATIO_ROWS else "percent"
            out.loc[row, col] = format_number(table.loc[row, col], kind)
    return out


def _check_not_constant(returns: pd.Series, name: str) -> None:
    """Refuse returns without variation: QuantStats' regression on them fails inside SciPy."""
    values = returns.to_numpy()
    if values.min() != values.max():
        return
    span = f"{returns.index[0].date()} .. {returns.index[-1].date()}"
    if values[0] == 0:
        raise ValueError(
            f"tearsheet: the returns of {name!r} are all 0 over {span}: the strategy never held a "
            "position (e.g. every rebalance was skipped), so there is nothing to report; find out "
            "why nothing traded (BacktestResult.skipped, or events.csv from the command line)."
        )
    raise ValueError(
        f"tearsheet: the returns of {name!r} are the same ({float(values[0])!r}) on every one of the "
        f"{len(values)} days of {span}: zero variance, which QuantStats cannot report on."
    )


# QuantStats draws with pyplot's global state and _charts_fixed swaps some of its functions: one
# tear sheet at a time (re-entrant: tearsheet holds it around the whole report).
_QUANTSTATS_LOCK = threading.RLock()


def _label_bars_by_year(ax: Any, years: pd.Index) -> None:
    """Put each year's label under its group of bars (thinned to about 10 labels, as QuantStats)."""
    years = sorted(set(years))
    centers = [[bar.get_x() + bar.get_width() / 2 for bar in c] for c in ax.containers]
    if not centers or any(len(c) != len(years) for c in centers):
        return  # not the chart this fix is for: leave it as QuantStats drew it
    middle = np.mean(centers, axis=0)
    step = max(1, len(years) // 10)
    ax.set_xticks(middle, [str(y) if i % step == 0 else "" for i, y in enumerate(years)])
    ax.set_xlim(middle[0] - 0.5, middle[-1] + 0.5)


def _eoy_bars(draw: Any, returns: Any, *args: Any, **kwargs: Any) -> Any:
    """End-of-year returns: QuantStats 0.0.86 labels ticks 0, 1, 2 ... while pandas places the
    bars of a date index at other positions: labels bunched on the left, bars on the right
    (quantstats issue #518, open). Each year's label is put under its bars."""
    fig = draw(returns, *args, **kwargs)
    _label_bars_by_year(fig.axes[0], returns.index.year)
    return fig


def _worst_drawdowns(draw: Any, returns: Any, *args: Any, **kwargs: Any) -> Any:
    """ "Worst 5 Drawdown Periods": QuantStats 0.0.86 shades the five *longest* drawdowns (by
    design, upstream issue #19), while the title and the "Worst 5 Drawdowns" table beside the
    chart rank them by depth, so a deep, short fall (2020's) is missing. The deepest are shaded."""
    from matplotlib import dates as mdates
    from quantstats import stats

    periods = int(kwargs.get("periods", 5))
    fig = draw(returns, *args, **{**kwargs, "periods": 0})  # the line and axes, nothing shaded
    for text in fig.texts:  # the title, drawn as "... - Worst 0 Drawdown Periods"
        text.set_text(text.get_text().replace("Worst 0 ", f"Worst {periods} "))
    details = stats.drawdown_details(stats.to_drawdown_series(returns.fillna(0)))
    worst = details.sort_values(by="max drawdown", kind="mergesort")[:periods]
    color = "black" if kwargs.get("grayscale") else "red"
    for start, end in zip(worst["start"], worst["end"], strict=True):
        fig.axes[0].axvspan(*mdates.datestr2num([str(start), str(end)]), color=color, alpha=0.1)
    return fig


def _percent_ticks(axis: str) -> Any:
    """Histogram / quantile charts: QuantStats 0.0.86 labels ticks ``int(x * 100)``, which
    truncates 0.0499... to "4%" and 0.1999... to "19%". Each tick is labelled with its own value,
    rounded to 6 significant decimals of a per cent ("5%", "-10%", "2.5%")."""

    def fix(draw: Any, returns: Any, *args: Any, **kwargs: Any) -> Any:
        from matplotlib.ticker import FuncFormatter

        fig = draw(returns, *args, **kwargs)
        label = FuncFormatter(lambda x, _: f"{round(x * 100, 6) + 0.0:g}%")  # + 0.0: no "-0%"
        getattr(fig.axes[0], f"{axis}axis").set_major_formatter(label)
        return fig

    return fix


_CHART_FIXES: dict[str, Any] = {
    "plot_returns_bars": _eoy_bars,
    "plot_longest_drawdowns": _worst_drawdowns,
    "plot_histogram": _percent_ticks("x"),
    "plot_distribution": _percent_ticks("y"),
}
"""QuantStats 0.0.86 chart functions (``quantstats._plotting.core``) and the fix each gets inside
:func:`_charts_fixed`: ``fix(draw, returns, ...)`` draws with ``draw`` and mends the figure."""


def _fixed(original: Any, fix: Any) -> Any:
    """``original`` drawn without showing or saving, mended by ``fix``, then saved as asked."""

    def fixed(returns: Any, *args: Any, savefig: Any = None, **kwargs: Any) -> Any:
        kwargs["show"] = False

        def draw(*a: Any, **k: Any) -> Any:
            return original(*a, savefig=None, **k)

        fig = fix(draw, returns, *args, **kwargs)
        if savefig:
            fig.savefig(**savefig) if isinstance(savefig, dict) else fig.savefig(savefig)
        return fig

    return fixed


@contextlib.contextmanager
def _charts_fixed() -> Iterator[None]:
    """Within this block (and under the QuantStats lock), QuantStats' charts listed in
    :data:`_CHART_FIXES` are drawn right. The functions are swapped for this block only, never
    for other QuantStats users, and restored after an error too."""
    from quantstats._plotting import core

    originals = {name: getattr(core, name) for name in _CHART_FIXES}
    with _QUANTSTATS_LOCK:
        for name, fix in _CHART_FIXES.items():
            setattr(core, name, _fixed(originals[name], fix))
        try:
            yield
        finally:
            for name, original in originals.items():
                setattr(core, name, original)


def tearsheet(
    returns: pd.Series,
    benchmark: pd.Series | None = None,
    output: str | PathLike[str] = "tearsheet.html",
    title: str | None = None,
    *,
    benchmark_name: str | None = None,
    periods: int | None = None,
) -> Path:
    """Write a QuantStats HTML tear sheet and return its path.

    Parameters
    ----------
    returns : pandas.Series
        Simple returns of the strategy per bar; its ``name`` labels the strategy (default
        "Strategy"). Daily bars, or weekly, monthly ... (:func:`bar_period`, with a
        :class:`BarPeriodWarning`).
    benchmark : pandas.Series, optional
        Benchmark returns or prices (:func:`to_returns`), compounded over each bar of ``returns``
        (:func:`align_benchmark`). A ticker string is refused: offline it silently becomes a zero
        benchmark.
    output : str or path, default "tearsheet.html"
        The HTML file to write (parent folders are created).
    title : str, optional
        Report title; default ``"<strategy> vs <benchmark>"``.
    benchmark_name : str, optional
        Benchmark label; default its ``name`` or ``"Benchmark"``.
    periods : int, optional
        Bars a year for annualisation; default from the bar period (:data:`BARS_PER_YEAR`).

    Returns
    -------
    pathlib.Path

    Raises
    ------
    TypeError
        If ``returns`` or ``benchmark`` is not a Series.
    ValueError
        If ``returns`` has fewer than 2 observations, or they are all equal (e.g. all 0: a strategy
        that never held a position), which QuantStats cannot report on.
    RuntimeError
        If QuantStats did not write the file.
    """
    if not isinstance(returns, pd.Series):
        raise TypeError(
            f"tearsheet: returns must be a pandas Series; got {type(returns).__name__}."
        )
    strategy = _naive_index(returns.dropna())
    if len(strategy) < 2:
        raise ValueError("tearsheet: need at least 2 returns to build a tear sheet.")
    strategy_name = str(returns.name or "Strategy")
    _check_not_constant(strategy, strategy_name)
    strategy.name = strategy_name
    period = bar_period(strategy.index)
    _warn_if_not_daily(period, "tearsheet")
    bench = None
    bench_name = None
    if benchmark is not None:
        bench_name = benchmark_name or str(getattr(benchmark, "name", None) or "Benchmark")
        bench = align_benchmark(benchmark, strategy.index, period).rename(bench_name)
    path = Path(output)
    title = title or (f"{strategy_name} vs {bench_name}" if bench_name else strategy_name)

    logging.getLogger("matplotlib.font_manager").setLevel(logging.ERROR)
    import matplotlib

    with _QUANTSTATS_LOCK:  # pyplot's state, the backend and warning filters are global
        previous_backend = matplotlib.get_backend()
        matplotlib.use("Agg")  # QuantStats draws with pyplot: no window, and it works headless
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import quantstats as qs

            kwargs: dict[str, Any] = {
                "title": title,
                "strategy_title": strategy_name,
                "periods_per_year": periods or BARS_PER_YEAR[period],
            }
            if bench is not None:
                kwargs.update(benchmark=bench, benchmark_title=bench_name)
            import matplotlib.pyplot as plt

            # QuantStats writes to a temporary file that is renamed into place only once complete: a
            # failure or a kill mid-report leaves the previous tear sheet (or none), never half of one.
            with atomic_path(path) as tmp:
                try:
                    with _charts_fixed():
                        qs.reports.html(strategy, output=str(tmp), **kwargs)
                finally:
                    plt.close("all")
                    if previous_backend.lower() != "agg":
                        plt.switch_backend(previous_backend)  # give the user's backend back
                if tmp.stat().st_size == 0:
                    raise RuntimeError(f"tearsheet: QuantStats did not write {path}.")
    return path


def write_tearsheet(
    returns: pd.Series,
    benchmark: pd.Series | None = None,
    output: str | PathLike[str] = "tearsheet.html",
    title: str | None = None,
    *,
    benchmark_name: str | None = None,
    periods: int | None = None,
) -> tuple[Path | None, str | None]:
    """:func:`tearsheet` for the end of a backtest: a report that cannot be written never raises.

    A strategy that never traded (all-zero returns), too few returns, an unwritable ``output`` or
    any QuantStats failure would otherwise abort the run and lose every other result: instead one
    :class:`TearSheetWarning` names ``output`` and the reason. Parameters as :func:`tearsheet`.

    Returns
    -------
    (path, error) : (pathlib.Path, None) or (None, str)
        The tear sheet written, or why not (first line of the error; a message of :func:`tearsheet`
        as it is, any other exception prefixed by its type).
    """
    try:
        path = tearsheet(returns, benchmark, output, title, benchmark_name=benchmark_name,
                         periods=periods)  # fmt: skip
    except Exception as exc:  # QuantStats can raise anything
        text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        error = text if text.startswith("tearsheet: ") else f"{type(exc).__name__}: {text}"
        warnings.warn(
            f"TearSheet: no tear sheet written to {output} (the backtest's other results are "
            f"kept): {error.removeprefix('tearsheet: ')}",
            TearSheetWarning,
            stacklevel=2,
        )
        return None, error
    return path, None


def _areas(weights: pd.DataFrame) -> pd.DataFrame:
    """The areas :func:`plot_weights` stacks: weights >= 0 of the assets ever weighted, beyond
    :data:`MAX_WEIGHT_AREAS` of them the largest by average weight (in column order) and "other"."""
    data = weights.fillna(0.0).clip(lower=0.0)
    data = data.loc[:, data.sum() > 0]
    if data.shape[1] <= MAX_WEIGHT_AREAS:
        return data
    top = set(data.mean().nlargest(MAX_WEIGHT_AREAS).index)
    rest = [c for c in data.columns if c not in top]
    other = data[rest].sum(axis=1)
    data = data[[c for c in data.columns if c in top]].copy()
    data.insert(MAX_WEIGHT_AREAS, f"other ({len(rest)} assets)", other, allow_duplicates=True)
    return data


def plot_weights(
    weights: pd.DataFrame,
    output: str | PathLike[str] = "weights.png",
    title: str = "Portfolio weights",
) -> Path:
    """Stacked-area chart of weights over time (rows = dates, columns = assets), saved as PNG.

    Negative or NaN weights are drawn as 0; the white space above the stack is cash. With more than
    :data:`MAX_WEIGHT_AREAS` assets ever weighted, the largest by average weight keep their own area
    and legend entry and the rest are stacked as one grey ``"other (N assets)"`` on top.
    """
    if not isinstance(weights, pd.DataFrame) or weights.empty:
        raise ValueError("plot_weights: weights must be a non-empty DataFrame (dates x assets).")
    from matplotlib import colormaps
    from matplotlib.figure import Figure  # no pyplot: no GUI backend needed, none changed

    data = _areas(weights)
    colors: list[Any] = [colormaps["tab20"](i % 20) for i in range(data.shape[1])]
    if data.shape[1] > MAX_WEIGHT_AREAS:
        colors[-1] = "lightgrey"  # "other"
    fig = Figure(figsize=(11, 5.5))
    ax = fig.subplots()
    ax.stackplot(
        data.index, data.to_numpy().T, labels=list(data.columns), colors=colors, linewidth=0
    )
    ax.set_ylim(0, max(1.0, float(data.sum(axis=1).max())))
    ax.set_ylabel("weight")
    ax.set_title(title)
    ax.legend(loc="center left", bbox_to_anchor=(1.0, 0.5), fontsize=8, frameon=False)
    fig.tight_layout()
    return atomic_savefig(fig, output, dpi=100)


EVENTS_FILE = "events.csv"


def write_events_csv(table: pd.DataFrame, folder: Path) -> bool:
    """Write an events table (skips, failures, fallbacks) to ``folder/events.csv`` if it has rows.

    ``date`` is written as ``YYYY-MM-DD``. With no row, an ``events.csv`` an earlier run left in the
    same folder is removed, so the folder never shows another run's events. Returns whether one was
    written.
    """
    path = Path(folder) / EVENTS_FILE
    if table.empty:
        path.unlink(missing_ok=True)
        return False
    table = table.assign(date=pd.to_datetime(table["date"]).dt.strftime("%Y-%m-%d"))
    atomic_write_text(path, table.to_csv(index=False))
    return True


ORDERS_FILE = "orders.csv"


def write_orders_csv(table: pd.DataFrame, folder: Path) -> Path:
    """Write an order table (``BacktestResult.order_table()``, perhaps with a ``strategy`` column)
    to ``folder/orders.csv``, dates as ``YYYY-MM-DD``; written even when empty (headers only)."""
    table = table.copy()
    for column in ("date", "executed_date"):
        if column in table:
            table[column] = pd.to_datetime(table[column]).dt.strftime("%Y-%m-%d")
    path = Path(folder) / ORDERS_FILE
    atomic_write_text(path, table.to_csv(index=False))
    return path


def markdown_table(table: pd.DataFrame) -> str:
    """A pipe table of ``table`` (index first, left-aligned; the other columns right-aligned)."""
    align = ("left",) + ("right",) * len(table.columns)
    return table.to_markdown(colalign=align, disable_numparse=True)


def write_run_files(result: Any, folder: Path) -> list[str]:
    """Write one backtest's ``weights.csv``, ``returns.csv`` and ``rebalances.csv``; return the names.

    ``weights.csv`` has the target and realised weights of each rebalance (``date, kind, <assets>``),
    ``returns.csv`` the daily returns and ``rebalances.csv`` one row per rebalance.
    """
    folder = Path(folder)
    both = pd.concat([result.target.assign(kind="target"), result.realised.assign(kind="realised")])
    both = both.fillna(0.0).reset_index().sort_values("date", kind="stable")
    columns = ["date", "kind", *[c for c in both.columns if c not in ("date", "kind")]]
    atomic_write_text(
        folder / "weights.csv", both[columns].to_csv(index=False, float_format="%.6f")
    )
    atomic_write_text(
        folder / "returns.csv", result.returns.rename("return").to_csv(float_format="%.8f")
    )
    atomic_write_text(folder / "rebalances.csv", result.rebalances.to_csv(float_format="%.6f"))
    return ["weights.csv", "returns.csv", "rebalances.csv"]


def write_comparison(results: Any, benchmark: pd.Series, folder: Path) -> str:
    """Write ``comparison.csv`` / ``comparison.md`` / ``returns.csv`` of several backtests.

    The table has the :data:`METRICS` rows plus mean turnover, costs and rejected orders, one
    column per run and the benchmark's; returns the markdown table.
    """
    folder = Path(folder)
    table = metrics_table(
        {r.name: r.returns for r in results}, benchmark, benchmark_name=str(benchmark.name)
    )
    trading = {
        "Mean turnover": lambda r: r.rebalances["turnover"].mean(),
        "Costs": lambda r: r.rebalances["costs"].sum(),
        "Rejected orders": lambda r: float(r.n_rejected),
    }
    extra = pd.DataFrame({r.name: [f(r) for f in trading.values()] for r in results},
                         index=list(trading))  # fmt: skip
    full = pd.concat([table, extra])
    full.index.name = "metric"
    atomic_write_text(folder / "comparison.csv", full.to_csv(float_format="%.6f"))
    formatted = format_metrics(table)
    for r in results:
        formatted.loc["Mean turnover", r.name] = f"{trading['Mean turnover'](r) * 100:.2f}%"
        formatted.loc["Costs", r.name] = f"{trading['Costs'](r):,.0f}"
        formatted.loc["Rejected orders", r.name] = str(r.n_rejected)
    markdown = markdown_table(formatted.fillna(""))
    atomic_write_text(folder / "comparison.md", markdown + "\n")
    atomic_write_text(
        folder / "returns.csv",
        pd.DataFrame({r.name: r.returns for r in results}).to_csv(float_format="%.8f"),
    )
    return markdown

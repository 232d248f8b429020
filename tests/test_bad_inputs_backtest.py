"""Bad inputs on the backtrader side and the command line (review items 1, 6, 8, 9 and 10).

A run that never trades keeps its results and says why (no SciPy traceback from QuantStats); an
unusable direct-weights prediction skips the rebalance instead of selling everything; ``run_backtest``
names duplicate or text columns and bad dates, handles tz-aware dates and NumPy numbers; the CLI
checks option values before any data warning, says where the data is when the period misses it, and
prints every error (usage errors too) as one line. Tiny synthetic data throughout.
"""

from __future__ import annotations

import logging
import warnings
from typing import Any, ClassVar

import backtrader as bt
import numpy as np
import pandas as pd
import pytest
from _btutil import catalogue_prices

from seqfolio.allocators import ALLOCATORS, AllocationError, MeanVariance
from seqfolio.allocators.registry import _Entry
from seqfolio.backtest import run_backtest
from seqfolio.cli import main
from seqfolio.reporting import TearSheetWarning, tearsheet
from seqfolio.signals import LSTMAllocator, LSTMForecaster
from seqfolio.strategies import (
    ModelWeights,
    RebalanceContext,
    RebalanceStrategy,
    TearSheet,
    add_price_feeds,
    price_feeds,
)

N_BARS = 160
ASSETS = ["A", "B", "C"]
INFEASIBLE_TOML = (  # every rebalance infeasible: the minimum volatility is about 0.08
    'allocator = "mvo"\n[allocator_params]\n'
    'objective = "efficient_risk"\ntarget_volatility = 0.01\n'
)


def _prices(n: int = N_BARS, assets: list[str] = ASSETS, seed: int = 0) -> pd.DataFrame:
    return catalogue_prices(n, assets, seed)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return _prices()


@pytest.fixture(scope="module")
def bench(prices: pd.DataFrame) -> pd.Series:
    return _prices(seed=7, assets=["IDX"])["IDX"].rename("IDX")


class AlwaysInfeasible(MeanVariance):
    """A MeanVariance whose optimisation never has a solution (every rebalance is skipped)."""

    def fit(self, returns: pd.DataFrame, *args: Any, **kwargs: Any) -> AlwaysInfeasible:
        raise AllocationError("AlwaysInfeasible.fit found no solution (by construction)")


def _cli(args: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    status = main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.out, captured.err


def _errors(err: str) -> list[str]:
    return [line for line in err.splitlines() if line.startswith("seqfolio: error: ")]


@pytest.fixture
def files(tmp_path, prices: pd.DataFrame, bench: pd.Series) -> dict[str, str]:
    prices.to_csv(tmp_path / "prices.csv")
    bench.to_frame().to_csv(tmp_path / "bench.csv")
    (tmp_path / "er.toml").write_text(INFEASIBLE_TOML)
    return {"data": str(tmp_path / "prices.csv"), "bench": str(tmp_path / "bench.csv"),
            "config": str(tmp_path / "er.toml")}  # fmt: skip


def _base(files: dict[str, str]) -> list[str]:
    return ["--data", files["data"], "--benchmark", files["bench"], "--lookback", "20",
            "--start", "2021-01-01", "--end", "2021-12-31", "--quiet"]  # fmt: skip


# =================================================================================================
# item 1: a run that never trades (and other tear sheet failures)
# =================================================================================================
@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        (dict(lookback=500), "warm-up: "),
        (dict(lookback=20, allocator=MeanVariance(objective="efficient_risk",
                                                  target_volatility=0.01)),
         "MeanVariance failed: "),
    ],
    ids=["lookback longer than the data", "every optimisation infeasible"],
)  # fmt: skip
def test_run_backtest_that_never_trades_keeps_its_results_and_warns(
    prices, bench, tmp_path, kwargs, reason
):
    path = tmp_path / "ts.html"
    with pytest.warns(TearSheetWarning) as caught:
        result = run_backtest(prices, tearsheet=path, benchmark=bench, **kwargs)
    (warning,) = [w for w in caught if w.category is TearSheetWarning]
    message = str(warning.message)
    kept = "(the backtest's other results are kept)"
    assert f"TearSheet: no tear sheet written to {path} {kept}" in message
    assert "the returns of 'MeanVariance monthly'" in message or "'HRP monthly'" in message
    assert "are all 0 over 2021-01-01 .. 2021-08-12: the strategy never held a position" in message
    assert result.tearsheet is None and not path.exists()
    assert result.tearsheet_error.startswith("tearsheet: the returns of ")
    assert result.rebalances.empty
    assert len(result.returns) == len(prices) and (result.returns == 0).all()
    assert result.first_skip()[1].startswith(reason)
    assert result.final_value == 1_000_000.0


def test_tearsheet_analyzer_never_aborts_the_run(prices, bench, tmp_path):
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, prices)
    cerebro.addstrategy(RebalanceStrategy, allocator="hrp", lookback=500)
    cerebro.addanalyzer(TearSheet, _name="ts", output=tmp_path / "t.html", benchmark=bench)
    with pytest.warns(TearSheetWarning, match="never held a position"):
        strategy = cerebro.run()[0]
    sheet = strategy.analyzers.ts
    assert sheet.path is None and "are all 0" in sheet.error
    assert len(sheet.returns) == len(prices)
    assert strategy.skipped  # the strategy's own record survives


def test_tearsheet_analyzer_rejects_a_non_series_benchmark_before_the_run(prices):
    cerebro = bt.Cerebro(stdstats=False)
    add_price_feeds(cerebro, prices)
    cerebro.addstrategy(RebalanceStrategy, allocator="hrp", lookback=20)
    cerebro.addanalyzer(TearSheet, output=None, benchmark=prices)  # a DataFrame
    with pytest.raises(TypeError, match=r"'benchmark' must be a pandas Series .* Got DataFrame"):
        cerebro.run()


@pytest.mark.parametrize("with_benchmark", [False, True])
def test_tearsheet_refuses_constant_returns(prices, bench, tmp_path, with_benchmark):
    zeros = pd.Series(0.0, index=prices.index, name="Idle")
    benchmark = bench if with_benchmark else None
    with pytest.raises(ValueError, match=r"tearsheet: the returns of 'Idle' are all 0 over "
                                         r"2021-01-01 .. 2021-08-12: the strategy never held"):  # fmt: skip
        tearsheet(zeros, benchmark=benchmark, output=tmp_path / "t.html")
    flat = pd.Series(0.001, index=prices.index, name="Flat")
    with pytest.raises(ValueError, match=r"are the same \(0.001\) on every one of the 160 days"):
        tearsheet(flat, benchmark=benchmark, output=tmp_path / "t.html")
    assert not (tmp_path / "t.html").exists()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_run_that_trades_once_gets_a_tear_sheet(prices, bench, tmp_path):
    """Nearly constant returns: one rebalance, decided on the second-to-last bar (one non-zero
    return, the fill), still gives a tear sheet, and so does a run with a single monthly rebalance."""
    decide = prices.index[-2].date()
    with warnings.catch_warnings():
        warnings.simplefilter("error", TearSheetWarning)
        last = run_backtest(prices, lookback=20, rebalance=lambda d: d == decide,
                            tearsheet=tmp_path / "last.html", benchmark=bench)  # fmt: skip
        once = run_backtest(prices, lookback=135, tearsheet=tmp_path / "once.html",
                            benchmark=bench)  # fmt: skip
    assert len(last.rebalances) == 1 and (last.returns != 0).sum() == 1
    assert len(once.rebalances) == 1
    for result in (last, once):
        assert result.tearsheet is not None and result.tearsheet.stat().st_size > 0
        assert result.tearsheet_error is None


@pytest.fixture
def quantstats_breaks(monkeypatch: pytest.MonkeyPatch) -> None:
    import quantstats as qs

    def broken(*args: Any, **kwargs: Any) -> None:
        raise ZeroDivisionError("float division by zero")

    monkeypatch.setattr(qs.reports, "html", broken)


def test_a_quantstats_failure_keeps_the_backtest(prices, bench, tmp_path, quantstats_breaks):
    with pytest.warns(TearSheetWarning, match=r"ZeroDivisionError: float division by zero"):
        result = run_backtest(prices, lookback=20, tearsheet=tmp_path / "t.html", benchmark=bench)
    assert len(result.rebalances) > 0
    assert result.tearsheet is None and result.tearsheet_error == (
        "ZeroDivisionError: float division by zero"
    )


def test_cli_backtest_that_never_trades_writes_what_it_can(tmp_path, capsys, files):
    out = tmp_path / "o"
    out.mkdir()
    for stale in ("tearsheet.html", "weights.png"):  # left by an earlier run in the same folder
        (out / stale).write_text("an earlier run")
    args = ["backtest", *_base(files), "--config", files["config"], "--out", str(out)]
    status, printed, err = _cli([a for a in args if a != "--quiet"], capsys)
    assert status == 1
    (error,) = _errors(err)
    assert error.startswith(
        "seqfolio: error: MeanVariance(objective=efficient_risk, target_volatility=0.01) monthly never traded: all 8 scheduled rebalances were "
        "skipped (first: 2021-02-01 MeanVariance failed: MeanVariance(objective='efficient_risk')"
        ".fit found no solution"
    ), error
    assert error.endswith(f"; see {out / 'events.csv'}")
    assert "seqfolio: warning: MeanVariance(objective=efficient_risk, target_volatility=0.01) monthly: TearSheet: no tear sheet written to" in err
    assert "the strategy never held a position" in err
    lines = printed.splitlines()
    assert lines[0].startswith("MeanVariance(objective=efficient_risk, target_volatility=0.01) monthly: 2021-01-01 .. 2021-08-12, 0 rebalances "
                               "(never traded), final value 1,000,000, 8 rebalances skipped")  # fmt: skip
    assert lines[-1] == (
        f"wrote {out / 'weights.csv'}, returns.csv, rebalances.csv, orders.csv, events.csv"
    )
    returns = pd.read_csv(out / "returns.csv", index_col=0)
    assert len(returns) == N_BARS and (returns["return"] == 0).all()
    events = pd.read_csv(out / "events.csv")
    assert (events["kind"] == "allocation_failed").sum() == 7
    assert pd.read_csv(out / "rebalances.csv").empty and pd.read_csv(out / "weights.csv").empty
    assert not (out / "tearsheet.html").exists() and not (out / "weights.png").exists()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cli_backtest_with_a_quantstats_failure_writes_the_rest(
    tmp_path, capsys, files, quantstats_breaks
):
    out = tmp_path / "o"
    out.mkdir()
    (out / "tearsheet.html").write_text("an earlier run")
    status, printed, err = _cli(["backtest", *_base(files), "--out", str(out)], capsys)
    assert status == 0 and _errors(err) == []
    (warning,) = [line for line in err.splitlines() if line.startswith("seqfolio: warning: ")]
    assert "TearSheet: no tear sheet written to" in warning
    assert warning.endswith("ZeroDivisionError: float division by zero")
    for name in ("weights.png", "weights.csv", "returns.csv", "rebalances.csv"):
        assert (out / name).stat().st_size > 0, name
    assert not (out / "tearsheet.html").exists()  # not the earlier run's


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cli_compare_with_a_quantstats_failure_writes_the_comparison(
    tmp_path, capsys, files, quantstats_breaks
):
    out = tmp_path / "o"
    args = ["compare", "--allocators", "ew,ivp", *_base(files), "--out", str(out)]
    status, printed, err = _cli([a for a in args if a != "--quiet"], capsys)
    assert status == 0 and _errors(err) == []
    warned = [line for line in err.splitlines() if "no tear sheet written to" in line]
    assert len(warned) == 2 and all(line.startswith("seqfolio: warning: ") for line in warned)
    assert printed.splitlines()[-1].endswith(
        "comparison.csv, returns.csv, orders.csv, events.csv"
    )
    table = pd.read_csv(out / "comparison.csv", index_col=0)
    assert list(table.columns) == ["EqualWeight monthly", "InverseVariance monthly", "IDX"]


def _compare(tmp_path, capsys, files, monkeypatch, allocators: str) -> tuple[int, str, str]:
    # "mvo" names an allocator that is never feasible (the registry is what the CLI reads)
    monkeypatch.setitem(ALLOCATORS._entries, "mvo", _Entry(AlwaysInfeasible))
    args = ["compare", "--allocators", allocators, *_base(files), "--out", str(tmp_path / "o")]
    return _cli(args, capsys)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_cli_compare_goes_on_when_one_allocator_never_trades(tmp_path, capsys, files, monkeypatch):
    status, _, err = _compare(tmp_path, capsys, files, monkeypatch, "ew,mvo,ivp")
    out = tmp_path / "o"
    assert status == 1
    (error,) = _errors(err)
    assert error.startswith(
        "seqfolio: error: 1 of 3 allocators never traded and are left out of the comparison: "
        "AlwaysInfeasible monthly never traded: all 8 scheduled rebalances were skipped (first: "
        "2021-02-01 AlwaysInfeasible failed: AlwaysInfeasible.fit found no solution"
    ), error
    table = pd.read_csv(out / "comparison.csv", index_col=0)
    assert list(table.columns) == ["EqualWeight monthly", "InverseVariance monthly", "IDX"]
    assert list(pd.read_csv(out / "returns.csv", index_col=0).columns) == list(table.columns[:2])
    assert (out / "tearsheet_ew.html").is_file() and (out / "tearsheet_ivp.html").is_file()
    assert not (out / "tearsheet_mvo.html").exists()
    events = pd.read_csv(out / "events.csv")
    failed = events[events["kind"] == "allocation_failed"]
    assert set(failed["strategy"]) == {"AlwaysInfeasible monthly"} and len(failed) == 7


def test_cli_compare_where_no_allocator_trades(tmp_path, capsys, files, monkeypatch):
    status, _, err = _compare(tmp_path, capsys, files, monkeypatch, "mvo")
    assert status == 1
    (error,) = _errors(err)
    assert error.startswith(
        "seqfolio: error: no allocator traded, so there is nothing to compare: AlwaysInfeasible "
        "monthly never traded: all 8 scheduled rebalances were skipped"
    )
    out = tmp_path / "o"
    assert (out / "events.csv").is_file() and not (out / "comparison.csv").exists()


# =================================================================================================
# item 6: a direct-weights model with unusable weights never liquidates silently
# =================================================================================================
class _FakeModel:
    history_length_ = 5


class _FakeWalkForward:
    last_failure = None

    def __init__(self, output: Any) -> None:
        self.output = output

    def ensure(self, date: pd.Timestamp) -> _FakeModel:
        return _FakeModel()

    def predict(self, returns: pd.DataFrame) -> pd.Series:
        if isinstance(self.output, Exception):
            raise self.output
        return self.output


@pytest.mark.parametrize(
    ("output", "reason"),
    [
        (pd.Series([np.nan, np.nan, np.nan], index=ASSETS), "_FakeModel returned non-finite "
                                                           "weights for ['A', 'B', 'C']"),
        (pd.Series([0.5, np.inf, 0.5], index=ASSETS), "non-finite weights for ['B']"),
        (pd.Series([0.0, 0.0, 0.0], index=ASSETS), "_FakeModel returned no positive weight"),
        (pd.Series([], dtype=float), "_FakeModel returned no positive weight"),
        (ValueError("no asset has complete returns"), "_FakeModel failed: no asset has complete"),
    ],
    ids=["nan", "inf", "zeros", "empty", "predict raises"],
)  # fmt: skip
def test_model_weights_skip_unusable_weights(prices, output, reason, caplog):
    step = ModelWeights(_FakeWalkForward(output))  # type: ignore[arg-type]
    window = prices.iloc[:30]
    ctx = RebalanceContext(date=window.index[-1], prices=window, tradable=ASSETS,
                           returns=window.pct_change().iloc[1:])  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="seqfolio"):
        step(ctx)
    assert ctx.weights is None and ctx.skip_reason is not None and reason in ctx.skip_reason
    assert [(e.date, e.kind, e.reason) for e in ctx.events] == [
        (window.index[-1], "allocation_failed", ctx.skip_reason)
    ]
    assert any("rebalance skipped, portfolio kept" in m for m in caplog.messages)


class NaNAfterFirst(LSTMAllocator):
    """An LSTMAllocator whose predictions are NaN after its first one (e.g. a poisoned model)."""

    calls: ClassVar[list[int]] = []

    def predict(self, returns: pd.DataFrame) -> pd.Series:
        weights = super().predict(returns)
        NaNAfterFirst.calls.append(1)
        return weights if len(NaNAfterFirst.calls) == 1 else weights * np.nan


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_nan_model_weights_keep_the_portfolio(monkeypatch):
    monkeypatch.setattr(NaNAfterFirst, "calls", [])
    prices = _prices(n=220)
    model = NaNAfterFirst(window=10, hidden_size=4, max_epochs=1, n_threads=1, random_state=0)
    result = run_backtest(prices, allocator=model, lookback=20, train_window=100,
                          retrain="quarterly", start=prices.index[100])  # fmt: skip
    assert len(result.rebalances) == 1  # the first prediction traded, the NaN ones did not
    assert result.allocation_failures
    assert all(
        "NaNAfterFirst returned non-finite weights" in r for _, r in result.allocation_failures
    )
    assert set(result.allocation_failures) <= set(result.skipped)
    held = result.weights.iloc[-1]
    assert held.sum() > 0.9  # still invested at the end: nothing was sold


class BrokenAfterFirst(LSTMForecaster):
    """A volatility forecaster whose predictions fail after its first one (e.g. a poisoned model)."""

    calls: ClassVar[list[int]] = []

    def predict(self, prices: pd.DataFrame) -> pd.Series:
        BrokenAfterFirst.calls.append(1)
        if len(BrokenAfterFirst.calls) > 1:
            raise ValueError("the network returned 3 non-finite forecast(s)")
        return super().predict(prices)


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_failed_forecast_skips_the_rebalance_and_keeps_the_portfolio(monkeypatch, caplog):
    monkeypatch.setattr(BrokenAfterFirst, "calls", [])
    prices = _prices(n=220)
    signal = BrokenAfterFirst(target="volatility", window=10, horizon=5, hidden_size=4,
                              max_epochs=1, n_threads=1, random_state=0)  # fmt: skip
    with caplog.at_level(logging.WARNING, logger="seqfolio"):
        result = run_backtest(prices, allocator="hrp", signal=signal, lookback=20,
                              train_window=100, retrain="quarterly",
                              start=prices.index[100])  # fmt: skip
    assert len(result.rebalances) == 1  # the first forecast traded, the failed ones did not
    assert len(result.forecast_failures) >= 2 and not result.allocation_failures
    assert all(
        "BrokenAfterFirst forecast failed: the network returned 3 non-finite" in r
        for _, r in result.forecast_failures
    )
    assert set(result.forecast_failures) <= set(result.skipped)
    events = result.events()
    assert (events.loc[events["reason"].str.contains("forecast failed"), "kind"]
            == "forecast_failed").all()  # fmt: skip
    assert (events["kind"] == "forecast_failed").sum() == len(result.forecast_failures)
    assert any("rebalance skipped, portfolio kept" in m for m in caplog.messages)
    assert np.isfinite(result.returns.to_numpy()).all()
    assert result.weights.iloc[-1].sum() > 0.9  # still invested at the end: nothing was sold


# =================================================================================================
# item 8: raw pandas errors through run_backtest / price_feeds
# =================================================================================================
def test_duplicate_columns_are_named(prices):
    twins = prices.set_axis(["A", "A", "B"], axis=1)
    with pytest.raises(ValueError, match=r"run_backtest: prices have duplicate columns \['A'\]; "
                                         r"give each asset one column"):  # fmt: skip
        run_backtest(twins, lookback=20)
    with pytest.raises(ValueError, match=r"price_feeds: prices have duplicate columns \['A'\]"):
        price_feeds(twins)


def test_text_column_is_named(prices):
    text = prices.astype(object)
    text.iloc[5, 2] = "x"
    with pytest.raises(ValueError, match=r"price_feeds: prices columns \['C'\] are not numeric \(e.g. 'x' "
                                         r"on 2021-01-08\); prices must be numbers"):  # fmt: skip
        run_backtest(text, lookback=20)


def _same_run(a: Any, b: Any) -> None:
    pd.testing.assert_series_equal(a.returns, b.returns)
    pd.testing.assert_frame_equal(a.target, b.target)
    assert a.final_value == b.final_value


@pytest.mark.parametrize(
    ("zone", "start", "end"),
    [
        ("UTC", "2021-03-01", "2021-07-01"),
        ("UTC", pd.Timestamp("2021-03-01", tz="UTC"), pd.Timestamp("2021-07-01", tz="UTC")),
        # 05:00 UTC is midnight in New York, the prices' zone: converted there, then made naive
        ("America/New_York", pd.Timestamp("2021-03-01 05:00", tz="UTC"), "2021-07-01"),
    ],
    ids=["aware prices, naive dates", "aware prices and dates", "dates in another zone"],
)
def test_tz_aware_prices_and_dates_match_the_naive_run(prices, zone, start, end):
    naive = run_backtest(prices, lookback=20, start="2021-03-01", end="2021-07-01")
    aware = run_backtest(prices.tz_localize(zone), lookback=20, start=start, end=end)
    _same_run(aware, naive)


def test_tz_aware_start_on_naive_prices(prices):
    naive = run_backtest(prices, lookback=20, start="2021-03-01")
    aware = run_backtest(prices, lookback=20, start=pd.Timestamp("2021-03-01", tz="Europe/Paris"))
    _same_run(aware, naive)


def test_tz_aware_start_in_your_own_cerebro(prices):
    def records(start: Any) -> list[pd.Timestamp]:
        cerebro = bt.Cerebro(stdstats=False)
        add_price_feeds(cerebro, prices)
        cerebro.addstrategy(RebalanceStrategy, allocator="hrp", lookback=20, start=start)
        return [r.date for r in cerebro.run()[0].records]

    naive = records("2021-03-01")
    assert naive[0] == pd.Timestamp("2021-03-01")
    assert records(pd.Timestamp("2021-03-01", tz="Asia/Tokyo")) == naive


@pytest.mark.parametrize("value", ["garbage", 2018, 2018.0, True], ids=repr)
@pytest.mark.parametrize("name", ["end", "start"])
def test_unparseable_dates_name_the_parameter(prices, name, value):
    # a number is refused too: pd.Timestamp(2018) is 2018 ns after 1970, so it would mean "no bound"
    with pytest.raises(ValueError, match=rf"The '{name}' parameter of run_backtest must be a date "
                                         rf"\(e.g. '2021-06-30'\) or None. Got {value!r} instead."):  # fmt: skip
        run_backtest(prices, lookback=20, **{name: value})
    with pytest.raises(ValueError, match=rf"The 'start' parameter of RebalanceStrategy must be a "
                                         rf"date .* Got {value!r} instead."):  # fmt: skip
        cerebro = bt.Cerebro(stdstats=False)
        add_price_feeds(cerebro, prices)
        cerebro.addstrategy(RebalanceStrategy, allocator="hrp", lookback=20, start=value)
        cerebro.run()


def test_end_before_the_data(prices):
    with pytest.raises(ValueError, match=r"run_backtest: no prices on or before end='2020-06-01': "
                                         r"the prices start on 2021-01-01"):  # fmt: skip
        run_backtest(prices, lookback=20, end="2020-06-01")


def test_numpy_numbers_are_accepted(prices):
    plain = run_backtest(prices, lookback=20, cash=1000.0, commission=float(np.float32(0.001)))
    numpy = run_backtest(prices, lookback=20, cash=np.int64(1000), commission=np.float32(0.001))
    _same_run(numpy, plain)
    for bad in (dict(commission=False), dict(cash=True), dict(cash=np.bool_(True))):
        with pytest.raises(ValueError, match=r"The '(commission|cash)' parameter of run_backtest"):
            run_backtest(prices, lookback=20, **bad)


def test_cli_unknown_allocator_with_a_signal(tmp_path, capsys, files):
    args = ["backtest", "--data", files["data"], "--allocator", "foo", "--signal", "lstm-vol",
            "--train-window", "30", "--out", str(tmp_path / "o"), "--quiet"]  # fmt: skip
    status, _, err = _cli(args, capsys)
    assert status == 1
    (error,) = _errors(err)
    assert "--allocator foo: must be one of ['ew', 'herc', 'hrp'," in error
    assert not (tmp_path / "o").exists()  # refused before any work


# =================================================================================================
# issue 19 item 2: bad bars in a user's own feeds (any feed class) are named, not traded
# =================================================================================================
BAD_DAY = pd.Timestamp("2021-03-03")


def _faulty(frame: pd.DataFrame, fault: str) -> pd.DataFrame:
    """``frame`` (open, close) with one bad row in column B's feed on BAD_DAY."""
    out = frame.copy()
    if fault == "negative close":
        out.loc[BAD_DAY, "close"] = -out.loc[BAD_DAY, "close"]
    elif fault == "zero close":
        out.loc[BAD_DAY, "close"] = 0.0
    elif fault == "negative open":
        out.loc[BAD_DAY, "open"] = -1.0
    elif fault == "no open column":
        out = out.drop(columns="open")
    elif fault == "duplicate timestamp":
        out = pd.concat([out, out.loc[[BAD_DAY]]]).sort_index(kind="stable")
    elif fault == "swapped rows":
        i = out.index.get_loc(BAD_DAY)
        labels = out.index.tolist()
        labels[i - 1], labels[i] = labels[i], labels[i - 1]
        out.index = pd.DatetimeIndex(labels)
    return out


FAULTS = {
    "negative close": r"feed 'B' has a close of -\d+\.?\d* on 2021-03-03; prices must be > 0",
    "zero close": r"feed 'B' has a close of 0 on 2021-03-03; prices must be > 0",
    "negative open": r"feed 'B' has an open of -1 on 2021-03-03; orders fill at the next bar's open",
    "no open column": r"feed 'A' has no open \(NaN\) on 2021-01-01; orders fill at the next bar's",
    "duplicate timestamp": r"feed 'B' has two bars stamped 2021-03-03; .* Keep one row per date",
    "swapped rows": r"feed 'B' goes back in time: its bar of 2021-03-02 comes after one of "
    r"2021-03-03. Sort the feed's data by date",
}


def _own_feeds(prices, form, fault, tmp_path) -> list[bt.AbstractDataBase]:
    feeds = []
    for column in prices.columns:
        frame = prices[[column]].rename(columns={column: "close"}).assign(open=prices[column])
        if column == "B" or fault == "no open column":
            frame = _faulty(frame, fault)
        if form == "PandasData":
            feeds.append(bt.feeds.PandasData(dataname=frame))
        elif form == "PandasData, datetime column":
            frame = frame.rename_axis("date").reset_index()
            feeds.append(bt.feeds.PandasData(dataname=frame, datetime="date"))
        else:
            path = tmp_path / f"{column}.csv"
            frame.reindex(columns=["open", "close"]).to_csv(path, index_label="date")
            open_ = 1 if "open" in frame else -1
            feeds.append(bt.feeds.GenericCSVData(
                dataname=str(path), dtformat="%Y-%m-%d", datetime=0, open=open_, high=-1, low=-1,
                close=2, volume=-1, openinterest=-1,
            ))  # fmt: skip
    return feeds


def _run_own_feeds(feeds, names, **mode) -> None:
    cerebro = bt.Cerebro(stdstats=False, **mode)
    for feed, name in zip(feeds, names, strict=True):
        cerebro.adddata(feed, name=name)
    cerebro.broker.setcash(100_000.0)
    cerebro.addstrategy(RebalanceStrategy, allocator="hrp", lookback=20)
    cerebro.run()


@pytest.mark.parametrize("form", ["PandasData", "PandasData, datetime column", "GenericCSVData"])
@pytest.mark.parametrize("fault", list(FAULTS))
def test_bad_bars_in_your_own_feeds_are_named(prices, tmp_path, form, fault):
    """Before the fix a negative close, a duplicate or a step back in time ran to the end and
    changed the result silently (a missing open gave "the broker's portfolio value is NaN")."""
    feeds = _own_feeds(prices, form, fault, tmp_path)
    with pytest.raises(ValueError, match="RebalanceStrategy: " + FAULTS[fault]):
        _run_own_feeds(feeds, list(prices.columns))


MODES = [dict(preload=False), dict(runonce=False), dict(exactbars=-1), dict(exactbars=1),
         dict(preload=False, exactbars=-1)]  # fmt: skip


@pytest.mark.parametrize(
    ("fault", "mode"),
    [(f, m) for f in ("negative close", "duplicate timestamp", "swapped rows") for m in MODES
     if f == "negative close" or m.get("exactbars") != 1],  # exactbars=1 needs aligned feeds
    ids=str,
)  # fmt: skip
def test_bad_bars_are_named_under_every_run_mode(prices, tmp_path, fault, mode):
    feeds = _own_feeds(prices, "PandasData", fault, tmp_path)
    with pytest.raises(ValueError, match="RebalanceStrategy: " + FAULTS[fault]):
        _run_own_feeds(feeds, list(prices.columns), **mode)


def test_a_bad_bar_after_the_last_rebalance_is_named_at_the_end(prices, tmp_path):
    last = prices.index[-1]
    feeds = []
    for column in prices.columns:
        frame = prices[[column]].rename(columns={column: "close"}).assign(open=prices[column])
        if column == "C":
            frame.loc[last, "close"] = -5.0
        feeds.append(bt.feeds.PandasData(dataname=frame))
    with pytest.raises(ValueError, match=rf"feed 'C' has a close of -5 on {last.date()}"):
        _run_own_feeds(feeds, list(prices.columns))


def test_price_feeds_name_the_repeated_or_unsorted_date_and_the_bad_price(prices):
    twice = pd.concat([prices, prices.iloc[[5]]]).sort_index(kind="stable")
    with pytest.raises(ValueError, match=r"price_feeds: the prices' index must be sorted and "
                                         r"unique: 2021-01-08 appears 2 times; keep one row per "
                                         r"date"):  # fmt: skip
        add_price_feeds(bt.Cerebro(), twice)
    with pytest.raises(ValueError, match=r"run_backtest: the prices' index must be sorted and "
                                         r"unique: row 1 \(2021-08-11\) comes before the row "
                                         r"above it; sort it first \(prices.sort_index\(\)\)"):  # fmt: skip
        run_backtest(prices.iloc[::-1], lookback=20)
    negative = prices.copy()
    negative.iloc[3, 0] = -1.0
    with pytest.raises(ValueError, match=r"price_feeds: column 'A' has a non-positive price "
                                         r"\(-1\) on 2021-01-06; prices must be positive and finite"):  # fmt: skip
        price_feeds(negative)


# =================================================================================================
# item 9: command-line messages
# =================================================================================================
def test_cli_period_before_the_data(tmp_path, capsys, files):
    args = ["backtest", "--data", files["data"], "--start", "2020-01-01", "--end", "2020-06-01",
            "--out", str(tmp_path / "o"), "--quiet"]  # fmt: skip
    status, _, err = _cli(args, capsys)
    assert status == 1
    assert _errors(err) == [
        "seqfolio: error: the price data starts on 2021-01-01, after --end 2020-06-01; choose an "
        "--end after the first price (or other --data)"
    ]


def test_cli_period_inside_a_gap_of_the_data(tmp_path, capsys, prices):
    gap = prices.drop(prices.loc["2021-03-01":"2021-04-30"].index)
    gap.to_csv(tmp_path / "gap.csv")
    args = ["backtest", "--data", str(tmp_path / "gap.csv"), "--start", "2021-03-10", "--end",
            "2021-04-20", "--out", str(tmp_path / "o"), "--quiet"]  # fmt: skip
    status, _, err = _cli(args, capsys)
    assert status == 1
    (error,) = _errors(err)
    assert "has no row from --start 2021-03-10 to --end 2021-04-20: it has a gap from " in error
    assert "gap from 2021-02-26 to 2021-05-03; choose dates inside the data" in error


@pytest.mark.parametrize(
    ("option", "message"),
    [
        (["--lookback", "-5"], "--lookback -5: must be an int >= 2"),
        (["--rebalance", "montly"], "--rebalance montly: must be one of ['daily', 'weekly', "),
        (["--cash-buffer", "0.7"], "--cash-buffer 0.7: must be a float in [0.0, 0.5)"),
        (["--cash", "-1"], "--cash -1.0: must be a positive number"),
    ],
    ids=["lookback", "rebalance", "cash_buffer", "cash"],
)  # fmt: skip
def test_cli_option_errors_come_before_data_warnings(tmp_path, capsys, files, option, message):
    # --start before the first price would warn; a bad option must fail first, alone
    args = ["backtest", "--data", files["data"], "--start", "2020-06-01", *option,
            "--out", str(tmp_path / "o"), "--quiet"]  # fmt: skip
    status, _, err = _cli(args, capsys)
    assert status == 1
    lines = err.splitlines()  # the error alone: no "--start is before the first price" warning
    assert len(lines) == 1 and lines[0].startswith(f"seqfolio: error: {message}"), err
    assert not (tmp_path / "o").exists()


def test_cli_folder_given_as_a_file(tmp_path, capsys):
    status, _, err = _cli(["backtest", "--data", str(tmp_path), "--quiet",
                           "--out", str(tmp_path / "o")], capsys)  # fmt: skip
    assert status == 1 and "is a folder" in _errors(err)[0]
    status, _, err = _cli(["backtest", "--config", str(tmp_path), "--quiet"], capsys)
    assert status == 1
    assert _errors(err) == [
        f"seqfolio: error: --config {tmp_path} is a folder, not a TOML file; give the path of the file"
    ]


def test_cli_research_commands_print_data_warnings_as_one_line(tmp_path, capsys):
    gappy = _prices(n=300)
    gappy.iloc[150, 1] = np.nan  # a gap inside B's life: read_prices warns and keeps it
    data = tmp_path / "prices.csv"
    gappy.to_csv(data)
    status, _, err = _cli(["walkforward", "--data", str(data), "--allocators", "ew", "--lookback",
                           "40", "--train", "60", "--test", "60", "--out", str(tmp_path / "wf"),
                           "--quiet"], capsys)  # fmt: skip
    assert status == 0
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines and all(line.startswith("seqfolio: warning: ") for line in lines), lines
    assert any("column 'B' has 1 missing price(s) inside its life" in line for line in lines)


# =================================================================================================
# item 10: usage errors are one line too (exit status 2)
# =================================================================================================
@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["backtest", "--lookback", "abc"],
         "seqfolio: error: argument --lookback: invalid int value: 'abc' (see seqfolio backtest "
         "--help)"),
        (["backtest", "--frobnicate"],
         "seqfolio: error: unrecognized arguments: --frobnicate (see seqfolio --help)"),
        (["frobnicate"], "seqfolio: error: argument {backtest,compare,walkforward,tune}: invalid "
                         "choice: 'frobnicate'"),
        ([], "seqfolio: error: the following arguments are required: "),
    ],
    ids=["bad int", "unknown option", "unknown command", "no command"],
)  # fmt: skip
def test_cli_usage_errors_are_one_line_with_status_2(capsys, args, line):
    status, out, err = _cli(args, capsys)
    assert status == 2 and out == ""
    lines = err.splitlines()
    assert len(lines) == 1 and lines[0].startswith(line), err
    assert "usage:" not in err


def test_cli_help_still_prints_usage(capsys):
    status, out, _ = _cli(["backtest", "--help"], capsys)
    assert status == 0 and out.startswith("usage: seqfolio backtest")

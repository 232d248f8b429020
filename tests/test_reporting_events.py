"""Reporting of what went wrong in a run: allocator failures, fallbacks and skipped rebalances reach
``BacktestResult``, the CLI summary line, ``events.csv`` and one end-of-run log line."""

from __future__ import annotations

import logging
import warnings
from types import SimpleNamespace

import pandas as pd
import pytest
from _btutil import ASSETS, FlakyMeanVariance

import seqfolio.cli.engine as cli
from seqfolio.allocators import ALLOCATORS, HRP, Fallback
from seqfolio.allocators.registry import _Entry
from seqfolio.backtest import run_backtest, with_history
from seqfolio.cli import main
from seqfolio.data import load_sample
from seqfolio.strategies import RebalanceStrategy

START, END, LOOKBACK = "2021-01-01", "2021-06-30", 60
SUMMARY = "scheduled rebalances"  # in the end-of-run line of RebalanceStrategy.stop


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return with_history(load_sample("2020-06-01", END, assets=ASSETS), START, LOOKBACK)


@pytest.fixture()
def bad(prices: pd.DataFrame, monkeypatch: pytest.MonkeyPatch) -> pd.Timestamp:
    """The allocator fails on the March rebalance (decided on the first bar of March)."""
    date = prices.index[prices.index >= "2021-03-01"][0]
    monkeypatch.setattr(FlakyMeanVariance, "BAD", date)
    return date


def _backtest(prices: pd.DataFrame, allocator: object) -> object:
    return run_backtest(prices, allocator=allocator, lookback=LOOKBACK, start=START, end=END)


def _summaries(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if SUMMARY in r.getMessage()]


def test_allocation_failure_is_recorded_summarised_and_warned_once(
    prices: pd.DataFrame, bad: pd.Timestamp, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="seqfolio"):
        result = _backtest(prices, FlakyMeanVariance(objective="min_variance"))
    assert [d for d, _ in result.allocation_failures] == [bad]
    assert "FlakyMeanVariance failed: injected solver failure" in result.allocation_failures[0][1]
    assert result.skipped == result.allocation_failures  # the only skip
    assert result.fallbacks == [] and result.retrain_failures == []
    assert len(result.rebalances) == 5  # the other five monthly rebalances traded

    # one summary, a warning, at the end of the run (the per-date line stays at DEBUG)
    (line,) = _summaries(caplog)
    assert line.levelno == logging.WARNING
    assert "1 of 6 scheduled rebalances were skipped" in line.getMessage()
    assert f"first: {bad.date()} FlakyMeanVariance failed" in line.getMessage()
    assert caplog.records.index(line) > max(
        i for i, r in enumerate(caplog.records) if "rebalance skipped" in r.getMessage()
    )

    events = result.events()
    assert list(events.columns) == ["date", "kind", "reason"]
    assert events[["date", "kind"]].values.tolist() == [[bad, "allocation_failed"]]

    summary = cli._summary(result, tmp_path)
    assert "\n" not in summary
    assert summary.endswith(", 1 rebalance skipped (1 allocator failure); see events.csv")
    assert cli._events_csv([result], tmp_path)
    written = pd.read_csv(tmp_path / "events.csv")
    assert list(written.columns) == ["date", "kind", "reason"]
    assert written.values.tolist() == [
        [str(bad.date()), "allocation_failed", result.allocation_failures[0][1]]
    ]


def test_cli_backtest_prints_the_failure_and_writes_events_csv(
    bad: pd.Timestamp, tmp_path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    # the CLI runs a registered allocator by name: here one that fails on one date
    monkeypatch.setitem(ALLOCATORS._entries, "flaky-mvo", _Entry(FlakyMeanVariance))
    args = ["backtest", "--start", START, "--end", END, "--lookback", str(LOOKBACK)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main([*args, "--allocator", "flaky-mvo", "--out", str(tmp_path)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].endswith("1 rebalance skipped (1 allocator failure); see events.csv")
    assert printed[-1].endswith("rebalances.csv, orders.csv, events.csv")
    events = pd.read_csv(tmp_path / "events.csv")
    assert events[["date", "kind"]].values.tolist() == [[str(bad.date()), "allocation_failed"]]


def test_fallback_is_recorded_and_summarised(
    prices: pd.DataFrame, bad: pd.Timestamp, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    allocator = Fallback([FlakyMeanVariance(objective="min_variance"), HRP()])
    with caplog.at_level(logging.INFO, logger="seqfolio"):
        with pytest.warns(RuntimeWarning, match="injected solver failure"):
            result = _backtest(prices, allocator)
    assert [d for d, _ in result.fallbacks] == [bad]
    assert result.fallbacks[0][1].startswith("HRP used: ")
    assert "injected solver failure" in result.fallbacks[0][1]
    assert result.skipped == [] and result.allocation_failures == []
    assert len(result.rebalances) == 6  # nothing lost
    assert _summaries(caplog) == []  # nothing was skipped

    assert result.events()[["date", "kind"]].values.tolist() == [[bad, "fallback"]]
    assert cli._summary(result, tmp_path).endswith(", 1 allocation fell back to HRP; see events.csv")
    assert cli._events_csv([result], tmp_path, by_strategy=True)
    written = pd.read_csv(tmp_path / "events.csv")
    assert list(written.columns) == ["strategy", "date", "kind", "reason"]
    assert written[["strategy", "kind"]].values.tolist() == [[result.name, "fallback"]]


def test_clean_run_reports_nothing_and_writes_no_events_csv(
    prices: pd.DataFrame, tmp_path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG, logger="seqfolio"):
        result = _backtest(prices, "hrp")
    assert result.skipped == result.allocation_failures == result.fallbacks == []
    assert result.retrain_failures == [] and result.events().empty
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert _summaries(caplog) == []
    summary = cli._summary(result, tmp_path)
    assert "skipped" not in summary and "events.csv" not in summary
    (tmp_path / "events.csv").write_text("date,kind,reason\n2020-01-02,skipped,from a run before\n")
    assert not cli._events_csv([result], tmp_path)
    assert not (tmp_path / "events.csv").exists()  # a stale file from an earlier run is removed


def _stub(skipped: list[tuple[pd.Timestamp, str]], walkforward: bool) -> SimpleNamespace:
    from seqfolio.events import Event

    return SimpleNamespace(
        _events=[Event(date, "skipped", reason) for date, reason in skipped],
        records=[object()] * 4, retrainer=object() if walkforward else None,
        _skips_reported=False,
    )  # fmt: skip


@pytest.mark.parametrize(
    "reasons,walkforward,traded,level,text",
    [
        # a walk-forward model not trained yet: expected, INFO
        (["no trained model yet"] * 2, True, True, logging.INFO,
         "2 of 6 scheduled rebalances skipped during warm-up (2021-01-04 .. 2021-02-01; "
         "no trained model yet)"),
        # too little history for the lookback, then trading: expected, INFO
        (["warm-up: 10 bars of history, lookback needs 61"] * 2, False, True, logging.INFO,
         "2 of 6 scheduled rebalances skipped during warm-up"),
        # anything else: one warning, naming the first skip that is not a warm-up
        (["no trained model yet", "HRP failed: boom"], True, True, logging.WARNING,
         "2 of 6 scheduled rebalances were skipped (portfolio left as it was, 1 of them during "
         "warm-up); first: 2021-02-01 HRP failed: boom"),
        (["warm-up: 10 bars of history, lookback needs 61", "HRP failed: boom"], False, True,
         logging.WARNING, "first: 2021-02-01 HRP failed: boom"),
        # warm-up that never ends (the run never traded): a warning
        (["warm-up: 10 bars of history, lookback needs 61"] * 2, False, False, logging.WARNING,
         "2 of 2 scheduled rebalances were skipped (portfolio left as it was); first: 2021-01-04 "
         "warm-up: 10 bars"),
    ],
)  # fmt: skip
def test_end_of_run_line_is_info_only_for_an_expected_warm_up(
    reasons: list[str], walkforward: bool, traded: bool, level: int, text: str, caplog
) -> None:
    dates = pd.to_datetime(["2021-01-04", "2021-02-01"])
    stub = _stub(list(zip(dates, reasons, strict=True)), walkforward)
    if not traded:
        stub.records = []
    with caplog.at_level(logging.DEBUG, logger="seqfolio"):
        RebalanceStrategy._report_skipped(stub)  # type: ignore[arg-type]
        RebalanceStrategy._report_skipped(stub)  # type: ignore[arg-type]  # reported once only
    (line,) = _summaries(caplog)
    assert line.levelno == level and text in line.getMessage()

"""The zipline engine adapter: parity with backtrader, no look-ahead, bundles, delistings, errors.

Skipped where zipline-reloaded is not installed (CI runs these in a second venv with the extra).
Bundles live under a temporary ZIPLINE_ROOT.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("zipline")

from _wfutil import tiny_forecaster  # noqa: E402

from seqfolio.backtest import run_backtest, with_history  # noqa: E402
from seqfolio.data import load_sample  # noqa: E402
from seqfolio.zipline import attach_rebalancer, ingest_prices, run_zipline, zipline_result  # noqa: E402

SMALL = ["AAPL", "JNJ", "KO", "XOM", "WMT"]


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    return tmp_path_factory.mktemp("zipline_root")


def _both(prices, root, name="t", **kw):
    """The same configuration on both engines."""
    z = run_zipline(prices, root=root, bundle=name, **kw)
    b = run_backtest(prices, **kw)
    return z, b


def _assert_parity(z, b):
    assert list(z.target.index) == list(b.target.index)
    assert list(z.target.columns) == list(b.target.columns)
    np.testing.assert_allclose(z.target.to_numpy(), b.target.to_numpy(), rtol=0, atol=1e-12)
    assert abs(z.final_value / b.final_value - 1) < 1e-3


@pytest.mark.slow
def test_hrp_monthly_parity_on_the_bundled_data_and_the_readme_period(root):
    """The README's default run: HRP, monthly, 10 bps, 2005 .. 2022, on both engines."""
    prices = with_history(load_sample().loc[:"2022-12-31"], "2005-01-01", 252)
    z, b = _both(prices, root, "readme", start="2005-01-01", end="2022-12-31", commission=0.001)
    _assert_parity(z, b)
    assert len(z.target) == 216
    assert round(z.final_value) == round(b.final_value) == 6_221_226
    pd.testing.assert_series_equal(z.returns, b.returns, check_exact=False, atol=1e-9)
    pd.testing.assert_frame_equal(z.rebalances, b.rebalances, check_exact=False, rtol=1e-9)


def test_hrp_parity_on_a_short_period(root):
    prices = load_sample("2017-01-01", "2019-12-31", assets=SMALL)
    z, b = _both(prices, root, "short", start="2018-01-01", lookback=60, commission=0.001)
    _assert_parity(z, b)
    assert len(z.target) == 24
    assert z.rebalances["costs"].sum() == pytest.approx(b.rebalances["costs"].sum(), rel=1e-9)
    assert [o.status for o in z.orders] == [o.status for o in b.orders]


@pytest.mark.parametrize("rebalance", ["weekly", "quarterly", "daily"])
def test_schedules_decide_on_the_same_sessions(root, rebalance):
    """ScheduleGate decides on both engines; a start inside a month does not fire at once."""
    prices = load_sample("2018-06-01", "2019-03-31", assets=SMALL)
    z, b = _both(prices, root, "sched", start="2018-11-14", lookback=40, rebalance=rebalance,
                 max_weight=0.3, min_trade=0.01)  # fmt: skip
    _assert_parity(z, b)


def test_lstm_vol_to_hrp_with_quarterly_retraining(root):
    """Same retrain dates, same forecasts, same weights (a tiny network, a short period)."""
    prices = load_sample("2015-01-01", "2018-12-31", assets=SMALL)
    kw = dict(start="2017-01-01", lookback=60, train_window=300, retrain="quarterly")
    z = run_zipline(prices, root=root, bundle="lstm", signal=tiny_forecaster(), **kw)
    b = run_backtest(prices, signal=tiny_forecaster(), **kw)
    assert list(z.retrains.index) == list(b.retrains.index)
    assert len(z.retrains) == 8
    np.testing.assert_allclose(z.forecasts.to_numpy(), b.forecasts.to_numpy(), rtol=0, atol=1e-12)
    _assert_parity(z, b)
    assert z.name == b.name == "LSTM-vol → HRP monthly"


@pytest.mark.slow
def test_lstm_vol_parity_with_the_clis_default_model(root):
    """``seqfolio backtest --signal lstm-vol`` on both engines, shortened to 2021-2022: the CLI's
    default network on the 20 bundled stocks, retrained quarterly on 756 bars. The full 2005-2022
    run (72 retrains) matches too (docs/zipline.md)."""
    from seqfolio.spec import RebalanceSpec

    spec = RebalanceSpec(signal="lstm-vol", commission=0.001)
    prices = with_history(load_sample().loc[:"2022-12-31"], "2021-01-01", spec.history_bars())
    kw = dict(start="2021-01-01", end="2022-12-31")
    z = run_zipline(prices, spec, root=root, bundle="lstm_full", **kw)
    b = run_backtest(prices, spec, **kw)
    assert len(b.retrains) == 8 and (b.retrains["n_bars"] == 756).all()
    columns = ["version", "first_bar", "n_bars", "source", "trigger"]
    pd.testing.assert_frame_equal(z.retrains[columns], b.retrains[columns])
    np.testing.assert_allclose(z.forecasts.to_numpy(), b.forecasts.to_numpy(), rtol=0, atol=1e-12)
    _assert_parity(z, b)
    pd.testing.assert_series_equal(z.returns, b.returns, check_exact=False, atol=1e-9)


def test_no_look_ahead(root):
    """Prices after day d changed: nothing decided up to d moves (targets, records, retrains)."""
    prices = load_sample("2016-01-01", "2018-12-31", assets=SMALL)
    kw = dict(start="2017-01-01", lookback=60, train_window=250, signal=tiny_forecaster())
    base = run_zipline(prices, root=root, bundle="la", **kw)
    cut = pd.Timestamp("2018-03-01")
    rng = np.random.default_rng(0)
    changed = prices.copy()
    after = changed.index > cut
    changed.loc[after] = changed.loc[after] * rng.uniform(0.7, 1.3, size=changed.loc[after].shape)
    other = run_zipline(changed, root=root, bundle="la", **kw)
    upto = base.target.index <= cut
    pd.testing.assert_frame_equal(base.target.loc[upto], other.target.loc[upto], check_exact=True)
    pd.testing.assert_frame_equal(
        base.forecasts.loc[base.forecasts.index <= cut],
        other.forecasts.loc[other.forecasts.index <= cut],
    )
    assert list(base.retrains.index[base.retrains.index <= cut]) == list(
        other.retrains.index[other.retrains.index <= cut]
    )
    assert not base.target.loc[~upto].equals(other.target.loc[~upto])  # the change is seen later


def test_a_delisted_position_is_closed_by_zipline_and_recorded(root, caplog):
    prices = load_sample("2017-01-01", "2019-06-30", assets=SMALL)
    prices.loc["2018-09-20":, "KO"] = np.nan  # KO delisted after 2018-09-19
    prices.loc[:"2017-08-31", "WMT"] = np.nan  # WMT listed in September 2017
    with caplog.at_level(logging.WARNING, logger="seqfolio.zipline"):
        z, b = _both(prices, root, "delist", start="2018-01-01", lookback=60)
    (event,) = [e for e in z.event_log if e.kind == "delisted"]
    assert event.date == pd.Timestamp("2018-09-19")
    assert "KO: prices ended on 2018-09-19 while held" in event.reason
    assert "zipline closes" in event.reason
    assert [e.kind for e in b.event_log if e.kind == "delisted"] == ["delisted"]
    assert z.weights.loc["2018-09-20":, "KO"].eq(0).all()
    np.testing.assert_allclose(z.target.to_numpy(), b.target.to_numpy(), rtol=0, atol=1e-12)
    assert abs(z.final_value / b.final_value - 1) < 1e-3
    assert "KO: prices ended" in caplog.text


def test_a_gap_day_is_bridged_and_not_traded(root):
    prices = load_sample("2017-01-01", "2018-12-31", assets=SMALL)
    prices.loc["2018-03-01", "JNJ"] = np.nan  # a decision day without a JNJ price
    prices.loc["2018-05-15":"2018-05-16", "AAPL"] = np.nan
    z, b = _both(prices, root, "gap", start="2018-01-01", lookback=60)
    assert z.target.loc["2018-03-01", "JNJ"] == 0
    _assert_parity(z, b)


def test_ingest_is_idempotent_and_follows_new_prices(root):
    from zipline.data import bundles

    prices = load_sample("2019-01-01", "2019-06-30", assets=SMALL)
    first = ingest_prices(prices, name="idem", root=root)
    runs = list(bundles.ingestions_for_bundle("idem", first.environ))
    again = ingest_prices(prices, name="idem", root=root)
    assert again == first
    assert list(bundles.ingestions_for_bundle("idem", first.environ)) == runs
    pd.testing.assert_frame_equal(first.prices(), prices.rename_axis("date"), check_freq=False)
    newer = ingest_prices(prices * 1.5, name="idem", root=root)
    assert len(list(bundles.ingestions_for_bundle("idem", newer.environ))) == 1
    assert newer.prices().iloc[0, 0] == pytest.approx(prices.iloc[0, 0] * 1.5, abs=1e-3)


def test_ingest_reads_csv_files_long_or_wide(root, tmp_path):
    prices = load_sample("2019-01-01", "2019-03-31", assets=["AAPL", "KO"])
    long = prices.stack().rename("close").rename_axis(["date", "ticker"]).reset_index()
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    bundle = ingest_prices(path, name="csv", root=root)
    assert bundle.assets == ("AAPL", "KO")
    pd.testing.assert_frame_equal(bundle.prices(), prices.rename_axis("date"), check_freq=False)


def test_the_users_own_functions_keep_working(root):
    """attach_rebalancer beside the user's handle_data in a plain run_algorithm."""
    from zipline import run_algorithm

    bundle = ingest_prices(load_sample("2018-01-01", "2019-06-30", assets=SMALL), name="own",
                           root=root)  # fmt: skip
    seen = []

    def initialize(context):
        context.rebalancer = attach_rebalancer(context, lookback=60, rebalance="monthly")

    def handle_data(context, data):
        seen.append(context.get_datetime())

    holder = {}

    def analyze(context, perf):
        holder["r"] = context.rebalancer

    perf = run_algorithm(start=pd.Timestamp("2018-06-01"), end=pd.Timestamp("2019-06-28"),
                         initialize=initialize, handle_data=handle_data, analyze=analyze,
                         capital_base=1e6, **bundle.run_kwargs())  # fmt: skip
    assert len(seen) == len(perf)
    result = zipline_result(holder["r"], perf)
    assert len(result.target) == 13 and result.final_value == perf["portfolio_value"].iloc[-1]


# -- errors: one line each -----------------------------------------------------------------------
def _one_line(exc_info):
    text = str(exc_info.value)
    assert "\n" not in text
    return text


def test_unknown_calendar(root):
    with pytest.raises(ValueError, match="'calendar' parameter of ingest_prices") as exc:
        ingest_prices(load_sample("2019-01-01", "2019-02-28"), root=root, calendar="NOPE")
    assert "Got 'NOPE' instead." in _one_line(exc)


def test_dates_that_are_not_sessions(root):
    prices = load_sample("2019-01-01", "2019-02-28", assets=SMALL)
    prices.loc[pd.Timestamp("2019-01-05")] = prices.iloc[0]  # a Saturday
    with pytest.raises(ValueError, match="not XNYS sessions \\(first: 2019-01-05\\)") as exc:
        ingest_prices(prices.sort_index(), root=root)
    _one_line(exc)


def test_a_bundle_that_does_not_cover_the_period(root):
    from zipline import run_algorithm

    bundle = ingest_prices(load_sample("2019-01-01", "2019-06-28", assets=SMALL), name="short",
                           root=root)  # fmt: skip
    with pytest.raises(ValueError, match="does not cover the run's period") as exc:
        run_algorithm(start=pd.Timestamp("2018-06-01"), end=pd.Timestamp("2019-03-29"),
                      initialize=lambda c: attach_rebalancer(c), capital_base=1e6,
                      **bundle.run_kwargs())  # fmt: skip
    assert "prices run from 2019-01-02 to 2019-06-28" in _one_line(exc)


def test_assets_with_no_price_in_the_period(root):
    from zipline import run_algorithm

    prices = load_sample("2019-01-01", "2019-12-31", assets=SMALL)
    prices.loc["2019-03-01":, "KO"] = np.nan
    bundle = ingest_prices(prices, name="nop", root=root)
    with pytest.raises(
        ValueError, match=r"asset\(s\) \['KO'\] have no price in the run's period"
    ) as exc:
        run_algorithm(start=pd.Timestamp("2019-06-03"), end=pd.Timestamp("2019-12-31"),
                      initialize=lambda c: attach_rebalancer(c, assets=["KO", "JNJ"]),
                      capital_base=1e6, **bundle.run_kwargs())  # fmt: skip
    _one_line(exc)
    with pytest.raises(ValueError, match="column 'XOM' has no prices at all") as exc:
        run_zipline(prices.assign(XOM=np.nan), root=root, bundle="nop")
    _one_line(exc)


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({"lookback": 1}, "The 'lookback' parameter of run_zipline must be an int >= 2"),
        ({"fractional": True}, "zipline trades whole shares"),
        ({"delisted": "hold"}, "zipline itself closes a delisted asset's position"),
        ({"retrain": "yearly"}, "The 'retrain' parameter of run_zipline must be one of"),
        ({"feeds": ["A"]}, "unknown setting(s) ['feeds']"),
    ],
)
def test_bad_settings_fail_before_any_work(root, settings, message):
    with pytest.raises((TypeError, ValueError)) as exc:
        run_zipline(load_sample("2019-01-01", "2019-02-28"), root=root / "never", **settings)
    assert message in _one_line(exc)
    assert not (root / "never").exists()


def test_the_cli_runs_the_same_configuration_on_zipline(tmp_path, monkeypatch):
    """``seqfolio backtest --engine zipline`` (and ``engine = "zipline"`` in TOML) writes the same
    files as the backtrader run, with the same numbers."""
    from seqfolio.cli import main

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))  # the bundle's default root
    period = ["--start", "2020-01-01", "--end", "2021-12-31", "--quiet"]
    assert main(["backtest", *period, "--out", str(tmp_path / "bt")]) == 0
    config = tmp_path / "zipline.toml"
    config.write_text('engine = "zipline"\n')
    assert main(["backtest", *period, "--config", str(config), "--out", str(tmp_path / "zl")]) == 0
    assert (tmp_path / "cache" / "seqfolio" / "zipline").is_dir()
    for name in ["returns.csv", "weights.csv", "rebalances.csv"]:
        ours = pd.read_csv(tmp_path / "zl" / name)
        theirs = pd.read_csv(tmp_path / "bt" / name)
        pd.testing.assert_frame_equal(ours, theirs, check_exact=False, atol=2e-6)
    assert (tmp_path / "zl" / "tearsheet.html").stat().st_size > 10_000

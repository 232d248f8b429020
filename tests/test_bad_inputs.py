"""The bad-input catalogue (issue 7, part 1): every case gets a clear error or a documented recovery.

Each test is one row (or a few rows) of ``docs/bad_inputs.md``. A case passes if the user gets either an
exception of a standard type whose message names the problem and the fix, or a documented recovery with
a warning — never a traceback from inside pandas / scipy / torch, never NaN weights or orders, never a
silently shortened result. Tiny data throughout (a few assets, under a year of business days, LSTMs
with hidden_size 4 and one epoch), so the whole file runs in well under a minute.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd
import pytest
from _btutil import catalogue_prices

from seqfolio.allocators import HERC, HRP, EqualWeight, InverseVariance, MeanVariance
from seqfolio.backtest import run_backtest
from seqfolio.cli import main
from seqfolio.data import PriceDataError, PriceDataWarning, read_prices, trailing_returns

N_BARS = 160
ASSETS = ["A", "B", "C"]


def _prices(n: int = N_BARS, assets: list[str] = ASSETS, seed: int = 0) -> pd.DataFrame:
    return catalogue_prices(n, assets, seed)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return _prices()


@pytest.fixture(scope="module")
def returns(prices) -> pd.DataFrame:
    return prices.pct_change().iloc[1:]


def _csv(tmp_path, text: str, name: str = "prices.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def _finite_weights(weights: pd.Series) -> None:
    assert np.isfinite(weights.to_numpy()).all()
    assert weights.sum() == pytest.approx(1.0)
    assert (weights >= -1e-12).all()


# =================================================================================================
# data loader: read_prices
# =================================================================================================
READER_CASES = [
    ("empty file", "", r"prices.csv: the file is empty; expected a header and price rows"),
    ("header only", "date,A,B\n", r"has a header but no data rows"),
    (
        "mixed date formats",
        "date,A,B\n2021-01-04,1,2\n01/05/2021,1,2\n",
        r"unparseable date in column 'date' at line 3 .*Use one format throughout",
    ),
    (
        "duplicate dates",
        "date,A,B\n2021-01-04,1,2\n2021-01-04,1,2\n",
        r"duplicate date 2021-01-04 at line 3; keep one row per date",
    ),
    (
        "unsorted dates",
        "date,A,B\n2021-01-05,1,2\n2021-01-04,1,2\n",
        r"not in ascending order \(line 3 goes back in time\); sort the file by date",
    ),
    (
        "column of strings",
        "date,A,B\n2021-01-04,1,2\n2021-01-05,n/a?,2\n",
        r"column 'A' has a non-numeric value 'n/a\?' at line 3; prices must be numbers",
    ),
    (
        "negative price",
        "date,A,B\n2021-01-04,1,-2\n",
        r"column 'B' has a non-positive price \(-2.0\) at line 2; prices must be > 0",
    ),
    (
        "zero price",
        "date,A,B\n2021-01-04,0,2\n",
        r"column 'A' has a non-positive price \(0.0\) at line 2",
    ),
    (
        "infinite price",
        "date,A,B\n2021-01-04,1,inf\n",
        r"column 'B' has an infinite price at line 2; fix or blank those cells",
    ),
    (
        "one asset",
        "date,A\n2021-01-04,1\n2021-01-05,1.1\n",
        r"found 1 asset column\(s\) \['A'\]; at least 2 are needed",
    ),
    (
        "asset with no prices",
        "date,A,B\n2021-01-04,1,\n2021-01-05,1.1,\n",
        r"column 'B' has no prices at all; remove it",
    ),
    (
        "long format: duplicate symbol and date",
        "date,symbol,close\n2021-01-04,A,1\n2021-01-04,A,1\n",
        r"duplicate row for symbol 'A' on 2021-01-04 at line 3",
    ),
    (
        "unnamed column",
        "date,A,\n2021-01-04,1,2\n",
        r"have no header; name every asset column",
    ),
]


@pytest.mark.parametrize(
    ("case", "text", "message"), READER_CASES, ids=[c[0] for c in READER_CASES]
)
def test_read_prices_rejects(tmp_path, case, text, message):
    with pytest.raises(PriceDataError, match=message):
        read_prices(_csv(tmp_path, text))


def test_read_prices_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match=r"read_prices: no such file: .*nope.csv"):
        read_prices(tmp_path / "nope.csv")


def _split_csv(tmp_path, factor: float):
    prices = _prices(30, ["A", "B"])
    prices.iloc[15:, 0] *= factor  # an unadjusted split from the 16th row (line 17) on
    prices.to_csv(tmp_path / "split.csv")
    return tmp_path / "split.csv", prices


@pytest.mark.parametrize("factor", [0.5, 2.0], ids=["2-for-1 split", "1-for-2 reverse split"])
def test_unadjusted_split_warns_and_keeps_prices(tmp_path, factor):
    path, expected = _split_csv(tmp_path, factor)
    with pytest.warns(
        PriceDataWarning,
        match=r"column 'A' moves [-+]\d+.\d% in one day on 2021-01-22 \(line 17\)"
        r": this looks like a stock split",
    ):
        got = read_prices(path)
    pd.testing.assert_frame_equal(got, expected, check_freq=False, rtol=1e-12)


def test_unadjusted_split_in_a_long_file_warns(tmp_path):
    _, wide = _split_csv(tmp_path, 0.5)
    long = wide.stack().rename("close").rename_axis(["date", "symbol"]).reset_index()
    long.to_csv(tmp_path / "long.csv", index=False)
    with pytest.warns(PriceDataWarning, match=r"column 'A' moves -5\d.\d% in one day on 2021-01-22 "
                                              r"\(1 such move\(s\)\)"):  # fmt: skip
        read_prices(tmp_path / "long.csv")


def test_deep_but_plausible_move_does_not_warn(tmp_path):
    path, _ = _split_csv(tmp_path, 0.7)  # -30 %: a crash or a 3-for-2 split; below the threshold
    with warnings.catch_warnings():
        warnings.simplefilter("error", PriceDataWarning)
        read_prices(path)


def test_split_check_can_be_turned_off(tmp_path):
    path, _ = _split_csv(tmp_path, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error", PriceDataWarning)
        read_prices(path, check_splits=False)


def test_constant_price_asset_warns(tmp_path):
    frame = _prices(20, ["A", "B"]).assign(B=50.0)
    frame.to_csv(tmp_path / "flat.csv")
    with pytest.warns(
        PriceDataWarning, match=r"column 'B' has the same price \(50.0\) on all 20 rows"
    ):
        got = read_prices(tmp_path / "flat.csv")
    assert (got["B"] == 50.0).all()


def test_interior_gap_warns_and_stays_nan(tmp_path):
    text = "date,A,B\n2021-01-04,1,2\n2021-01-05,1.1,\n2021-01-06,1.2,2.1\n"
    with pytest.warns(
        PriceDataWarning, match=r"column 'B' has 1 missing price\(s\) inside its life"
    ):
        got = read_prices(_csv(tmp_path, text))
    assert np.isnan(got.loc["2021-01-05", "B"])


def test_listing_mid_sample_and_delisting_keep_nan_and_every_date(tmp_path):
    frame = _prices(40)
    frame.iloc[:20, 1] = np.nan  # B lists on the 21st bar
    frame.iloc[25:, 2] = np.nan  # C delists after the 25th bar
    frame.to_csv(tmp_path / "life.csv")
    with warnings.catch_warnings():
        warnings.simplefilter("error", PriceDataWarning)  # not a gap: no warning
        got = read_prices(tmp_path / "life.csv")
    assert len(got) == 40  # nothing dropped
    assert got.isna().sum().tolist() == [0, 20, 15]
    window = trailing_returns(got.iloc[:25], lookback=4)  # rows 20..24: all three alive
    assert list(window.columns) == ["A", "B", "C"]
    assert list(trailing_returns(got.iloc[:18], lookback=5).columns) == ["A", "C"]
    assert list(trailing_returns(got, lookback=5).columns) == ["A", "B"]


def test_trailing_returns_lookback_longer_than_data(prices):
    with pytest.raises(
        ValueError, match=r"lookback=500 needs 501 price rows; got 160.*shorter lookback"
    ):
        trailing_returns(prices, lookback=500)


# =================================================================================================
# allocators
# =================================================================================================
@pytest.mark.parametrize("allocator", [HRP(), HERC(), MeanVariance(), InverseVariance(), EqualWeight()],
                         ids=lambda a: type(a).__name__)  # fmt: skip
def test_one_asset_gets_full_weight(allocator, returns):
    weights = allocator.fit(returns[["A"]]).weights_
    assert weights.to_dict() == {"A": pytest.approx(1.0)}


@pytest.mark.parametrize("allocator", [HRP(), HERC(), MeanVariance(), InverseVariance()],
                         ids=lambda a: type(a).__name__)  # fmt: skip
def test_two_identical_assets_share_weight(allocator, returns):
    twins = returns.assign(D=returns["A"])
    weights = allocator.fit(twins).weights_
    _finite_weights(weights)
    assert weights["A"] == pytest.approx(weights["D"], abs=1e-6)


@pytest.mark.parametrize("allocator", [HRP(), HERC(), InverseVariance()],
                         ids=lambda a: type(a).__name__)  # fmt: skip
def test_constant_price_asset_is_rejected(allocator, returns):
    flat = returns.assign(C=0.0)
    with pytest.raises(ValueError, match=r"columns \['C'\] have zero variance \(constant price\)"
                                         r".*remove them or use a longer lookback"):  # fmt: skip
        allocator.fit(flat)


def test_equal_weight_accepts_a_constant_price_asset(returns):
    _finite_weights(EqualWeight().fit(returns.assign(C=0.0)).weights_)


@pytest.mark.parametrize("covariance", ["ledoit_wolf", "sample"])
def test_mean_variance_treats_a_constant_price_asset_as_riskless(returns, covariance):
    weights = MeanVariance(covariance=covariance).fit(returns.assign(C=0.0)).weights_
    _finite_weights(weights)
    assert weights["C"] == weights.max()  # min-variance loads the riskless asset


def test_nan_returns_name_the_asset_and_the_fix(prices):
    late = prices.copy()
    late.iloc[:100, 1] = np.nan  # B lists mid-window
    with pytest.raises(ValueError, match=r"HRP.fit: returns contain NaN in columns \['B'\].*"
                                         r"trailing_returns keeps only assets alive"):  # fmt: skip
        HRP().fit(late.pct_change().iloc[1:])


@pytest.mark.parametrize(
    ("allocator", "message"),
    [
        (
            HRP(max_weight=0.2),
            r"'max_weight' parameter of HRP \(0.2\) cannot be met with 3 assets"
            r".*Raise it to at least 0.3333",
        ),  # fmt: skip
        (
            HERC(min_weight=0.4),
            r"'min_weight' parameter of HERC \(0.4\) cannot be met with 3 assets",
        ),
        (MeanVariance(weight_bounds=(0, 0.2)), r"'weight_bounds' parameter of MeanVariance"),
        (
            InverseVariance(min_weight=0.5, max_weight=0.4),
            r"'min_weight' parameter .* must not exceed",
        ),
    ],
    ids=["HRP cap", "HERC floor", "MVO bounds", "min above max"],
)
def test_infeasible_weight_bounds(allocator, message, returns):
    with pytest.raises(ValueError, match=message):
        allocator.fit(returns)


def test_covariance_with_nan(returns):
    cov = returns.cov()
    cov.loc["A", "B"] = cov.loc["B", "A"] = np.nan
    with pytest.raises(
        ValueError, match=r"MeanVariance.fit: covariance has NaN or inf for assets \['A', 'B'\]"
    ):
        MeanVariance().fit(returns, covariance=cov)


def test_forecast_with_missing_assets(returns):
    mu = pd.Series({"A": 0.1, "B": 0.05})  # a return forecast without C
    with pytest.raises(ValueError, match=r"expected_returns has no value for assets \['C'\]; "
                                         r"provide one per column"):  # fmt: skip
        MeanVariance(objective="max_sharpe").fit(returns, expected_returns=mu)
    cov = returns[["A", "B"]].cov()  # a covariance forecast without C
    with pytest.raises(ValueError, match=r"covariance has no row/column for assets \['C'\]"):
        HRP().fit(returns, covariance=cov)


def test_returns_with_a_text_column(returns):
    text = returns.astype(object)
    text.iloc[3, 2] = "n/a"
    with pytest.raises(
        ValueError,
        match=r"returns columns \['C'\] are not numeric \(e.g. 'n/a' on .*\); returns must be numbers",
    ):
        HRP().fit(text)


# =================================================================================================
# signals: LSTMForecaster
# =================================================================================================
def _forecaster(**kw):
    from seqfolio.signals import LSTMForecaster

    params = dict(target="volatility", window=10, horizon=5, hidden_size=4, max_epochs=1,
                  batch_size=64, sample_stride=1, random_state=0, n_threads=1)  # fmt: skip
    params.update(kw)
    return LSTMForecaster(**params)


@pytest.fixture(scope="module")
def fitted(prices):
    return _forecaster().fit(prices)


@pytest.fixture(scope="module")
def checkpoint(fitted, tmp_path_factory):
    path = tmp_path_factory.mktemp("ckpt") / "model.pt"
    fitted.save(path)
    return path


def test_forecaster_lookback_longer_than_data(prices):
    with pytest.raises(ValueError, match=r"LSTMForecaster.fit: prices need at least 99 rows .*got 30"
                                         r".*Pass a longer history or shorten window/horizon"):  # fmt: skip
        _forecaster().fit(prices.iloc[:30])


def test_forecaster_rejects_zero_price(prices):
    bad = prices.copy()
    bad.iloc[5, 0] = 0.0
    with pytest.raises(
        ValueError,
        match=r"column 'A' has a non-positive price \(0\) on .*; prices must be positive and finite",
    ):
        _forecaster().fit(bad)


def test_forecast_for_missing_assets(fitted, prices):
    with pytest.raises(ValueError, match=r"predict: prices must have the assets seen in fit; "
                                         r"missing \['C'\]"):  # fmt: skip
        fitted.predict(prices[["A", "B"]])


def test_forecaster_predict_too_short(fitted, prices):
    with pytest.raises(ValueError, match=r"predict: prices need at least \d+ rows"):
        fitted.predict(prices.iloc[:20])


def test_corrupted_checkpoint(tmp_path):
    from seqfolio.signals import LSTMForecaster

    path = tmp_path / "garbage.pt"
    path.write_bytes(b"not a checkpoint" * 8)
    with pytest.raises(
        ValueError, match=r"garbage.pt is corrupted or not a torch file .*delete it and retrain"
    ):
        LSTMForecaster.load(path)


def test_truncated_checkpoint(checkpoint, tmp_path):
    from seqfolio.signals import LSTMForecaster

    data = checkpoint.read_bytes()
    path = tmp_path / "truncated.pt"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated.pt is corrupted or not a torch file"):
        LSTMForecaster.load(path)


def test_checkpoint_from_another_configuration(checkpoint, tmp_path):
    import torch

    from seqfolio.signals import LSTMForecaster

    payload = torch.load(checkpoint, weights_only=True)
    payload["params"]["hidden_size"] = 8  # the weights are for hidden_size=4
    path = tmp_path / "other.pt"
    torch.save(payload, path)
    with pytest.raises(ValueError, match=r"other.pt does not match its own configuration "
                                         r"\(.*size mismatch.*delete it and retrain"):  # fmt: skip
        LSTMForecaster.load(path)


def test_checkpoint_of_another_model_class(tmp_path):
    import torch

    from seqfolio.signals import LSTMForecaster

    path = tmp_path / "allocator.pt"
    torch.save({"format": "seqfolio.signals.LSTMAllocator/1"}, path)
    with pytest.raises(ValueError, match=r"allocator.pt is not a saved LSTMForecaster"):
        LSTMForecaster.load(path)


def test_checkpoint_used_on_other_assets(checkpoint, prices):
    from seqfolio.signals import LSTMForecaster

    model = LSTMForecaster.load(checkpoint)
    other = prices.rename(columns={"C": "Z"})
    with pytest.raises(ValueError, match=r"missing \['C'\], unexpected \['Z'\]"):
        model.predict(other)


def test_missing_checkpoint(tmp_path):
    from seqfolio.signals import LSTMForecaster

    with pytest.raises(FileNotFoundError, match=r"LSTMForecaster.load: no such file"):
        LSTMForecaster.load(tmp_path / "nope.pt")


def test_walk_forward_retrains_over_corrupted_and_foreign_checkpoints(prices, tmp_path, caplog):
    folder = tmp_path / "ckpt"
    kw = dict(allocator="ew", signal=_forecaster(), rebalance="monthly", retrain="quarterly",
              train_window=100, lookback=20, start=prices.index[100], checkpoint_dir=folder)  # fmt: skip
    first = run_backtest(prices, **kw)
    assert (first.retrains["source"] == "trained").all() and len(first.retrains) >= 1
    files = sorted(folder.glob("*.pt"))
    for file in files:
        file.write_bytes(b"\x00" * 64)  # corrupted under the real name
    with caplog.at_level(logging.WARNING, logger="seqfolio"):
        again = run_backtest(prices, **kw)
    assert any(
        r.levelno == logging.WARNING and "checkpoint" in r.getMessage() for r in caplog.records
    ), caplog.text
    assert (again.retrains["source"] == "trained").all()
    pd.testing.assert_series_equal(again.returns, first.returns)
    # checkpoints of another configuration in the same folder are not used: they have other keys
    other = run_backtest(prices, **{**kw, "signal": _forecaster(hidden_size=5)})
    assert (other.retrains["source"] == "trained").all()
    assert np.isfinite(other.returns.to_numpy()).all()


# =================================================================================================
# RebalanceStrategy (through run_backtest)
# =================================================================================================
def _check_result(result, prices):
    """No NaN weights or orders, and returns over every bar (nothing silently cut)."""
    assert len(result.returns) == len(prices)
    assert np.isfinite(result.returns.to_numpy()).all()
    assert np.isfinite(result.target.to_numpy(dtype=float, na_value=0.0)).all()
    assert not result.target.isna().all(axis=1).any()
    assert np.isfinite(result.weights.fillna(0.0).to_numpy()).all()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"lookback": 1}, r"'lookback' parameter of run_backtest must be an int >= 2. Got 1"),
        ({"lookback": 20.5}, r"'lookback' parameter of run_backtest must be an int >= 2"),
        (
            {"max_weight": 1.5},
            r"'max_weight' parameter of run_backtest must be a float in \(0.0, 1.0\]",
        ),
        ({"cash_buffer": 0.7}, r"'cash_buffer' parameter .* in \[0.0, 0.5\)"),
        ({"rebalance": "montly"}, r"'rebalance' parameter of run_backtest"),
        ({"start": "not a date"}, r"'start' parameter of run_backtest must be a date"),
        ({"allocator": "hrpp"}, r"'allocator' parameter of run_backtest must be one of"),
        ({"allocator": HRP(linkage="nope")}, r"'linkage' parameter of HRP must be one of"),
    ],
    ids=[
        "lookback 1",
        "float lookback",
        "max_weight",
        "cash_buffer",
        "schedule",
        "start",
        "name",
        "allocator param",
    ],  # fmt: skip
)
def test_strategy_bad_parameters(prices, params, message):
    with pytest.raises(ValueError, match=message):
        run_backtest(prices, **{"lookback": 20, **params})


def test_strategy_lookback_longer_than_data(prices, caplog):
    with caplog.at_level(logging.WARNING, logger="seqfolio"):
        result = run_backtest(prices, allocator="hrp", lookback=500)
    assert result.rebalances.empty and result.target.empty
    assert result.skipped and all(r.startswith("warm-up:") for _, r in result.skipped)
    assert "lookback needs 501" in result.skipped[-1][1]
    assert len(result.returns) == len(prices) and (result.returns == 0).all()
    n = len(result.skipped)
    assert any(f"{n} of {n} scheduled rebalances were skipped" in m for m in caplog.messages)


def test_strategy_start_before_any_data(prices):
    result = run_backtest(prices, allocator="hrp", lookback=20, start="1999-01-01")
    _check_result(result, prices)
    assert result.target.index[0] >= prices.index[20]  # first rebalance once the lookback is there
    assert result.skipped[0][1].startswith("warm-up:")


def test_strategy_constant_price_asset(prices, caplog):
    flat = prices.assign(C=50.0)
    with caplog.at_level(logging.WARNING, logger="seqfolio"):
        result = run_backtest(flat, allocator="hrp", lookback=20)
    assert result.rebalances.empty
    assert any("zero variance (constant price)" in r for _, r in result.skipped)
    assert result.allocation_failures and set(result.allocation_failures) <= set(result.skipped)
    (summary,) = [m for m in caplog.messages if "scheduled rebalances were skipped" in m]
    assert "first: " in summary and "HRP failed: HRP.fit: columns ['C'] have zero" in summary
    ew = run_backtest(flat, allocator="ew", lookback=20)
    _check_result(ew, flat)
    assert len(ew.rebalances) > 0


def test_strategy_asset_listing_mid_sample(prices):
    late = prices.copy()
    late.iloc[:60, 2] = np.nan  # C lists on bar 60
    result = run_backtest(late, allocator="hrp", lookback=20)
    _check_result(result, late)
    first_with_c = late.index[60 + 20]
    before = result.target.loc[: first_with_c - pd.Timedelta(days=1)]
    after = result.target.loc[first_with_c:]
    assert before["C"].isna().all() or (before["C"].fillna(0) == 0).all()
    assert (after["C"] > 0).all()


def test_strategy_asset_delisting(prices):
    gone = prices.copy()
    gone.iloc[90:, 1] = np.nan  # B stops trading after bar 89
    result = run_backtest(gone, allocator="hrp", lookback=20)
    _check_result(result, gone)
    later = result.target.loc[gone.index[90] :]
    assert len(later) and (later["B"].fillna(0) == 0).all()


def test_strategy_feeds_reject_bad_prices(prices):
    unsorted = prices.iloc[::-1]
    with pytest.raises(ValueError, match=r"index must be sorted and unique: row 1 \(2021-0"):
        run_backtest(unsorted, lookback=20)
    negative = prices.copy()
    negative.iloc[3, 0] = -1.0
    with pytest.raises(ValueError, match=r"column 'A' has a non-positive price \(-1\) on 2021-"):
        run_backtest(negative, lookback=20)


# =================================================================================================
# command line
# =================================================================================================
@pytest.fixture
def data_csv(tmp_path, prices):
    path = tmp_path / "prices.csv"
    prices.to_csv(path)
    return path


def _cli(args, capsys):
    status = main(args)
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    return status, captured.err


def _one_line_error(args, capsys, message):
    status, err = _cli(args, capsys)
    assert status == 1
    errors = [line for line in err.splitlines() if line.startswith("seqfolio: error: ")]
    assert len(errors) == 1, err
    assert message in errors[0], errors[0]


BASE = ["--lookback", "20", "--start", "2021-01-01", "--end", "2021-12-31", "--quiet"]


def test_cli_unknown_config_key(tmp_path, capsys):
    config = _csv(tmp_path, "lookbak = 60\n", "run.toml")
    _one_line_error(["backtest", "--config", str(config)], capsys,
                    "unknown option(s) ['lookbak'] (did you mean 'lookback'?); valid keys for "
                    "seqfolio backtest are")  # fmt: skip


@pytest.mark.parametrize(
    ("toml", "message"),
    [
        ('lookback = "sixty"\n', "lookback = 'sixty': must be an int >= 2"),
        ("max_weight = true\n", "max_weight = True: must be a float in (0.0, 1.0] or None"),
        ("rebalance = 3\n", "rebalance = 3: must be one of ['daily', 'weekly', 'monthly', 'quarterly']"),
        ("allocator_params = 3\n", "'allocator_params' must be a table"),
        ("lookback = \n", "invalid TOML"),
    ],
    ids=["int", "float", "string", "table", "syntax"],
)
def test_cli_config_wrong_type(tmp_path, capsys, toml, message):
    config = _csv(tmp_path, toml, "run.toml")
    _one_line_error(["backtest", "--config", str(config), "--out", str(tmp_path)], capsys, message)


def test_cli_config_allocator_params_that_do_not_fit(tmp_path, capsys, data_csv):
    config = _csv(tmp_path, "[allocator_params]\nwindow = 3\n", "run.toml")
    _one_line_error(["backtest", "--data", str(data_csv), *BASE, "--config", str(config)], capsys,
                    "unknown hrp (HRP) parameter(s) ['window']; valid: covariance, ")  # fmt: skip


@pytest.mark.parametrize("command", ["backtest", "walkforward"])
def test_cli_output_folder_not_writable(tmp_path, capsys, data_csv, command):
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    out = blocker / "sub"
    _one_line_error([command, "--data", str(data_csv), "--out", str(out), "--quiet"], capsys,
                    f"cannot write to the output folder {out}: {blocker} is a file, not a folder")  # fmt: skip


def test_cli_empty_data_file(tmp_path, capsys):
    empty = _csv(tmp_path, "")
    _one_line_error(["backtest", "--data", str(empty), "--out", str(tmp_path / "o"), "--quiet"],
                    capsys, "prices.csv: the file is empty")  # fmt: skip


def test_cli_lookback_longer_than_data(tmp_path, capsys, data_csv):
    args = ["backtest", "--data", str(data_csv), "--lookback", "500", "--start", "2021-01-01",
            "--out", str(tmp_path / "o"), "--quiet"]  # fmt: skip
    _one_line_error(args, capsys, "--lookback 500 (history needed: 501 rows")
    assert not (tmp_path / "o").exists()


def test_cli_start_after_data(tmp_path, capsys, data_csv):
    args = ["backtest", "--data", str(data_csv), "--start", "2023-01-01", "--end", "2023-12-31",
            "--out", str(tmp_path / "o"), "--quiet"]  # fmt: skip
    _one_line_error(args, capsys, "the price data ends before --start 2023-01-01")


def test_cli_constant_price_asset(tmp_path, capsys, prices):
    path = tmp_path / "flat.csv"
    prices.assign(C=50.0).to_csv(path)
    _one_line_error(["backtest", "--data", str(path), *BASE, "--out", str(tmp_path / "o")], capsys,
                    "column(s) ['C'] have a constant price")  # fmt: skip


def test_cli_benchmark_calendar_disjoint(tmp_path, capsys, data_csv, prices):
    bench = prices[["A"]].rename(columns={"A": "BENCH"})
    bench.index = bench.index + pd.Timedelta(days=400)
    bench.to_csv(tmp_path / "bench.csv")
    args = ["backtest", "--data", str(data_csv), "--benchmark", str(tmp_path / "bench.csv"), *BASE,
            "--out", str(tmp_path / "o")]  # fmt: skip
    _one_line_error(args, capsys, "bench.csv has 0 price(s) in the backtest period")


def test_cli_misaligned_benchmark_and_start_before_data_warn_and_run(
    tmp_path, capsys, data_csv, prices
):
    bench = prices[["A"]].rename(columns={"A": "BENCH"}).iloc[::2]  # every other day
    bench.to_csv(tmp_path / "bench.csv")
    out = tmp_path / "o"
    args = ["backtest", "--data", str(data_csv), "--benchmark", str(tmp_path / "bench.csv"),
            "--lookback", "20", "--start", "2020-06-01", "--end", "2021-12-31", "--quiet",
            "--out", str(out)]  # fmt: skip
    status, err = _cli(args, capsys)
    assert status == 0, err
    assert "--start 2020-06-01" not in err  # a warm-up, not a warning (a note, and --quiet)
    assert "its calendar does not match --data's: no benchmark price on" in err
    returns = pd.read_csv(out / "returns.csv", index_col=0, parse_dates=True)
    # the backtest starts at the first monthly rebalance with 20 bars of history (issue 21 item 9)
    assert returns.index[0] == pd.Timestamp("2021-02-01") and returns.index[-1] == prices.index[-1]
    assert np.isfinite(returns.to_numpy()).all()
    weights = pd.read_csv(out / "weights.csv")
    assert np.isfinite(weights.drop(columns=["date", "kind"]).to_numpy()).all()


# =================================================================================================
# the docs page lists every case
# =================================================================================================
def test_docs_page_names_every_catalogue_test_and_only_real_ones() -> None:
    import re
    from pathlib import Path

    tests = Path(__file__).parent
    doc = (tests.parent / "docs" / "bad_inputs.md").read_text(encoding="utf-8")
    named = set(re.findall(r"`(?:[\w/]+\.py::)?(test_\w+)", doc))
    defined: dict[str, str] = {}
    for path in sorted(tests.glob("test_*.py")):
        for name in re.findall(r"^def (test_\w+)", path.read_text(encoding="utf-8"), re.M):
            defined.setdefault(name, path.name)
    catalogue = {n for n, f in defined.items() if f.startswith("test_bad_inputs")}
    catalogue.discard("test_docs_page_names_every_catalogue_test_and_only_real_ones")
    assert not sorted(catalogue - named), "catalogue tests missing from docs/bad_inputs.md"
    assert not sorted(named - set(defined)), "docs/bad_inputs.md names tests that do not exist"

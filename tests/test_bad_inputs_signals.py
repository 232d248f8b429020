"""Bad inputs to the LSTM signals (``LSTMForecaster``, ``LSTMAllocator``) and their saved files.

Every case gets a clear ``ValueError`` / ``TypeError`` naming the parameter, column, row or file and the
fix, never a traceback from inside pandas or torch, and never NaN weights or forecasts passed on as if
they were real. Tiny networks on ~200 synthetic bars (the whole file runs in a few seconds).
"""

from __future__ import annotations

import copy
import datetime
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from seqfolio.backtest import run_backtest
from seqfolio.signals import LSTMAllocator, LSTMForecaster

FORECASTER = dict(window=10, horizon=5, hidden_size=4, max_epochs=1, sample_stride=1, ffd_d=None,
                  n_threads=1)  # fmt: skip
ALLOCATOR = dict(window=10, hidden_size=4, max_epochs=1, n_threads=1)


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    index = pd.bdate_range("2020-01-01", periods=200, name="date")
    steps = rng.normal(0.0, 0.01, (200, 3))
    return pd.DataFrame(100 * np.exp(np.cumsum(steps, axis=0)), index=index, columns=list("ABC"))


@pytest.fixture(scope="module")
def returns(prices: pd.DataFrame) -> pd.DataFrame:
    return prices.pct_change().iloc[1:]


@pytest.fixture(scope="module")
def forecaster(prices: pd.DataFrame) -> LSTMForecaster:
    return LSTMForecaster(random_state=0, **FORECASTER).fit(prices)


@pytest.fixture(scope="module")
def allocator(returns: pd.DataFrame) -> LSTMAllocator:
    return LSTMAllocator(random_state=0, **ALLOCATOR).fit(returns)


def _poisoned(model: object, value: float = float("nan")) -> object:
    """A copy of a fitted model whose network weights are all ``value``."""
    broken = copy.deepcopy(model)
    with torch.no_grad():
        for parameter in broken.model_.parameters():  # type: ignore[attr-defined]
            parameter.fill_(value)
    return broken


# ---------------------------------------------------------------------------------------------
# review item 6: a broken network never hands out NaN weights or forecasts
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("value", [float("nan"), float("inf")])
def test_allocator_predict_refuses_non_finite_weights(
    allocator: LSTMAllocator, returns: pd.DataFrame, value: float
) -> None:
    broken = _poisoned(allocator, value)
    with pytest.raises(
        ValueError,
        match=r"LSTMAllocator.predict: the network returned non-finite weights \[nan, nan, nan\] "
        r"for assets \['A', 'B', 'C'\]: the fitted model is broken .*Retrain it \(delete its "
        r"checkpoint file first",
    ):
        broken.predict(returns)


def test_forecaster_predict_refuses_non_finite_forecasts(
    forecaster: LSTMForecaster, prices: pd.DataFrame
) -> None:
    broken = _poisoned(forecaster)
    with pytest.raises(
        ValueError,
        match=r"LSTMForecaster.predict: the network returned 3 non-finite forecast\(s\) for "
        r"complete, finite inputs \(e.g. asset 'A' on 2020-10-06\): the fitted model is broken",
    ):
        broken.predict(prices)
    with pytest.raises(ValueError, match=r"predict_history: the network returned \d+ non-finite"):
        broken.predict_history(prices)


def test_forecaster_no_forecast_stays_nan_for_an_incomplete_window(
    forecaster: LSTMForecaster, prices: pd.DataFrame
) -> None:
    """NaN still means "no complete window" (the strategy fills it with a trailing estimate)."""
    gappy = prices.copy()
    gappy.iloc[-1, 0] = np.nan
    forecast = forecaster.predict(gappy)
    assert np.isnan(forecast["A"]) and np.isfinite(forecast[["B", "C"]]).all()


@pytest.mark.parametrize(
    ("kind", "key", "entry"),
    [
        ("forecaster", "state_dict", "head.bias"),
        ("forecaster", "feature_scaler", "std"),
        ("allocator", "state_dict", "lstm.weight_ih_l0"),
        ("allocator", "feature_std", None),
    ],
)
def test_load_refuses_a_file_with_non_finite_values(
    kind: str,
    key: str,
    entry: str | None,
    forecaster: LSTMForecaster,
    allocator: LSTMAllocator,
    tmp_path: Path,
) -> None:
    model = forecaster if kind == "forecaster" else allocator
    path = tmp_path / "model.pt"
    model.save(path)
    payload = torch.load(path, weights_only=True)
    if key == "feature_scaler":  # lists of floats
        payload[key][entry][0][0] = float("inf")
    elif entry is None:
        payload[key] = payload[key].clone()
        payload[key].view(-1)[0] = float("nan")
    else:
        payload[key][entry] = torch.full_like(payload[key][entry], float("nan"))
    torch.save(payload, path)
    name = key if entry is None else f"{key}.{entry}"
    with pytest.raises(
        ValueError,
        match=rf"{type(model).__name__}.load: .*model.pt holds NaN or inf values in "
        rf"\['{name}'\]: a model with non-finite weights cannot forecast .*delete it and retrain",
    ):
        type(model).load(path)


def test_walk_forward_retrains_over_checkpoints_with_nan_weights(
    prices: pd.DataFrame, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """The review's case: a checkpoint with NaN weights used to give NaN weights, so the strategy
    sold everything. Now it is refused on loading, retrained with a warning, and the run equals the
    first one."""
    folder = tmp_path / "ckpt"
    kw = dict(
        allocator=LSTMAllocator(random_state=0, **ALLOCATOR),
        rebalance="monthly",
        retrain="quarterly",
        train_window=100,
        lookback=20,
        start=prices.index[100],
        checkpoint_dir=folder,
    )
    first = run_backtest(prices, **kw)
    files = sorted(folder.glob("*.pt"))
    assert files and (first.retrains["source"] == "trained").all()
    for file in files:  # valid torch files under the real names, weights poisoned
        payload = torch.load(file, weights_only=True)
        payload["state_dict"] = {
            k: torch.full_like(v, float("nan")) for k, v in payload["state_dict"].items()
        }
        torch.save(payload, file)
    with caplog.at_level(logging.WARNING, logger="seqfolio"):
        again = run_backtest(prices, **kw)
    assert any(
        "checkpoint" in r.getMessage() and "holds NaN or inf values" in r.getMessage()
        for r in caplog.records
    ), caplog.text
    assert (again.retrains["source"] == "trained").all()
    pd.testing.assert_series_equal(again.returns, first.returns)


# ---------------------------------------------------------------------------------------------
# review item 8: raw pandas / torch errors
# ---------------------------------------------------------------------------------------------
def test_forecaster_text_column(forecaster: LSTMForecaster, prices: pd.DataFrame) -> None:
    text = prices.astype(object)
    text.iloc[5, 1] = "x"
    message = (
        r"prices columns \['B'\] are not numeric \(e.g. 'x' on 2020-01-08\); prices must be numbers"
    )
    with pytest.raises(ValueError, match=rf"LSTMForecaster.fit: {message}"):
        LSTMForecaster(random_state=0, **FORECASTER).fit(text)
    with pytest.raises(ValueError, match=rf"LSTMForecaster.predict: {message}"):
        forecaster.predict(text)


def test_allocator_text_column(allocator: LSTMAllocator, returns: pd.DataFrame) -> None:
    text = returns.assign(D="x")
    with pytest.raises(
        ValueError,
        match=r"LSTMAllocator.fit: returns columns \['D'\] are not numeric \(e.g. 'x' on 20",
    ):
        LSTMAllocator(**ALLOCATOR).fit(text)
    # predict reads only the assets it was trained on: an extra text column is ignored ...
    pd.testing.assert_series_equal(allocator.predict(text), allocator.predict(returns))
    # ... but text in one of them is named
    with pytest.raises(
        ValueError, match=r"LSTMAllocator.predict: returns columns \['A'\] are not numeric"
    ):
        allocator.predict(returns.assign(A="x"))


@pytest.mark.parametrize(
    ("column", "dtype"),
    [(True, "bool"), (pd.Timestamp("2020-01-01"), "datetime64"), (1 + 2j, "complex128")],
    ids=["bool", "datetime", "complex"],
)
def test_non_numeric_dtypes(
    column: object, dtype: str, prices: pd.DataFrame, returns: pd.DataFrame
) -> None:
    with pytest.raises(
        ValueError,
        match=rf"LSTMForecaster.fit: prices columns \['D'\] are not numeric \(dtype {dtype}",
    ):
        LSTMForecaster(**FORECASTER).fit(prices.assign(D=column))
    with pytest.raises(
        ValueError,
        match=rf"LSTMAllocator.fit: returns columns \['D'\] are not numeric \(dtype {dtype}",
    ):
        LSTMAllocator(**ALLOCATOR).fit(returns.assign(D=column))


def test_numeric_text_is_still_accepted(forecaster: LSTMForecaster, prices: pd.DataFrame) -> None:
    """Text that holds numbers ("101.5", "nan", as read from some files) is converted as before."""
    gappy = prices.copy()
    gappy.iloc[-1, 0] = np.nan
    pd.testing.assert_series_equal(forecaster.predict(gappy.astype(str)), forecaster.predict(gappy))


def test_numpy_integer_parameters_are_accepted(
    forecaster: LSTMForecaster,
    allocator: LSTMAllocator,
    prices: pd.DataFrame,
    returns: pd.DataFrame,
    tmp_path: Path,
) -> None:
    """np.int64 seeds and sizes work (torch rejects them) and give exactly the Python-int result."""
    numpy_ints = {
        "hidden_size": np.int64(4),
        "max_epochs": np.int32(1),
        "n_threads": np.int64(1),
        "window": np.int64(10),
        "random_state": np.int64(0),
    }
    f = LSTMForecaster(**{**FORECASTER, **numpy_ints, "horizon": np.int64(5)}).fit(prices)
    pd.testing.assert_series_equal(f.predict(prices), forecaster.predict(prices), check_exact=True)
    a = LSTMAllocator(**{**ALLOCATOR, **numpy_ints}).fit(returns)
    pd.testing.assert_series_equal(a.weights_, allocator.weights_, check_exact=True)
    # the saved files hold plain ints, so weights_only loading reads them back
    for model, data in ((f, prices), (a, returns)):
        path = tmp_path / f"{type(model).__name__}.pt"
        model.save(path)
        again = type(model).load(path)
        assert type(again.random_state) is int
        pd.testing.assert_series_equal(again.predict(data), model.predict(data), check_exact=True)


@pytest.mark.parametrize("start", ["notadate", 5, [1], "NaT"])
def test_predict_history_start_not_a_date(
    forecaster: LSTMForecaster, prices: pd.DataFrame, start: object
) -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'start' parameter of LSTMForecaster.predict_history must be a date "
        r"\(e.g. '2021-01-04'\) or None. Got .* instead.",
    ):
        forecaster.predict_history(prices, start=start)


def test_predict_history_start_timezone(forecaster: LSTMForecaster, prices: pd.DataFrame) -> None:
    with pytest.raises(
        ValueError,
        match=r"predict_history: 'start' \(2020-06-01 00:00:00\+00:00\) is timezone-aware but the "
        r"prices' index is naive; pass a start with the same timezone",
    ):
        forecaster.predict_history(prices, start=pd.Timestamp("2020-06-01", tz="UTC"))
    aware = prices.tz_localize("UTC")
    with pytest.raises(
        ValueError,
        match=r"'start' \(2020-06-01\) is timezone-naive but the prices' index is in UTC",
    ):
        forecaster.predict_history(aware, start=pd.Timestamp("2020-06-01"))
    # a date string is read in the index's timezone, as aware.loc["2020-06-01":] does
    got = forecaster.predict_history(aware, start="2020-06-01")
    assert got.index[0] == aware.loc["2020-06-01":].index[0]
    # naive dates of other types keep working on a naive index
    for start in (datetime.date(2020, 6, 1), np.datetime64("2020-06-01"), "2020-06-01"):
        assert forecaster.predict_history(prices, start=start).index[0] == pd.Timestamp(
            "2020-06-01"
        )


def test_predict_history_start_needs_a_datetime_index(
    forecaster: LSTMForecaster, prices: pd.DataFrame
) -> None:
    with pytest.raises(
        ValueError,
        match=r"predict_history: 'start' needs prices indexed by date \(a DatetimeIndex\); their "
        r"index is a RangeIndex",
    ):
        forecaster.predict_history(prices.reset_index(drop=True), start="2020-06-01")


def test_duplicate_columns(
    allocator: LSTMAllocator, prices: pd.DataFrame, returns: pd.DataFrame
) -> None:
    message = r"have duplicate columns \['A'\]; give each asset one column"
    with pytest.raises(ValueError, match=rf"LSTMAllocator.fit: returns {message}"):
        LSTMAllocator(**ALLOCATOR).fit(returns.set_axis(list("AAB"), axis=1))
    with pytest.raises(ValueError, match=rf"LSTMAllocator.predict: returns {message}"):
        allocator.predict(returns.set_axis(list("AAB"), axis=1))
    with pytest.raises(ValueError, match=rf"LSTMForecaster.fit: prices {message}"):
        LSTMForecaster(**FORECASTER).fit(prices.set_axis(list("AAB"), axis=1))


def test_unsorted_or_duplicate_dates(prices: pd.DataFrame, returns: pd.DataFrame) -> None:
    swapped = prices.iloc[[0, 2, 1, *range(3, len(prices))]]
    with pytest.raises(
        ValueError,
        match=r"LSTMForecaster.fit: the prices' index must be sorted and unique: row 2 "
        r"\(2020-01-02\) comes before the row above it; sort it first \(prices.sort_index\(\)\)",
    ):
        LSTMForecaster(**FORECASTER).fit(swapped)
    doubled = pd.concat([prices.iloc[:50], prices.iloc[49:]])
    with pytest.raises(
        ValueError,
        match=r"prices' index must be sorted and unique: 2020-03-10 appears 2 times; keep one row",
    ):
        LSTMForecaster(**FORECASTER).fit(doubled)
    # the allocator used to train on reversed or repeated rows without a word
    with pytest.raises(ValueError, match=r"LSTMAllocator.fit: the returns' index must be sorted"):
        LSTMAllocator(**ALLOCATOR).fit(returns.iloc[::-1])
    with pytest.raises(ValueError, match=r"returns' index must be sorted and unique: .* appears 2"):
        LSTMAllocator(**ALLOCATOR).fit(pd.concat([returns, returns.iloc[-1:]]))


def test_returns_of_minus_100_percent(allocator: LSTMAllocator, returns: pd.DataFrame) -> None:
    wiped = returns.copy()
    wiped.iloc[50, 0] = -1.0
    message = r"returns of -100 % or less in columns \['A'\] \(a price at or below zero\)"
    with pytest.raises(ValueError, match=rf"LSTMAllocator.fit: {message}"):
        LSTMAllocator(**ALLOCATOR).fit(wiped)
    late = returns.copy()
    late.iloc[-3, 0] = -1.5
    with pytest.raises(ValueError, match=rf"LSTMAllocator.predict: {message}"):
        allocator.predict(late)


def test_empty_frame(allocator: LSTMAllocator) -> None:
    with pytest.raises(
        ValueError,
        match=r"LSTMForecaster.fit: prices have no columns; pass one column per asset",
    ):
        LSTMForecaster(**FORECASTER).fit(pd.DataFrame())
    with pytest.raises(ValueError, match=r"LSTMAllocator.predict: returns have no columns"):
        allocator.predict(pd.DataFrame(index=pd.bdate_range("2020-01-01", periods=40)))


@pytest.mark.skipif(torch.cuda.is_available(), reason="needs a machine without CUDA")
def test_cuda_requested_without_cuda(prices: pd.DataFrame, returns: pd.DataFrame) -> None:
    with pytest.raises(
        ValueError,
        match=r"The 'device' parameter of LSTMForecaster is 'cuda' but CUDA is not available on "
        r"this machine; use device='cpu' or 'auto'",
    ):
        LSTMForecaster(**{**FORECASTER, "device": "cuda"}).fit(prices)
    with pytest.raises(ValueError, match=r"The 'device' parameter of LSTMAllocator is 'cuda:1'"):
        LSTMAllocator(**{**ALLOCATOR, "device": "cuda:1"}).fit(returns)


def test_no_asset_with_complete_returns_says_what_to_pass(
    allocator: LSTMAllocator, returns: pd.DataFrame
) -> None:
    with pytest.raises(
        ValueError,
        match=r"no asset of the fitted model has complete returns in the last 30 rows; pass "
        r"returns of at least one of \['A', 'B', 'C'\]",
    ):
        allocator.predict(returns.set_axis(list("XYZ"), axis=1))


# ---------------------------------------------------------------------------------------------
# review item 9: inf is not NaN
# ---------------------------------------------------------------------------------------------
def test_allocator_fit_names_inf_and_nan_apart(returns: pd.DataFrame) -> None:
    bad = returns.copy()
    bad.iloc[50, 0] = np.inf
    with pytest.raises(
        ValueError,
        match=r"LSTMAllocator.fit: returns contain inf in columns \['A'\] \(from a zero price\); "
        r"drop or fill them first.",
    ):
        LSTMAllocator(**ALLOCATOR).fit(bad)
    bad.iloc[60, 1] = np.nan
    with pytest.raises(
        ValueError,
        match=r"returns contain NaN in columns \['B'\] and inf in columns \['A'\] \(from a zero "
        r"price\); drop or fill them first.",
    ):
        LSTMAllocator(**ALLOCATOR).fit(bad)


# ---------------------------------------------------------------------------------------------
# already clear before this file (kept so the catalogue stays true)
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "error", "message"),
    [
        (
            lambda p: LSTMForecaster(**{**FORECASTER, "n_threads": 0}).fit(p),
            ValueError,
            r"The 'n_threads' parameter of LSTMForecaster must be an int >= 1 or None. Got 0",
        ),
        (
            lambda p: LSTMForecaster(**{**FORECASTER, "target": "volatilty"}).fit(p),
            ValueError,
            r"The 'target' parameter of LSTMForecaster must be one of \[.*\]. Got 'volatilty'",
        ),
        (
            lambda p: LSTMForecaster(**{**FORECASTER, "window": 500}).fit(p),
            ValueError,
            r"prices need at least 589 rows for window=500, horizon=5 .*got 200",
        ),
        (
            lambda p: LSTMForecaster(**FORECASTER).fit(p["A"]),
            TypeError,
            r"LSTMForecaster.fit: prices must be a pandas DataFrame .* Got Series instead",
        ),
        (
            lambda p: LSTMAllocator(**ALLOCATOR).fit(p.pct_change().iloc[1:, :1]),
            ValueError,
            r"LSTMAllocator.fit: returns need at least 2 assets; got 1",
        ),
        (
            lambda p: LSTMAllocator(**{**ALLOCATOR, "window": 500}).fit(p.pct_change().iloc[1:]),
            ValueError,
            r"returns need at least 550 rows for window=500 .*got 199",
        ),
    ],
    ids=[
        "n_threads=0",
        "target misspelt",
        "window > data",
        "a Series",
        "one asset",
        "alloc window",
    ],
)
def test_already_clear(make: object, error: type, message: str, prices: pd.DataFrame) -> None:
    with pytest.raises(error, match=message):
        make(prices)  # type: ignore[operator]

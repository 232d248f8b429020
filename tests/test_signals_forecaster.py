"""LSTMForecaster: the sklearn protocol, determinism, persistence, errors, GARCH volatility and warm start."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone

torch = pytest.importorskip("torch")

from seqfolio.signals import LSTMForecaster  # noqa: E402
from seqfolio.signals.features import log_returns, realised_volatility  # noqa: E402
from seqfolio.signals.targets import forward_volatility  # noqa: E402

torch.set_num_threads(1)

TINY = dict(
    window=10,
    horizon=5,
    hidden_size=4,
    max_epochs=2,
    batch_size=64,
    sample_stride=1,
    n_threads=1,
    device="cpu",
)


def _prices(n_bars: int = 260, n_assets: int = 3, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    logp = np.cumsum(rng.normal(0.0003, 0.015, size=(n_bars, n_assets)), axis=0)
    index = pd.bdate_range("2015-01-01", periods=n_bars, name="date")
    return pd.DataFrame(100 * np.exp(logp), index=index, columns=[f"A{i}" for i in range(n_assets)])


def _garch_prices(n_bars: int, n_assets: int, seed: int) -> pd.DataFrame:
    """GARCH(1,1) log returns: var_t = omega + alpha r_{t-1}^2 + beta var_{t-1} (persistence 0.97)."""
    rng = np.random.default_rng(seed)
    omega, alpha, beta = 2e-6, 0.10, 0.87
    var = np.full(n_assets, omega / (1 - alpha - beta))
    r = np.zeros((n_bars, n_assets))
    for t in range(n_bars):
        r[t] = np.sqrt(var) * rng.standard_normal(n_assets)
        var = omega + alpha * r[t] ** 2 + beta * var
    index = pd.bdate_range("2000-01-03", periods=n_bars, name="date")
    columns = [f"G{i}" for i in range(n_assets)]
    return pd.DataFrame(100 * np.exp(np.cumsum(r, axis=0)), index=index, columns=columns)


def _qlike(realised_var: np.ndarray, forecast_var: np.ndarray) -> float:
    ratio = realised_var / forecast_var
    return float(np.mean(ratio - np.log(ratio) - 1.0))


# ----------------------------------------------------------------------------------------------
# fit / predict on every target
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("target", ["volatility", "return", "regime", "drawdown", "correlation"])
def test_fit_predict_every_target(target):
    prices = _prices()
    f = LSTMForecaster(target=target, random_state=0, **TINY).fit(prices)
    out = f.predict(prices)
    assert isinstance(out, pd.Series)
    assert list(out.index) == list(prices.columns) and out.name == target
    assert np.isfinite(out).all()
    if target == "volatility":
        assert (out > 0).all()
    if target in ("regime", "drawdown"):
        assert ((out > 0) & (out < 1)).all()
    if target == "correlation":
        assert ((out >= -1) & (out <= 1)).all()
    assert f.n_train_samples_ > 0 and f.n_validation_samples_ > 0
    if target == "regime":
        assert len(f.stress_level_) == prices.shape[1]


def test_predict_matches_predict_history_and_is_causal():
    prices = _prices(300)
    f = LSTMForecaster(random_state=0, **TINY).fit(prices.iloc[:250])
    history = f.predict_history(prices)
    for t in (200, 260, 299):
        np.testing.assert_allclose(
            f.predict(prices.iloc[: t + 1]).to_numpy(), history.iloc[t].to_numpy(), rtol=1e-5
        )
    # changing prices after t changes no forecast up to t
    shocked = prices.copy()
    shocked.iloc[261:] *= 1.3
    np.testing.assert_array_equal(f.predict_history(shocked).iloc[:261], history.iloc[:261])


def test_column_order_does_not_matter_for_predict():
    prices = _prices()
    f = LSTMForecaster(random_state=0, **TINY).fit(prices)
    np.testing.assert_array_equal(
        f.predict(prices[prices.columns[::-1]]).to_numpy(), f.predict(prices).to_numpy()
    )


def test_late_listing_contributes_no_samples_before_it_lists():
    prices = _prices(400)
    prices.iloc[:200, 2] = np.nan
    f = LSTMForecaster(random_state=0, **TINY).fit(prices)
    history = f.predict_history(prices)
    assert history.iloc[:200, 2].isna().all()
    assert np.isfinite(f.predict(prices)).all()
    cut = LSTMForecaster(random_state=0, **TINY).fit(prices.iloc[:, :2])
    assert f.n_train_samples_ < cut.n_train_samples_ * 1.5  # asset 2 adds only its listed half


# ----------------------------------------------------------------------------------------------
# determinism, clone, persistence
# ----------------------------------------------------------------------------------------------
def test_same_seed_identical_predictions_different_seed_differs():
    prices = _prices()
    a = LSTMForecaster(random_state=3, **TINY).fit(prices).predict(prices)
    b = LSTMForecaster(random_state=3, **TINY).fit(prices).predict(prices)
    c = LSTMForecaster(random_state=4, **TINY).fit(prices).predict(prices)
    np.testing.assert_array_equal(a.to_numpy(), b.to_numpy())
    assert not np.allclose(a.to_numpy(), c.to_numpy())


def test_epoch_budget_above_the_sample_count_changes_nothing():
    prices = _prices()
    full = LSTMForecaster(random_state=0, epoch_samples=None, **TINY).fit(prices)
    n = full.n_train_samples_
    for budget in ("auto", n):
        same = LSTMForecaster(random_state=0, epoch_samples=budget, **TINY).fit(prices)
        assert same.training_.samples == full.training_.samples == 2 * n
        for a, b in zip(same.model_.parameters(), full.model_.parameters(), strict=True):
            assert torch.equal(a, b)


def test_epoch_budget_draws_seeded_subsets():
    prices = _prices()
    kw = dict(TINY, epoch_samples=100, max_epochs=3, patience=5)
    a = LSTMForecaster(random_state=0, **kw).fit(prices)
    assert a.n_train_samples_ > 300 and a.training_.samples == 3 * 100
    assert [h["samples"] for h in a.training_.history] == [100, 200, 300]
    b = LSTMForecaster(random_state=0, **kw).fit(prices)
    np.testing.assert_array_equal(a.predict(prices).to_numpy(), b.predict(prices).to_numpy())
    full = LSTMForecaster(random_state=0, **{**kw, "epoch_samples": None}).fit(prices)
    assert not np.allclose(a.predict(prices).to_numpy(), full.predict(prices).to_numpy())


def test_fit_does_not_disturb_global_torch_rng():
    prices = _prices()
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    LSTMForecaster(random_state=0, **TINY).fit(prices)
    assert torch.equal(torch.rand(3), expected)


def test_get_params_and_clone():
    f = LSTMForecaster(target="drawdown", window=30, hidden_size=7, random_state=5)
    params = f.get_params()
    assert params["target"] == "drawdown" and params["window"] == 30 and params["hidden_size"] == 7
    g = clone(f)
    assert g.get_params() == params and g is not f
    prices = _prices()
    fitted = LSTMForecaster(random_state=0, **TINY).fit(prices)
    h = clone(fitted)
    assert not hasattr(h, "model_")
    f.set_params(window=40)
    assert f.window == 40


def test_init_stores_params_as_given_without_validation():
    f = LSTMForecaster(window=0, target="nonsense")  # validated in fit, not in __init__
    assert f.window == 0 and f.target == "nonsense"


def test_save_load_round_trip(tmp_path):
    prices = _prices()
    f = LSTMForecaster(target="regime", random_state=0, **TINY).fit(prices)
    path = tmp_path / "model.pt"
    f.save(path)
    raw = torch.load(path, weights_only=True)  # plain types and tensors only
    assert raw["params"]["target"] == "regime"
    g = LSTMForecaster.load(path)
    assert g.get_params() == f.get_params()
    np.testing.assert_array_equal(g.predict(prices).to_numpy(), f.predict(prices).to_numpy())
    assert g.stress_level_ == f.stress_level_ and g.ffd_d_ == f.ffd_d_


def test_load_rejects_other_files(tmp_path):
    path = tmp_path / "other.pt"
    torch.save({"hello": torch.zeros(1)}, path)
    with pytest.raises(ValueError, match="not a saved LSTMForecaster"):
        LSTMForecaster.load(path)


# ----------------------------------------------------------------------------------------------
# errors
# ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"window": 0},
            "The 'window' parameter of LSTMForecaster must be an int >= 2. Got 0 instead.",
        ),
        (
            {"window": 2.5},
            "The 'window' parameter of LSTMForecaster must be an int >= 2. Got 2.5 instead.",
        ),
        (
            {"horizon": 0},
            "The 'horizon' parameter of LSTMForecaster must be an int >= 1. Got 0 instead.",
        ),
        ({"target": "price"}, "The 'target' parameter of LSTMForecaster must be one of"),
        (
            {"hidden_size": True},
            "The 'hidden_size' parameter of LSTMForecaster must be an int >= 1.",
        ),
        (
            {"learning_rate": 0.0},
            "The 'learning_rate' parameter of LSTMForecaster must be a float in (0.0, inf]",
        ),
        ({"validation_fraction": 1.0}, "The 'validation_fraction' parameter"),
        ({"dropout": -0.1}, "The 'dropout' parameter"),
        (
            {"ffd_d": "max"},
            "The 'ffd_d' parameter of LSTMForecaster must be 'auto', None or a float",
        ),
        ({"device": "tpu"}, "The 'device' parameter"),
        (
            {"n_threads": 0},
            "The 'n_threads' parameter of LSTMForecaster must be an int >= 1 or None.",
        ),
        ({"random_state": np.random.RandomState(0)}, "The 'random_state' parameter"),
        ({"stress_quantile": 1.0}, "The 'stress_quantile' parameter"),
        (
            {"epoch_samples": 1},
            "The 'epoch_samples' parameter of LSTMForecaster must be 'auto', None or an int >= 2. "
            "Got 1 instead.",
        ),
        ({"epoch_samples": "all"}, "must be 'auto', None or an int >= 2. Got 'all' instead."),
    ],
)
def test_bad_params_raise_clear_errors(params, message):
    with pytest.raises(ValueError) as info:
        LSTMForecaster(**{**TINY, **params}).fit(_prices())
    assert message in str(info.value)


def test_too_short_history_raises():
    with pytest.raises(ValueError, match=r"prices need at least 119 rows .* got 100"):
        LSTMForecaster(window=30, horizon=5).fit(_prices(100))


def test_history_too_gappy_raises():
    prices = _prices(200)
    prices.iloc[::20] = np.nan  # a hole every 20 bars: no 63-bar feature window is ever complete
    with pytest.raises(ValueError, match="no complete training samples"):
        LSTMForecaster(**TINY).fit(prices)


def test_bad_inputs_raise():
    with pytest.raises(TypeError, match="prices must be a pandas DataFrame"):
        LSTMForecaster(**TINY).fit(_prices().to_numpy())
    bad = _prices()
    bad.iloc[5, 0] = -1.0
    with pytest.raises(ValueError, match="positive and finite"):
        LSTMForecaster(**TINY).fit(bad)


def test_predict_errors():
    prices = _prices()
    with pytest.raises(ValueError, match="not fitted yet"):
        LSTMForecaster(**TINY).predict(prices)
    f = LSTMForecaster(random_state=0, **TINY).fit(prices)
    with pytest.raises(ValueError, match=r"missing \['A2'\]"):
        f.predict(prices[["A0", "A1"]])
    with pytest.raises(ValueError, match="prices need at least"):
        f.predict(prices.iloc[:20])


# ----------------------------------------------------------------------------------------------
# quality on synthetic data with a known answer, and warm start
# ----------------------------------------------------------------------------------------------
def test_volatility_forecaster_beats_rolling_on_garch_qlike():
    prices = _garch_prices(2000, 4, seed=0)
    split = 1500
    f = LSTMForecaster(
        target="volatility",
        window=20,
        horizon=5,
        hidden_size=8,
        max_epochs=15,
        learning_rate=3e-3,
        patience=5,
        sample_stride=1,
        ffd_d=None,
        random_state=0,
        device="cpu",
        n_threads=1,
    ).fit(prices.iloc[:split])
    forecast = f.predict_history(prices, start=prices.index[split]).to_numpy()
    realised = forward_volatility(prices.to_numpy(), 5)[split:]
    rolling = realised_volatility(log_returns(prices.to_numpy()), 21)[split:]
    ok = np.isfinite(forecast) & np.isfinite(realised) & np.isfinite(rolling) & (realised > 0)
    assert ok.sum() > 1500
    lstm_loss = _qlike(realised[ok] ** 2, forecast[ok] ** 2)
    rolling_loss = _qlike(realised[ok] ** 2, rolling[ok] ** 2)
    assert lstm_loss < 0.95 * rolling_loss


def test_warm_start_continues_from_previous_weights():
    prices = _prices(400, seed=1)
    params = dict(TINY, max_epochs=8, learning_rate=1e-2, random_state=0)
    cold = LSTMForecaster(**params).fit(prices.iloc[:380])
    warm = clone(cold).set_params(warm_start=True)
    warm.fit(prices.iloc[:380])  # no model yet: a cold fit, identical to `cold` (same seed)
    np.testing.assert_array_equal(warm.predict(prices).to_numpy(), cold.predict(prices).to_numpy())
    warm.fit(prices)  # continues from those weights
    fresh = LSTMForecaster(**params).fit(prices)
    # the warm fit starts where the cold one stopped: its first epoch already beats a fresh first epoch
    assert (
        warm.training_.history[0]["validation_loss"] < fresh.training_.history[0]["validation_loss"]
    )
    assert warm.feature_scaler_ is not None
    with pytest.raises(ValueError, match="same assets"):
        warm.fit(prices[["A1", "A0", "A2"]])


# ----------------------------------------------------------------------------------------------
# the training loop on its own
# ----------------------------------------------------------------------------------------------
def _toy_batches(n: int = 256, seed: int = 0):  # type: ignore[no-untyped-def]
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 5, 2, generator=gen)
    y = x[:, -1, 0] * 2.0

    class Data:
        def __len__(self) -> int:
            return n

        def batch(self, ids):  # type: ignore[no-untyped-def]
            return x[ids], y[ids]

    return Data()


def test_trainer_stops_early_and_restores_best_weights():
    from seqfolio.signals.models import PanelLSTM
    from seqfolio.signals.trainer import evaluate, train

    torch.manual_seed(0)
    model = PanelLSTM(2, 4)
    data, val = _toy_batches(), _toy_batches(seed=1)
    result = train(
        model,
        torch.nn.functional.mse_loss,
        data,
        val,
        max_epochs=50,
        batch_size=32,
        learning_rate=1e-2,
        patience=2,
        grad_clip=1.0,
        generator=torch.Generator().manual_seed(0),
    )
    losses = [row["validation_loss"] for row in result.history]
    assert result.best_loss == min(losses) and losses[0] > result.best_loss
    assert evaluate(model, torch.nn.functional.mse_loss, val) == pytest.approx(
        result.best_loss, rel=1e-6
    )
    assert result.steps == result.epochs * 8 or result.epochs == 50


def test_trainer_eval_every_max_steps_and_target_loss():
    from seqfolio.signals.models import PanelLSTM
    from seqfolio.signals.trainer import train

    common = dict(batch_size=32, learning_rate=1e-2, patience=None, grad_clip=None)
    torch.manual_seed(0)
    res = train(
        PanelLSTM(2, 4),
        torch.nn.functional.mse_loss,
        _toy_batches(),
        _toy_batches(seed=1),
        max_epochs=3,
        eval_every=4,
        generator=torch.Generator().manual_seed(0),
        **common,
    )
    assert [row["step"] for row in res.history] == list(range(4, 25, 4))
    res = train(
        PanelLSTM(2, 4),
        torch.nn.functional.mse_loss,
        _toy_batches(),
        None,
        max_epochs=10,
        max_steps=11,
        generator=torch.Generator().manual_seed(0),
        **common,
    )
    assert res.steps == 11 and res.history[-1]["step"] == 11
    res = train(
        PanelLSTM(2, 4),
        torch.nn.functional.mse_loss,
        _toy_batches(),
        _toy_batches(seed=1),
        max_epochs=50,
        target_loss=1e9,
        generator=torch.Generator().manual_seed(0),
        **common,
    )
    assert res.epochs == 1

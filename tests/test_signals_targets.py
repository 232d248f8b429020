"""Forecast targets as registered objects: a user's own target works wherever a built-in one does.

A toy target is registered with one call and then fitted and forecast through ``LSTMForecaster``, a
population, ``seqfolio.pipeline.models.make_model`` (``--signal lstm-<name>``) and the pipeline's
``Forecast`` step, alone and inside a research walk-forward.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from _btutil import small_prices

from seqfolio.pipeline import SIGNALS, make_model
from seqfolio.pipeline.forecasts import FEEDS as PIPELINE_FEEDS
from seqfolio.pipeline.forecasts import Forecast
from seqfolio.pipeline.steps import RebalanceContext
from seqfolio.signals import LSTMEnsemble, LSTMForecaster, Target, register_target, target_names
from seqfolio.signals import targets as target_registry
from seqfolio.signals.convert import exposure_multiplier
from seqfolio.signals.targets import FEEDS, forward_log_return, get_target

TINY = dict(window=10, horizon=5, hidden_size=4, max_epochs=2, batch_size=64, ffd_d=None,
            n_threads=1, random_state=0)  # fmt: skip


class BigMove(Target):
    """Toy: 1 if the asset's absolute forward log return exceeds its median in the training block
    (a probability with a state fitted on the training block, fed to the exposure rule)."""

    name, feeds, probability = "bigmove", "exposure", True

    def labels(self, prices: np.ndarray, horizon: int, params: Any) -> np.ndarray:
        return np.abs(forward_log_return(prices, horizon))

    def fit(self, labels: np.ndarray, params: Any) -> Any:
        return np.nanmedian(labels, axis=0)  # an array: saved as a list

    def encode(self, labels: np.ndarray, state: Any) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            big = labels > np.asarray(state)[None, :]
        return np.where(np.isnan(labels), np.nan, big.astype(float))


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Registrations last for the test only."""
    monkeypatch.setattr(target_registry, "_REGISTRY", dict(target_registry._REGISTRY))


@pytest.fixture
def bigmove(registry: None) -> BigMove:
    return register_target(BigMove())


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return small_prices("2018-01-01", "2019-12-31")


def test_the_registry_is_the_one_source_of_signal_names(bigmove: BigMove) -> None:
    assert target_names()[-1] == "bigmove"
    assert SIGNALS["lstm-bigmove"] == "bigmove" and "lstm-bigmove" in list(SIGNALS)
    assert {SIGNALS[s] for s in ("lstm-vol", "lstm-return", "lstm-regime", "lstm-drawdown",
                                 "lstm-corr")} == set(target_registry.TARGETS)  # fmt: skip
    assert get_target("bigmove") is bigmove


def test_every_feed_a_target_may_name_is_implemented_by_the_pipeline() -> None:
    assert set(PIPELINE_FEEDS) == set(FEEDS)
    assert {get_target(name).feeds for name in target_registry.TARGETS} == set(FEEDS)


def test_a_registered_target_fits_predicts_saves_and_loads(
    bigmove: BigMove, prices: pd.DataFrame, tmp_path: Path
) -> None:
    f = LSTMForecaster(target="bigmove", **TINY).fit(prices)
    forecast = f.predict(prices)
    assert forecast.name == "bigmove" and ((forecast > 0) & (forecast < 1)).all()
    # the state is learnt from the training block only: moves in the validation block change nothing
    assert len(f.target_state_) == prices.shape[1]
    shocked = prices.copy()
    shocked.iloc[-30:] *= np.linspace(1.0, 2.0, 30)[:, None]
    state = LSTMForecaster(target="bigmove", **TINY).fit(shocked).target_state_
    np.testing.assert_array_equal(state, f.target_state_)
    assert f.stress_level_ is None  # the regime target's alias only
    f.save(tmp_path / "bigmove.pt")
    again = LSTMForecaster.load(tmp_path / "bigmove.pt")
    assert again.target_state_ == f.target_state_.tolist()
    pd.testing.assert_series_equal(again.predict(prices), forecast, check_exact=True)
    history = f.predict_history(prices)
    np.testing.assert_allclose(history.iloc[-1].to_numpy(), forecast.to_numpy(), rtol=1e-6)


def test_a_registered_target_trains_in_a_population(bigmove: BigMove, prices: pd.DataFrame) -> None:
    ensemble = LSTMEnsemble(LSTMForecaster(target="bigmove", **TINY), n_members=2, random_state=0)
    members = ensemble.fit(prices).members_
    alone = LSTMForecaster(target="bigmove", **{**TINY, "random_state": 1}).fit(prices)
    np.testing.assert_allclose(
        members[1].predict(prices).to_numpy(), alone.predict(prices).to_numpy(), atol=1e-5
    )


def test_make_model_and_the_forecast_step_use_a_registered_target(
    bigmove: BigMove, prices: pd.DataFrame
) -> None:
    settings = {"window": 10, "horizon": 5, "hidden_size": 4, "max_epochs": 2, "ffd": False}
    model = make_model("lstm-bigmove", "hrp", settings)
    assert isinstance(model, LSTMForecaster) and model.target == "bigmove"
    model.fit(prices.iloc[:-1])

    class Source:
        last_failure = None

        def ensure(self, date: pd.Timestamp) -> Any:
            return model

        def predict(self, data: pd.DataFrame) -> pd.Series:
            return model.predict(data)

        def history_needed(self) -> int:
            return model.history_needed()

    window = prices.iloc[-100:]
    ctx = RebalanceContext(date=window.index[-1], prices=window, tradable=list(window.columns),
                           returns=window.pct_change().iloc[1:])  # fmt: skip
    Forecast(Source(), exposure_floor=0.2, exposure_threshold=0.3)(ctx)  # type: ignore[arg-type]
    assert ctx.skip_reason is None and ctx.covariance is None and ctx.expected_returns is None
    probability = model.predict(window)
    assert ctx.notes["probability"] == pytest.approx(probability.mean())
    assert ctx.notes["exposure"] == pytest.approx(
        exposure_multiplier(probability, floor=0.2, threshold=0.3)
    )


def test_a_registered_target_runs_in_a_research_walk_forward(
    bigmove: BigMove, prices: pd.DataFrame
) -> None:
    from seqfolio.research.simulation import target_weights

    settings = {"window": 10, "horizon": 5, "hidden_size": 4, "max_epochs": 1, "ffd": False}
    targets = target_weights(
        prices, allocator="ew", lookback=60, rebalance="monthly", start="2019-07-01",
        model=make_model("lstm-bigmove", "ew", settings), retrain="quarterly", train_window=250,
    )  # fmt: skip
    assert len(targets.weights) == 6 and not targets.failures and not targets.skipped
    assert targets.retrains is not None and len(targets.retrains) >= 2
    invested = targets.weights.sum(axis=1)
    assert ((invested >= 0.25 - 1e-12) & (invested <= 1.0 + 1e-12)).all()  # the exposure rule


class Plain(Target):
    name, feeds = "plain", "covariance"

    def labels(self, prices: np.ndarray, horizon: int, params: Any) -> np.ndarray:
        return forward_log_return(prices, horizon)


@pytest.mark.parametrize(
    ("target", "error", "match"),
    [
        ("volatility", TypeError, "must be an instance of a Target subclass. Got str instead"),
        (type("Nameless", (Plain,), {"name": ""})(), ValueError,
         r"Nameless.name must be a non-empty lower-case word. Got '' instead"),
        (type("Spaced", (Plain,), {"name": "my target"})(), ValueError, "lower-case word"),
        (type("Nowhere", (Plain,), {"feeds": "weights"})(), ValueError,
         r"Nowhere.feeds must be one of \['covariance', 'expected_returns', 'exposure', "
         r"'correlation'\]. Got 'weights' instead"),
        (type("Vol", (Plain,), {"name": "volatility"})(), ValueError,
         "the target name 'volatility' is a built-in target"),
        (type("Clash", (Plain,), {"signal": "lstm-vol"})(), ValueError,
         r"the signal name 'lstm-vol' of Clash is taken by the target 'volatility'; set another "
         r"Clash.signal"),
    ],
    ids=["not a target", "no name", "spaces", "unknown feed", "built-in name", "signal taken"],
)  # fmt: skip
def test_bad_registrations_are_refused(
    registry: None, target: Any, error: type, match: str
) -> None:
    with pytest.raises(error, match=match):
        register_target(target)
    assert "plain" not in target_names()


def test_registering_a_name_twice_needs_replace(registry: None) -> None:
    first = register_target(Plain())
    with pytest.raises(ValueError, match=r"the target name 'plain' is taken; pass replace=True"):
        register_target(Plain())
    second = register_target(Plain(), replace=True)
    assert get_target("plain") is second is not first


def test_an_unregistered_target_is_named_with_the_way_to_fix_it(prices: pd.DataFrame) -> None:
    with pytest.raises(ValueError, match=r"The 'target' parameter of LSTMForecaster must be one of "
                                         r"\['return', .*Got 'bigmove' instead \(a target of your "
                                         r"own needs register_target first\)"):  # fmt: skip
        LSTMForecaster(target="bigmove", **TINY).fit(prices)
    with pytest.raises(NotImplementedError, match="Plain2.labels is not written"):
        type("Plain2", (Target,), {})().labels(prices.to_numpy(), 5, {})


class NoBaseline(Target):
    """A volatility-like target without a baseline (the built-in volatility has one)."""

    name, feeds = "nobaseline", "covariance"

    def labels(self, prices: np.ndarray, horizon: int, params: Any) -> np.ndarray:
        return np.abs(forward_log_return(prices, horizon)) / np.sqrt(horizon)


def test_a_missing_forecast_without_a_baseline_skips_the_rebalance(registry: None) -> None:
    """Assets without a forecast would reach the allocator as NaN: the rebalance fails instead."""
    register_target(NoBaseline())
    prices = small_prices("2019-01-01", "2019-06-30")

    class Model:
        target, horizon = "nobaseline", 5

    class Source:
        last_failure = None

        def ensure(self, date: pd.Timestamp) -> Any:
            return Model()

        def predict(self, data: pd.DataFrame) -> pd.Series:
            return pd.Series(0.01, index=data.columns).mask(data.columns == "KO")

        def history_needed(self) -> int:
            return 20

    ctx = RebalanceContext(date=prices.index[-1], prices=prices, tradable=list(prices.columns),
                           returns=prices.pct_change().iloc[1:])  # fmt: skip
    Forecast(Source())(ctx)  # type: ignore[arg-type]
    assert ctx.covariance is None and [e.kind for e in ctx.events] == ["forecast_failed"]
    assert "no forecast for ['KO'] (no complete window) and the target 'nobaseline' has no " in (
        ctx.skip_reason or ""
    )

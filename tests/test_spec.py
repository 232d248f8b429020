"""RebalanceSpec: every decision setting defined, defaulted and checked once (issue 20).

The constraint table (``seqfolio.spec.SETTINGS``) is the one place a setting is checked; these tests
go over every row of it, so a setting added without a default from ``seqfolio.defaults``, without a
check, or without a way through TOML fails here.
"""

from __future__ import annotations

import pickle
import warnings

import pytest

from seqfolio import defaults
from seqfolio._validation import InvalidParameter
from seqfolio.research.config import PortfolioConfig
from seqfolio.spec import SETTINGS, RebalanceSpec, as_spec, distinct_labels, setting_default

# one bad value per setting: a new setting must add its row here
BAD = {
    "allocator": "hrpp",
    "allocator_params": {"linkag": "ward"},
    "lookback": 1,
    "rebalance": "montly",
    "max_weight": 1.5,
    "cash_buffer": 0.5,
    "commission": -0.001,
    "signal": "lstm-volatility",
    "model": {"hidden": 8},
    "retrain": "yearly",
    "train_window": 1,
    "warm_start": "yes",
    "min_trade": 1.0,
    "fractional": 1,
    "retry_rejected": "no",
    "capital": 0.0,
    "delisted": "sell",
    "max_gap": -1,
    "exposure_floor": 1.5,
    "exposure_threshold": 1.0,
}

# the defaults.py constant each default comes from (None: the default is "not set")
FROM_DEFAULTS = {
    "allocator": defaults.ALLOCATOR,
    "lookback": defaults.LOOKBACK,
    "rebalance": defaults.REBALANCE,
    "cash_buffer": defaults.CASH_BUFFER,
    "commission": defaults.COMMISSION,
    "retrain": defaults.RETRAIN,
    "train_window": defaults.TRAIN_BARS,
    "min_trade": defaults.MIN_TRADE,
    "delisted": defaults.DELISTED,
    "max_gap": defaults.MAX_GAP,
    "exposure_floor": defaults.EXPOSURE_FLOOR,
    "exposure_threshold": defaults.EXPOSURE_THRESHOLD,
}


def test_every_setting_has_a_bad_case() -> None:
    assert sorted(BAD) == sorted(SETTINGS)


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_setting_is_checked_when_the_spec_is_built(name: str) -> None:
    settings = {name: BAD[name]}
    if name == "model":
        settings["signal"] = "lstm-vol"
    with pytest.raises(ValueError) as info:
        RebalanceSpec.from_settings(settings, owner="run_backtest")
    message = str(info.value)
    assert "run_backtest" in message
    key = {"allocator_params": "linkag", "model": "hidden"}.get(name, f"'{name}' parameter")
    assert key in message


@pytest.mark.parametrize("name", sorted(SETTINGS))
def test_every_default_has_one_home(name: str) -> None:
    default = setting_default(name)
    if name in FROM_DEFAULTS:
        assert default == FROM_DEFAULTS[name]
    else:  # not set: None, False, an empty table, or a flag that is on
        assert default in (None, False, True, {})
    assert getattr(RebalanceSpec(), name) == default


def test_a_misspelt_name_gets_the_closest() -> None:
    with pytest.raises(InvalidParameter, match="Did you mean 'hrp'") as info:
        RebalanceSpec("hrpp")
    assert info.value.suggestion == "hrp" and info.value.name == "allocator"
    assert "lstm-weights" in info.value.expected
    with pytest.raises(ValueError, match="did you mean 'lookback'"):
        RebalanceSpec.from_settings({"lookbak": 126})
    with pytest.raises(ValueError, match="did you mean 'hidden_size'"):
        RebalanceSpec(signal="lstm-vol", model={"hidden": 8})
    with pytest.raises(ValueError, match="did you mean 'max_epochs'"):
        RebalanceSpec(signal="lstm-vol", model={"epochs": 3})


@pytest.mark.parametrize(
    "spec",
    [
        RebalanceSpec(),
        RebalanceSpec("herc", {"linkage": "average"}, lookback=126, rebalance="quarterly"),
        RebalanceSpec("mvo", {"objective": "max_sharpe"}, max_weight=0.2, commission=0.0005),
        RebalanceSpec(signal="lstm-vol", model={"hidden_size": 8, "seed": 3}, retrain="monthly",
                      train_window="expanding", exposure_floor=0.5),
        RebalanceSpec("lstm-weights", model={"window": 20}, train_window=500, max_gap=0),
        RebalanceSpec(min_trade=0.01, fractional=True, retry_rejected=False, delisted="hold"),
    ],
    ids=lambda s: s.label,
)  # fmt: skip
def test_toml_round_trip(spec: RebalanceSpec) -> None:
    text = spec.to_toml()
    assert RebalanceSpec.from_toml(text) == spec
    assert RebalanceSpec.from_toml(RebalanceSpec.from_toml(text).to_toml()) == spec


def test_what_toml_cannot_hold_is_said() -> None:
    with pytest.raises(ValueError, match="cannot be written to TOML"):
        RebalanceSpec(rebalance=lambda day: day.day == 1).to_toml()


def test_the_spec_is_immutable_and_travels() -> None:
    spec = RebalanceSpec("hrp", {"linkage": "ward"}, signal="lstm-vol", model={"hidden_size": 8})
    with pytest.raises(Exception):  # noqa: B017 - FrozenInstanceError
        spec.lookback = 10  # type: ignore[misc]
    with pytest.raises(TypeError, match="immutable"):
        spec.allocator_params["linkage"] = "single"  # type: ignore[index]
    with pytest.raises(TypeError, match="immutable"):
        spec.model.update(hidden_size=4)  # type: ignore[attr-defined]
    assert pickle.loads(pickle.dumps(spec)) == spec
    assert spec.replace(lookback=100).lookback == 100 and spec.lookback == defaults.LOOKBACK


def test_aliases_have_one_name_in_the_spec() -> None:
    spec = RebalanceSpec(signal="lstm-vol", model={"seed": 4})
    assert dict(spec.model) == {"random_state": 4}
    assert spec.make_model().random_state == 4
    with pytest.raises(ValueError, match="not both"):
        RebalanceSpec(signal="lstm-vol", model={"seed": 4, "random_state": 5})


def test_portfolio_config_is_the_spec_and_params_still_works() -> None:
    assert PortfolioConfig is RebalanceSpec
    assert PortfolioConfig("hrp") == RebalanceSpec("hrp")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        config = PortfolioConfig("herc", params={"linkage": "average"})
    assert config.allocator_params == {"linkage": "average"}
    assert any("allocator_params" in str(w.message) for w in caught)


def test_spec_or_settings_not_both() -> None:
    spec = RebalanceSpec("herc")
    assert as_spec(spec, {}, "run_backtest") is spec
    with pytest.raises(ValueError, match=r"spec.replace\(lookback=...\)"):
        as_spec(spec, {"lookback": 126}, "run_backtest")


def test_labels_name_the_allocator_and_tell_a_collection_apart() -> None:
    assert RebalanceSpec().label == "HRP monthly"
    assert RebalanceSpec("lstm-weights").label == "LSTM weights monthly"
    assert RebalanceSpec("herc", signal="lstm-vol").label == "LSTM-vol → HERC monthly"
    assert (
        RebalanceSpec("hrp", {"linkage": "ward"}, lookback=126, rebalance="quarterly").label
        == "HRP(linkage=ward) quarterly"
    )
    specs = [
        RebalanceSpec("hrp", lookback=126),
        RebalanceSpec("hrp"),
        RebalanceSpec("ew"),
        RebalanceSpec(signal="lstm-vol", model={"seed": 0}),
        RebalanceSpec(signal="lstm-vol", model={"seed": 1}),
    ]
    assert distinct_labels(specs) == [
        "HRP monthly, lookback 126",
        "HRP monthly, lookback 252",
        "EqualWeight monthly",
        "LSTM-vol → HRP monthly, random state 0",
        "LSTM-vol → HRP monthly, random state 1",
    ]


def test_engine_only_settings_are_refused_by_a_study() -> None:
    from seqfolio.data import load_sample
    from seqfolio.research.walkforward import walk_forward

    prices = load_sample("2015-01-01", "2018-12-31").iloc[:, :4]
    with pytest.raises(ValueError, match=r"sets \['min_trade'\], which the research path"):
        walk_forward(prices, [RebalanceSpec(min_trade=0.01)], train=252, test=126)

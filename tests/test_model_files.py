"""Saved LSTM models: written atomically, read back bit-exactly, and every broken file gets a clear error.

Both LSTMForecaster and LSTMAllocator go through ``seqfolio.signals._persist``.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from seqfolio.data import load_sample
from seqfolio.signals import LSTMAllocator, LSTMEnsemble, LSTMForecaster


class Crash(Exception):
    """Stands in for a process dying in the middle of a write."""


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return load_sample("2016-01-01", "2018-12-31", assets=["AAPL", "MSFT", "JPM", "XOM"])


@pytest.fixture(scope="module")
def models(prices: pd.DataFrame) -> dict[str, object]:
    tiny = dict(window=10, hidden_size=4, max_epochs=1, random_state=0)
    return {
        "forecaster": LSTMForecaster(
            target="volatility", horizon=5, sample_stride=1, ffd_d=None, **tiny
        ).fit(prices),
        "allocator": LSTMAllocator(**tiny).fit(prices.pct_change().iloc[1:]),
    }


def _litter(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".tmp-" in p.name)


@pytest.mark.parametrize("kind", ["forecaster", "allocator"])
def test_round_trip_is_exact(kind: str, models: dict, prices: pd.DataFrame, tmp_path: Path) -> None:
    model = models[kind]
    path = tmp_path / "model.pt"
    model.save(path)
    again = type(model).load(path)
    for key, value in model.model_.state_dict().items():
        assert torch.equal(value, again.model_.state_dict()[key])
    if kind == "forecaster":
        pd.testing.assert_series_equal(
            model.predict(prices), again.predict(prices), check_exact=True
        )
    else:
        returns = prices.pct_change().iloc[1:]
        pd.testing.assert_series_equal(
            model.predict(returns), again.predict(returns), check_exact=True
        )


@pytest.mark.parametrize("kind", ["forecaster", "allocator"])
def test_save_killed_mid_write_keeps_the_previous_file(
    kind: str, models: dict, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model = models[kind]
    path = tmp_path / "model.pt"
    model.save(path)
    before = path.read_bytes()
    real_save = torch.save

    def dies_half_way(obj, f, *args, **kwargs):  # noqa: ANN001, ANN202
        real_save(obj, f, *args, **kwargs)
        data = Path(f).read_bytes()
        Path(f).write_bytes(data[: len(data) // 2])
        raise Crash("killed during torch.save")

    monkeypatch.setattr(torch, "save", dies_half_way)
    with pytest.raises(Crash):
        model.save(path)
    assert path.read_bytes() == before
    assert _litter(tmp_path) == []
    with pytest.raises(Crash):
        model.save(tmp_path / "new.pt")
    assert not (tmp_path / "new.pt").exists()  # no half-written file under the real name


@pytest.mark.parametrize("cls", [LSTMForecaster, LSTMAllocator])
def test_missing_file(cls: type, tmp_path: Path) -> None:
    with pytest.raises(
        FileNotFoundError, match=rf"{cls.__name__}.load: no such file: .*nothing.pt"
    ):
        cls.load(tmp_path / "nothing.pt")


@pytest.mark.parametrize("cls", [LSTMForecaster, LSTMAllocator])
def test_garbage_file(cls: type, tmp_path: Path) -> None:
    path = tmp_path / "garbage.pt"
    path.write_bytes(b"not a checkpoint" * 8)
    with pytest.raises(ValueError, match=rf"{cls.__name__}.load: .*garbage.pt is corrupted or not "
                                         r"a torch file .*delete it and retrain"):  # fmt: skip
        cls.load(path)


@pytest.mark.parametrize("kind", ["forecaster", "allocator"])
def test_truncated_file(kind: str, models: dict, tmp_path: Path) -> None:
    model = models[kind]
    model.save(tmp_path / "full.pt")
    data = (tmp_path / "full.pt").read_bytes()
    (tmp_path / "truncated.pt").write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match=r"truncated.pt is corrupted or not a torch file"):
        type(model).load(tmp_path / "truncated.pt")


@pytest.mark.parametrize("kind", ["forecaster", "allocator"])
def test_file_that_does_not_match_its_configuration(
    kind: str, models: dict, tmp_path: Path
) -> None:
    model = models[kind]
    model.save(tmp_path / "full.pt")
    payload = torch.load(tmp_path / "full.pt", weights_only=True)
    payload["params"]["hidden_size"] = 8  # the weights are for hidden_size=4
    torch.save(payload, tmp_path / "other.pt")
    with pytest.raises(ValueError, match=r"other.pt does not match its own configuration "
                                         r"\(.*size mismatch.*delete it and retrain"):  # fmt: skip
        type(model).load(tmp_path / "other.pt")
    del payload["assets"]
    torch.save(payload, tmp_path / "edited.pt")
    with pytest.raises(ValueError, match=r"edited.pt does not match its own configuration"):
        type(model).load(tmp_path / "edited.pt")


def test_file_of_the_other_model_class(models: dict, tmp_path: Path) -> None:
    models["forecaster"].save(tmp_path / "forecaster.pt")
    with pytest.raises(ValueError, match=r"forecaster.pt is not a saved LSTMAllocator \(format "
                                         r"'seqfolio.signals.LSTMForecaster/2'"):  # fmt: skip
        LSTMAllocator.load(tmp_path / "forecaster.pt")
    models["allocator"].save(tmp_path / "allocator.pt")
    with pytest.raises(ValueError, match=r"allocator.pt is not a saved LSTMForecaster"):
        LSTMForecaster.load(tmp_path / "allocator.pt")


def test_weights_only_refuses_pickled_objects(tmp_path: Path) -> None:
    """A file carrying an arbitrary pickled object is refused, not executed."""
    path = tmp_path / "pickled.pt"
    torch.save(
        {"format": "seqfolio.signals.LSTMAllocator/1", "obj": np.random.default_rng(0)}, path
    )
    with pytest.raises(ValueError, match=r"pickled.pt holds Python objects other than tensors .* "
                                         r"refused rather than unpickled"):  # fmt: skip
        LSTMAllocator.load(path)


# ---------------------------------------------------------------------------------------------
# files of the previous format: tests/saved_models/*_v1.pt were written by the release before the
# target registry (LSTMForecaster format /1, which called the target's fitted state "stress_level"),
# with these settings; expected_v1.json holds that release's forecasts for the same prices.
# ---------------------------------------------------------------------------------------------
SAVED = Path(__file__).parent / "saved_models"


def test_files_of_the_previous_format_load_and_forecast_the_same(prices: pd.DataFrame) -> None:
    # to 1e-12, not to the bit: NumPy 1.26 and 2.x round the features' last bits differently
    expected = json.loads((SAVED / "expected_v1.json").read_text())
    forecaster = LSTMForecaster.load(SAVED / "forecaster_v1.pt")
    assert forecaster.target == "regime" and forecaster.window == 10
    assert forecaster.stress_level_ == forecaster.target_state_ == expected["stress_level"]
    np.testing.assert_allclose(forecaster.predict(prices).to_numpy(), expected["forecaster"], rtol=1e-12, atol=0)
    allocator = LSTMAllocator.load(SAVED / "allocator_v1.pt")
    np.testing.assert_allclose(allocator.predict(prices.pct_change().iloc[1:]).to_numpy(), expected["allocator"], rtol=1e-12, atol=0)
    ensemble = LSTMEnsemble.load(SAVED / "ensemble_v1.pt")
    np.testing.assert_allclose(ensemble.predict(prices).to_numpy(), expected["ensemble"], rtol=1e-12, atol=0)


def test_a_loaded_old_file_is_saved_in_the_current_format(tmp_path: Path) -> None:
    forecaster = LSTMForecaster.load(SAVED / "forecaster_v1.pt")
    forecaster.save(tmp_path / "again.pt")
    payload = torch.load(tmp_path / "again.pt", weights_only=True)
    assert payload["format"] == "seqfolio.signals.LSTMForecaster/2"
    assert payload["target_state"] == forecaster.target_state_ and "stress_level" not in payload
    again = LSTMForecaster.load(tmp_path / "again.pt")
    assert again.target_state_ == forecaster.target_state_

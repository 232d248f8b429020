"""fit_population: each member equals the same LSTMForecaster fitted alone (to 1e-5), any thread count."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
import torch
from _btutil import small_prices

from seqfolio.signals import LSTMForecaster, fit_population
from seqfolio.signals.models import PanelLSTM, qlike_loss
from seqfolio.signals.population_net import PopulationLSTM
from seqfolio.signals.population_train import MemberOptions, train_population
from seqfolio.signals.trainer import TrainingDiverged

TOL = 1e-5  # max abs difference of raw network outputs, population member vs lone fit

BASE = dict(window=12, horizon=5, hidden_size=6, max_epochs=3, batch_size=64, sample_stride=3,
            ffd_d=None, n_threads=1)  # fmt: skip


@pytest.fixture(scope="module")
def prices() -> pd.DataFrame:
    return small_prices("2018-06-01", "2019-12-31")


def _probe(features: int = 8) -> torch.Tensor:
    return torch.randn(50, 12, features, generator=torch.Generator().manual_seed(1))


def _outputs(f: LSTMForecaster) -> torch.Tensor:
    with torch.no_grad():
        return f.model_(_probe())


def _assert_same_fit(alone: LSTMForecaster, member: Any) -> None:
    assert isinstance(member, LSTMForecaster)
    assert float((_outputs(alone) - _outputs(member)).abs().max()) <= TOL
    a, m = alone.training_, member.training_
    assert (a.epochs, a.steps, a.samples, a.best_epoch) == (
        m.epochs,
        m.steps,
        m.samples,
        m.best_epoch,
    )
    assert a.best_loss == pytest.approx(m.best_loss, abs=TOL)


@pytest.mark.parametrize("k", [1, 4, 16])
def test_members_equal_lone_fits(prices: pd.DataFrame, k: int) -> None:
    configs = [dict(BASE, random_state=s) for s in range(k)]
    members = fit_population([LSTMForecaster(**c) for c in configs], prices)
    for config, member in zip(configs, members, strict=True):
        _assert_same_fit(LSTMForecaster(**config).fit(prices), member)
    forecast = members[-1].predict(prices)
    assert forecast.notna().all()


def test_mixed_hyperparameters_and_early_stopping(prices: pd.DataFrame) -> None:
    # two hidden sizes (padded to 8), two learning rates, patience 1 vs 3, clipping on / off,
    # different max_epochs: members stop at different epochs and the others go on
    configs = [
        dict(BASE, random_state=0, hidden_size=8, learning_rate=1e-3, max_epochs=6, patience=1),
        dict(BASE, random_state=1, hidden_size=3, learning_rate=3e-2, max_epochs=6, patience=3),
        dict(BASE, random_state=2, hidden_size=8, learning_rate=3e-2, max_epochs=2, grad_clip=None),
        dict(BASE, random_state=3, hidden_size=3, learning_rate=1e-3, max_epochs=6, patience=1,
             batch_size=64, validation_fraction=0.2),
    ]  # fmt: skip
    members = fit_population([LSTMForecaster(**c) for c in configs], prices)
    alone = [LSTMForecaster(**c).fit(prices) for c in configs]
    for a, m in zip(alone, members, strict=True):
        _assert_same_fit(a, m)
        assert [h["epoch"] for h in a.training_.history] == [
            h["epoch"] for h in m.training_.history
        ]
    assert len({m.training_.epochs for m in members}) > 1  # frozen at different epochs
    assert members[1].model_.lstm.hidden_size == 3


# Every LSTMForecaster parameter, and how a population treats it (issue 19 item 13: the population
# trainer ignored epoch_samples). "shared": both members take the setting (it decides the samples or
# the epochs' shape, so members differing in it train as separate populations); "member": one member
# takes it, the other keeps BASE; "refused": fit_population names the member and the parameter.
# "no effect" settings (threads, progress bar, device on a CPU machine, warm start of an unfitted
# forecaster) must leave the fit as it is; the others must change it, so each row can fail.
EVERY_PARAMETER: dict[str, tuple[dict[str, Any], str]] = {
    "target": (dict(target="return"), "shared"),
    "window": (dict(window=8), "shared"),
    "horizon": (dict(horizon=3), "shared"),
    "hidden_size": (dict(hidden_size=4), "member"),
    "num_layers": (dict(num_layers=2), "refused"),
    "dropout": (dict(dropout=0.1), "refused"),
    "max_epochs": (dict(max_epochs=2), "member"),
    "batch_size": (dict(batch_size=50), "shared"),
    "learning_rate": (dict(learning_rate=3e-2), "member"),
    "patience": (dict(patience=1, learning_rate=3e-2, max_epochs=6), "member"),
    "validation_fraction": (dict(validation_fraction=0.0), "shared"),
    "embargo": (dict(embargo=10), "shared"),
    "grad_clip": (dict(grad_clip=1e-3), "member"),
    "sample_stride": (dict(sample_stride=2), "shared"),
    "epoch_samples": (dict(epoch_samples=100), "shared"),
    "ffd_d": (dict(ffd_d=0.4), "shared"),
    "ffd_threshold": (dict(ffd_d=0.4, ffd_threshold=1e-2), "shared"),
    "winsorize_limit": (dict(winsorize_limit=0.5), "shared"),
    "drawdown_threshold": (dict(target="drawdown", drawdown_threshold=0.02), "shared"),
    "stress_quantile": (dict(target="regime", stress_quantile=0.5), "shared"),
    "warm_start": (dict(warm_start=True), "no effect"),
    "device": (dict(device="cpu"), "no effect"),
    "n_threads": (dict(n_threads=2), "no effect"),
    "progress": (dict(progress=True), "no effect"),
    "random_state": (dict(random_state=7), "member"),
}


def test_every_parameter_is_covered() -> None:
    assert sorted(EVERY_PARAMETER) == sorted(LSTMForecaster().get_params())


@pytest.fixture(scope="module")
def base_fit(prices: pd.DataFrame) -> LSTMForecaster:
    return LSTMForecaster(**BASE, random_state=0).fit(prices)


@pytest.mark.parametrize("name", sorted(EVERY_PARAMETER))
def test_each_member_equals_its_lone_fit_for_every_parameter(
    prices: pd.DataFrame, base_fit: LSTMForecaster, name: str
) -> None:
    changes, how = EVERY_PARAMETER[name]
    if name not in changes:
        raise AssertionError(f"the changes for {name!r} do not set it")
    configs = [dict(BASE, random_state=0), {**BASE, "random_state": 1, **changes}]
    if how == "shared":
        configs[0].update(changes)
    if how == "refused":
        value = changes[name]
        with pytest.raises(
            ValueError, match=rf"forecasters\[1\] has {name}={value!r}; a population"
        ):
            fit_population([LSTMForecaster(**c) for c in configs], prices)
        return
    members = fit_population([LSTMForecaster(**c) for c in configs], prices)
    alone = [LSTMForecaster(**c).fit(prices) for c in configs]
    for a, m in zip(alone, members, strict=True):
        _assert_same_fit(a, m)
        np.testing.assert_allclose(a.predict(prices), m.predict(prices), rtol=TOL, atol=TOL)
    changed = LSTMForecaster(**{**BASE, "random_state": 0, **changes}).fit(prices)
    same = bool(torch.equal(_outputs(changed), _outputs(base_fit)))
    assert same == (how == "no effect"), (
        f"{name}={changes[name]!r} should {'not ' * same}change the fit"
    )


def test_a_fitted_member_with_warm_start_is_refused(prices: pd.DataFrame) -> None:
    fitted = LSTMForecaster(**BASE, warm_start=True).fit(prices)
    with pytest.raises(ValueError, match=r"forecasters\[0\] is fitted and has warm_start=True"):
        fit_population([fitted], prices)


def test_different_windows_train_as_separate_populations(prices: pd.DataFrame) -> None:
    configs = [dict(BASE, random_state=0), dict(BASE, random_state=0, window=8)]
    members = fit_population([LSTMForecaster(**c) for c in configs], prices)
    for config, member in zip(configs, members, strict=True):
        alone = LSTMForecaster(**config).fit(prices)
        assert np.allclose(alone.predict(prices), member.predict(prices), rtol=TOL, atol=0)


def test_thread_count_does_not_change_a_bit(prices: pd.DataFrame) -> None:
    # five members on two threads (3 + 2), odd sizes, some stopping early (the population shrinks)
    configs = [dict(BASE, random_state=s, hidden_size=3 + s, batch_size=50, max_epochs=5,
                    patience=1 + s % 2, learning_rate=1e-2) for s in range(5)]  # fmt: skip
    one = fit_population([LSTMForecaster(**c) for c in configs], prices, n_threads=1)
    two = fit_population([LSTMForecaster(**c) for c in configs], prices, n_threads=2)
    for a, b in zip(one, two, strict=True):
        sa, sb = a.model_.state_dict(), b.model_.state_dict()
        assert all(torch.equal(sa[name], sb[name]) for name in sa)
    assert len({m.training_.epochs for m in one}) > 1


def test_member_saves_and_loads(prices: pd.DataFrame, tmp_path: Any) -> None:
    (member,) = fit_population([LSTMForecaster(**BASE, random_state=0)], prices)
    member.save(tmp_path / "m.pt")
    loaded = LSTMForecaster.load(tmp_path / "m.pt")
    pd.testing.assert_series_equal(loaded.predict(prices), member.predict(prices))


def test_a_diverging_member_is_frozen_and_the_others_go_on() -> None:
    torch.manual_seed(0)
    nets = [PanelLSTM(3, 4), PanelLSTM(3, 4)]
    with torch.no_grad():
        nets[1].head.bias.fill_(float("inf"))
    net = PopulationLSTM(nets)
    before = [p.detach()[1].clone() for p in net.stacked()]

    class Data:
        x = torch.randn(40, 5, 3, generator=torch.Generator().manual_seed(0))
        y = x.sum(dim=(1, 2))

        def __len__(self) -> int:
            return 40

        def batch(self, ids: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            return self.x[ids], self.y[ids]

    options = [MemberOptions(3, 1e-2, None, 1.0, torch.Generator().manual_seed(s)) for s in (0, 1)]
    out = train_population(net, qlike_loss, Data(), None, options, batch_size=16)
    assert out[0].epochs == 3 and out[0].steps == 9
    assert isinstance(out[1], TrainingDiverged) and "epoch 1, step 1" in str(out[1])
    assert all(torch.equal(p.detach()[1], b) for p, b in zip(net.stacked(), before, strict=True))
    assert all(torch.isfinite(p.detach()[0]).all() for p in net.stacked())


@pytest.mark.parametrize(
    ("bad", "error", "match"),
    [
        (dict(num_layers=2), ValueError, r"forecasters\[1\] has num_layers=2"),
        (dict(dropout=0.1), ValueError, r"forecasters\[1\] has dropout=0.1"),
        (dict(hidden_size=0), ValueError, "hidden_size"),
    ],
)
def test_bad_members_are_named(prices: pd.DataFrame, bad: dict, error: type, match: str) -> None:
    members = [LSTMForecaster(**BASE), LSTMForecaster(**{**BASE, **bad})]
    with pytest.raises(error, match=match):
        fit_population(members, prices)


def test_not_a_forecaster_or_empty(prices: pd.DataFrame) -> None:
    with pytest.raises(TypeError, match=r"forecasters\[0\] is a str"):
        fit_population(["x"], prices)  # type: ignore[list-item]
    with pytest.raises(ValueError, match="empty"):
        fit_population([], prices)

"""Windowed dataset: alignment on arange inputs, labels from (t, t + horizon], purge and embargo."""

from __future__ import annotations

import numpy as np
import pytest

from seqfolio.signals.targets import (
    forward_drawdown,
    forward_log_return,
    forward_mean_correlation,
    forward_volatility,
    get_target,
    stress_thresholds,
)
from seqfolio.signals.windows import chronological_split, gather_windows, sample_index


def _arange_panel(n_bars: int = 50, n_assets: int = 2) -> np.ndarray:
    # feature value = bar number, so a window's content reveals exactly which bars it read
    return np.broadcast_to(
        np.arange(n_bars, dtype=float)[:, None, None], (n_bars, n_assets, 1)
    ).copy()


def test_window_rows_are_the_bars_up_to_t():
    features = _arange_panel()
    index = sample_index(features, None, window=5, horizon=3)
    assert index.t.min() == 4  # the first full window is bars 0..4
    x = gather_windows(features, index.t, index.a, 5)
    expected = index.t[:, None] + np.arange(-4, 1)[None, :]
    np.testing.assert_array_equal(x[:, :, 0], expected)


def test_window_alignment_with_torch_tensors():
    torch = pytest.importorskip("torch")
    features = _arange_panel()
    index = sample_index(features, None, window=5, horizon=3)
    x = gather_windows(
        torch.as_tensor(features), torch.as_tensor(index.t), torch.as_tensor(index.a), 5
    )
    np.testing.assert_array_equal(x[:, -1, 0].numpy(), index.t)


def test_label_reads_bars_after_t_only():
    # log price = t (t + 1) / 2, so the log return of bar s is s and the forward return is sum(t+1..t+h)
    n, h = 30, 4
    t = np.arange(n, dtype=float)
    prices = np.exp(t * (t + 1) / 2 / 100)[:, None]  # /100 keeps exp finite; returns are s / 100
    fwd = forward_log_return(prices, h)[:, 0]
    for bar in range(n - h):
        assert fwd[bar] == pytest.approx(sum(range(bar + 1, bar + h + 1)) / 100)
    assert np.isnan(fwd[n - h :]).all()  # the last horizon bars have no complete label


def test_sample_index_purges_labels_beyond_the_cut():
    features = _arange_panel(60)
    labels = np.ones((60, 2))  # labels present everywhere: only the purge can drop them
    index = sample_index(features, labels, window=5, horizon=7, cut=40)
    assert index.t.max() == 40 - 7
    full = sample_index(features, labels, window=5, horizon=7)
    assert full.t.max() == 59 - 7


def test_sample_index_drops_nan_windows_and_labels():
    features = _arange_panel(40)
    features[10, 0, 0] = np.nan
    labels = np.ones((40, 2))
    labels[30, 1] = np.nan
    index = sample_index(features, labels, window=5, horizon=2)
    bad_0 = (index.a == 0) & (index.t >= 10) & (index.t <= 14)
    assert not bad_0.any()
    assert not ((index.a == 1) & (index.t == 30)).any()
    assert ((index.a == 1) & (index.t == 12)).any()


def test_sample_index_stride_keeps_last_bar():
    features = _arange_panel(40)
    index = sample_index(features, None, window=5, horizon=2, stride=3)
    assert index.t.max() == 39
    assert set(np.diff(np.unique(index.t))) == {3}


@pytest.mark.parametrize("embargo", [0, 5])
def test_chronological_split_purges_and_embargoes(embargo):
    features = _arange_panel(200)
    labels = np.ones((200, 2))
    index = sample_index(features, labels, window=10, horizon=21)
    train, val = chronological_split(index, validation_fraction=0.25, horizon=21, embargo=embargo)
    first_val = val.t.min()
    assert train.t.max() + 21 + embargo < first_val
    assert train.t.max() + 21 + embargo == first_val - 1  # nothing more than necessary is dropped
    assert len(train) + len(val) < len(index)


def test_forward_targets_on_known_paths():
    prices = np.array([[100.0], [110.0], [99.0], [120.0], [60.0], [90.0]])
    dd = forward_drawdown(prices, 2)[:, 0]
    # bar 0: path 100, 110, 99 -> worst fall from peak 110 to 99 = 10 %
    assert dd[0] == pytest.approx(0.1)
    assert dd[2] == pytest.approx(0.5)  # 99 -> 120 -> 60
    assert np.isnan(dd[-2:]).all()
    vol = forward_volatility(prices, 2)[:, 0]
    r = np.diff(np.log(prices[:, 0]))
    assert vol[1] == pytest.approx(np.sqrt((r[1] ** 2 + r[2] ** 2) / 2))


def test_forward_correlation_and_stress_labels():
    rng = np.random.default_rng(0)
    common = rng.normal(0, 0.01, size=(300, 1))
    prices = 100 * np.exp(np.cumsum(common + rng.normal(0, 0.01, size=(300, 3)), axis=0))
    corr = forward_mean_correlation(prices, 21)
    assert np.isfinite(corr[:-21]).all() and np.isnan(corr[-21:]).all()
    assert 0.2 < np.nanmean(corr) < 0.8
    fv = forward_volatility(prices, 21)
    level = stress_thresholds(fv[:200], 0.8)
    regime = get_target("regime")
    raw = regime.labels(prices, 21, {"stress_quantile": 0.8})
    np.testing.assert_array_equal(raw, fv)
    training_block = np.where(np.arange(len(fv))[:, None] < 200, raw, np.nan)
    state = regime.fit(training_block, {"stress_quantile": 0.8})
    np.testing.assert_array_equal(state, level)
    labels = regime.encode(raw, state)
    assert set(np.unique(labels[np.isfinite(labels)])) == {0.0, 1.0}
    assert np.nanmean(labels[:200]) == pytest.approx(0.2, abs=0.02)
    with pytest.raises(ValueError, match="stress thresholds"):
        regime.encode(raw, None)

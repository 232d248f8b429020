"""Forward-looking labels: the value at bar ``t`` reads prices in ``(t, t + horizon]`` only.

A label needs the whole horizon: at the last ``horizon`` bars of a series (and wherever a price in the
horizon is NaN) it is NaN, so a series cut at bar ``c`` never yields a label that reads past ``c``
(the built-in purge of :mod:`seqfolio.signals.windows` relies on it).

Targets
-------
``"return"``
    Forward log return ``log(P_{t+h} / P_t)``.
``"volatility"``
    Forward realised volatility ``sqrt(mean(r_{t+1}^2 .. r_{t+h}^2))`` per bar (not annualised).
``"drawdown"``
    1 if the forward drawdown — the worst fall of the price from its running peak over ``t .. t+h``,
    starting at ``P_t`` — exceeds ``drawdown_threshold`` (default 10 %), else 0.
``"regime"``
    Stress regime: 1 if the asset's forward realised volatility is above its own ``stress_quantile``
    (default 80th percentile) of forward volatilities *in the training slice*, else 0. The threshold is
    fitted once per asset on the training slice (:func:`stress_thresholds`) and stored with the model.
``"correlation"``
    The asset's mean forward correlation with the other assets over ``(t, t+h]``. Its mean over the
    assets is exactly the universe's forward mean pairwise correlation. Only the per-asset mean is
    needed, so it costs O(N·T·h) time and O(N·T) memory like every other label: no N×N matrix is
    formed (:func:`~seqfolio.signals.features.rolling_mean_correlation`).
"""

from __future__ import annotations

import numpy as np

from seqfolio.signals.features import (
    log_returns,
    realised_volatility,
    rolling_mean_correlation,
    rolling_sum,
)

TARGETS: tuple[str, ...] = ("return", "volatility", "regime", "drawdown", "correlation")
BINARY_TARGETS: tuple[str, ...] = ("regime", "drawdown")


def _shift_back(trailing: np.ndarray, horizon: int) -> np.ndarray:
    """``out[t] = trailing[t + horizon]``: turn a trailing statistic over ``horizon`` bars into a forward one."""
    out = np.full(trailing.shape, np.nan)
    if horizon < trailing.shape[0]:
        out[:-horizon] = trailing[horizon:]
    return out


def forward_log_return(prices: np.ndarray, horizon: int) -> np.ndarray:
    """``log(P_{t+h} / P_t)``; NaN when a price in ``t .. t+h`` is NaN or ``t + h`` is past the end."""
    r = log_returns(prices)
    return _shift_back(rolling_sum(r, horizon), horizon)


def forward_volatility(prices: np.ndarray, horizon: int) -> np.ndarray:
    """Realised volatility of the log returns in ``(t, t+h]``: ``sqrt(mean r^2)`` per bar."""
    return _shift_back(realised_volatility(log_returns(prices), horizon), horizon)


def forward_drawdown(prices: np.ndarray, horizon: int) -> np.ndarray:
    """Largest fall from the running peak over ``t .. t+h`` (a fraction >= 0; the peak starts at ``P_t``)."""
    p = np.asarray(prices, dtype=float)
    n_bars = p.shape[0]
    out = np.full(p.shape, np.nan)
    if horizon >= n_bars:
        return out
    m = n_bars - horizon
    peak = p[:m].copy()
    worst = np.zeros_like(peak)
    for k in range(1, horizon + 1):
        nxt = p[k : k + m]
        peak = np.maximum(peak, nxt)  # NaN propagates on purpose: a gap voids the label
        worst = np.maximum(worst, 1.0 - nxt / peak)
    out[:m] = worst
    return out


def forward_mean_correlation(prices: np.ndarray, horizon: int) -> np.ndarray:
    """Each asset's mean correlation with the others over the returns in ``(t, t+h]``."""
    return _shift_back(rolling_mean_correlation(log_returns(prices), horizon), horizon)


def stress_thresholds(forward_vol: np.ndarray, quantile: float) -> np.ndarray:
    """Per-asset ``quantile`` of forward volatilities (call it on training-slice labels only).

    Assets without any label get the pooled quantile of all assets; NaN if there is no label at all.
    """
    fv = np.asarray(forward_vol, dtype=float)
    finite = fv[np.isfinite(fv)]
    pooled = float(np.quantile(finite, quantile)) if finite.size else np.nan
    out = []
    for i in range(fv.shape[1]):
        col = fv[:, i][np.isfinite(fv[:, i])]
        out.append(float(np.quantile(col, quantile)) if col.size >= 20 else pooled)
    return np.asarray(out)


def make_labels(
    target: str,
    prices: np.ndarray,
    horizon: int,
    *,
    drawdown_threshold: float = 0.10,
    stress_level: np.ndarray | None = None,
) -> np.ndarray:
    """The raw label panel (T, N) of ``target`` (see the module docstring); NaN where undefined.

    ``stress_level`` (per-asset forward-volatility thresholds) is required for ``"regime"``.
    """
    if target == "return":
        return forward_log_return(prices, horizon)
    if target == "volatility":
        return forward_volatility(prices, horizon)
    if target == "drawdown":
        dd = forward_drawdown(prices, horizon)
        return np.where(np.isnan(dd), np.nan, (dd > drawdown_threshold).astype(float))
    if target == "regime":
        if stress_level is None:
            raise ValueError("make_labels: target 'regime' needs stress_level thresholds.")
        fv = forward_volatility(prices, horizon)
        with np.errstate(invalid="ignore"):
            return np.where(np.isnan(fv), np.nan, (fv > stress_level[None, :]).astype(float))
    if target == "correlation":
        return forward_mean_correlation(prices, horizon)
    raise ValueError(f"make_labels: unknown target {target!r}; expected one of {list(TARGETS)}.")

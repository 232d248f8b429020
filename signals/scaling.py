"""Scalers fitted on the training slice and carried by the fitted estimator.

They hold plain arrays and export to lists / floats only, so a saved model can be loaded with
``torch.load(weights_only=True)`` (no pickled objects).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class FeatureScaler:
    """Standardise a (T, N, F) feature panel with a mean and std per asset and feature.

    Features listed in ``per_asset`` get each asset's own statistics (their level differs by asset,
    e.g. a fractionally differentiated log price); the others share statistics pooled over assets, so
    cross-asset differences (one stock is more volatile than another) survive scaling.

    Attributes
    ----------
    mean, std : ndarray of shape (N, F)
    """

    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, features: np.ndarray, per_asset: Sequence[int] = ()) -> FeatureScaler:
        """Fit on the rows of ``features`` given (pass the training slice only).

        An asset with fewer than 20 finite values of a per-asset feature falls back to the pooled
        statistics; a constant feature gets std 1.
        """
        x = np.asarray(features, dtype=float)
        n_assets, n_feat = x.shape[1], x.shape[2]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            pooled_mean = np.nanmean(x.reshape(-1, n_feat), axis=0)
            pooled_std = np.nanstd(x.reshape(-1, n_feat), axis=0)
            mean = np.tile(pooled_mean, (n_assets, 1))
            std = np.tile(pooled_std, (n_assets, 1))
            for f in per_asset:
                counts = np.isfinite(x[:, :, f]).sum(axis=0)
                own = counts >= 20
                mean[own, f] = np.nanmean(x[:, own, f], axis=0)
                std[own, f] = np.nanstd(x[:, own, f], axis=0)
        mean = np.where(np.isfinite(mean), mean, 0.0)
        std = np.where(np.isfinite(std) & (std > 1e-12), std, 1.0)
        return cls(mean, std)

    def transform(self, features: np.ndarray) -> np.ndarray:
        """``(x - mean) / std`` broadcast over bars (NaN stays NaN)."""
        return (np.asarray(features, dtype=float) - self.mean[None]) / self.std[None]

    def to_dict(self) -> dict[str, list]:
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    @classmethod
    def from_dict(cls, data: dict[str, list]) -> FeatureScaler:
        return cls(np.asarray(data["mean"], dtype=float), np.asarray(data["std"], dtype=float))


@dataclass(frozen=True)
class TargetScaler:
    """Affine map of a (transformed) target: ``y = (value - shift) / scale``."""

    shift: float = 0.0
    scale: float = 1.0

    def transform(self, values: np.ndarray) -> np.ndarray:
        return (np.asarray(values, dtype=float) - self.shift) / self.scale

    def inverse(self, values: np.ndarray) -> np.ndarray:
        return np.asarray(values, dtype=float) * self.scale + self.shift

    def to_dict(self) -> dict[str, float]:
        return {"shift": float(self.shift), "scale": float(self.scale)}

    @classmethod
    def from_dict(cls, data: dict[str, float]) -> TargetScaler:
        return cls(float(data["shift"]), float(data["scale"]))

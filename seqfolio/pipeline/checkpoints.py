"""Checkpoints of walk-forward retrains: one file per retrained model, written atomically.

A checkpoint is found again by a *key*: a SHA-256 over everything that determines the trained model —
the model's class and parameters (nested ones included), the exact training prices (dates, columns, values), the way it is fitted
and, for a warm start, the key of the model it continued from. A restarted run with the same arguments
computes the same keys, so every retrain already on disk is loaded instead of trained, and the run
carries on from the last one; anything that changed (data, parameters, schedule) gives new keys and is
trained afresh. Files are written to a temporary name in the same folder and renamed into place
(``os.replace``), so a run killed while saving never leaves a truncated checkpoint under a real name.

Layout of ``directory``::

    retrain-0001-20050103-<key16>.pt      the model (its own ``save`` / ``load``)
    manifest.json                         one entry per retrain of the last run (for people; not read)
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from seqfolio._atomic import atomic_path, atomic_write_text

__all__ = ["CheckpointStore", "atomic_write_text", "checkpoint_key"]

# Parameters that cannot change the trained model: the progress bar, and the thread count (training
# runs in fixed micro-batches, so 1 and 2 threads give bit-identical weights; a run resumed with another
# --threads reuses the checkpoints).
_IGNORED_PARAMS = ("progress", "n_threads")

# Bumped whenever the training arithmetic changes, so checkpoints from older numerics are retrained
# rather than mixed into a run. 2: micro-batched, thread-count-independent gradients. 3: the O(N·T)
# mean-correlation feature (equal to the former to ~1e-15, not bit for bit) and the per-epoch sample
# budget of LSTMForecaster (epoch_samples="auto" subsamples panels of more than 32,768 samples).
_TRAINING_VERSION = "3"


def _index_bytes(index: pd.Index) -> bytes:
    """The dates as int64 microseconds (any datetime unit, or an object index of timestamps, hashes
    alike) with the timezone; any other index by pandas' per-value hashes."""
    if not isinstance(index, pd.DatetimeIndex) and index.inferred_type in ("datetime", "date"):
        try:
            index = pd.DatetimeIndex(index)
        except (TypeError, ValueError):  # mixed timezones: hash the values as they are
            pass
    if isinstance(index, pd.DatetimeIndex):
        stamps = np.ascontiguousarray(index.as_unit("us").asi8)
        return f"datetime-us-{index.tz}".encode() + stamps.tobytes()
    values = pd.util.hash_pandas_object(index, index=False).to_numpy()
    return f"{index.dtype}".encode() + np.ascontiguousarray(values).tobytes()


def checkpoint_key(model: Any, prices: pd.DataFrame, *, fit_kind: str, parent: str | None) -> str:
    """SHA-256 hex digest identifying one retrain (see the module notes)."""
    h = hashlib.sha256()
    # deep: a nested estimator (LSTMEnsemble's forecaster) counts by its parameters, each hashed
    # on its own, never by its repr (which sklearn shortens with "...")
    params = {
        k: f"{type(v).__module__}.{type(v).__qualname__}" if hasattr(v, "get_params") else v
        for k, v in model.get_params(deep=True).items()
        if k.rsplit("__", 1)[-1] not in _IGNORED_PARAMS
    }
    h.update(f"{type(model).__module__}.{type(model).__qualname__}".encode())
    h.update(f"training-v{_TRAINING_VERSION}".encode())
    h.update(repr(sorted(params.items())).encode())
    h.update(fit_kind.encode())
    h.update((parent or "-").encode())
    h.update(repr([str(c) for c in prices.columns]).encode())
    h.update(_index_bytes(prices.index))
    h.update(np.ascontiguousarray(prices.to_numpy(dtype=float)).tobytes())
    return h.hexdigest()


class CheckpointStore:
    """A folder of retrain checkpoints.

    Parameters
    ----------
    directory : str or path
        Created if missing.
    """

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.manifest: list[dict[str, Any]] = []

    def path_for(self, index: int, date: pd.Timestamp, key: str) -> Path:
        """Where retrain number ``index`` (1-based) on ``date`` is stored."""
        return self.directory / f"retrain-{index:04d}-{date:%Y%m%d}-{key[:16]}.pt"

    def find(self, index: int, date: pd.Timestamp, key: str) -> Path | None:
        """The checkpoint for this retrain if one is on disk, else None."""
        path = self.path_for(index, date, key)
        return path if path.is_file() else None

    def save(self, model: Any, path: Path) -> None:
        """``model.save`` to a temporary file, then rename it to ``path`` (``seqfolio._atomic``)."""
        with atomic_path(path) as tmp:
            model.save(tmp)

    def load(self, template: Any, path: Path) -> Any:
        """Load a checkpoint with the template model's class (``type(template).load(path)``)."""
        return type(template).load(path)

    def record(self, entry: dict[str, Any]) -> None:
        """Append an entry to ``manifest.json`` (rewritten atomically)."""
        self.manifest.append(entry)
        atomic_write_text(
            self.directory / "manifest.json", json.dumps(self.manifest, indent=1, default=str)
        )

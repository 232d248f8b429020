"""Saving and loading fitted networks: atomic writes, ``weights_only`` reads, errors that say what to do.

Shared by :class:`~seqfolio.signals.LSTMForecaster` and :class:`~seqfolio.signals.LSTMAllocator`. A
payload is a dict of tensors and plain types (no pickled objects), tagged with a ``format`` string.
"""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterable, Iterator
from typing import Any

import numpy as np

from seqfolio._atomic import atomic_path


def write_payload(payload: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file next to ``path``, then rename it into place.

    A process killed while saving leaves the previous file (or none) under ``path``, never a truncated one.
    """
    import torch

    with atomic_path(path) as tmp:
        torch.save(_plain(payload), tmp)


def _plain(value: Any) -> Any:
    """Numpy scalars (e.g. ``random_state=np.int64(3)``) and arrays (a target's fitted state) as
    Python numbers and lists, so the file stays readable with ``weights_only=True`` (which refuses
    numpy objects). Containers without one are returned as they are (same objects, so the bytes
    written do not change)."""
    if isinstance(value, (np.generic, np.ndarray)):
        return value.tolist()
    if isinstance(value, dict):
        items = {k: _plain(v) for k, v in value.items()}
        return value if all(items[k] is v for k, v in value.items()) else items
    if isinstance(value, (list, tuple)):
        converted = [_plain(v) for v in value]
        if all(c is v for c, v in zip(converted, value, strict=True)):
            return value
        return converted if isinstance(value, list) else tuple(converted)
    return value


def _first_line(exc: BaseException, limit: int) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return (text or type(exc).__name__)[:limit]


def read_payload(
    path: str | os.PathLike[str], owner: str, fmt: str, older: tuple[str, ...] = ()
) -> dict[str, Any]:
    """Read a payload written by :func:`write_payload` with ``torch.load(weights_only=True)``.

    ``fmt`` is the current format tag, ``older`` earlier tags still read.

    Raises
    ------
    FileNotFoundError
        No file at ``path``.
    ValueError
        The file is corrupted, not a torch file, or not a saved ``owner`` of format ``fmt``; the
        message names the file and the fix.
    """
    import torch

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{owner}.load: no such file: {path}")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # torch raises UnpicklingError, RuntimeError, EOFError, ...
        if "Unsupported global" in str(exc):  # a pickled class or function, not a broken file
            raise ValueError(
                f"{owner}.load: {path} holds Python objects other than tensors and plain types, so it "
                "was not written by seqfolio's save; it is refused rather than unpickled (unpickling "
                "can run arbitrary code). Retrain the model, or load files only from sources you trust."
            ) from None
        raise ValueError(
            f"{owner}.load: {path} is corrupted or not a torch file ({_first_line(exc, 120)}); "
            "delete it and retrain (a walk-forward run retrains a checkpoint it cannot read)."
        ) from None
    if not isinstance(payload, dict) or payload.get("format") not in (fmt, *older):
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(
            f"{owner}.load: {path} is not a saved {owner} (format {found!r}, expected {fmt!r})."
        )
    return payload


def _non_finite(value: Any, key: str) -> list[str]:
    """Keys under ``key`` whose tensors or floats hold NaN or inf (lists of numbers included)."""
    import torch

    if isinstance(value, torch.Tensor):
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            return [key]
        return []
    if isinstance(value, float):
        return [] if math.isfinite(value) else [key]
    if isinstance(value, dict):
        return [bad for k, v in value.items() for bad in _non_finite(v, f"{key}.{k}")]
    if isinstance(value, (list, tuple)):
        found = [bad for v in value for bad in _non_finite(v, key)]
        return list(dict.fromkeys(found))
    return []


def require_finite(
    payload: dict[str, Any], keys: Iterable[str], path: str | os.PathLike[str], owner: str
) -> None:
    """Refuse a payload whose weights or scalers (the entries ``keys``) hold NaN or inf.

    Such a model cannot forecast: every output would be NaN. Missing entries are left to
    :func:`rebuilding` to report.
    """
    bad = [found for key in keys if key in payload for found in _non_finite(payload[key], key)]
    if bad:
        shown = bad[:5] + ([f"(+{len(bad) - 5} more)"] if len(bad) > 5 else [])
        raise ValueError(
            f"{owner}.load: {path} holds NaN or inf values in {shown}: a model with non-finite "
            "weights cannot forecast (the file is damaged, or was saved from a fit that diverged); "
            "delete it and retrain."
        )


@contextlib.contextmanager
def rebuilding(path: str | os.PathLike[str], owner: str) -> Iterator[None]:
    """Turn an error while rebuilding a model from a payload into one clear ``ValueError``."""
    try:
        yield
    except (KeyError, TypeError, ValueError, RuntimeError, AttributeError) as exc:
        raise ValueError(
            f"{owner}.load: {path} does not match its own configuration "
            f"({_first_line(exc, 200)}): it was written by another version or edited; delete it "
            "and retrain."
        ) from None

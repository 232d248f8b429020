"""Saving and loading fitted networks: atomic writes, ``weights_only`` reads, errors that say what to do.

Shared by :class:`~seqfolio.signals.LSTMForecaster` and :class:`~seqfolio.signals.LSTMAllocator`. A
payload is a dict of tensors and plain types (no pickled objects), tagged with a ``format`` string.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from seqfolio._atomic import atomic_path


def write_payload(payload: dict[str, Any], path: str | os.PathLike[str]) -> None:
    """``torch.save`` to a temporary file next to ``path``, then rename it into place.

    A process killed while saving leaves the previous file (or none) under ``path``, never a truncated one.
    """
    import torch

    with atomic_path(path) as tmp:
        torch.save(payload, tmp)


def _first_line(exc: BaseException, limit: int) -> str:
    text = " ".join(line.strip() for line in str(exc).splitlines() if line.strip())
    return (text or type(exc).__name__)[:limit]


def read_payload(path: str | os.PathLike[str], owner: str, fmt: str) -> dict[str, Any]:
    """Read a payload written by :func:`write_payload` with ``torch.load(weights_only=True)``.

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
    if not isinstance(payload, dict) or payload.get("format") != fmt:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise ValueError(
            f"{owner}.load: {path} is not a saved {owner} (format {found!r}, expected {fmt!r})."
        )
    return payload


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

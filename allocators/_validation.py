"""Input and parameter validation shared by every allocator.

Messages follow one template (DESIGN.md section 5):
``The 'max_weight' parameter of HRP must be a float in [0, 1]. Got 1.5 instead.`` and
``HRP.fit: returns contain NaN in columns ['AAPL']; drop or fill them first.``
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import pandas as pd

_MAX_NAMES = 10


def _names(labels: Iterable[object]) -> str:
    labels = list(labels)
    shown = [str(x) for x in labels[:_MAX_NAMES]]
    return repr(shown) + (
        f" (+{len(labels) - _MAX_NAMES} more)" if len(labels) > _MAX_NAMES else ""
    )


def check_choice(owner: str, name: str, value: object, choices: Sequence[str]) -> str:
    """Return ``value`` if it is one of ``choices``, else raise a ValueError listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ValueError(
            f"The '{name}' parameter of {owner} must be one of {list(choices)}. Got {value!r} instead."
        )
    return value


def check_real(
    owner: str,
    name: str,
    value: Any,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
) -> float:
    """Return ``value`` as a float if it is a real number within the bounds given."""
    ok = isinstance(value, Real) and not isinstance(value, bool) and np.isfinite(float(value))
    if ok and low is not None:
        ok = float(value) > low if low_open else float(value) >= low
    if ok and high is not None:
        ok = float(value) < high if high_open else float(value) <= high
    if not ok:
        left = "(" if low_open else "["
        right = ")" if high_open else "]"
        span = (
            f" in {left}{'-inf' if low is None else low}, {'inf' if high is None else high}{right}"
        )
        raise ValueError(
            f"The '{name}' parameter of {owner} must be a float{span}. Got {value!r} instead."
        )
    return float(value)


def check_int(
    owner: str, name: str, value: object, *, low: int, allow_none: bool = False
) -> int | None:
    """Return ``value`` if it is an integer >= ``low`` (or None when allowed)."""
    if value is None and allow_none:
        return None
    if not isinstance(value, Integral) or isinstance(value, bool) or value < low:
        none = " or None" if allow_none else ""
        raise ValueError(
            f"The '{name}' parameter of {owner} must be an int >= {low}{none}. Got {value!r} instead."
        )
    return int(value)


def check_weight_bounds(owner: str, min_weight: object, max_weight: object) -> tuple[float, float]:
    """Validate the ``min_weight`` / ``max_weight`` pair (feasibility is checked once n is known)."""
    low = check_real(owner, "min_weight", min_weight, low=0.0, high=1.0)
    high = check_real(owner, "max_weight", max_weight, low=0.0, high=1.0, low_open=True)
    if low > high:
        raise ValueError(
            f"The 'min_weight' parameter of {owner} ({low}) must not exceed 'max_weight' ({high})."
        )
    return low, high


def _has_text(column: pd.Series) -> bool:
    """True if a non-numeric column holds a value that is not a number (not just NaN)."""
    return bool(pd.to_numeric(column, errors="coerce").isna().gt(column.isna()).any())


def check_returns(returns: object, owner: str, *, min_observations: int = 2) -> pd.DataFrame:
    """Validate a returns frame: 2-D, numeric, finite, enough rows, unique column labels."""
    if isinstance(returns, pd.Series):
        raise TypeError(
            f"{owner}.fit: returns must be a DataFrame with one column per asset, got a Series; "
            "use series.to_frame() for a single asset."
        )
    if isinstance(returns, pd.DataFrame):
        frame = returns
    elif isinstance(returns, np.ndarray) and returns.ndim == 2:
        frame = pd.DataFrame(returns, columns=[f"asset_{i}" for i in range(returns.shape[1])])
    else:
        raise TypeError(
            f"{owner}.fit: returns must be a pandas DataFrame (rows = dates, columns = assets), "
            f"got {type(returns).__name__}."
        )
    if frame.shape[1] == 0:
        raise ValueError(f"{owner}.fit: returns have no columns; pass one column per asset.")
    if frame.columns.has_duplicates:
        dupes = frame.columns[frame.columns.duplicated()].unique()
        raise ValueError(f"{owner}.fit: duplicate asset columns {_names(dupes)}; make them unique.")
    # A numeric array means every value is a number, so no column can hold text: skip the
    # per-column dtype scan, which costs more than the rest of this check (backtests call fit often).
    if frame.to_numpy().dtype.kind not in "biuf":
        non_numeric = [
            column
            for position, (column, dtype) in enumerate(frame.dtypes.items())
            if not pd.api.types.is_numeric_dtype(dtype) and _has_text(frame.iloc[:, position])
        ]
        if non_numeric:
            raise ValueError(
                f"{owner}.fit: returns columns {_names(non_numeric)} are not numeric; convert them "
                "to float."
            )
    values = frame.to_numpy(dtype=float)
    # the offending columns are only looked up when there are some
    if np.isnan(values).any():
        nan_cols = frame.columns[np.isnan(values).any(axis=0)]
        raise ValueError(
            f"{owner}.fit: returns contain NaN in columns {_names(nan_cols)}; drop or fill them first "
            "(seqfolio.data.trailing_returns keeps only assets alive over the whole window)."
        )
    if np.isinf(values).any():
        inf_cols = frame.columns[np.isinf(values).any(axis=0)]
        raise ValueError(
            f"{owner}.fit: returns contain inf in columns {_names(inf_cols)}; check for zero prices."
        )
    if len(frame) < min_observations:
        raise ValueError(
            f"{owner}.fit: returns have {len(frame)} observation(s); at least {min_observations} "
            "are needed. Use a longer lookback."
        )
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


def check_positive_variance(returns: pd.DataFrame, variances: np.ndarray, owner: str) -> None:
    """Reject assets whose variance is zero (a constant price): risk-based weights divide by it."""
    flat = returns.columns[~(variances > 0)]
    if len(flat):
        raise ValueError(
            f"{owner}.fit: columns {_names(flat)} have zero variance (constant price) in this window; "
            "remove them or use a longer lookback."
        )


def check_covariance(covariance: object, columns: pd.Index, owner: str) -> np.ndarray:
    """Align a user-given covariance with the returns' columns and check it is symmetric PSD."""
    if isinstance(covariance, pd.DataFrame):
        missing = [c for c in columns if c not in covariance.index or c not in covariance.columns]
        if missing:
            raise ValueError(
                f"{owner}.fit: covariance has no row/column for assets {_names(missing)}; its labels "
                "must cover the returns' columns."
            )
        matrix = covariance.loc[columns, columns].to_numpy(dtype=float)
    else:
        matrix = np.asarray(covariance, dtype=float)
        if matrix.shape != (len(columns), len(columns)):
            raise ValueError(
                f"{owner}.fit: covariance has shape {matrix.shape}; expected "
                f"({len(columns)}, {len(columns)}) to match the returns' columns."
            )
    if not np.isfinite(matrix).all():
        bad = columns[~np.isfinite(matrix).all(axis=0)]
        raise ValueError(f"{owner}.fit: covariance has NaN or inf for assets {_names(bad)}.")
    scale = max(float(np.abs(matrix).max()), np.finfo(float).tiny)
    if not np.allclose(matrix, matrix.T, rtol=1e-8, atol=1e-12 * scale):
        raise ValueError(f"{owner}.fit: covariance is not symmetric; pass (C + C.T) / 2.")
    min_eig = float(np.linalg.eigvalsh(matrix).min())
    if min_eig < -1e-8 * scale:
        raise ValueError(
            f"{owner}.fit: covariance is not positive semi-definite (smallest eigenvalue "
            f"{min_eig:.3g}); repair it, e.g. by clipping eigenvalues at zero."
        )
    return (matrix + matrix.T) / 2


def check_expected_returns(expected_returns: object, columns: pd.Index, owner: str) -> np.ndarray:
    """Align user-given expected returns with the returns' columns."""
    if isinstance(expected_returns, pd.Series):
        missing = [c for c in columns if c not in expected_returns.index]
        if missing:
            raise ValueError(
                f"{owner}.fit: expected_returns has no value for assets {_names(missing)}; "
                "provide one per column of returns."
            )
        vector = expected_returns.loc[columns].to_numpy(dtype=float)
    else:
        vector = np.asarray(expected_returns, dtype=float).ravel()
        if vector.shape != (len(columns),):
            raise ValueError(
                f"{owner}.fit: expected_returns has {vector.size} values; expected {len(columns)}."
            )
    if not np.isfinite(vector).all():
        bad = columns[~np.isfinite(vector)]
        raise ValueError(f"{owner}.fit: expected_returns has NaN or inf for assets {_names(bad)}.")
    return vector

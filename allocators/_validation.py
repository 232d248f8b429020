"""Input and parameter validation shared by every allocator.

The parameter checks are the package's one vocabulary (:mod:`seqfolio._validation`); this module
adds the checks of allocator inputs. Messages follow one template:
``The 'max_weight' parameter of HRP must be a float in [0, 1]. Got 1.5 instead.`` and
``HRP.fit: returns contain NaN in columns ['AAPL']; drop or fill them first.``
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from seqfolio._validation import check_real, label_list
from seqfolio.data.frames import misread_dtype

__all__ = [
    "AllocationError",
    "check_covariance",
    "check_expected_returns",
    "check_positive_variance",
    "check_weight_bounds",
]


class AllocationError(ValueError):
    """An allocation problem that has no solution for this data (e.g. an infeasible optimisation).

    :class:`~seqfolio.allocators.Fallback` catches it and tries its next member; parameter errors are
    plain ``ValueError`` and are never swallowed.
    """


def check_weight_bounds(owner: str, min_weight: object, max_weight: object) -> tuple[float, float]:
    """Validate the ``min_weight`` / ``max_weight`` pair (feasibility is checked once n is known)."""
    low = check_real(owner, "min_weight", min_weight, low=0.0, high=1.0)
    high = check_real(owner, "max_weight", max_weight, low=0.0, high=1.0, low_open=True)
    if low > high:
        raise ValueError(
            f"The 'min_weight' parameter of {owner} ({low}) must not exceed 'max_weight' ({high})."
        )
    return low, high


def _real_values(data: object, owner: str, name: str) -> np.ndarray:
    """``data`` (a pandas object or array-like) as a float array, or a TypeError naming ``name``."""
    if isinstance(data, pd.DataFrame):
        dtypes = list(data.dtypes)
    elif isinstance(data, pd.Series):
        dtypes = [data.dtype]
    else:
        try:
            dtypes = [np.asarray(data).dtype]
        except (TypeError, ValueError):  # e.g. ragged nested lists: reported below
            dtypes = []
    bad = sorted({str(d) for d in dtypes if misread_dtype(d)})
    if bad:
        raise ValueError(
            f"{owner}.fit: {name} must hold real numbers; got values of dtype {', '.join(bad)}. "
            "Convert it to float."
        )
    try:
        if isinstance(data, (pd.DataFrame, pd.Series)):
            return data.to_numpy(dtype=float, na_value=np.nan)
        return np.asarray(data, dtype=float)
    except (TypeError, ValueError) as exc:
        raise ValueError(
            f"{owner}.fit: {name} must hold real numbers ({exc}); convert it to float."
        ) from None


def check_positive_variance(returns: pd.DataFrame, variances: np.ndarray, owner: str) -> None:
    """Reject assets whose variance is zero (a constant price): risk-based weights divide by it.

    An :class:`AllocationError`: the parameters are fine, this window's data has no risk-based
    answer, so a :class:`~seqfolio.allocators.Fallback` moves on (e.g. to ``EqualWeight``).
    """
    flat = returns.columns[~(variances > 0)]
    if len(flat):
        raise AllocationError(
            f"{owner}.fit: columns {label_list(flat)} have zero variance (constant price) in this window; "
            "remove them or use a longer lookback."
        )


def check_covariance(covariance: object, columns: pd.Index, owner: str) -> np.ndarray:
    """Align a user-given covariance with the returns' columns and check it is symmetric PSD."""
    if isinstance(covariance, str):
        raise TypeError(
            f"{owner}.fit: covariance= takes a matrix (a DataFrame or an (n, n) array), got the "
            f"string {covariance!r}. To choose an estimator by name, set it in the constructor "
            f"instead, e.g. HRP(covariance={covariance!r})."
        )
    if isinstance(covariance, pd.DataFrame):
        dupes = covariance.index[covariance.index.duplicated()].append(
            covariance.columns[covariance.columns.duplicated()]
        )
        if len(dupes):
            raise ValueError(
                f"{owner}.fit: covariance has duplicate labels {label_list(dupes.unique())}; give each "
                "asset one row and one column."
            )
        missing = [c for c in columns if c not in covariance.index or c not in covariance.columns]
        if missing:
            raise ValueError(
                f"{owner}.fit: covariance has no row/column for assets {label_list(missing)}; its labels "
                "must cover the returns' columns."
            )
        matrix = _real_values(covariance.loc[columns, columns], owner, "covariance")
    else:
        matrix = _real_values(covariance, owner, "covariance")
        if matrix.shape != (len(columns), len(columns)):
            raise ValueError(
                f"{owner}.fit: covariance has shape {matrix.shape}; expected "
                f"({len(columns)}, {len(columns)}) to match the returns' columns."
            )
    if not np.isfinite(matrix).all():
        bad = columns[~np.isfinite(matrix).all(axis=0)]
        raise ValueError(f"{owner}.fit: covariance has NaN or inf for assets {label_list(bad)}.")
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
    if isinstance(expected_returns, str):
        raise TypeError(
            f"{owner}.fit: expected_returns= takes one value per asset (a Series or an array), got "
            f"the string {expected_returns!r}. To choose an estimator by name, set it in the "
            f"constructor instead, e.g. MeanVariance(expected_returns={expected_returns!r})."
        )
    if isinstance(expected_returns, pd.Series):
        if expected_returns.index.has_duplicates:
            dupes = expected_returns.index[expected_returns.index.duplicated()].unique()
            raise ValueError(
                f"{owner}.fit: expected_returns has duplicate labels {label_list(dupes)}; give each "
                "asset one value."
            )
        missing = [c for c in columns if c not in expected_returns.index]
        if missing:
            raise ValueError(
                f"{owner}.fit: expected_returns has no value for assets {label_list(missing)}; "
                "provide one per column of returns."
            )
        vector = _real_values(expected_returns.loc[columns], owner, "expected_returns")
    else:
        vector = _real_values(expected_returns, owner, "expected_returns").ravel()
        if vector.shape != (len(columns),):
            raise ValueError(
                f"{owner}.fit: expected_returns has {vector.size} values; expected {len(columns)}."
            )
    if not np.isfinite(vector).all():
        bad = columns[~np.isfinite(vector)]
        raise ValueError(
            f"{owner}.fit: expected_returns has NaN or inf for assets {label_list(bad)}."
        )
    return vector

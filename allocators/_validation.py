"""Input and parameter validation shared by every allocator.

The parameter checks are the package's one vocabulary (:mod:`seqfolio._validation`); this module
adds the checks of allocator inputs. Messages follow one template:
``The 'max_weight' parameter of HRP must be a float in [0, 1]. Got 1.5 instead.`` and
``HRP.fit: returns contain NaN in columns ['AAPL']; drop or fill them first.``
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from seqfolio._validation import check_choice, check_int, check_real, label_list

__all__ = [
    "AllocationError",
    "check_choice",
    "check_covariance",
    "check_expected_returns",
    "check_int",
    "check_positive_variance",
    "check_real",
    "check_returns",
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


def _has_text(column: pd.Series) -> bool:
    """True if a non-numeric column holds a value that is not a number (not just NaN)."""
    return bool(pd.to_numeric(column, errors="coerce").isna().gt(column.isna()).any())


def _is_real_dtype(dtype: Any) -> bool:
    """True for int / float dtypes; False for bool, complex, datetime, timedelta, category...

    pandas and numpy cast all of these to float without complaint (a datetime becomes nanoseconds
    since 1970, a complex number loses its imaginary part), so they must be rejected by dtype.
    """
    return (
        pd.api.types.is_numeric_dtype(dtype)
        and not pd.api.types.is_bool_dtype(dtype)
        and not pd.api.types.is_complex_dtype(dtype)
    )


def _is_text_dtype(dtype: Any) -> bool:
    return pd.api.types.is_object_dtype(dtype) or pd.api.types.is_string_dtype(dtype)


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
    bad = sorted({str(d) for d in dtypes if not (_is_real_dtype(d) or _is_text_dtype(d))})
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
        got = (
            f"a {returns.ndim}-D ndarray"
            if isinstance(returns, np.ndarray)
            else type(returns).__name__
        )
        raise TypeError(
            f"{owner}.fit: returns must be a pandas DataFrame (rows = dates, columns = assets), "
            f"got {got}."
        )
    if frame.shape[1] == 0:
        raise ValueError(f"{owner}.fit: returns have no columns; pass one column per asset.")
    if frame.columns.has_duplicates:
        dupes = frame.columns[frame.columns.duplicated()].unique()
        raise ValueError(
            f"{owner}.fit: duplicate asset columns {label_list(dupes)}; make them unique."
        )
    # A numeric array means every value is a number, so no column can hold text: skip the
    # per-column dtype scan, which costs more than the rest of this check (backtests call fit often).
    if frame.to_numpy().dtype.kind not in "iuf":
        not_real = [
            (column, str(dtype))
            for column, dtype in frame.dtypes.items()
            if not (_is_real_dtype(dtype) or _is_text_dtype(dtype))
        ]
        if not_real:
            raise ValueError(
                f"{owner}.fit: returns columns {label_list(c for c, _ in not_real)} are not real "
                f"numeric columns (dtype {', '.join(sorted({d for _, d in not_real}))}); pass "
                "per-period simple returns as floats, e.g. prices.pct_change()."
            )
        non_numeric = [
            column
            for position, (column, dtype) in enumerate(frame.dtypes.items())
            if not pd.api.types.is_numeric_dtype(dtype) and _has_text(frame.iloc[:, position])
        ]
        if non_numeric:
            raise ValueError(
                f"{owner}.fit: returns columns {label_list(non_numeric)} are not numeric; convert them "
                "to float."
            )
    values = frame.to_numpy(dtype=float)
    # the offending columns are only looked up when there are some
    if np.isnan(values).any():
        nan_cols = frame.columns[np.isnan(values).any(axis=0)]
        raise ValueError(
            f"{owner}.fit: returns contain NaN in columns {label_list(nan_cols)}; drop or fill them first "
            "(seqfolio.data.trailing_returns keeps only assets alive over the whole window)."
        )
    if np.isinf(values).any():
        inf_cols = frame.columns[np.isinf(values).any(axis=0)]
        raise ValueError(
            f"{owner}.fit: returns contain inf in columns {label_list(inf_cols)}; check for zero prices."
        )
    if len(frame) < min_observations:
        raise ValueError(
            f"{owner}.fit: returns have {len(frame)} observation(s); at least {min_observations} "
            "are needed. Use a longer lookback."
        )
    return pd.DataFrame(values, index=frame.index, columns=frame.columns)


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

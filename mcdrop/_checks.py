"""Argument checks shared by every public function: each error names the argument."""

from __future__ import annotations

import numbers

import numpy as np
from scipy import linalg


def positive(name: str, value) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def positive_int(name: str, value) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= 1."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def probability(name: str, value, *, open_interval: bool = False) -> float:
    """Return ``value`` as a float in [0, 1) (or (0, 1) when ``open_interval``)."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    low_ok = value > 0 if open_interval else value >= 0
    if not (np.isfinite(value) and low_ok and value < 1):
        interval = "(0, 1)" if open_interval else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return value


def finite_array(name: str, value, *, ndim: int | tuple[int, ...]) -> np.ndarray:
    """Return ``value`` as a float64 array of the given rank(s), free of NaN and inf."""
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like of numbers") from err
    ranks = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in ranks:
        raise ValueError(f"{name} must have {' or '.join(map(str, ranks))} dimension(s), got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} contains NaN or inf")
    return array


def same_length(name_a: str, a, name_b: str, b) -> None:
    """Raise if ``a`` and ``b`` disagree in their first dimension."""
    if len(a) != len(b):
        raise ValueError(f"{name_a} has {len(a)} rows but {name_b} has {len(b)}")


def spd_cholesky(name: str, cov: np.ndarray) -> np.ndarray:
    """Lower Cholesky factor of ``cov``, or raise if it is not symmetric positive definite."""
    if cov.ndim != 2 or cov.shape[0] != cov.shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {cov.shape}")
    if not np.allclose(cov, cov.T, rtol=1e-10, atol=1e-12):
        raise ValueError(f"{name} must be symmetric")
    try:
        return linalg.cholesky(cov, lower=True)
    except linalg.LinAlgError as err:
        raise ValueError(f"{name} must be positive definite") from err

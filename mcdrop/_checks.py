"""Argument checks shared by every public function: each error names the argument as the caller
wrote it, shows the value it got and says what was expected."""

from __future__ import annotations

import numbers

import numpy as np
from scipy import linalg


def _real(name: str, value) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name} must be a real number, got {value!r} of type {type(value).__name__}")
    return float(value)


def positive(name: str, value) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number > 0."""
    value = _real(name, value)
    if not np.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return value


def non_negative(name: str, value) -> float:
    """Return ``value`` as a float, or raise if it is not a finite number >= 0."""
    value = _real(name, value)
    if not np.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value}")
    return value


def positive_int(name: str, value) -> int:
    """Return ``value`` as an int, or raise if it is not an integer >= 1."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r} of type {type(value).__name__}")
    if value < 1:
        raise ValueError(f"{name} must be >= 1, got {value}")
    return int(value)


def probability(name: str, value, *, open_interval: bool = False) -> float:
    """Return ``value`` as a float in [0, 1) (or (0, 1) when ``open_interval``)."""
    value = _real(name, value)
    low_ok = value > 0 if open_interval else value >= 0
    if not (np.isfinite(value) and low_ok and value < 1):
        interval = "(0, 1)" if open_interval else "[0, 1)"
        raise ValueError(f"{name} must lie in {interval}, got {value}")
    return value


def seed(name: str, value):
    """Return ``value`` if it is a valid seed: ``None`` (fresh OS entropy), an integer >= 0 or a
    ``numpy.random.Generator``; raise otherwise."""
    if value is None or isinstance(value, np.random.Generator):
        return value
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be None, an integer >= 0 or a numpy Generator, got {value!r}")
    if value < 0:
        raise ValueError(f"{name} must be None or an integer >= 0, got {value}")
    return int(value)


def int_seed(name: str, value) -> int:
    """An integer seed in [0, 2⁶³) for torch generators: ``value`` itself when it is an integer,
    fresh OS entropy when it is ``None`` (no global RNG is read or advanced), a draw from it when
    it is a ``numpy.random.Generator``."""
    value = seed(name, value)
    if isinstance(value, int):
        return value
    if value is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0] >> np.uint64(1))
    return int(value.integers(2**63))


def finite_array(name: str, value, *, ndim: int | tuple[int, ...], allow_empty: bool = False) -> np.ndarray:
    """Return ``value`` as a float64 array of the given rank(s), non-empty (unless
    ``allow_empty``) and free of NaN and inf."""
    if isinstance(value, (str, bytes)):
        raise TypeError(f"{name} must be array-like of numbers, got {value!r}")
    try:
        array = np.asarray(value, dtype=float)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be array-like of numbers, got {type(value).__name__}: {err}") from err
    ranks = (ndim,) if isinstance(ndim, int) else ndim
    if array.ndim not in ranks:
        raise ValueError(f"{name} must have {' or '.join(map(str, ranks))} dimension(s), got shape {array.shape}")
    if array.size == 0 and not allow_empty:
        raise ValueError(f"{name} must not be empty, got shape {array.shape}")
    if not np.all(np.isfinite(array)):
        where = tuple(int(i) for i in np.argwhere(~np.isfinite(array))[0])
        raise ValueError(f"{name} contains NaN or inf ({array[where]} at index {where}); expected finite numbers")
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


def module(name: str, value):
    """Raise unless ``value`` is a ``torch.nn.Module``."""
    from torch import nn

    if not isinstance(value, nn.Module):
        raise TypeError(f"{name} must be a torch.nn.Module, got {type(value).__name__}")
    return value


def model_input(name: str, x, model=None):
    """Raise unless ``x`` is a finite floating-point tensor with a non-empty batch dimension and
    at least one feature dimension, matching the dtype and device of ``model``'s parameters."""
    import torch

    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if not x.is_floating_point():
        raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
    if x.dim() < 2 or x.shape[0] == 0:
        raise ValueError(f"{name} must have shape (N, ...) with N >= 1 rows and at least one feature dimension, "
                         f"got shape {tuple(x.shape)} (use {name}[None] for one input, {name}[:, None] for N scalars)")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or inf; expected finite numbers")
    if model is not None:
        parameter = next(model.parameters(), None)
        if parameter is not None and parameter.is_floating_point() and parameter.dtype != x.dtype:
            raise TypeError(f"{name} has dtype {x.dtype} but the model's parameters are {parameter.dtype}; "
                            f"convert with {name}.to({parameter.dtype})")
        if parameter is not None and parameter.device != x.device:
            raise ValueError(f"{name} is on {x.device} but the model's parameters are on {parameter.device}; "
                             f"move one with .to(device)")
    return x

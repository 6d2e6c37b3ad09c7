"""Covariance of a one-hidden-layer network with random weights (chapter 1, §3 of the paper).

With ``w ~ N(0, weight_var·I)``, ``b ~ N(0, bias_var)`` and K hidden units,
``K(x, y) = E[σ(wᵀx + b) σ(wᵀy + b)]`` is the GP covariance that the paper's §3 starts from.
Its Monte Carlo estimate with K units, ``(1/K) Σ_k σ(w_kᵀx + b_k) σ(w_kᵀy + b_k)``, is the
covariance of the network's output when the output weights have variance 1/K.
"""

from __future__ import annotations

import numpy as np

from scipy.spatial.distance import cdist

from mcdrop import _checks


def _augmented(A, B, weight_var, bias_var):
    """Rows ``ã = (√weight_var·a, √bias_var)``, so that ``wᵀa + b`` has variance ``‖ã‖²`` and
    the pre-activations at a and b have covariance ``ã·b̃``."""
    A = _checks.finite_array("A", A, ndim=2)
    B = _checks.finite_array("B", B, ndim=2)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A has {A.shape[1]} columns but B has {B.shape[1]}")
    weight_var = _checks.positive("weight_var", weight_var)
    bias_var = _checks.positive("bias_var", bias_var)

    def augment(X):
        return np.column_stack([np.sqrt(weight_var) * X, np.full(len(X), np.sqrt(bias_var))])

    return augment(A), augment(B)


def _unit_rows(V):
    """Rows of ``V`` scaled to unit length, and their lengths (computed without overflow)."""
    scale = np.max(np.abs(V), axis=1, keepdims=True)
    scaled = V / scale
    norms = np.sqrt(np.sum(scaled**2, axis=1, keepdims=True))
    return scaled / norms, (scale * norms)[:, 0]


def _angles(U, V):
    """Angles between all pairs of unit rows, ``2·atan2(‖u − v‖, ‖u + v‖)``: accurate also for
    nearly parallel rows, where ``arccos(u·v)`` loses half the digits."""
    return 2 * np.arctan2(cdist(U, V), cdist(U, -V))


def relu_network_kernel(A, B, weight_var: float = 1.0, bias_var: float = 1.0) -> np.ndarray:
    """Closed form for ReLU: the first-order arc-cosine kernel (Cho & Saul, 2009).

    ``K = √(s_a s_b)/(2π) · (sin θ + (π − θ) cos θ)``, with ``cos θ = c/√(s_a s_b)``; θ is computed
    from differences of the normalised augmented inputs, so no term cancels far from the origin.
    """
    A_aug, B_aug = _augmented(A, B, weight_var, bias_var)
    (U, norm_a), (V, norm_b) = _unit_rows(A_aug), _unit_rows(B_aug)
    theta = _angles(U, V)
    with np.errstate(over="ignore"):
        scale = np.outer(norm_a, norm_b)
    if not np.all(np.isfinite(scale)):
        raise ValueError("A and B are so large that the kernel overflows float64; rescale the inputs")
    return scale / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * np.cos(theta))


def erf_network_kernel(A, B, weight_var: float = 1.0, bias_var: float = 1.0) -> np.ndarray:
    """Closed form for the erf activation (Williams, 1998): ``(2/π) arcsin(2c/√((1+2s_a)(1+2s_b)))``.

    With ``a' = (√2·ã, 1)`` the argument is ``x = cos θ' − 1/(‖a'‖‖b'‖)``; ``1 − x`` is summed from
    ``½‖â' − b̂'‖²`` and ``1/(‖a'‖‖b'‖)`` (no cancellation) and ``arcsin x = π/2 − 2 arcsin √((1 − x)/2)``.
    """
    A_aug, B_aug = _augmented(A, B, weight_var, bias_var)
    (U, norm_a), (V, norm_b) = (_unit_rows(np.column_stack([np.sqrt(2) * X, np.ones(len(X))]))
                                for X in (A_aug, B_aug))
    with np.errstate(over="ignore"):  # huge inputs: 1/(‖a'‖‖b'‖) → 0, its limit
        one_minus_x = 0.5 * cdist(U, V, "sqeuclidean") + 1 / np.outer(norm_a, norm_b)
    return 2 / np.pi * (np.pi / 2 - 2 * np.arcsin(np.sqrt(np.clip(one_minus_x / 2, 0.0, 1.0))))


def network_kernel_mc(A, B, n_units: int, activation: str = "relu", weight_var: float = 1.0,
                      bias_var: float = 1.0, seed=None) -> np.ndarray:
    """Monte Carlo estimate of the network kernel with ``n_units`` random hidden units."""
    from scipy.special import erf

    if activation not in ("relu", "erf"):
        raise ValueError(f"activation must be 'relu' or 'erf', got {activation!r}")
    n_units = _checks.positive_int("n_units", n_units)
    _augmented(A, B, weight_var, bias_var)  # validates every argument
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    rng = np.random.default_rng(_checks.seed("seed", seed))
    W = rng.normal(0.0, np.sqrt(weight_var), (A.shape[1], n_units))
    b = rng.normal(0.0, np.sqrt(bias_var), n_units)
    sigma = (lambda u: np.maximum(u, 0.0)) if activation == "relu" else erf
    return sigma(A @ W + b) @ sigma(B @ W + b).T / n_units

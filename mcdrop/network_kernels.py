"""Covariance of a one-hidden-layer network with random weights (chapter 1, §3 of the paper).

With ``w ~ N(0, weight_var·I)``, ``b ~ N(0, bias_var)`` and K hidden units,
``K(x, y) = E[σ(wᵀx + b) σ(wᵀy + b)]`` is the GP covariance that the paper's §3 starts from.
Its Monte Carlo estimate with K units, ``(1/K) Σ_k σ(w_kᵀx + b_k) σ(w_kᵀy + b_k)``, is the
covariance of the network's output when the output weights have variance 1/K.
"""

from __future__ import annotations

import numpy as np

from mcdrop import _checks



def _pre_activation_moments(A, B, weight_var, bias_var):
    """Variances of ``wᵀa + b`` and ``wᵀb + b`` and their covariance, for all pairs."""
    A = _checks.finite_array("A", A, ndim=2)
    B = _checks.finite_array("B", B, ndim=2)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A has {A.shape[1]} columns but B has {B.shape[1]}")
    weight_var = _checks.positive("weight_var", weight_var)
    bias_var = _checks.positive("bias_var", bias_var)
    var_a = weight_var * np.sum(A**2, axis=1) + bias_var
    var_b = weight_var * np.sum(B**2, axis=1) + bias_var
    cov = weight_var * A @ B.T + bias_var
    return var_a, var_b, cov


def relu_network_kernel(A, B, weight_var: float = 1.0, bias_var: float = 1.0) -> np.ndarray:
    """Closed form for ReLU: the first-order arc-cosine kernel (Cho & Saul, 2009).

    ``K = √(s_a s_b)/(2π) · (sin θ + (π − θ) cos θ)``, with ``cos θ = c/√(s_a s_b)``.
    """
    var_a, var_b, cov = _pre_activation_moments(A, B, weight_var, bias_var)
    norms = np.sqrt(np.outer(var_a, var_b))
    theta = np.arccos(np.clip(cov / norms, -1.0, 1.0))
    return norms / (2 * np.pi) * (np.sin(theta) + (np.pi - theta) * np.cos(theta))


def erf_network_kernel(A, B, weight_var: float = 1.0, bias_var: float = 1.0) -> np.ndarray:
    """Closed form for the erf activation (Williams, 1998): ``(2/π) arcsin(2c/√((1+2s_a)(1+2s_b)))``."""
    var_a, var_b, cov = _pre_activation_moments(A, B, weight_var, bias_var)
    return 2 / np.pi * np.arcsin(2 * cov / np.sqrt(np.outer(1 + 2 * var_a, 1 + 2 * var_b)))


def network_kernel_mc(A, B, n_units: int, activation: str = "relu", weight_var: float = 1.0,
                      bias_var: float = 1.0, seed=None) -> np.ndarray:
    """Monte Carlo estimate of the network kernel with ``n_units`` random hidden units."""
    from scipy.special import erf

    if activation not in ("relu", "erf"):
        raise ValueError(f"activation must be 'relu' or 'erf', got {activation!r}")
    n_units = _checks.positive_int("n_units", n_units)
    _pre_activation_moments(A, B, weight_var, bias_var)  # validates every argument
    A, B = np.asarray(A, dtype=float), np.asarray(B, dtype=float)
    rng = np.random.default_rng(seed)
    W = rng.normal(0.0, np.sqrt(weight_var), (A.shape[1], n_units))
    b = rng.normal(0.0, np.sqrt(bias_var), n_units)
    sigma = (lambda u: np.maximum(u, 0.0)) if activation == "relu" else erf
    return sigma(A @ W + b) @ sigma(B @ W + b).T / n_units

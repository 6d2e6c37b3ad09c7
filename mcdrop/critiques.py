"""Toy problems and closed forms for the critiques of MC dropout (chapter 11, "What MC dropout
gets wrong, measured").

``toy_regression`` draws the 1-D data sets of the chapter (one interval, or two clusters with a
gap). The rest answers "is MC dropout Bayesian?" (Le Folgoc et al., 2021) on a model whose
posterior is known: Bayesian linear regression ``y = Φw + ε``, ``w ~ N(0, αI)``,
``ε ~ N(0, σ²)``, with dropout on the fixed features, ``w = diag(z)·M``, ``z_j ~ Bernoulli(p)``
(p the KEEP probability). There the expectation over masks in paper eq. (3) is a closed form and
so is its minimiser over ``M``.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from mcdrop import _checks, vi
from mcdrop.kl import gaussian_kl


def toy_function(x) -> np.ndarray:
    """The chapter's regression function ``f(x) = sin(2x) + x/2``."""
    x = np.asarray(x, dtype=float)
    return np.sin(2 * x) + 0.5 * x


def toy_regression(n: int, intervals=((-2.0, 2.0),), noise_std: float = 0.1, seed=None):
    """``n`` points with ``x`` uniform on the union of equally long ``intervals`` (split as evenly
    as possible) and ``y = toy_function(x) + noise_std·ε``; returns ``X`` (n, 1) and ``y`` (n,)."""
    n = _checks.positive_int("n", n)
    noise_std = _checks.positive("noise_std", noise_std)
    intervals = _checks.finite_array("intervals", intervals, ndim=2)
    if intervals.shape[1] != 2 or np.any(intervals[:, 1] <= intervals[:, 0]):
        raise ValueError("intervals must be a list of (low, high) pairs with low < high")
    rng = np.random.default_rng(seed)
    which = rng.permutation(np.arange(n) % len(intervals))
    x = rng.uniform(intervals[which, 0], intervals[which, 1])
    return x[:, None], toy_function(x) + noise_std * rng.standard_normal(n)


def rbf_features(x, centres, width: float) -> np.ndarray:
    """Fixed features ``φ_j(x) = exp(−(x − c_j)² / (2·width²))``, shape (len(x), len(centres))."""
    x = _checks.finite_array("x", x, ndim=1)
    centres = _checks.finite_array("centres", centres, ndim=1)
    width = _checks.positive("width", width)
    return np.exp(-((x[:, None] - centres[None, :]) ** 2) / (2 * width**2))


def _blr_inputs(Phi, y, keep_prob, prior_var, noise_var):
    Phi = _checks.finite_array("Phi", Phi, ndim=2)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("Phi", Phi, "y", y)
    keep_prob = _checks.probability("keep_prob", keep_prob, open_interval=True)
    return Phi, y, keep_prob, _checks.positive("prior_var", prior_var), _checks.positive("noise_var", noise_var)


def dropout_blr_objective(M, Phi, y, keep_prob: float, prior_var: float, noise_var: float) -> float:
    """The objective of paper eq. (3) for the dropout q (chapter 11), up to constants in ``M``:
    ``E_z[Σ_n (y_n − φ_nᵀ diag(z) M)²]/(2σ²) + p‖M‖²/(2α)``, with the KL of Proposition 1 and
    ``E_z[(y − φᵀdiag(z)M)²] = (y − pφᵀM)² + p(1 − p) Σ_j φ_j² M_j²``."""
    Phi, y, p, prior_var, noise_var = _blr_inputs(Phi, y, keep_prob, prior_var, noise_var)
    M = _checks.finite_array("M", M, ndim=1)
    expected = np.sum((y - p * Phi @ M) ** 2) + p * (1 - p) * np.sum(Phi**2 @ M**2)
    return float(expected / (2 * noise_var) + p * M @ M / (2 * prior_var))


def dropout_blr_fit(Phi, y, keep_prob: float, prior_var: float, noise_var: float) -> np.ndarray:
    """The ``M`` that minimises :func:`dropout_blr_objective`:
    ``M = (pΦᵀΦ + (1 − p)·diag(ΦᵀΦ) + (σ²/α)·I)⁻¹ Φᵀy``."""
    Phi, y, p, prior_var, noise_var = _blr_inputs(Phi, y, keep_prob, prior_var, noise_var)
    gram = Phi.T @ Phi
    system = p * gram + (1 - p) * np.diag(np.diag(gram)) + noise_var / prior_var * np.eye(Phi.shape[1])
    return linalg.solve(system, Phi.T @ y, assume_a="pos")


def dropout_blr_predictive(Phi_star, M, keep_prob: float):
    """Mean ``pφ*ᵀM`` and variance ``p(1 − p) Σ_j φ*_j² M_j²`` of the function value ``f* = φ*ᵀw``
    under the dropout q: the moments of its 2^D-component mixture, i.e. the MC dropout predictive of
    paper eq. (6) as T → ∞ (add σ² for ``y*``; chapter 11)."""
    Phi_star = _checks.finite_array("Phi_star", Phi_star, ndim=2)
    M = _checks.finite_array("M", M, ndim=1)
    p = _checks.probability("keep_prob", keep_prob, open_interval=True)
    return p * Phi_star @ M, p * (1 - p) * Phi_star**2 @ M**2


def exact_blr_predictive(Phi, y, Phi_star, prior_var: float, noise_var: float):
    """Mean ``φ*ᵀm`` and variance ``φ*ᵀSφ*`` of ``f*`` under the exact posterior ``N(m, S)``."""
    mean, cov = vi.blr_posterior(Phi, y, prior_var, noise_var)
    Phi_star = _checks.finite_array("Phi_star", Phi_star, ndim=2)
    return Phi_star @ mean, np.einsum("nd,de,ne->n", Phi_star, cov, Phi_star)


def compare_dropout_to_exact(Phi, y, Phi_star, keep_prob: float, prior_var: float, noise_var: float) -> dict:
    """How far the dropout predictive is from the exact one at the rows of ``Phi_star``.

    ``mean_error``: root mean square of the difference of the predictive means;
    ``variance_ratio``: geometric mean over points of the ratio of the function variances,
    dropout / exact; ``kl``: mean over points of KL(exact ‖ dropout) between the two Gaussian
    predictives of ``y*`` (σ² added to both; the dropout one moment-matched).
    """
    Phi, y, p, prior_var, noise_var = _blr_inputs(Phi, y, keep_prob, prior_var, noise_var)
    mean_q, var_q = dropout_blr_predictive(Phi_star, dropout_blr_fit(Phi, y, p, prior_var, noise_var), p)
    mean_e, var_e = exact_blr_predictive(Phi, y, Phi_star, prior_var, noise_var)
    kls = [gaussian_kl([me], [[ve + noise_var]], [mq], [[vq + noise_var]])
           for me, ve, mq, vq in zip(mean_e, var_e, mean_q, var_q)]
    return {"mean_error": float(np.sqrt(np.mean((mean_q - mean_e) ** 2))),
            "variance_ratio": float(np.exp(np.mean(np.log(var_q) - np.log(var_e)))), "kl": float(np.mean(kls))}

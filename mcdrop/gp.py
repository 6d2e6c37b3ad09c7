"""Exact Gaussian-process regression (chapter 1, "The Gaussian-process posterior").

Everything follows Rasmussen & Williams (2006), Algorithm 2.1: one Cholesky factor of
``K(X, X) + noise_variance·I`` serves the posterior mean, covariance and the log
marginal likelihood; no matrix is ever inverted explicitly.
"""

from __future__ import annotations

import time
from typing import Callable

import numpy as np
from scipy import linalg, optimize

from mcdrop import _checks

Kernel = Callable[[np.ndarray, np.ndarray], np.ndarray]


def se_kernel(A, B, lengthscale: float = 1.0, variance: float = 1.0) -> np.ndarray:
    """Squared-exponential kernel ``variance·exp(−‖a − b‖² / (2·lengthscale²))``.

    ``A`` is (n, d) and ``B`` is (m, d); returns the (n, m) Gram matrix.
    """
    lengthscale = _checks.positive("lengthscale", lengthscale)
    variance = _checks.positive("variance", variance)
    A = _checks.finite_array("A", A, ndim=2)
    B = _checks.finite_array("B", B, ndim=2)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A has {A.shape[1]} columns but B has {B.shape[1]}")
    sq_dist = (
        np.sum(A**2, axis=1)[:, None] + np.sum(B**2, axis=1)[None, :] - 2.0 * A @ B.T
    )
    return variance * np.exp(-np.maximum(sq_dist, 0.0) / (2.0 * lengthscale**2))


def _checked_data(X, y, noise_variance):
    X = _checks.finite_array("X", X, ndim=2)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("X", X, "y", y)
    noise_variance = _checks.positive("noise_variance", noise_variance)
    return X, y, noise_variance


def _noisy_cholesky(X, kernel, noise_variance):
    K = np.asarray(kernel(X, X), dtype=float)
    K[np.diag_indices_from(K)] += noise_variance
    return linalg.cho_factor(K, lower=True)


def posterior(X, y, X_star, kernel: Kernel, noise_variance: float):
    """Posterior mean and covariance of the latent ``f(X_star)`` given noisy ``y``.

    ``mean = K*ᵀ (K + σ²I)⁻¹ y`` and ``cov = K** − K*ᵀ (K + σ²I)⁻¹ K*`` (R&W equations 2.23–2.24),
    both solved through the Cholesky factor of ``K + σ²I``. For a GP the integral of the Bayesian
    predictive, paper eq. (2), is Gaussian and exact: this is its latent part (add
    ``noise_variance`` to ``cov`` for ``y*``; chapter 1).
    """
    X, y, noise_variance = _checked_data(X, y, noise_variance)
    X_star = _checks.finite_array("X_star", X_star, ndim=2)
    if X_star.shape[1] != X.shape[1]:
        raise ValueError(f"X_star has {X_star.shape[1]} columns but X has {X.shape[1]}")
    factor = _noisy_cholesky(X, kernel, noise_variance)
    K_star = np.asarray(kernel(X, X_star), dtype=float)
    mean = K_star.T @ linalg.cho_solve(factor, y)
    v = linalg.solve_triangular(factor[0], K_star, lower=True)
    cov = np.asarray(kernel(X_star, X_star), dtype=float) - v.T @ v
    return mean, cov


def log_marginal_likelihood(X, y, kernel: Kernel, noise_variance: float) -> float:
    """``log p(y | X) = −½ yᵀ(K + σ²I)⁻¹y − Σ log L_ii − (n/2) log 2π`` (R&W equation 2.30)."""
    X, y, noise_variance = _checked_data(X, y, noise_variance)
    factor = _noisy_cholesky(X, kernel, noise_variance)
    alpha = linalg.cho_solve(factor, y)
    log_det_half = np.sum(np.log(np.diag(factor[0])))
    return float(-0.5 * y @ alpha - log_det_half - 0.5 * len(y) * np.log(2 * np.pi))


def sample_prior(X, kernel: Kernel, n_samples: int, seed=None, jitter: float = 1e-8):
    """Draw ``n_samples`` functions from the GP prior at the rows of ``X``; shape (n_samples, n)."""
    X = _checks.finite_array("X", X, ndim=2)
    n_samples = _checks.positive_int("n_samples", n_samples)
    K = np.asarray(kernel(X, X), dtype=float) + jitter * np.eye(len(X))
    L = np.linalg.cholesky(K)
    rng = np.random.default_rng(seed)
    return (L @ rng.standard_normal((len(X), n_samples))).T


def fit_se_hyperparameters(X, y, init=(1.0, 1.0, 0.1), n_restarts: int = 3, seed=None) -> dict:
    """Maximise the log marginal likelihood over the SE kernel's (lengthscale, variance, noise).

    Optimises the logarithms with L-BFGS-B from ``init`` and ``n_restarts`` random
    starts around it; returns the best as a dict with the attained ``log_marginal_likelihood``.
    """
    X, y, _ = _checked_data(X, y, 1.0)
    n_restarts = _checks.positive_int("n_restarts", n_restarts)
    for name, value in zip(("lengthscale", "variance", "noise_variance"), init):
        _checks.positive(f"init {name}", value)

    def negative_lml(log_params):
        lengthscale, variance, noise = np.exp(log_params)
        kernel = lambda A, B: se_kernel(A, B, lengthscale, variance)  # noqa: E731
        try:
            return -log_marginal_likelihood(X, y, kernel, noise)
        except linalg.LinAlgError:
            return np.inf

    rng = np.random.default_rng(seed)
    starts = [np.log(init)] + [np.log(init) + rng.normal(0, 1, 3) for _ in range(n_restarts - 1)]
    bounds = [(-7.0, 7.0), (-7.0, 7.0), (-16.0, 5.0)]
    best = min(
        (optimize.minimize(negative_lml, s, method="L-BFGS-B", bounds=bounds) for s in starts),
        key=lambda result: result.fun,
    )
    lengthscale, variance, noise = np.exp(best.x)
    return {
        "lengthscale": float(lengthscale),
        "variance": float(variance),
        "noise_variance": float(noise),
        "log_marginal_likelihood": float(-best.fun),
    }


def _timing_problems(sizes, seed):
    """Seeded 1-D regression problems of each size, for the timing functions."""
    rng = np.random.default_rng(seed)
    for n in sizes:
        X = rng.uniform(-3, 3, (_checks.positive_int("size", n), 1))
        yield X, np.sin(X[:, 0]) + 0.1 * rng.standard_normal(n)


def _best_time(fn, repeats):
    """Smallest CPU time of ``repeats`` calls: CPU seconds of this process (summed over its
    threads), which other jobs on a shared machine inflate far less than wall time."""
    best = np.inf
    for _ in range(repeats):
        start = time.process_time()
        fn()
        best = min(best, time.process_time() - start)
    return best


def time_posterior(sizes, n_test: int = 100, repeats: int = 3, seed=None) -> np.ndarray:
    """Best-of-``repeats`` CPU time (s) of :func:`posterior` on 1-D data of each size in ``sizes``."""
    repeats = _checks.positive_int("repeats", repeats)
    X_star = np.linspace(-3, 3, _checks.positive_int("n_test", n_test))[:, None]
    return np.array([_best_time(lambda: posterior(X, y, X_star, se_kernel, 0.01), repeats)
                     for X, y in _timing_problems(sizes, seed)])


def time_cholesky(sizes, repeats: int = 3, seed=None) -> np.ndarray:
    """Best-of-``repeats`` CPU time (s) of the Cholesky factor of ``K + σ²I`` alone.

    The same problems as :func:`time_posterior` (same ``seed``), with the kernel matrix formed
    outside the timer: this is the ``n³/3``-operation step, the rest of a posterior is O(n²).
    """
    repeats = _checks.positive_int("repeats", repeats)
    times = []
    for X, _ in _timing_problems(sizes, seed):
        K = se_kernel(X, X)
        K[np.diag_indices_from(K)] += 0.01
        times.append(_best_time(lambda: linalg.cho_factor(K, lower=True), repeats))
    return np.array(times)

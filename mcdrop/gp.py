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
from scipy.spatial.distance import cdist

from mcdrop import _checks
from mcdrop._timing import best_time

Kernel = Callable[[np.ndarray, np.ndarray], np.ndarray]


def se_kernel(A, B, lengthscale: float = 1.0, variance: float = 1.0) -> np.ndarray:
    """Squared-exponential kernel ``variance·exp(−‖a − b‖² / (2·lengthscale²))``.

    ``A`` is (n, d) and ``B`` is (m, d); returns the (n, m) Gram matrix. Squared distances are
    summed from coordinate differences (never as ‖a‖² + ‖b‖² − 2a·b, which cancels far from the
    origin) and divided by the lengthscale twice (never by its square, which overflows), so the
    kernel is accurate at any offset and any lengthscale.
    """
    lengthscale = _checks.positive("lengthscale", lengthscale)
    variance = _checks.positive("variance", variance)
    A = _checks.finite_array("A", A, ndim=2)
    B = _checks.finite_array("B", B, ndim=2)
    if A.shape[1] != B.shape[1]:
        raise ValueError(f"A has {A.shape[1]} columns but B has {B.shape[1]}")
    with np.errstate(over="ignore"):  # a distance beyond float64 range gives k = 0, its limit
        scaled = cdist(A, B, "sqeuclidean") / lengthscale / lengthscale
    return variance * np.exp(-0.5 * scaled)


def _checked_data(X, y, noise_variance):
    X = _checks.finite_array("X", X, ndim=2)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("X", X, "y", y)
    noise_variance = _checks.positive("noise_variance", noise_variance)
    return X, y, noise_variance


def _kernel_matrix(kernel, A, B) -> np.ndarray:
    """``kernel(A, B)`` checked to be a finite (len(A), len(B)) matrix."""
    if not callable(kernel):
        raise TypeError(f"kernel must be a callable kernel(A, B), got {type(kernel).__name__}")
    K = np.array(kernel(A, B), dtype=float)
    if K.shape != (len(A), len(B)) or not np.all(np.isfinite(K)):
        raise ValueError(f"kernel must return a finite ({len(A)}, {len(B)}) matrix, got shape {K.shape}"
                         + ("" if K.shape != (len(A), len(B)) else " with NaN or inf"))
    return K


def _noisy_cholesky(X, kernel, noise_variance, name="noise_variance"):
    K = _kernel_matrix(kernel, X, X)
    K[np.diag_indices_from(K)] += noise_variance
    try:
        return linalg.cho_factor(K, lower=True)
    except linalg.LinAlgError as err:
        raise ValueError(f"kernel(X, X) + {name}·I is not positive definite ({name}={noise_variance}); "
                         f"increase {name}") from err


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
    K_star = _kernel_matrix(kernel, X, X_star)
    mean = K_star.T @ linalg.cho_solve(factor, y)
    v = linalg.solve_triangular(factor[0], K_star, lower=True)
    cov = _kernel_matrix(kernel, X_star, X_star) - v.T @ v
    return mean, cov


def log_marginal_likelihood(X, y, kernel: Kernel, noise_variance: float) -> float:
    """``log p(y | X) = −½ yᵀ(K + σ²I)⁻¹y − Σ log L_ii − (n/2) log 2π`` (R&W equation 2.30)."""
    X, y, noise_variance = _checked_data(X, y, noise_variance)
    factor = _noisy_cholesky(X, kernel, noise_variance)
    alpha = linalg.cho_solve(factor, y)
    log_det_half = np.sum(np.log(np.diag(factor[0])))
    return float(-0.5 * y @ alpha - log_det_half - 0.5 * len(y) * np.log(2 * np.pi))


def sample_prior(X, kernel: Kernel, n_draws: int, seed=None, jitter: float = 1e-8):
    """Draw ``n_draws`` functions from the GP prior at the rows of ``X``; shape (n_draws, n).
    ``jitter`` (>= 0) is added to the diagonal of ``kernel(X, X)`` before factoring it."""
    X = _checks.finite_array("X", X, ndim=2)
    n_draws = _checks.positive_int("n_draws", n_draws)
    jitter = _checks.non_negative("jitter", jitter)
    rng = np.random.default_rng(_checks.seed("seed", seed))
    L = _noisy_cholesky(X, kernel, jitter, name="jitter")[0]
    return (np.tril(L) @ rng.standard_normal((len(X), n_draws))).T


def fit_se_hyperparameters(X, y, init=(1.0, 1.0, 0.1), n_restarts: int = 3, seed=None) -> dict:
    """Maximise the log marginal likelihood over the SE kernel's (lengthscale, variance, noise).

    Optimises the logarithms with L-BFGS-B from ``init`` and ``n_restarts`` random
    starts around it; returns the best as a dict with the attained ``log_marginal_likelihood``.
    """
    X, y, _ = _checked_data(X, y, 1.0)
    n_restarts = _checks.positive_int("n_restarts", n_restarts)
    init = _checks.finite_array("init", init, ndim=1)
    if len(init) != 3:
        raise ValueError(f"init must be (lengthscale, variance, noise_variance), got {len(init)} value(s)")
    for name, value in zip(("lengthscale", "variance", "noise_variance"), init):
        _checks.positive(f"init {name}", float(value))
    seed = _checks.seed("seed", seed)

    def negative_lml(log_params):
        lengthscale, variance, noise = np.exp(log_params)
        kernel = lambda A, B: se_kernel(A, B, lengthscale, variance)  # noqa: E731
        try:
            return -log_marginal_likelihood(X, y, kernel, noise)
        except ValueError:  # not positive definite at these hyper-parameters
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
    sizes = [_checks.positive_int(f"sizes[{i}]", n) for i, n in enumerate(sizes)]
    if not sizes:
        raise ValueError("sizes must not be empty")
    rng = np.random.default_rng(_checks.seed("seed", seed))
    for n in sizes:
        X = rng.uniform(-3, 3, (n, 1))
        yield X, np.sin(X[:, 0]) + 0.1 * rng.standard_normal(n)


def time_posterior(sizes, n_test: int = 100, repeats: int = 3, seed=None) -> np.ndarray:
    """Best-of-``repeats`` CPU time (s) of :func:`posterior` on 1-D data of each size in ``sizes``.

    CPU seconds of this process (summed over its threads), which other jobs on a shared machine
    inflate far less than wall time."""
    repeats = _checks.positive_int("repeats", repeats)
    X_star = np.linspace(-3, 3, _checks.positive_int("n_test", n_test))[:, None]
    return np.array([best_time(lambda: posterior(X, y, X_star, se_kernel, 0.01), repeats, warm_up=False,
                               clock=time.process_time)
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
        times.append(best_time(lambda: linalg.cho_factor(K, lower=True), repeats, warm_up=False,
                               clock=time.process_time))
    return np.array(times)

"""Variational inference on Bayesian linear regression (chapter 2, "Variational inference")
and Monte Carlo gradient estimators (chapter 3, "The reparameterisation trick").

The model: ``w ~ N(0, prior_var·I)``, ``y = Φw + ε`` with ``ε ~ N(0, noise_variance·I)``. Its
posterior and evidence are known in closed form, so every identity of VI can be checked.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg

from mcdrop import _checks
from mcdrop.kl import gaussian_kl


def _regression(Phi, y, prior_var, noise_variance):
    Phi = _checks.finite_array("Phi", Phi, ndim=2)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("Phi", Phi, "y", y)
    return Phi, y, _checks.positive("prior_var", prior_var), _checks.positive("noise_variance", noise_variance)


def _posterior(Phi, y, prior_var, noise_variance):
    """Cholesky factor of the posterior precision ``ΦᵀΦ/σ² + I/α`` and the posterior mean."""
    precision = Phi.T @ Phi / noise_variance + np.eye(Phi.shape[1]) / prior_var
    factor = linalg.cho_factor(precision, lower=True)
    return factor, linalg.cho_solve(factor, Phi.T @ y / noise_variance)


def blr_posterior(Phi, y, prior_var: float, noise_variance: float):
    """Exact posterior ``N(mean, cov)`` with ``cov = (ΦᵀΦ/σ² + I/α)⁻¹``, ``mean = cov Φᵀy/σ²``: the
    ``p(ω | X, Y)`` that the Bayesian predictive of paper eq. (2) integrates against (chapter 2)."""
    Phi, y, prior_var, noise_variance = _regression(Phi, y, prior_var, noise_variance)
    factor, mean = _posterior(Phi, y, prior_var, noise_variance)
    cov = linalg.cho_solve(factor, np.eye(Phi.shape[1]))
    return mean, (cov + cov.T) / 2


def blr_log_evidence(Phi, y, prior_var: float, noise_variance: float) -> float:
    """``log p(y) = log N(y; 0, αΦΦᵀ + σ²I)``, computed in the D-dimensional weight space
    (Bishop 2006, equation 3.86)."""
    Phi, y, prior_var, noise_variance = _regression(Phi, y, prior_var, noise_variance)
    n, d = Phi.shape
    factor, mean = _posterior(Phi, y, prior_var, noise_variance)
    fit = np.sum((y - Phi @ mean) ** 2) / (2 * noise_variance) + mean @ mean / (2 * prior_var)
    return float(
        -0.5 * d * np.log(prior_var) - 0.5 * n * np.log(noise_variance) - fit
        - np.sum(np.log(np.diag(factor[0]))) - 0.5 * n * np.log(2 * np.pi)
    )


def expected_log_likelihoods(q_mean, q_cov, Phi, y, noise_variance: float) -> np.ndarray:
    """Per-point ``E_q[log N(y_n; φ_nᵀw, σ²)]
    = −½ log 2πσ² − ((y_n − φ_nᵀm)² + φ_nᵀSφ_n) / (2σ²)``, shape (N,)."""
    Phi, y, _, noise_variance = _regression(Phi, y, 1.0, noise_variance)
    q_mean, q_cov = _check_q(q_mean, q_cov, Phi.shape[1])
    quad = np.einsum("nd,de,ne->n", Phi, q_cov, Phi)
    return -0.5 * np.log(2 * np.pi * noise_variance) - ((y - Phi @ q_mean) ** 2 + quad) / (2 * noise_variance)


def _check_q(q_mean, q_cov, dim):
    q_mean = _checks.finite_array("q_mean", q_mean, ndim=1)
    q_cov = _checks.finite_array("q_cov", q_cov, ndim=2)
    if q_mean.shape != (dim,) or q_cov.shape != (dim, dim):
        raise ValueError(f"q_mean must have shape {(dim,)} and q_cov {(dim, dim)}")
    _checks.spd_cholesky("q_cov", q_cov)
    return q_mean, q_cov


def gaussian_elbo(q_mean, q_cov, Phi, y, prior_var: float, noise_variance: float) -> float:
    """Closed-form ELBO ``Σ_n E_q[log p(y_n | w)] − KL(q ‖ p(w))`` of a Gaussian ``q``: minus the
    objective of paper eq. (3) (chapter 2).

    The identity ``log p(y) = ELBO(q) + KL(q ‖ p(w | y))`` (chapter 2) holds for every q.
    """
    Phi, y, prior_var, noise_variance = _regression(Phi, y, prior_var, noise_variance)
    d = Phi.shape[1]
    expected = expected_log_likelihoods(q_mean, q_cov, Phi, y, noise_variance).sum()
    return float(expected - gaussian_kl(q_mean, q_cov, np.zeros(d), prior_var * np.eye(d)))


def minibatch_estimates(per_point, batch_size: int, n_batches: int, seed=None) -> np.ndarray:
    """``n_batches`` draws of ``(N/M) Σ_{i∈S} a_i`` for random subsets S of size M (no
    replacement): unbiased estimates of ``Σ_i a_i``, as the data term of paper eq. (4) is of
    that of paper eq. (3) (chapter 2)."""
    per_point = _checks.finite_array("per_point", per_point, ndim=1)
    batch_size = _checks.positive_int("batch_size", batch_size)
    n_batches = _checks.positive_int("n_batches", n_batches)
    n = len(per_point)
    if batch_size > n:
        raise ValueError(f"batch_size ({batch_size}) exceeds the number of points ({n})")
    rng = np.random.default_rng(_checks.seed("seed", seed))
    keys = rng.random((n_batches, n))
    subsets = np.argpartition(keys, batch_size - 1, axis=1)[:, :batch_size]
    return n / batch_size * per_point[subsets].sum(axis=1)


def fit_gaussian_vi(Phi, y, prior_var: float, noise_variance: float, mean_field: bool = False,
                    n_steps: int = 4000, lr: float = 0.02, n_samples: int = 32, seed=None,
                    progress: bool = False) -> dict:
    """Fit ``q(w) = N(m, LLᵀ)`` (or diagonal, when ``mean_field``) by minimising paper eq. (3)
    (chapter 2) with Adam on the reparameterised ELBO (chapter 3): ``w = m + Lε``, the expected
    log-likelihood averaged over ``n_samples`` draws and the KL to the prior in closed form.

    Returns ``mean``, ``cov`` (averaged over the last half of the steps) and ``elbo_history``.
    """
    import torch
    from tqdm.auto import tqdm

    Phi, y, prior_var, noise_variance = _regression(Phi, y, prior_var, noise_variance)
    n_steps = _checks.positive_int("n_steps", n_steps)
    n_samples = _checks.positive_int("n_samples", n_samples)
    lr = _checks.positive("lr", lr)
    if not isinstance(mean_field, (bool, np.bool_)):
        raise TypeError(f"mean_field must be True or False, got {mean_field!r}")
    generator = torch.Generator().manual_seed(_checks.int_seed("seed", seed))
    Phi_t, y_t = torch.as_tensor(Phi), torch.as_tensor(y)
    d = Phi.shape[1]
    mean = torch.zeros(d, dtype=torch.float64, requires_grad=True)
    log_diag = torch.full((d,), -1.0, dtype=torch.float64, requires_grad=True)
    lower = torch.zeros((d, d), dtype=torch.float64, requires_grad=not mean_field)
    optimizer = torch.optim.Adam([mean, log_diag] + ([] if mean_field else [lower]), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, n_steps)
    history, kept_means, kept_covs = [], [], []
    for step in tqdm(range(n_steps), disable=not progress, desc="VI"):
        chol = torch.diag(log_diag.exp()) + torch.tril(lower, diagonal=-1)
        eps = torch.randn((n_samples, d), generator=generator, dtype=torch.float64)
        w = mean + eps @ chol.T
        residual = y_t[None, :] - w @ Phi_t.T
        expected = (-0.5 * np.log(2 * np.pi * noise_variance) - residual**2 / (2 * noise_variance)).sum(1).mean()
        cov = chol @ chol.T
        kl = 0.5 * (torch.trace(cov) / prior_var + mean @ mean / prior_var - d
                    + d * np.log(prior_var) - 2 * log_diag.sum())
        elbo = expected - kl
        optimizer.zero_grad()
        (-elbo).backward()
        optimizer.step()
        schedule.step()
        history.append(elbo.item())
        if step >= n_steps // 2:
            kept_means.append(mean.detach().numpy().copy())
            kept_covs.append(cov.detach().numpy().copy())
    return {"mean": np.mean(kept_means, axis=0), "cov": np.mean(kept_covs, axis=0),
            "elbo_history": np.array(history)}


def _gaussian_draws(mu, sigma, n_samples, seed):
    mu = float(_checks.finite_array("mu", mu, ndim=0))
    sigma = _checks.positive("sigma", sigma)
    n_samples = _checks.positive_int("n_samples", n_samples)
    eps = np.random.default_rng(_checks.seed("seed", seed)).standard_normal(n_samples)
    return mu, sigma, eps, mu + sigma * eps


def pathwise_gradient_terms(f, mu, sigma, n_samples: int, seed=None, df=None) -> np.ndarray:
    """Per-draw pathwise terms ``(f'(w), f'(w)·ε)`` with ``w = μ + σε``; shape (n_samples, 2).

    ``df`` is the derivative of ``f``; when omitted a central difference of step
    ``1e-5·(1 + |w|)`` stands in (its bias, O(h²), is far below the Monte Carlo error).
    """
    _, _, eps, w = _gaussian_draws(mu, sigma, n_samples, seed)
    if df is None:
        h = 1e-5 * (1 + np.abs(w))
        slope = (np.asarray(f(w + h)) - np.asarray(f(w - h))) / (2 * h)
    else:
        slope = np.asarray(df(w), dtype=float)
    return np.column_stack([slope, slope * eps])


def score_function_gradient_terms(f, mu, sigma, n_samples: int, seed=None) -> np.ndarray:
    """Per-draw score-function (REINFORCE) terms ``f(w)·∇_{μ,σ} log N(w; μ, σ²)
    = f(w)·(ε/σ, (ε² − 1)/σ)``; shape (n_samples, 2)."""
    _, sigma, eps, w = _gaussian_draws(mu, sigma, n_samples, seed)
    values = np.asarray(f(w), dtype=float)
    return np.column_stack([values * eps / sigma, values * (eps**2 - 1) / sigma])


def pathwise_gradient(f, mu, sigma, n_samples: int, seed=None, df=None):
    """Reparameterised estimate of ``(∂/∂μ, ∂/∂σ) E_{N(μ,σ²)}[f(w)]`` (Kingma & Welling, 2014)."""
    return tuple(pathwise_gradient_terms(f, mu, sigma, n_samples, seed, df).mean(axis=0))


def score_function_gradient(f, mu, sigma, n_samples: int, seed=None):
    """Score-function estimate of ``(∂/∂μ, ∂/∂σ) E_{N(μ,σ²)}[f(w)]`` (Williams, 1992)."""
    return tuple(score_function_gradient_terms(f, mu, sigma, n_samples, seed).mean(axis=0))

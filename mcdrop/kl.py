"""KL divergences behind the KL-to-L2 proposition (chapter 5, "The KL-to-L2 proposition").

Proposition 1 of the appendix (Gal & Ghahramani, 2015): for a mixture
``q(x) = Σ_i p_i N(x; μ_i, Σ_i)`` in ``R^K`` and ``p(x) = N(0, I_K)``, for large K
``KL(q ‖ p) ≈ Σ_i p_i KL(N_i ‖ p) − H(p_1, …, p_L)``; for one row of a dropout weight
matrix this is ``(p/2)‖m‖²`` plus constants, with ``p`` the KEEP probability.
"""

from __future__ import annotations

import numpy as np
from scipy import linalg
from scipy.special import logsumexp

from mcdrop import _checks


def _gaussian(name_mu, mu, name_cov, cov):
    mu = _checks.finite_array(name_mu, mu, ndim=1)
    cov = _checks.finite_array(name_cov, cov, ndim=2)
    if cov.shape != (len(mu), len(mu)):
        raise ValueError(f"{name_cov} has shape {cov.shape} but {name_mu} has length {len(mu)}")
    return mu, cov, _checks.spd_cholesky(name_cov, cov)


def gaussian_kl(mu_q, cov_q, mu_p, cov_p) -> float:
    """``KL(N(mu_q, cov_q) ‖ N(mu_p, cov_p))
    = ½[tr(Σ_p⁻¹Σ_q) + (μ_p − μ_q)ᵀΣ_p⁻¹(μ_p − μ_q) − K + log|Σ_p| − log|Σ_q|]``."""
    mu_q, cov_q, chol_q = _gaussian("mu_q", mu_q, "cov_q", cov_q)
    mu_p, cov_p, chol_p = _gaussian("mu_p", mu_p, "cov_p", cov_p)
    if len(mu_q) != len(mu_p):
        raise ValueError(f"mu_q has length {len(mu_q)} but mu_p has length {len(mu_p)}")
    a = linalg.solve_triangular(chol_p, chol_q, lower=True)
    b = linalg.solve_triangular(chol_p, mu_p - mu_q, lower=True)
    log_det_ratio = 2 * (np.sum(np.log(np.diag(chol_p))) - np.sum(np.log(np.diag(chol_q))))
    return float(0.5 * (np.sum(a**2) + b @ b - len(mu_q) + log_det_ratio))


def _mixture(weights, means, covs):
    weights = _checks.finite_array("weights", weights, ndim=1)
    means = _checks.finite_array("means", means, ndim=2)
    covs = _checks.finite_array("covs", covs, ndim=3)
    if np.any(weights < 0) or not np.isclose(weights.sum(), 1.0, atol=1e-9):
        raise ValueError("weights must be non-negative and sum to 1")
    L, K = means.shape
    if len(weights) != L:
        raise ValueError(f"weights has {len(weights)} entries but means has {L} rows")
    if covs.shape != (L, K, K):
        raise ValueError(f"covs must have shape {(L, K, K)}, got {covs.shape}")
    chols = np.stack([_checks.spd_cholesky(f"covs[{i}]", c) for i, c in enumerate(covs)])
    return weights, means, covs, chols


def _entropy(weights):
    nonzero = weights[weights > 0]
    return float(-np.sum(nonzero * np.log(nonzero)))


def dropout_row_mixture(mean_row, keep_prob: float, sigma: float):
    """``(weights, means, covs)`` of one dropout weight row's q(w) = p·N(m, σ²I) + (1 − p)·N(0, σ²I),
    the mixture that Prop. 1 is applied to (chapter 5); ``p = keep_prob``."""
    mean_row = _checks.finite_array("mean_row", mean_row, ndim=1)
    keep_prob = _checks.probability("keep_prob", keep_prob, open_interval=True)
    sigma = _checks.positive("sigma", sigma)
    k = len(mean_row)
    return (np.array([keep_prob, 1 - keep_prob]), np.stack([mean_row, np.zeros(k)]),
            np.stack([sigma**2 * np.eye(k)] * 2))


def mixture_kl_limit(weights, means, covs) -> float:
    """The exact large-K limit ``Σ_i p_i KL(N(μ_i, Σ_i) ‖ N(0, I)) − H(p)`` (Prop. 1)."""
    weights, means, covs, _ = _mixture(weights, means, covs)
    K = means.shape[1]
    terms = [gaussian_kl(m, c, np.zeros(K), np.eye(K)) for m, c in zip(means, covs)]
    return float(np.dot(weights, terms) - _entropy(weights))


def proposition_one_printed(weights, means, covs) -> float:
    """Prop. 1 as printed, without its constant C:
    ``Σ_i (p_i/2)(μ_iᵀμ_i + tr Σ_i − K(1 + log 2π) − log|Σ_i|)``."""
    weights, means, covs, chols = _mixture(weights, means, covs)
    K = means.shape[1]
    log_dets = 2 * np.sum(np.log(np.diagonal(chols, axis1=1, axis2=2)), axis=1)
    traces = np.trace(covs, axis1=1, axis2=2)
    per_component = np.sum(means**2, axis=1) + traces - K * (1 + np.log(2 * np.pi)) - log_dets
    return float(np.dot(weights, per_component) / 2)


def mixture_log_density(x, weights, means, chols) -> np.ndarray:
    """``log q(x)`` for rows of ``x`` under the mixture with Cholesky factors ``chols``."""
    K = means.shape[1]
    log_components = []
    for mean, chol in zip(means, chols):
        z = linalg.solve_triangular(chol, (x - mean).T, lower=True)
        log_det = np.sum(np.log(np.diag(chol)))
        log_components.append(-0.5 * np.sum(z**2, axis=0) - log_det - 0.5 * K * np.log(2 * np.pi))
    with np.errstate(divide="ignore"):
        log_weights = np.log(weights)
    return logsumexp(np.array(log_components) + log_weights[:, None], axis=0)


def mixture_kl_mc(weights, means, covs, n_samples: int, seed=None):
    """Monte Carlo ``KL(q ‖ N(0, I)) = E_q[log q(x) − log p(x)]`` with its standard error.

    Returns ``(estimate, standard_error)`` from ``n_samples`` exact draws of the mixture.
    """
    weights, means, covs, chols = _mixture(weights, means, covs)
    n_samples = _checks.positive_int("n_samples", n_samples)
    rng = np.random.default_rng(seed)
    components = rng.choice(len(weights), size=n_samples, p=weights)
    noise = rng.standard_normal((n_samples, means.shape[1]))
    x = means[components]
    for index, chol in enumerate(chols):
        chosen = components == index
        x[chosen] += noise[chosen] @ chol.T
    log_p = -0.5 * np.sum(x**2, axis=1) - 0.5 * means.shape[1] * np.log(2 * np.pi)
    log_ratio = mixture_log_density(x, weights, means, chols) - log_p
    return float(log_ratio.mean()), float(log_ratio.std(ddof=1) / np.sqrt(n_samples))


def dropout_row_kl_mc(m, keep_prob: float, sigma: float, n_samples: int, seed=None):
    """Differentiable MC estimate of ``KL(q ‖ N(0, I))`` for one dropout weight row, in torch.

    ``q(w) = p·N(m, σ²I) + (1 − p)·N(0, σ²I)`` with ``p = keep_prob``; the draws are
    reparameterised (``w = z·m + σ·ε`` with ``z ~ Bernoulli(p)`` independent of ``m``), so
    ``torch.autograd`` gives an unbiased estimate of ``∂KL/∂m``.
    """
    import torch

    keep_prob = _checks.probability("keep_prob", keep_prob, open_interval=True)
    sigma = _checks.positive("sigma", sigma)
    n_samples = _checks.positive_int("n_samples", n_samples)
    if not isinstance(m, torch.Tensor) or m.dim() != 1:
        raise TypeError("m must be a 1-D torch tensor")
    generator = torch.Generator().manual_seed(_checks.int_seed("seed", seed))
    z = torch.bernoulli(torch.full((n_samples, 1), keep_prob, dtype=m.dtype), generator=generator)
    eps = torch.randn((n_samples, m.numel()), generator=generator, dtype=m.dtype)
    w = z * m + sigma * eps
    log_kept = -0.5 * ((w - m) ** 2).sum(1) / sigma**2 + np.log(keep_prob)
    log_dropped = -0.5 * (w**2).sum(1) / sigma**2 + np.log(1 - keep_prob)
    log_q = torch.logaddexp(log_kept, log_dropped) - m.numel() * np.log(sigma)
    log_p = -0.5 * (w**2).sum(1)
    return (log_q - log_p).mean()


def dropout_weight_decay(lengthscale: float, drop_prob: float, n_data: int, tau: float) -> float:
    """Weight decay ``λ = l²·(1 − drop_prob) / (2·N·τ)`` of paper eq. (7) (chapter 5).

    ``1 − drop_prob`` is the paper's keep probability p. λ multiplies ``‖M‖²``, the variational
    parameter *before* the mask, in the objective ``(1/N) Σ_n ½‖y_n − ŷ_n‖² + λ Σ_i ‖M_i‖²``
    (paper eq. (1) with the Euclidean loss). PyTorch stores ``W = p·M`` and has no ½ in
    ``MSELoss``: see :func:`optimizer_weight_decay` for the value to hand to a torch optimiser.
    """
    lengthscale = _checks.positive("lengthscale", lengthscale)
    keep_prob = 1 - _checks.probability("drop_prob", drop_prob)
    n_data = _checks.positive_int("n_data", n_data)
    tau = _checks.positive("tau", tau)
    return lengthscale**2 * keep_prob / (2 * n_data * tau)


def precision_from_weight_decay(lengthscale: float, drop_prob: float, n_data: int,
                                weight_decay: float) -> float:
    """τ = ``l²·(1 − drop_prob) / (2·N·λ)``: paper eq. (7) (chapter 5), the inverse of
    :func:`dropout_weight_decay`."""
    lengthscale = _checks.positive("lengthscale", lengthscale)
    keep_prob = 1 - _checks.probability("drop_prob", drop_prob)
    n_data = _checks.positive_int("n_data", n_data)
    weight_decay = _checks.positive("weight_decay", weight_decay)
    return lengthscale**2 * keep_prob / (2 * n_data * weight_decay)


CONVENTIONS = ("pytorch", "official")


def _loss_scale(loss: str, n_outputs) -> float:
    """How many times the paper's data term ``(1/N) Σ ½‖y − ŷ‖²`` a torch loss is, inverted:
    the factor that turns a coefficient λ of ``λ‖W‖²`` into the optimiser's ``weight_decay``."""
    n_outputs = _checks.positive_int("n_outputs", n_outputs)
    if loss == "half_mse":
        return 2 / n_outputs
    if loss == "mse":
        return 4 / n_outputs
    raise ValueError(f"loss must be 'mse' or 'half_mse', got {loss!r}")


def optimizer_weight_decay(lengthscale: float, drop_prob: float, n_data: int, tau: float,
                           loss: str = "mse", n_outputs: int = 1, convention: str = "pytorch") -> float:
    """The ``weight_decay`` of a torch optimiser for the weights after a dropout layer (chapter 5).

    Implements the KL term of paper eq. (4) with the weight decay of paper eq. (7),
    ``λ_M = p·l²/(2Nτ)`` on ``‖M‖²`` (p the keep probability). A torch optimiser's
    ``weight_decay=wd`` adds ``wd·W`` to the gradient, the gradient of ``(wd/2)‖W‖²``.

    ``convention="pytorch"`` (default): ``nn.Dropout`` is *inverted* dropout, so the weight it
    stores is ``W = p·M`` and ``λ_M‖M‖² = l²/(2pNτ)·‖W‖²``. With ``loss="half_mse"``
    (``½·MSELoss``, the paper's ½‖y − ŷ‖² averaged over ``n_outputs`` columns) ``wd = 2λ_W/D``;
    ``torch.nn.MSELoss`` has no ½, so ``wd = 4λ_W/D``.

    ``convention="official"``: what the paper's official (Keras) UCI code does: ``MSELoss`` plus
    ``reg·‖W‖²`` with ``reg = p·l²/(2Nτ)`` on the stored inverted-dropout weights, i.e.
    ``wd = 2·reg`` for ``"mse"`` and ``reg`` for ``"half_mse"`` (``n_outputs`` does not enter:
    Keras's loss averages over outputs too). It is ``p²/2`` times the pytorch value.
    """
    lam_m = dropout_weight_decay(lengthscale, drop_prob, n_data, tau)
    scale = _loss_scale(loss, n_outputs)
    if convention == "pytorch":
        return scale * lam_m / (1 - drop_prob) ** 2
    if convention == "official":
        return (2 if loss == "mse" else 1) * lam_m
    raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")


def precision_from_optimizer_weight_decay(lengthscale: float, drop_prob: float, n_data: int, weight_decay: float,
                                          loss: str = "mse", n_outputs: int = 1) -> float:
    """The τ that a torch ``weight_decay`` on the stored weights ``W = p·M`` implies (chapter 5).

    Inverts :func:`optimizer_weight_decay` with ``convention="pytorch"``, i.e. paper eq. (7) read
    for the weights PyTorch stores: ``τ = scale·l²/(2·p·N·wd)`` with ``scale`` the loss factor
    (4/D for ``"mse"``, 2/D for ``"half_mse"``). Any decay, of whatever origin, thus gets the
    precision it actually realises.
    """
    weight_decay = _checks.positive("weight_decay", weight_decay)
    keep_prob = 1 - _checks.probability("drop_prob", drop_prob)
    lam_m = keep_prob**2 * weight_decay / _loss_scale(loss, n_outputs)
    return precision_from_weight_decay(lengthscale, drop_prob, n_data, lam_m)


def bias_weight_decay(lengthscale: float, n_data: int, tau: float, loss: str = "mse", n_outputs: int = 1) -> float:
    """The torch ``weight_decay`` for the biases: paper eq. (4)'s ``l²/(2Nτ)·‖m‖²`` (chapter 5).

    Biases are not multiplied by a dropout mask, so no keep probability enters; the loss
    convention is that of :func:`optimizer_weight_decay`.
    """
    return _loss_scale(loss, n_outputs) * dropout_weight_decay(lengthscale, 0.0, n_data, tau)

"""mcdrop.critiques: the toy data, and the dropout-on-features BLR checked against an enumeration
of every mask, a numerical optimiser, and the exact posterior."""

import numpy as np
import pytest
import torch
from scipy import optimize

from mcdrop import critiques, dropout, vi


def _problem(n=25, d=3, seed=0):
    rng = np.random.default_rng(seed)
    Phi = rng.normal(size=(n, d))
    return Phi, Phi @ rng.normal(size=d) + 0.3 * rng.normal(size=n), rng.normal(size=(7, d))


def _enumerated_objective(M, Phi, y, keep_prob, prior_var, noise_var):
    """Σ_z q(z)·Σ_n (y_n − φ_nᵀ diag(z) M)²/(2σ²) + p‖M‖²/(2α), summing over all 2^D masks."""
    masks = dropout.enumerate_masks(Phi.shape[1]).double().numpy()
    probs = dropout.mask_probabilities(torch.as_tensor(masks), keep_prob).numpy()
    residuals = y[None, :] - (masks * M) @ Phi.T
    return probs @ np.sum(residuals**2, axis=1) / (2 * noise_var) + keep_prob * M @ M / (2 * prior_var)


@pytest.mark.parametrize("keep_prob", [0.3, 0.8])
def test_objective_equals_the_enumeration_over_masks_and_its_minimiser_is_the_closed_form(keep_prob):
    Phi, y, _ = _problem()
    args = (Phi, y, keep_prob, 2.0, 0.09)
    M = np.array([0.3, -1.0, 2.0])
    assert critiques.dropout_blr_objective(M, *args) == pytest.approx(_enumerated_objective(M, *args), rel=1e-12)
    numerical = optimize.minimize(_enumerated_objective, np.zeros(3), args=args, method="BFGS", options={"gtol": 1e-10}).x
    np.testing.assert_allclose(critiques.dropout_blr_fit(*args), numerical, rtol=1e-6, atol=1e-8)


def test_predictive_moments_equal_those_of_the_mask_mixture():
    Phi, y, Phi_star = _problem()
    M, keep_prob = critiques.dropout_blr_fit(Phi, y, 0.6, 1.0, 0.1), 0.6
    masks = dropout.enumerate_masks(3).double().numpy()
    probs = dropout.mask_probabilities(torch.as_tensor(masks), keep_prob).numpy()
    outputs = (masks * M) @ Phi_star.T  # (8, 7): f* under every mask
    mean = probs @ outputs
    mean_q, var_q = critiques.dropout_blr_predictive(Phi_star, M, keep_prob)
    np.testing.assert_allclose(mean_q, mean, rtol=1e-12)
    np.testing.assert_allclose(var_q, probs @ (outputs - mean) ** 2, rtol=1e-10)


def test_keep_prob_near_one_recovers_the_posterior_mean_and_loses_all_variance():
    Phi, y, Phi_star = _problem(n=40)
    posterior_mean, _ = vi.blr_posterior(Phi, y, 2.0, 0.09)
    M = critiques.dropout_blr_fit(Phi, y, 1 - 1e-9, 2.0, 0.09)
    np.testing.assert_allclose(M, posterior_mean, rtol=1e-6)
    result = critiques.compare_dropout_to_exact(Phi, y, Phi_star, 1 - 1e-6, 2.0, 0.09)
    assert result["mean_error"] < 1e-4 and result["variance_ratio"] < 1e-3


def test_comparison_is_zero_only_against_itself_and_kl_is_the_gaussian_formula():
    Phi, y, Phi_star = _problem()
    result = critiques.compare_dropout_to_exact(Phi, y, Phi_star, 0.5, 1.0, 0.1)
    mean_q, var_q = critiques.dropout_blr_predictive(Phi_star, critiques.dropout_blr_fit(Phi, y, 0.5, 1.0, 0.1), 0.5)
    mean_e, var_e = critiques.exact_blr_predictive(Phi, y, Phi_star, 1.0, 0.1)
    vq, ve = var_q + 0.1, var_e + 0.1
    kl = 0.5 * (np.log(vq / ve) + (ve + (mean_e - mean_q) ** 2) / vq - 1)
    assert result["kl"] == pytest.approx(kl.mean(), rel=1e-10)
    assert result["mean_error"] > 0 and result["kl"] > 0


def test_toy_regression_respects_intervals_and_seeds():
    X, y = critiques.toy_regression(101, intervals=((-2, -1), (1, 2)), noise_std=0.05, seed=0)
    assert X.shape == (101, 1) and y.shape == (101,)
    inside = ((X[:, 0] >= -2) & (X[:, 0] <= -1)) | ((X[:, 0] >= 1) & (X[:, 0] <= 2))
    assert inside.all() and abs(np.sum(X[:, 0] < 0) - 50.5) <= 0.5
    np.testing.assert_array_equal(X, critiques.toy_regression(101, ((-2, -1), (1, 2)), 0.05, seed=0)[0])
    residual = y - critiques.toy_function(X[:, 0])
    assert 0.03 < residual.std() < 0.07


def test_bad_arguments_are_named():
    Phi, y, _ = _problem()
    with pytest.raises(ValueError, match="keep_prob"):
        critiques.dropout_blr_fit(Phi, y, 1.0, 1.0, 1.0)
    with pytest.raises(ValueError, match="intervals"):
        critiques.toy_regression(10, intervals=((1.0, 0.0),))
    with pytest.raises(ValueError, match="width"):
        critiques.rbf_features(np.zeros(3), np.zeros(2), 0.0)

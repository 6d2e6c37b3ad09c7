"""mcdrop.vi: Bayesian linear regression against a GP view in scikit-learn, the ELBO identity,
the minibatch estimator, SGD-fitted Gaussians, and the two gradient estimators."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import ConstantKernel, DotProduct

from mcdrop import vi

PRIOR_VAR, NOISE_VAR = 1.5, 0.25


def _problem(n=40, d=3, seed=0):
    rng = np.random.default_rng(seed)
    Phi = rng.normal(size=(n, d))
    Phi[:, 1] += 0.9 * Phi[:, 0]  # correlated features: a correlated posterior
    return Phi, Phi @ rng.normal(size=d) + np.sqrt(NOISE_VAR) * rng.normal(size=n)


def test_posterior_and_evidence_match_sklearn_gp_with_linear_kernel():
    Phi, y = _problem()
    gp = GaussianProcessRegressor(
        ConstantKernel(PRIOR_VAR, "fixed") * DotProduct(sigma_0=0.0, sigma_0_bounds="fixed"),
        alpha=NOISE_VAR, optimizer=None,
    ).fit(Phi, y)
    # Predicting f at the unit vectors e_j reads off the weight posterior w_j = e_jᵀw.
    ref_mean, ref_cov = gp.predict(np.eye(3), return_cov=True)
    mean, cov = vi.blr_posterior(Phi, y, PRIOR_VAR, NOISE_VAR)
    np.testing.assert_allclose(mean, ref_mean, atol=1e-9)
    np.testing.assert_allclose(cov, ref_cov, atol=1e-9)
    assert vi.blr_log_evidence(Phi, y, PRIOR_VAR, NOISE_VAR) == pytest.approx(gp.log_marginal_likelihood_value_, abs=1e-8)


def test_evidence_is_the_marginal_gaussian_density():
    Phi, y = _problem(n=15)
    marginal = stats.multivariate_normal(np.zeros(15), PRIOR_VAR * Phi @ Phi.T + NOISE_VAR * np.eye(15))
    assert vi.blr_log_evidence(Phi, y, PRIOR_VAR, NOISE_VAR) == pytest.approx(marginal.logpdf(y), rel=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000))
def test_elbo_identity_for_any_gaussian_q(seed):
    from mcdrop.kl import gaussian_kl

    Phi, y = _problem()
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(3, 3))
    q_mean, q_cov = rng.normal(size=3), a @ a.T + 0.1 * np.eye(3)
    post_mean, post_cov = vi.blr_posterior(Phi, y, PRIOR_VAR, NOISE_VAR)
    elbo = vi.gaussian_elbo(q_mean, q_cov, Phi, y, PRIOR_VAR, NOISE_VAR)
    gap = gaussian_kl(q_mean, q_cov, post_mean, post_cov)
    assert elbo + gap == pytest.approx(vi.blr_log_evidence(Phi, y, PRIOR_VAR, NOISE_VAR), abs=1e-8)


def test_expected_log_likelihood_against_monte_carlo():
    Phi, y = _problem(n=10)
    mean, cov = np.array([0.5, -1.0, 0.2]), np.diag([0.3, 0.2, 0.1])
    w = np.random.default_rng(1).multivariate_normal(mean, cov, size=200_000)
    log_lik = stats.norm.logpdf(y[None, :], w @ Phi.T, np.sqrt(NOISE_VAR))
    se = log_lik.std(axis=0) / np.sqrt(len(w))
    assert np.all(np.abs(vi.expected_log_likelihoods(mean, cov, Phi, y, NOISE_VAR) - log_lik.mean(0)) < 4 * se)


def test_minibatch_estimator_is_unbiased():
    values = np.random.default_rng(2).gamma(2.0, size=200)
    estimates = vi.minibatch_estimates(values, batch_size=10, n_batches=20_000, seed=3)
    se = estimates.std(ddof=1) / np.sqrt(len(estimates))
    assert abs(estimates.mean() - values.sum()) < 4 * se
    assert estimates.std() > 0


def test_full_covariance_vi_recovers_the_posterior_and_mean_field_underestimates():
    Phi, y = _problem()
    mean, cov = vi.blr_posterior(Phi, y, PRIOR_VAR, NOISE_VAR)
    full = vi.fit_gaussian_vi(Phi, y, PRIOR_VAR, NOISE_VAR, n_steps=3000, seed=0)
    np.testing.assert_allclose(full["mean"], mean, atol=0.05 * np.sqrt(np.diag(cov)).min())
    np.testing.assert_allclose(full["cov"], cov, atol=0.05 * np.abs(cov).max())
    mf = vi.fit_gaussian_vi(Phi, y, PRIOR_VAR, NOISE_VAR, mean_field=True, n_steps=3000, seed=0)
    # The mean-field optimum has variances 1/Λ_jj (Λ the posterior precision), below Σ_jj.
    np.testing.assert_allclose(np.diag(mf["cov"]), 1 / np.diag(np.linalg.inv(cov)), rtol=0.05)
    assert np.all(np.diag(mf["cov"]) < np.diag(cov))


def _sin_gradient(mu, sigma):
    """E[sin w] = sin μ · exp(−σ²/2) for w ~ N(μ, σ²)."""
    return np.cos(mu) * np.exp(-sigma**2 / 2), -sigma * np.sin(mu) * np.exp(-sigma**2 / 2)


@pytest.mark.parametrize("estimator", ["pathwise", "score"])
@pytest.mark.parametrize("mu,sigma", [(0.3, 0.5), (-1.0, 2.0)])
def test_gradient_estimators_are_unbiased(estimator, mu, sigma):
    terms_fn = vi.pathwise_gradient_terms if estimator == "pathwise" else vi.score_function_gradient_terms
    terms = terms_fn(np.sin, mu, sigma, 200_000, seed=4)
    se = terms.std(axis=0, ddof=1) / np.sqrt(len(terms))
    assert np.all(np.abs(terms.mean(axis=0) - _sin_gradient(mu, sigma)) < 4 * se)


def test_pathwise_has_lower_variance_for_smooth_f_and_matches_exact_derivative():
    pathwise = vi.pathwise_gradient_terms(np.sin, 0.3, 0.5, 50_000, seed=5)
    score = vi.score_function_gradient_terms(np.sin, 0.3, 0.5, 50_000, seed=5)
    assert np.all(pathwise.var(axis=0) < score.var(axis=0) / 5)
    exact_df = vi.pathwise_gradient_terms(np.sin, 0.3, 0.5, 1000, seed=6, df=np.cos)
    np.testing.assert_allclose(vi.pathwise_gradient_terms(np.sin, 0.3, 0.5, 1000, seed=6), exact_df, atol=1e-8)
    np.testing.assert_allclose(vi.pathwise_gradient(np.sin, 0.3, 0.5, 1000, seed=6, df=np.cos), exact_df.mean(axis=0))


def test_bad_arguments_are_named():
    Phi, y = _problem()
    with pytest.raises(ValueError, match="prior_var"):
        vi.blr_posterior(Phi, y, 0.0, NOISE_VAR)
    with pytest.raises(ValueError, match="noise_variance"):
        vi.blr_log_evidence(Phi, y, PRIOR_VAR, -1.0)
    with pytest.raises(ValueError, match="Phi has 40 rows but y has 39"):
        vi.blr_posterior(Phi, y[1:], PRIOR_VAR, NOISE_VAR)
    with pytest.raises(ValueError, match="q_cov must be positive definite"):
        vi.gaussian_elbo(np.zeros(3), -np.eye(3), Phi, y, PRIOR_VAR, NOISE_VAR)
    with pytest.raises(ValueError, match="n_samples"):
        vi.pathwise_gradient(np.sin, 0.0, 1.0, 0)
    with pytest.raises(ValueError, match="sigma"):
        vi.score_function_gradient(np.sin, 0.0, -1.0, 10)
    with pytest.raises(ValueError, match="batch_size"):
        vi.minibatch_estimates(np.ones(5), 6, 10)


def test_seed_none_means_fresh_randomness_and_an_integer_reproduces():
    Phi, y = _problem()
    fit = lambda seed: vi.fit_gaussian_vi(Phi, y, PRIOR_VAR, NOISE_VAR, n_steps=4, seed=seed)["mean"]  # noqa: E731
    assert not np.array_equal(fit(None), fit(None))
    np.testing.assert_array_equal(fit(5), fit(5))
    with pytest.raises(ValueError, match="seed must be None or an integer >= 0, got -1"):
        fit(-1)

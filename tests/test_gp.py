"""mcdrop.gp against scikit-learn's GaussianProcessRegressor and closed-form properties."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.gaussian_process import GaussianProcessRegressor
from sklearn.gaussian_process.kernels import RBF, ConstantKernel

from mcdrop import gp


def _data(n=30, d=2, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, d))
    y = np.sin(X).sum(axis=1) + 0.1 * rng.standard_normal(n)
    return X, y, rng.uniform(-2.5, 2.5, (15, d))


def _kernel(lengthscale, variance):
    return lambda A, B: gp.se_kernel(A, B, lengthscale, variance)


@pytest.mark.parametrize("lengthscale,variance,noise", [(0.7, 1.3, 0.05), (2.0, 0.4, 0.3)])
def test_posterior_matches_sklearn(lengthscale, variance, noise):
    X, y, X_star = _data()
    mean, cov = gp.posterior(X, y, X_star, _kernel(lengthscale, variance), noise)
    reference = GaussianProcessRegressor(
        ConstantKernel(variance, "fixed") * RBF(lengthscale, "fixed"), alpha=noise, optimizer=None
    ).fit(X, y)
    ref_mean, ref_cov = reference.predict(X_star, return_cov=True)
    np.testing.assert_allclose(mean, ref_mean, atol=1e-8, rtol=0)
    np.testing.assert_allclose(cov, ref_cov, atol=1e-8, rtol=0)
    lml = gp.log_marginal_likelihood(X, y, _kernel(lengthscale, variance), noise)
    assert lml == pytest.approx(reference.log_marginal_likelihood_value_, abs=1e-8)


def test_se_kernel_closed_form():
    a, b = np.array([[0.0, 1.0]]), np.array([[3.0, -1.0]])
    expected = 2.5 * np.exp(-(9 + 4) / (2 * 1.5**2))
    assert gp.se_kernel(a, b, 1.5, 2.5)[0, 0] == pytest.approx(expected, rel=1e-14)


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    lengthscale=st.floats(0.1, 5.0),
    noise=st.floats(1e-4, 1.0),
)
def test_posterior_variance_never_exceeds_prior(seed, lengthscale, noise):
    X, y, X_star = _data(n=20, d=1, seed=seed)
    kernel = _kernel(lengthscale, 1.0)
    _, cov = gp.posterior(X, y, X_star, kernel, noise)
    assert np.all(np.diag(cov) <= np.diag(kernel(X_star, X_star)) + 1e-10)
    assert np.all(np.diag(cov) >= -1e-8)


def test_mean_interpolates_as_noise_vanishes():
    X, y, _ = _data(n=10, d=1)
    errors = [
        np.max(np.abs(gp.posterior(X, y, X, _kernel(0.5, 1.0), noise)[0] - y))
        for noise in (1e-1, 1e-4, 1e-8)
    ]
    assert errors[0] > errors[1] > errors[2]
    assert errors[2] < 1e-5


def test_lml_matches_gaussian_density():
    from scipy.stats import multivariate_normal

    X, y, _ = _data(n=12, d=1)
    kernel = _kernel(0.8, 1.1)
    density = multivariate_normal(np.zeros(12), kernel(X, X) + 0.2 * np.eye(12)).logpdf(y)
    assert gp.log_marginal_likelihood(X, y, kernel, 0.2) == pytest.approx(density, rel=1e-10)


def test_fitted_hyperparameters_match_sklearn_optimum():
    X, y, _ = _data(n=40, d=1, seed=3)
    fitted = gp.fit_se_hyperparameters(X, y, n_restarts=4, seed=0)
    from sklearn.gaussian_process.kernels import WhiteKernel

    reference = GaussianProcessRegressor(
        ConstantKernel() * RBF() + WhiteKernel(), n_restarts_optimizer=4, random_state=0
    ).fit(X, y)
    assert fitted["log_marginal_likelihood"] == pytest.approx(
        reference.log_marginal_likelihood_value_, abs=1e-3
    )


def test_prior_samples_have_kernel_covariance():
    X = np.linspace(-1, 1, 4)[:, None]
    kernel = _kernel(0.7, 2.0)
    samples = gp.sample_prior(X, kernel, n_draws=200_000, seed=1)
    # Entries of an empirical covariance from 2e5 draws have s.e. about 2·√(2/2e5) ≈ 0.006.
    np.testing.assert_allclose(np.cov(samples.T), kernel(X, X), atol=0.03)
    np.testing.assert_array_equal(samples, gp.sample_prior(X, kernel, n_draws=200_000, seed=1))


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(lengthscale=0.0), "lengthscale"),
        (dict(lengthscale=-1.0), "lengthscale"),
        (dict(variance=0.0), "variance"),
    ],
)
def test_se_kernel_rejects_bad_hyperparameters(kwargs, match):
    with pytest.raises(ValueError, match=match):
        gp.se_kernel(np.zeros((2, 1)), np.zeros((2, 1)), **kwargs)


def test_posterior_rejects_bad_input():
    X, y, X_star = _data()
    k = gp.se_kernel
    with pytest.raises(ValueError, match="noise_variance"):
        gp.posterior(X, y, X_star, k, 0.0)
    with pytest.raises(ValueError, match="X contains NaN"):
        gp.posterior(np.where(X > 1.5, np.nan, X), y, X_star, k, 0.1)
    with pytest.raises(ValueError, match="y contains NaN"):
        gp.posterior(X, np.full_like(y, np.inf), X_star, k, 0.1)
    with pytest.raises(ValueError, match="X has 30 rows but y has 29"):
        gp.posterior(X, y[:-1], X_star, k, 0.1)
    with pytest.raises(ValueError, match="X must have 2"):
        gp.posterior(X[:, 0], y, X_star, k, 0.1)
    with pytest.raises(ValueError, match="X_star has 1 columns"):
        gp.posterior(X, y, X_star[:, :1], k, 0.1)
    with pytest.raises(ValueError, match="noise_variance"):
        gp.log_marginal_likelihood(X, y, k, -1.0)


@pytest.mark.parametrize("timer", [gp.time_posterior, gp.time_cholesky])
def test_timers_return_one_positive_time_per_size(timer):
    times = timer([20, 40, 80], repeats=2, seed=0)
    assert times.shape == (3,) and np.all(times > 0) and np.all(np.isfinite(times))


@pytest.mark.parametrize("timer", [gp.time_posterior, gp.time_cholesky])
def test_timers_reject_bad_sizes_and_repeats(timer):
    with pytest.raises(ValueError, match="size"):
        timer([10, 0], repeats=1)
    with pytest.raises(ValueError, match="repeats"):
        timer([10], repeats=0)


@pytest.mark.parametrize("offset", [0.0, 2.0**40, -(2.0**44)])
def test_se_kernel_is_translation_invariant_to_float64_rounding(offset):
    """Offsets and differences exactly representable (coordinates are multiples of 2^-8): the
    Gram matrix must agree with direct differences at the origin to float64 rounding
    (‖a‖² + ‖b‖² − 2a·b cancels completely at 2^40)."""
    rng = np.random.default_rng(3)
    A, B = np.round(rng.normal(size=(6, 2)) * 256) / 256, np.round(rng.normal(size=(5, 2)) * 256) / 256
    direct = np.exp(-np.sum((A[:, None, :] - B[None, :, :]) ** 2, axis=2) / (2 * 0.8**2))
    np.testing.assert_allclose(gp.se_kernel(A + offset, B + offset, lengthscale=0.8), direct, rtol=1e-14)


def test_se_kernel_at_extreme_scales():
    far = np.array([[1e30], [1e30 + 2.0**50]])  # exactly 2^50 apart (the spacing of floats at 1e30 is 2^47)
    k = gp.se_kernel(far, far, lengthscale=2.0**50)
    assert k[0, 1] == pytest.approx(np.exp(-0.5 * ((far[1, 0] - far[0, 0]) / 2.0**50) ** 2), rel=1e-15)
    assert np.all(gp.se_kernel(np.full((2, 3), 1e200), np.full((1, 3), 1e200), variance=2.0) == 2.0)
    np.testing.assert_allclose(gp.se_kernel(np.eye(2), np.zeros((1, 2)), lengthscale=1e300), 1.0)
    np.testing.assert_array_equal(gp.se_kernel([[-1e300]], [[1e300]]), 0.0)  # distance beyond float64


def test_sample_prior_jitter_is_checked_and_named():
    X = np.zeros((3, 1))  # a singular kernel matrix: needs jitter
    with pytest.raises(ValueError, match=r"jitter must be a finite number >= 0, got nan"):
        gp.sample_prior(X, gp.se_kernel, 2, jitter=float("nan"))
    with pytest.raises(ValueError, match=r"jitter must be a finite number >= 0, got -1"):
        gp.sample_prior(X, gp.se_kernel, 2, jitter=-1.0)
    with pytest.raises(ValueError, match=r"kernel\(X, X\) \+ jitter·I is not positive definite"):
        gp.sample_prior(X, gp.se_kernel, 2, jitter=0.0)
    draws = gp.sample_prior(X, gp.se_kernel, 4, seed=0, jitter=1e-6)
    np.testing.assert_allclose(draws - draws[:, :1], 0.0, atol=1e-2)  # one value at three equal inputs

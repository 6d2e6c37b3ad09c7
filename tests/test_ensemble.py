"""mcdrop.ensemble: members differ, the predictive is the Gaussian mixture, runs are reproducible."""

import numpy as np
import pytest
from scipy import stats
from scipy.special import logsumexp
from sklearn.linear_model import LinearRegression

from mcdrop import ensemble

KWARGS = dict(hidden_layer_sizes=(16,), n_epochs=60, batch_size=64, lr=1e-2, progress=False)


def _data(n=120, seed=0, scale=10.0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 2))
    return X, scale * (X @ np.array([1.0, -0.5]) + 0.1 * rng.normal(size=n))


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return X, y, ensemble.fit_ensemble(X, y, n_members=4, tau=1.0, seed=0, **KWARGS)


def test_members_start_from_different_initialisations_and_disagree(fitted):
    X, _, model = fitted
    first_layers = [m.model.net[0].weight.detach().numpy() for m in model.members]
    assert not np.allclose(first_layers[0], first_layers[1])
    predictions = model.member_predictions(X)
    assert predictions.shape == (4, len(X))
    assert np.all(predictions.std(axis=0) > 0)


def test_predictive_is_the_moments_and_density_of_the_gaussian_mixture(fitted):
    X, y, model = fitted
    f = model.member_predictions(X[:30])
    mean, var = model.predict(X[:30])
    np.testing.assert_allclose(mean, f.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(var, f.var(axis=0) + 1 / model.tau, rtol=1e-10)
    mixture = logsumexp(stats.norm.logpdf(y[:30], f, 1 / np.sqrt(model.tau)), axis=0) - np.log(len(f))
    np.testing.assert_allclose(model.log_likelihood(X[:30], y[:30]), mixture, rtol=1e-6)


def test_a_single_member_has_only_the_noise_variance_and_the_ensemble_fits_linear_data(fitted):
    X, y, model = fitted
    single = ensemble.fit_ensemble(X, y, n_members=1, tau=4.0, seed=1, **KWARGS)
    np.testing.assert_allclose(single.predict(X)[1], 0.25)
    X_test, y_test = _data(n=200, seed=5)
    rmse = np.sqrt(np.mean((model.predict(X_test)[0] - y_test) ** 2))
    reference = np.sqrt(np.mean((LinearRegression().fit(X, y).predict(X_test) - y_test) ** 2))
    assert rmse < 3 * reference + 0.5


def test_seeded_fits_are_reproducible():
    X, y = _data(n=40)
    kwargs = dict(KWARGS, n_epochs=5)
    a = ensemble.fit_ensemble(X, y, n_members=2, seed=3, **kwargs)
    b = ensemble.fit_ensemble(X, y, n_members=2, seed=3, **kwargs)
    np.testing.assert_array_equal(a.member_predictions(X), b.member_predictions(X))


def test_bad_arguments_are_named():
    X, y = _data(n=10)
    with pytest.raises(ValueError, match="n_members"):
        ensemble.fit_ensemble(X, y, n_members=0)
    with pytest.raises(TypeError, match="drop_prob"):
        ensemble.fit_ensemble(X, y, drop_prob=0.1)
    with pytest.raises(ValueError, match="tau"):
        ensemble.fit_ensemble(X, y, tau=-1.0)

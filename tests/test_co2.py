"""The paper's Fig. 2 findings, as measured ratios, on the real CO2 data (needs MCDROP_DATA)."""

import os

import numpy as np
import pytest

from mcdrop import co2, datasets, gp

pytestmark = pytest.mark.skipif(not os.environ.get("MCDROP_DATA"), reason="MCDROP_DATA is not set (CI sets it)")
FAST = co2.CO2Settings(hidden_layer_sizes=(128,) * 4, n_epochs=60)


@pytest.fixture(scope="module")
def data():
    X, y = datasets.load_co2("train")
    X_test, _ = datasets.load_co2("test")
    return X, y, X_test


def _model_std(fitted, X_test):
    samples = fitted.samples(X_test, T=200, seed=0)
    return samples.std(axis=0)


def test_relu_uncertainty_keeps_growing_and_tanh_levels_off(data):
    X, y, X_test = data
    relu = _model_std(co2.fit_network(X, y, "relu", FAST, seed=0), X_test)
    tanh = _model_std(co2.fit_network(X, y, "tanh", FAST, seed=0), X_test)
    x = X_test[:, 0]
    assert co2.std_growth(relu, x, near=2.7, far=3.7) > 1.2
    assert co2.std_growth(tanh, x, near=2.7, far=3.7) < 1.1
    assert relu[-1] > 2 * relu[0]  # grows away from the data


def test_gp_reverts_to_its_prior(data):
    X, y, X_test = data
    kernel, hyper = co2.fit_gp(X, y, seed=0)
    _, cov = gp.posterior(X, y, X_test, kernel, hyper["noise_variance"])
    std = np.sqrt(np.diag(cov))
    assert std[-1] == pytest.approx(np.sqrt(hyper["variance"]), rel=0.01)
    assert std[0] < 0.5 * std[-1]


def test_std_growth_rejects_empty_windows():
    with pytest.raises(ValueError, match="within width"):
        co2.std_growth(np.ones(3), np.array([0.0, 1.0, 2.0]), near=5.0, far=1.0)

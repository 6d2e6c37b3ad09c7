"""The paper's Fig. 2 findings, as measured ratios, on the real CO2 data (needs MCDROP_DATA)."""

import os

import numpy as np
import pytest

from mcdrop import co2, datasets, gp

needs_data = pytest.mark.skipif(not os.environ.get("MCDROP_DATA"), reason="MCDROP_DATA is not set (CI sets it)")
FAST = co2.CO2Settings(hidden_layer_sizes=(128,) * 4, n_epochs=60)


@pytest.fixture(scope="module")
def data():
    X, y = datasets.load_co2("train")
    X_test, _ = datasets.load_co2("test")
    return X, y, X_test


def _model_std(fitted, X_test):
    samples = fitted.samples(X_test, T=200, seed=0)
    return samples.std(axis=0)


@needs_data
def test_relu_uncertainty_keeps_growing_and_tanh_levels_off(data):
    X, y, X_test = data
    relu = _model_std(co2.fit_network(X, y, "relu", FAST, seed=0), X_test)
    tanh = _model_std(co2.fit_network(X, y, "tanh", FAST, seed=0), X_test)
    x = X_test[:, 0]
    assert co2.std_growth(relu, x, near=2.7, far=3.7) > 1.2
    assert co2.std_growth(tanh, x, near=2.7, far=3.7) < 1.1
    assert relu[-1] > 2 * relu[0]  # grows away from the data


@needs_data
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


@pytest.mark.parametrize("field, value", [
    ("T", -5), ("T", 0), ("drop_prob", 2.0), ("drop_prob", -0.1), ("drop_prob", 0.0), ("n_epochs", 0), ("batch_size", -1),
    ("lr", 0.0), ("lengthscale", float("nan")), ("tau", -1.0), ("hidden_layer_sizes", ()),
    ("hidden_layer_sizes", (64, 0)),
])
def test_settings_reject_bad_values_naming_the_field(field, value):
    with pytest.raises(ValueError, match=field):
        co2.CO2Settings(**{field: value})


def test_settings_name_the_bad_field_of_the_issue_example():
    with pytest.raises(ValueError, match="drop_prob must lie in"):
        co2.CO2Settings(T=-5, drop_prob=2.0)
    with pytest.raises(ValueError, match="T must be >= 1, got -5"):
        co2.CO2Settings(T=-5)


@pytest.mark.parametrize("field, value", [("T", 2.5), ("hidden_layer_sizes", "256"), ("lr", "fast")])
def test_settings_reject_wrong_types(field, value):
    with pytest.raises(TypeError, match=field):
        co2.CO2Settings(**{field: value})


def test_settings_store_sizes_as_a_tuple():
    assert co2.CO2Settings(hidden_layer_sizes=[8, 8]).hidden_layer_sizes == (8, 8)


@pytest.mark.parametrize("bad", [[1.0, 0.0, 1.0], [1.0, -1.0, 1.0], [1.0, np.nan, 1.0], [1.0, np.inf, 1.0]])
def test_std_growth_rejects_non_positive_or_non_finite_std(bad):
    with pytest.raises(ValueError, match="std"):
        co2.std_growth(np.array(bad), np.array([0.0, 1.0, 2.0]), near=0.0, far=2.0)


def test_std_growth_is_the_ratio_of_window_means():
    x = np.linspace(0.0, 2.0, 21)
    std = 1.0 + x  # mean over |x| <= 0.15 is 1.05, over |x - 2| <= 0.15 is 2.95
    assert co2.std_growth(std, x, near=0.0, far=2.0, width=0.15) == pytest.approx(2.95 / 1.05)


@pytest.mark.parametrize("period", [0.153, 0.5, 1.3])
def test_dominant_period_recovers_a_sine_under_a_trend(period):
    x = np.linspace(-1.73, 1.73, 272)
    y = np.sin(2 * np.pi * x / period + 0.4) + 0.3 * x  # the linear trend is weaker than the sine
    assert co2.dominant_period(x, y) == pytest.approx(period, rel=0.02)


@pytest.mark.parametrize("x", [np.array([0.0, 1.0, 3.0, 4.0]), np.array([2.0, 1.0, 0.0, -1.0]), np.zeros(4)])
def test_dominant_period_needs_increasing_even_spacing(x):
    with pytest.raises(ValueError, match="evenly spaced"):
        co2.dominant_period(x, np.ones(4))

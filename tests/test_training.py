"""mcdrop.models, mcdrop.training and MCDropoutRegressor: architecture, the weight-decay
convention, units, reproducibility, and scikit-learn's estimator checks."""

import numpy as np
import pytest
import torch
from sklearn.linear_model import BayesianRidge
from sklearn.utils.estimator_checks import check_estimator
from torch import nn

from mcdrop import MCDropoutRegressor, kl
from mcdrop.models import MLP
from mcdrop.training import fit_regressor


def test_mlp_has_dropout_before_every_weight_layer():
    layers = list(MLP(4, (8, 8), 2, drop_prob=0.2, activation="tanh", input_dropout=True).net)
    kinds = [type(m) for m in layers]
    assert kinds == [nn.Dropout, nn.Linear, nn.Tanh, nn.Dropout, nn.Linear, nn.Tanh, nn.Dropout, nn.Linear]
    keeps = [keep for _, keep in MLP(4, (8,), 1, drop_prob=0.2).linear_layers_with_keep_prob()]
    assert keeps == [1.0, pytest.approx(0.8)]
    with pytest.raises(ValueError, match="drop_prob"):
        MLP(4, (8,), drop_prob=1.2)
    with pytest.raises(ValueError, match="activation"):
        MLP(4, (8,), activation="gelu")


def _linear_data(n=300, seed=0, noise=0.5, scale=100.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    return X, scale * (X @ np.array([1.0, -0.5, 0.25]) + noise * rng.normal(size=n))


def _prop1_kl_gradient_fd(m_row, keep_prob, lengthscale, sigma=1e-3, step=1e-5):
    """Central finite differences of Prop. 1 (``kl.proposition_one_printed``) for one weight row
    ``q(w) = p N(m, σ²I) + (1 − p) N(0, σ²I)`` against the prior ``N(0, l⁻²I)`` (rescaled by l to
    the standard normal, which leaves the KL unchanged)."""
    K = len(m_row)
    covs = np.stack([(lengthscale * sigma) ** 2 * np.eye(K)] * 2)

    def kl_of(m):
        return kl.proposition_one_printed([keep_prob, 1 - keep_prob], np.stack([lengthscale * m, np.zeros(K)]), covs)

    grad = np.empty(K)
    for k in range(K):
        e = np.zeros(K)
        e[k] = step
        grad[k] = (kl_of(m_row + e) - kl_of(m_row - e)) / (2 * step)
    return grad


@pytest.mark.parametrize("drop_prob", [0.1, 0.5])
def test_trainer_decay_is_the_gradient_of_prop1_kl_written_in_M(spy_on_adam, drop_prob):
    """For ``nn.Dropout(d) → nn.Linear`` PyTorch stores ``W = p·M``. The KL term of paper eq. (4),
    Prop. 1's KL divided by Nτ, differentiated with respect to W through ``M = W/p``, must equal
    the decay ``wd·W`` that the optimiser adds (the loss is ½·MSE, the paper's data term)."""
    groups = spy_on_adam()
    X, y = _linear_data(n=100)
    lengthscale, tau = 0.5, 2.0
    fitted = fit_regressor(X, y, hidden_layer_sizes=(8,), drop_prob=drop_prob, lengthscale=lengthscale, tau=tau,
                           input_dropout=True, n_epochs=1, progress=False)
    tau_std = tau * y.std() ** 2
    layers = list(fitted.model.linear_layers_with_keep_prob())
    assert [keep for _, keep in layers] == [pytest.approx(1 - drop_prob)] * 2
    for (layer, keep), group in zip(layers, groups):
        assert group["params"][0] is layer.weight
        W = layer.weight.detach().double().numpy()
        decay_gradient = group["weight_decay"] * W[0]
        kl_gradient_in_W = _prop1_kl_gradient_fd(W[0] / keep, keep, lengthscale) / (len(y) * tau_std) / keep
        np.testing.assert_allclose(decay_gradient, kl_gradient_in_W, rtol=1e-5, atol=1e-12)


def test_official_convention_and_bias_decay(spy_on_adam):
    X, y = _linear_data(n=100)
    lengthscale, tau, drop = 0.5, 2.0, 0.2
    tau_std = tau * y.std() ** 2
    runs = {}
    for convention, bias_decay in [("pytorch", True), ("official", False)]:
        groups = spy_on_adam()
        fit_regressor(X, y, hidden_layer_sizes=(8,), drop_prob=drop, lengthscale=lengthscale, tau=tau, n_epochs=1,
                      weight_decay_convention=convention, bias_decay=bias_decay, progress=False)
        runs[convention] = [g["weight_decay"] for g in groups]
    keep = 1 - drop
    # first layer: no mask on the inputs (keep = 1), so both conventions differ only by the loss's factor 2
    assert runs["official"][0] == pytest.approx(runs["pytorch"][0] / 2)
    # after the dropout layer the official decay is p²/2 times the correct one
    assert runs["official"][1] == pytest.approx(runs["pytorch"][1] * keep**2 / 2)
    assert runs["official"][1] == pytest.approx(keep * lengthscale**2 / (2 * len(y) * tau_std))
    # biases: l²/(2Nτ)‖b‖² of eq. (4) with the ½-loss, i.e. wd = l²/(Nτ); none in the official code
    assert runs["pytorch"][2] == pytest.approx(lengthscale**2 / (len(y) * tau_std))
    assert runs["official"][2] == 0.0
    with pytest.raises(ValueError, match="convention"):
        fit_regressor(X, y, hidden_layer_sizes=(8,), n_epochs=1, weight_decay_convention="keras", progress=False)


def test_fit_is_reproducible_and_leaves_global_rng_alone():
    X, y = _linear_data(n=80)
    state = torch.get_rng_state()
    a = fit_regressor(X, y, hidden_layer_sizes=(8,), n_epochs=3, seed=1, progress=False)
    assert torch.equal(torch.get_rng_state(), state)
    b = fit_regressor(X, y, hidden_layer_sizes=(8,), n_epochs=3, seed=1, progress=False)
    np.testing.assert_array_equal(a.history, b.history)
    np.testing.assert_array_equal(a.samples(X, 5, seed=2), b.samples(X, 5, seed=2))


def test_predictions_are_in_original_units_and_match_bayesian_ridge_on_linear_data():
    """On linear data a trained dropout net should fit like Bayesian linear regression, in the
    units of y (here ×100), with the noise variance τ⁻¹ reported in those units."""
    X, y = _linear_data()
    reference = BayesianRidge().fit(X[:250], y[:250])
    fitted = fit_regressor(X[:250], y[:250], hidden_layer_sizes=(32,), drop_prob=0.05, tau=1 / 50.0**2,
                           n_epochs=150, seed=0, progress=False)
    mean, var = fitted.predict(X[250:], T=200, seed=3)
    rmse = np.sqrt(np.mean((mean - y[250:]) ** 2))
    reference_rmse = np.sqrt(np.mean((reference.predict(X[250:]) - y[250:]) ** 2))
    assert rmse < 1.5 * reference_rmse
    assert np.all(var >= 50.0**2)  # τ⁻¹ in original units is part of the variance


def test_log_likelihood_converts_units():
    """Scaling y by c shifts the per-point log-likelihood by −log c when τ scales by 1/c²."""
    X, y = _linear_data(n=120, scale=1.0)
    kwargs = dict(hidden_layer_sizes=(16,), n_epochs=20, seed=4, progress=False)
    small = fit_regressor(X, y, tau=4.0, **kwargs)
    large = fit_regressor(X, 1000 * y, tau=4.0 / 1000**2, **kwargs)
    np.testing.assert_allclose(large.log_likelihood(X, 1000 * y, T=20, seed=5),
                               small.log_likelihood(X, y, T=20, seed=5) - np.log(1000), atol=1e-3)


def test_regressor_chooses_tau_on_validation_data_and_reports_std_with_noise():
    X, y = _linear_data(n=200, noise=1.0, scale=1.0)
    model = MCDropoutRegressor(hidden_layer_sizes=(16,), n_epochs=30, n_samples=20, random_state=0,
                               relative_tau_grid=(0.1, 1.0, 10.0)).fit(X, y)
    assert set(model.validation_log_likelihoods_) and model.tau_ in model.validation_log_likelihoods_
    assert model.validation_log_likelihoods_[model.tau_] == max(model.validation_log_likelihoods_.values())
    mean, std = model.predict(X, return_std=True)
    assert np.all(std >= 1 / np.sqrt(model.tau_))
    assert model.score(X, y) > 0.5
    assert np.isfinite(model.log_likelihood(X, y))


@pytest.mark.parametrize("estimator", [
    MCDropoutRegressor(n_epochs=20, tau=1.0, n_samples=10),
    MCDropoutRegressor(n_epochs=30, n_samples=10, relative_tau_grid=(1.0, 10.0)),
], ids=["fixed-tau", "validated-tau"])
def test_scikit_learn_estimator_checks(estimator):
    check_estimator(estimator)


def test_bad_arguments_are_named():
    X, y = _linear_data(n=20)
    with pytest.raises(ValueError, match="X has 20 rows but y has 19"):
        fit_regressor(X, y[:-1], n_epochs=1)
    with pytest.raises(ValueError, match="tau"):
        fit_regressor(X, y, tau=-1.0, n_epochs=1)
    with pytest.raises(ValueError, match="n_epochs"):
        fit_regressor(X, y, n_epochs=0)
    with pytest.raises(ValueError, match="n_samples"):
        MCDropoutRegressor(n_samples=0).fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        MCDropoutRegressor(n_epochs=1).fit(np.where(X > 1, np.nan, X), y)


def test_settings_have_one_home_and_are_validated():
    from dataclasses import fields

    from mcdrop.training import RegressorSettings

    assert RegressorSettings(hidden_layer_sizes=50).hidden_layer_sizes == (50,)
    # the estimator exposes exactly the settings' fields (plus its own), with the same defaults
    estimator_params = MCDropoutRegressor().get_params()
    for field in fields(RegressorSettings):
        assert estimator_params[field.name] == getattr(RegressorSettings(), field.name)
    for bad, name in [(dict(drop_prob=1.2), "drop_prob"), (dict(drop_prob=0.0), "drop_prob"),
                      (dict(hidden_layer_sizes=()), "hidden_layer_sizes"), (dict(n_epochs=0), "n_epochs"),
                      (dict(activation="gelu"), "activation"), (dict(weight_decay_convention="x"), "weight_decay_convention")]:
        with pytest.raises(ValueError, match=name):
            RegressorSettings(**bad)
    with pytest.raises(TypeError, match="hidden_layer_sizes"):
        RegressorSettings(hidden_layer_sizes="50")
    with pytest.raises(TypeError, match="unknown setting"):
        fit_regressor(*_linear_data(n=20), n_epoch=3)


def test_estimator_follows_scikit_learn_conventions():
    from sklearn.model_selection import GridSearchCV

    with pytest.raises(TypeError):
        MCDropoutRegressor((50,))  # keyword-only
    X, y = _linear_data(n=30)
    search = GridSearchCV(MCDropoutRegressor(n_epochs=1, tau=1.0), {"drop_prob": [0.1, 1.5]}, cv=2, error_score="raise")
    with pytest.raises(ValueError, match="'drop_prob' parameter of MCDropoutRegressor must be"):
        search.fit(X, y)
    model = MCDropoutRegressor(hidden_layer_sizes=4, n_epochs=1, tau=1.0, n_samples=3, random_state=0).fit(X, y)
    assert model.n_features_in_ == 3 and model.fitted_.model.net[0].out_features == 4


def test_degenerate_targets_and_overflowing_inputs_are_refused_with_a_reason():
    X, y = _linear_data(n=30)
    with pytest.raises(ValueError, match="y is constant"):
        MCDropoutRegressor(n_epochs=1, n_samples=3).fit(X, np.full(30, 2.0))
    with pytest.raises(ValueError, match="X has values whose mean or standard deviation overflows"):
        fit_regressor(X * 1e307, y, n_epochs=1, progress=False)
    with pytest.raises(ValueError, match="X must not be empty"):
        fit_regressor(np.empty((0, 3)), np.empty(0), n_epochs=1, progress=False)


def test_predictive_covariance_across_rows():
    """``return_cov`` gives the covariance of the per-pass function samples plus τ⁻¹I: its diagonal
    is the squared ``return_std``, it is symmetric positive definite, and two nearby inputs, seen
    through the same masks, are strongly correlated."""
    X, y = _linear_data(n=60, scale=1.0)
    model = MCDropoutRegressor(hidden_layer_sizes=(32,), drop_prob=0.2, tau=100.0, n_epochs=20, n_samples=200,
                               random_state=0).fit(X, y)
    X_new = np.vstack([X[:1], X[:1] + 1e-3, X[1:4]])
    mean_cov, cov = model.predict(X_new, return_cov=True)
    mean_std, std = model.predict(X_new, return_std=True)
    np.testing.assert_allclose(mean_cov, mean_std, rtol=1e-12)
    np.testing.assert_allclose(np.diag(cov), std**2, rtol=1e-10)
    np.testing.assert_allclose(cov, cov.T)
    assert np.linalg.eigvalsh(cov).min() > 0
    model_cov = cov - np.eye(len(X_new)) / model.tau_
    assert model_cov[0, 1] / np.sqrt(model_cov[0, 0] * model_cov[1, 1]) > 0.99
    with pytest.raises(ValueError, match="return_std and return_cov"):
        model.predict(X_new, return_std=True, return_cov=True)

"""mcdrop.ensemble: members are independent batched networks on fit_regressor's MAP objective, the
predictive is the Gaussian mixture, runs are reproducible, bad input is named."""

import numpy as np
import pytest
import torch
from scipy import stats
from scipy.special import logsumexp
from sklearn.linear_model import LinearRegression

from mcdrop import batched, ensemble, kl
from mcdrop.models import MLP
from mcdrop.training import RegressorSettings, regression_objective

KWARGS = dict(hidden_layer_sizes=(16,), n_epochs=60, batch_size=64, lr=1e-2)


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """These networks are tiny: a second torch thread only contends (20x slower on a busy machine)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _data(n=120, seed=0, scale=10.0):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-2, 2, (n, 2))
    return X, scale * (X @ np.array([1.0, -0.5]) + 0.1 * rng.normal(size=n))


@pytest.fixture(scope="module")
def fitted():
    X, y = _data()
    return X, y, ensemble.fit_ensemble(X, y, n_members=4, tau=1.0, seed=0, **KWARGS)


def test_each_member_is_a_single_network_trained_alone_with_its_seed(fitted):
    """Independent reference: batched.train on one model, decays from kl for tau in standardised units."""
    X, y, model = fitted
    assert len(set(model.seeds)) == 4 and model.seeds == ensemble.member_seeds(0, 4)
    Xs, ys = (X - X.mean(0)) / X.std(0), (y - y.mean()) / y.std()
    tau_std, n = 1.0 * y.std() ** 2, len(y)
    for m, seed in enumerate(model.seeds):
        alone = batched.train([Xs], [ys], hidden_layer_sizes=(16,), drop_prob=0.0,
                              weight_decay=kl.optimizer_weight_decay(1e-2, 0.0, n, tau_std, loss="mse"),
                              bias_decay=kl.bias_weight_decay(1e-2, n, tau_std, loss="mse"),
                              n_epochs=60, batch_size=64, lr=1e-2, sampler=batched.seeded_sampler([seed], [1]))
        torch.testing.assert_close(model.network.flat[m], alone.flat[0], rtol=1e-5, atol=1e-6)
    predictions = model.member_predictions(X)
    assert predictions.shape == (4, len(X))
    assert np.all(predictions.std(axis=0) > 0)  # different initialisations and orders: members disagree


def test_members_reach_a_stationary_point_of_fit_regressors_map_objective():
    """The doubled batched loss has the minimiser of fit_regressor's ½·MSE + decay (dropout="none"):
    after long full-batch training its autograd gradient is tiny compared with the one at the start."""
    X, y = _data(n=30, seed=2)
    settings = RegressorSettings(hidden_layer_sizes=(8,), lengthscale=1.0, n_epochs=3000, batch_size=30, lr=1e-2,
                                 dropout="none")
    model = ensemble.fit_ensemble(X, y, n_members=2, tau=5e-4, seed=1, settings=settings)
    start = ensemble.fit_ensemble(X, y, n_members=2, tau=5e-4, seed=1, settings=settings, n_epochs=1)
    inputs = torch.as_tensor((X - model.x_mean) / model.x_scale, dtype=torch.float32)
    targets = torch.as_tensor((y - model.y_mean) / model.y_scale, dtype=torch.float32)[:, None]

    def gradient_norm(network, m):
        net = MLP(2, (8,), 1, 0.0)
        for (linear, _), (W, b) in zip(net.linear_layers_with_keep_prob(), network.layers()):
            linear.weight.data, linear.bias.data = W[m].T.clone(), b[m, 0].clone()
        groups, loss_fn = regression_objective(net, settings, len(y), 5e-4 * model.y_scale**2)
        loss = loss_fn(net(inputs), targets)
        loss = loss + sum(g["weight_decay"] / 2 * (p**2).sum() for g in groups for p in g["params"])
        return torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss, list(net.parameters()))]).norm()

    for m in range(2):
        assert gradient_norm(model.network, m) < 1e-3 * gradient_norm(start.network, m)  # a decay off by 2 leaves 0.2


def test_predictive_is_the_moments_and_density_of_the_gaussian_mixture(fitted):
    X, y, model = fitted
    f = model.member_predictions(X[:30])
    mean, var = model.predict(X[:30])
    np.testing.assert_allclose(mean, f.mean(axis=0), rtol=1e-10)
    np.testing.assert_allclose(var, f.var(axis=0) + 1 / model.tau, rtol=1e-10)
    mixture = logsumexp(stats.norm.logpdf(y[:30], f, 1 / np.sqrt(model.tau)), axis=0) - np.log(len(f))
    np.testing.assert_allclose(model.log_likelihood(X[:30], y[:30]), mixture, rtol=1e-6)


def test_member_predictions_are_the_relu_network_in_original_units(fitted):
    X, _, model = fitted
    (W1, b1), (W2, b2) = (tuple(t.double().numpy() for t in layer) for layer in model.network.layers())
    Xs = (X - model.x_mean) / model.x_scale
    expected = np.stack([np.maximum(Xs @ W1[m] + b1[m], 0) @ W2[m] + b2[m] for m in range(4)])[..., 0]
    np.testing.assert_allclose(model.member_predictions(X), expected * model.y_scale + model.y_mean, rtol=1e-4,
                               atol=1e-4 * model.y_scale)


def test_a_single_member_has_only_the_noise_variance_and_the_ensemble_fits_linear_data(fitted):
    X, y, model = fitted
    single = ensemble.fit_ensemble(X, y, n_members=1, tau=4.0, seed=1, **KWARGS)
    np.testing.assert_allclose(single.predict(X)[1], 0.25)
    X_test, y_test = _data(n=200, seed=5)
    rmse = np.sqrt(np.mean((model.predict(X_test)[0] - y_test) ** 2))
    reference = np.sqrt(np.mean((LinearRegression().fit(X, y).predict(X_test) - y_test) ** 2))
    assert rmse < 3 * reference + 0.5


def test_seeded_fits_are_reproducible_and_seeds_matter():
    X, y = _data(n=40)
    kwargs = dict(KWARGS, n_epochs=5)
    a = ensemble.fit_ensemble(X, y, n_members=2, seed=3, **kwargs)
    b = ensemble.fit_ensemble(X, y, n_members=2, seed=3, **kwargs)
    c = ensemble.fit_ensemble(X, y, n_members=2, seed=4, **kwargs)
    np.testing.assert_array_equal(a.member_predictions(X), b.member_predictions(X))
    assert not np.allclose(a.member_predictions(X), c.member_predictions(X))


def test_bad_arguments_are_named():
    X, y = _data(n=10)
    with pytest.raises(ValueError, match="n_members"):
        ensemble.fit_ensemble(X, y, n_members=0)
    for name in ("drop_prob", "dropout", "input_dropout", "activation", "weight_decay_convention", "T"):
        with pytest.raises(TypeError, match=name):
            ensemble.fit_ensemble(X, y, **{name: 0.1})
    with pytest.raises(TypeError, match="settings"):
        ensemble.fit_ensemble(X, y, settings={"n_epochs": 3})
    with pytest.raises(ValueError, match="activation"):
        ensemble.fit_ensemble(X, y, settings=RegressorSettings(activation="tanh"))
    with pytest.raises(ValueError, match="tau"):
        ensemble.fit_ensemble(X, y, tau=-1.0)
    with pytest.raises(ValueError, match="y"):
        ensemble.fit_ensemble(X, y[:5])
    model = ensemble.fit_ensemble(X, y, n_members=2, seed=0, n_epochs=1)
    with pytest.raises(ValueError, match="features"):
        model.predict(X[:, :1])

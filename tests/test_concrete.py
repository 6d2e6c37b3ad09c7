"""mcdrop.concrete: the relaxation tends to the Bernoulli, p learns by gradient and stays in (0, 1),
the regulariser is Gal, Hron & Kendall's formula, mc_samples draws Bernoulli masks with the learned
p, and the learned p falls as the data grow."""

import math

import numpy as np
import pytest
import torch
from scipy import stats
from torch import nn

from mcdrop import concrete, predict
from mcdrop.concrete import ConcreteDropout


@pytest.mark.parametrize("drop_prob", [0.1, 0.5, 0.8])
def test_relaxed_mask_thresholds_exactly_to_bernoulli_and_hardens_as_t_falls(drop_prob):
    gen = torch.Generator().manual_seed(0)
    p = torch.tensor(drop_prob, dtype=torch.float64)
    n = 200_000
    edge = math.log(0.99 / 0.01)
    soft_fractions = []
    for t in [1.0, 0.1, 0.01]:
        z = concrete.relaxed_drop_mask((n,), p, t, generator=gen)
        # P(z > 1/2) = p exactly for every t: a binomial test at the 1e-3 level.
        assert stats.binomtest(int((z > 0.5).sum()), n, drop_prob).pvalue > 1e-3
        # P(0.01 < z < 0.99) = P(|logit p + L| < t·logit 0.99), L standard logistic: 5 standard errors.
        soft = float(((z > 0.01) & (z < 0.99)).double().mean())
        logit_p = math.log(drop_prob / (1 - drop_prob))
        exact = stats.logistic.cdf(t * edge - logit_p) - stats.logistic.cdf(-t * edge - logit_p)
        assert abs(soft - exact) < 5 * math.sqrt(exact * (1 - exact) / n)
        soft_fractions.append(soft)
    assert soft_fractions[0] > soft_fractions[1] > soft_fractions[2]
    # Small t: the mean of the kept indicator 1 − z is the Bernoulli's 1 − p (5 standard errors).
    z = concrete.relaxed_drop_mask((n,), p, 1e-3, generator=gen)
    se = math.sqrt(drop_prob * (1 - drop_prob) / n)
    assert abs(float((1 - z).mean()) - (1 - drop_prob)) < 5 * se


def test_layer_output_has_the_input_as_mean_in_the_hard_limit():
    """x·(1 − z)/(1 − p) is unbiased for x when z is Bernoulli(p): checked at t = 1e-3."""
    torch.manual_seed(0)
    layer = ConcreteDropout(init_drop_prob=0.3, temperature=1e-3).double().train()
    x = torch.full((400_000, 1), 2.0, dtype=torch.float64)
    out = layer(x)
    se = 2.0 * math.sqrt(0.3 / 0.7) / math.sqrt(len(x))
    assert abs(float(out.detach().mean()) - 2.0) < 5 * se
    assert torch.equal(layer.eval()(x), x)  # eval: the identity, as nn.Dropout


def test_gradient_reaches_the_drop_probability_and_matches_finite_differences():
    layer = ConcreteDropout(init_drop_prob=0.2).double()
    x = torch.linspace(-1, 1, 64, dtype=torch.float64)[:, None].repeat(1, 5)

    def loss(logit):
        layer.drop_logit.data = logit.detach().clone()
        layer.drop_logit.grad = None
        torch.manual_seed(3)  # the same uniforms in every evaluation
        value = (layer.train()(x) ** 2).sum()
        return value

    logit = layer.drop_logit.detach().clone()
    loss(logit).backward()
    grad = float(layer.drop_logit.grad)
    h = 1e-6
    numeric = (float(loss(logit + h).detach()) - float(loss(logit - h).detach())) / (2 * h)
    assert grad != 0.0
    assert grad == pytest.approx(numeric, rel=1e-5)


def test_drop_prob_stays_in_the_open_interval_and_the_regulariser_stays_finite():
    layer = ConcreteDropout()
    weight = torch.ones(3, 4)
    for logit in [-1e4, -50.0, 0.0, 50.0, 1e4]:
        layer.drop_logit.data.fill_(logit)
        assert 0.0 < float(layer.drop_prob.detach()) < 1.0
        assert 0.0 < layer.p < 1.0
        assert torch.isfinite(concrete.layer_regulariser(layer, weight, 1e-2, 1.0, 10))


def test_regulariser_equals_gal_hron_kendall_formula():
    torch.manual_seed(0)
    model = concrete.concrete_mlp(3, (7, 5), 1, init_drop_prob=0.2, input_dropout=True)
    layers = [m for m in model.net if isinstance(m, ConcreteDropout)]
    for layer, value in zip(layers, [0.05, 0.3, 0.6]):
        layer.drop_logit.data.fill_(math.log(value / (1 - value)))
    weights = [m.weight.detach().double() for m in model.net if isinstance(m, nn.Linear)]
    l, tau, n = 0.5, 3.0, 40
    expected = 0.0
    for w, p in zip(weights, [0.05, 0.3, 0.6]):
        k = w.shape[1]
        expected += l**2 / (tau * n) * float((w**2).sum()) / (1 - p)
        expected += 2 / (tau * n) * k * (p * math.log(p) + (1 - p) * math.log(1 - p))
    assert concrete.regulariser(model, l, tau, n, loss="mse").item() == pytest.approx(expected, rel=1e-5)
    assert concrete.regulariser(model, l, tau, n, loss="half_mse").item() == pytest.approx(expected / 2, rel=1e-5)
    # Classification: tau = 1 and no factor 2 on either term.
    ce = concrete.regulariser(model, l, 1.0, n, loss="cross_entropy").item()
    assert ce == pytest.approx(concrete.regulariser(model, l, 1.0, n, loss="mse").item() / 2, rel=1e-6)


def test_regulariser_is_minimised_in_p_where_its_derivative_vanishes():
    """d/dp [a/(1 − p) + b(p log p + (1 − p) log(1 − p))] = 0 at a/(1 − p)² = b log((1 − p)/p)."""
    layer = ConcreteDropout().double()
    weight = torch.full((1, 10), 0.3, dtype=torch.float64)
    grid = torch.linspace(-8, 8, 4001, dtype=torch.float64)
    values = []
    for logit in grid:
        layer.drop_logit.data = logit.clone()
        values.append(concrete.layer_regulariser(layer, weight, 1.0, 1.0, 1).item())
    p = float(torch.sigmoid(grid[int(np.argmin(values))]))
    a, b = 0.5 * 10 * 0.09, 10
    assert a / (1 - p) ** 2 == pytest.approx(b * math.log((1 - p) / p), rel=1e-2)


def test_mc_samples_draws_bernoulli_masks_with_the_learned_drop_prob():
    layer = ConcreteDropout(init_drop_prob=0.37)
    model = nn.Sequential(layer)
    x = torch.ones(1, 50)
    draws = predict.mc_samples(model, x, T=2000, seed=0)
    kept = draws != 0
    values = torch.unique(draws).tolist()
    assert values[0] == 0.0 and len(values) == 2 and values[1] == pytest.approx(1 / (1 - layer.p), rel=1e-6)
    n = kept.numel()
    assert stats.binomtest(int(kept.sum()), n, 1 - layer.p).pvalue > 1e-3
    assert model.training  # mc_samples restores the mode


def test_concrete_mlp_replaces_every_dropout_and_keeps_the_architecture():
    model = concrete.concrete_mlp(2, (8, 8), 1, init_drop_prob=0.25, input_dropout=True)
    kinds = [type(m) for m in model.net]
    assert kinds.count(ConcreteDropout) == 3 and nn.Dropout not in kinds
    assert concrete.drop_probs(model) == pytest.approx([0.25] * 3)


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="init_drop_prob"):
        ConcreteDropout(init_drop_prob=0.0)
    with pytest.raises(ValueError, match="temperature"):
        ConcreteDropout(temperature=-1.0)
    with pytest.raises(TypeError, match="drop_prob"):
        concrete.relaxed_drop_mask((3,), 0.5, 0.1)
    with pytest.raises(ValueError, match="loss"):
        concrete.layer_regulariser(ConcreteDropout(), torch.ones(2, 2), 1.0, 1.0, 1, loss="hinge")
    with pytest.raises(ValueError, match="not followed"):
        concrete.regulariser(nn.Sequential(nn.Linear(2, 2), ConcreteDropout()), 1.0, 1.0, 1)


def test_learned_drop_prob_falls_as_the_data_grow():
    """Gal, Hron & Kendall's Fig. 3 in miniature: the same toy with 20 and 2,000 points."""
    from mcdrop import critiques
    from mcdrop.training import fit_regressor

    learned = []
    for n in [20, 2000]:
        X, y = critiques.toy_regression(n, seed=0)
        fitted = fit_regressor(X, y, hidden_layer_sizes=(50,), dropout="concrete", drop_prob=0.1, tau=100.0,
                               lengthscale=1.0, n_epochs=300, batch_size=n, lr=1e-2, seed=0, progress=False)
        learned.append(concrete.drop_probs(fitted.model)[0])
    assert learned[1] < learned[0] / 2 < 0.05


def test_fit_regressor_trains_concrete_layers_with_their_regulariser_instead_of_weight_decay(spy_on_adam):
    from mcdrop import MCDropoutRegressor
    from mcdrop.training import fit_regressor

    seen = spy_on_adam()
    X, y = np.random.default_rng(0).normal(size=(30, 2)), np.arange(30.0)
    fitted = fit_regressor(X, y, hidden_layer_sizes=(4,), dropout="concrete", n_epochs=2, seed=0, progress=False)
    layers = list(fitted.model.net)
    assert isinstance(layers[2], ConcreteDropout)
    weight_decays = {id(p): g["weight_decay"] for g in seen for p in g["params"]}
    assert weight_decays[id(layers[0].weight)] > 0  # no dropout before the first layer: eq. (7) decay
    assert weight_decays[id(layers[3].weight)] == 0.0  # after a concrete layer: the regulariser instead
    assert weight_decays[id(layers[2].drop_logit)] == 0.0
    assert layers[2].p != pytest.approx(0.05)  # p was trained
    estimator = MCDropoutRegressor(hidden_layer_sizes=4, dropout="concrete", tau=1.0, n_epochs=2, random_state=0)
    assert any(isinstance(m, ConcreteDropout) for m in estimator.fit(X, y).fitted_.model.modules())
    with pytest.raises(ValueError, match="dropout"):
        fit_regressor(X, y, dropout="gaussian", n_epochs=1)
    with pytest.raises(ValueError, match="official"):
        fit_regressor(X, y, dropout="concrete", weight_decay_convention="official", n_epochs=1)

"""mcdrop.predict: MC sampling leaves the model untouched and draws the right masks; the
moment, log-likelihood and uncertainty formulas against direct computations."""

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from scipy.special import logsumexp
from torch import nn

from mcdrop import dropout, predict
from mcdrop.models import MLP


def _bn_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(3, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))


def _state(model):
    return {k: v.clone() for k, v in model.state_dict().items()}


@pytest.mark.parametrize("train_mode", [False, True])
def test_mc_samples_changes_no_state_and_restores_mode(train_mode):
    model, x = _bn_net(), torch.randn(10, 3)
    model.train()
    model(torch.randn(50, 3))  # non-trivial running statistics
    model.train(train_mode)
    model[3].train(not train_mode)  # mixed per-module modes are restored exactly
    modes, before = [m.training for m in model.modules()], _state(model)
    global_rng = torch.get_rng_state()
    samples = predict.mc_samples(model, x, T=25, seed=1)
    assert samples.shape == (25, 10, 2)
    assert [m.training for m in model.modules()] == modes
    for key, value in _state(model).items():
        torch.testing.assert_close(value, before[key], rtol=0, atol=0)
    assert torch.equal(torch.get_rng_state(), global_rng)


def test_mc_samples_is_reproducible_and_chunking_does_not_change_it():
    model, x = _bn_net().eval(), torch.randn(7, 3)
    a = predict.mc_samples(model, x, T=30, seed=3)
    # Same masks; only float32 rounding of differently sized matrix products may differ.
    torch.testing.assert_close(a, predict.mc_samples(model, x, T=30, seed=3, chunk_size=4), rtol=0, atol=1e-6)
    assert not torch.equal(a, predict.mc_samples(model, x, T=30, seed=4))
    assert a.std(dim=0).min() > 0  # dropout is active although the model is in eval mode


def test_each_pass_is_one_network_applied_to_every_row():
    """Pass t uses one mask for all rows: predicting a subset gives the same numbers."""
    model, x = _bn_net().eval(), torch.randn(12, 3)
    full = predict.mc_samples(model, x, T=20, seed=5)
    torch.testing.assert_close(predict.mc_samples(model, x[:4], T=20, seed=5), full[:, :4])


def test_each_pass_matches_a_fixed_mask_forward_pass():
    torch.manual_seed(1)
    model = nn.Sequential(nn.Linear(2, 6), nn.Tanh(), nn.Dropout(0.5), nn.Linear(6, 1)).double()
    x = torch.randn(5, 2, dtype=torch.float64)
    samples = predict.mc_samples(model, x, T=50, seed=6)
    hidden = model[1](model[0](x))
    masks = dropout.enumerate_masks(6).double()
    candidates = torch.stack([model[3](hidden * m / 0.5) for m in masks])
    for draw in samples:  # every pass equals the network under one of the 64 masks
        assert torch.min((candidates - draw).abs().amax(dim=(1, 2))) < 1e-12


@pytest.mark.parametrize("keep_prob", [0.9, 0.5, 0.05])
def test_inverted_dropout_mask_has_the_right_probability_and_scaling(keep_prob):
    binary = dropout.bernoulli_mask((400_000,), keep_prob, torch.Generator().manual_seed(7))
    assert set(binary.unique().tolist()) <= {0.0, 1.0}
    mask = dropout.inverted_dropout(torch.ones(400_000), binary, keep_prob)
    kept = (mask != 0).double().mean().item()
    assert abs(kept - keep_prob) < 4 * math.sqrt(keep_prob * (1 - keep_prob) / mask.numel())
    values = mask.unique()
    assert len(values) == 2 and values[0] == 0 and values[1].item() == pytest.approx(1 / keep_prob)
    assert mask.double().mean().item() == pytest.approx(1.0, abs=4 * math.sqrt((1 - keep_prob) / keep_prob / mask.numel()))


def test_masks_through_a_network_keep_the_right_probability():
    model = nn.Sequential(nn.Dropout(0.3))
    samples = predict.mc_samples(model, torch.ones(1, 5000), T=40, seed=8)
    kept = (samples != 0).double().mean().item()
    assert abs(kept - 0.7) < 4 * math.sqrt(0.21 / samples.numel())


def test_mc_samples_rejects_bad_input():
    model = MLP(3, (8,), 1, drop_prob=0.1)
    with pytest.raises(ValueError, match="T must be >= 1"):
        predict.mc_samples(model, torch.randn(4, 3), T=0)
    with pytest.raises(ValueError, match="x contains NaN"):
        predict.mc_samples(model, torch.full((4, 3), float("nan")), T=2)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        predict.mc_samples(model, np.zeros((4, 3)), T=2)
    with pytest.raises(ValueError, match="no dropout layer"):
        predict.mc_samples(nn.Linear(3, 1), torch.randn(4, 3), T=2)


def test_regression_moments_match_the_paper():
    samples = torch.randn(50, 8, dtype=torch.float64)
    mean, var = predict.regression_moments(samples, tau=4.0)
    torch.testing.assert_close(mean, samples.mean(0))
    torch.testing.assert_close(var, samples.var(0, unbiased=False) + 0.25)
    mean3, var3 = predict.regression_moments(samples[..., None], tau=4.0)
    torch.testing.assert_close(var3[:, 0], var)


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), tau=st.floats(0.01, 100.0), d=st.integers(1, 3))
def test_log_likelihood_is_a_log_mixture_density(seed, tau, d):
    rng = np.random.default_rng(seed)
    samples, y = rng.normal(size=(20, 4, d)), rng.normal(size=(4, d))
    direct = [logsumexp([stats.multivariate_normal(s[n], np.eye(d) / tau).logpdf(y[n]) for s in samples]) - np.log(20)
              for n in range(4)]
    np.testing.assert_allclose(predict.regression_log_likelihood(samples, y, tau).numpy(), direct, rtol=1e-9)


def test_log_likelihood_is_stable_far_from_the_samples():
    ll = predict.regression_log_likelihood(torch.zeros(10, 3, dtype=torch.float64), torch.full((3,), 1e4, dtype=torch.float64), 1.0)
    assert torch.isfinite(ll).all()
    torch.testing.assert_close(ll, torch.full((3,), -0.5e8 - 0.5 * math.log(2 * math.pi), dtype=torch.float64))


def test_classification_uncertainty_on_hand_computed_cases():
    certain = torch.tensor([[[1.0, 0.0]]]).repeat(4, 1, 1)
    disagree = torch.tensor([[[1.0, 0.0]], [[0.0, 1.0]], [[1.0, 0.0]], [[0.0, 1.0]]])
    flat = torch.full((4, 1, 2), 0.5)
    u = predict.classification_uncertainty(torch.cat([certain, disagree, flat], dim=1))
    torch.testing.assert_close(u.entropy, torch.tensor([0.0, math.log(2), math.log(2)]))
    torch.testing.assert_close(u.mutual_information, torch.tensor([0.0, math.log(2), 0.0]))
    torch.testing.assert_close(u.variation_ratio, torch.tensor([0.0, 0.5, 0.0]))


def test_prediction_formulas_reject_bad_input():
    with pytest.raises(ValueError, match="tau"):
        predict.regression_moments(torch.zeros(3, 2), tau=0.0)
    with pytest.raises(ValueError, match="samples must have shape"):
        predict.regression_moments(torch.zeros(3), tau=1.0)
    with pytest.raises(ValueError, match="y has shape"):
        predict.regression_log_likelihood(torch.zeros(3, 2), torch.zeros(3), 1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        predict.classification_uncertainty(torch.full((2, 3, 4), 0.3))
    with pytest.raises(ValueError, match="prob_samples must have shape"):
        predict.classification_uncertainty(torch.full((3, 4), 0.25))


def test_select_tau_recovers_the_noise_precision():
    rng = np.random.default_rng(9)
    samples = np.zeros((10, 20_000))  # a model certain of 0, data with noise std 0.5: τ = 4
    y = 0.5 * rng.standard_normal(20_000)
    best, scores = predict.select_tau(samples, y, [1.0, 2.0, 4.0, 8.0, 16.0])
    assert best == 4.0 and len(scores) == 5
    with pytest.raises(ValueError, match="tau_grid"):
        predict.select_tau(samples, y, [])
    with pytest.raises(ValueError, match="tau"):
        predict.select_tau(samples, y, [1.0, -1.0])

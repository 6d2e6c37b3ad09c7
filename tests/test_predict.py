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


# --- numerics: moments and log-likelihood are exact to float64 rounding at any offset --------------

def test_regression_moments_are_exact_at_a_large_offset_in_float32():
    rng = np.random.default_rng(10)
    samples = torch.as_tensor((1e4 + 0.01 * rng.standard_normal((1000, 5))).astype(np.float32))
    mean, var = predict.regression_moments(samples, tau=1e12)
    reference = samples.double().numpy()  # the float32 values, exactly, in float64
    assert mean.dtype == var.dtype == torch.float64
    np.testing.assert_allclose(mean.numpy(), reference.mean(0), rtol=1e-15)
    np.testing.assert_allclose(var.numpy() - 1e-12, reference.var(0), rtol=1e-9)
    # float32 rounding at 1e4 (ulp ≈ 1e-3) is part of the samples; the variance is still ≈ 1e-4
    np.testing.assert_allclose(var.numpy(), 1e-4, rtol=0.2)


def test_regression_moments_and_log_likelihood_are_finite_at_1e30():
    samples = torch.full((20, 3), 1e30, dtype=torch.float32) * (1 + torch.arange(20.0)[:, None] * 1e-3)
    mean, var = predict.regression_moments(samples, tau=1.0)
    reference = samples.double().numpy()
    np.testing.assert_allclose(var.numpy(), reference.var(0) + 1.0, rtol=1e-12)
    assert torch.isfinite(mean).all() and torch.isfinite(var).all()
    ll = predict.regression_log_likelihood(samples, samples[0].double(), tau=1.0)
    ll64 = predict.regression_log_likelihood(samples.double(), samples[0].double(), tau=1.0)
    assert torch.isfinite(ll).all()
    torch.testing.assert_close(ll, ll64, rtol=0, atol=0)
    assert ll[0].item() == pytest.approx(-math.log(20) - 0.5 * math.log(2 * math.pi), rel=1e-12)


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_log_likelihood_rejects_non_finite_targets(bad):
    with pytest.raises(ValueError, match="y contains NaN or inf"):
        predict.regression_log_likelihood(torch.zeros(4, 2), [0.0, bad], 1.0)


def test_predictive_covariance_matches_numpy_and_the_moments():
    rng = np.random.default_rng(11)
    samples = 1e6 + rng.standard_normal((200, 4)) @ rng.standard_normal((4, 4))
    cov = predict.predictive_covariance(samples, tau=2.0)
    np.testing.assert_allclose(cov.numpy(), np.cov(samples.T, bias=True) + np.eye(4) / 2.0, rtol=1e-9)
    torch.testing.assert_close(torch.diagonal(cov), predict.regression_moments(samples, 2.0)[1])


# --- mask modes: same marginal predictive, only per-pass masks correlate rows -----------------------

def _toy_net():
    torch.manual_seed(12)
    return nn.Sequential(nn.Linear(1, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 1)).double()


def test_per_pass_and_per_row_masks_give_the_same_marginal_but_different_correlations():
    net, T = _toy_net(), 4000
    x = torch.tensor([[0.3], [0.3], [0.5]], dtype=torch.float64)  # rows 0 and 1 are the same input
    per_pass = predict.mc_samples(net, x, T, seed=13)[..., 0]
    per_row = predict.mc_samples(net, x, T, seed=14, masks="per-row")[..., 0]
    # Marginals: means agree within 4 combined standard errors, variances within 15 % (≈ 4 s.e. at T=4000).
    se = torch.sqrt((per_pass.var(0) + per_row.var(0)) / T)
    assert torch.all((per_pass.mean(0) - per_row.mean(0)).abs() < 4 * se)
    torch.testing.assert_close(per_pass.var(0), per_row.var(0), rtol=0.15, atol=0)
    # Per-pass: one network per pass, so identical inputs give identical outputs and nearby inputs
    # are strongly correlated; per-row: independent masks, correlation 0 within 4/√T.
    assert torch.equal(per_pass[:, 0], per_pass[:, 1])
    corr_pass = np.corrcoef(per_pass.T.numpy())
    corr_row = np.corrcoef(per_row.T.numpy())
    assert corr_pass[0, 2] > 0.5
    assert abs(corr_row[0, 1]) < 4 / math.sqrt(T) and abs(corr_row[0, 2]) < 4 / math.sqrt(T)


def test_per_row_masks_are_what_train_mode_draws():
    """Per-row masks on nn.Dropout: every entry kept independently with the keep probability."""
    samples = predict.mc_samples(nn.Sequential(nn.Dropout(0.4)), torch.ones(50, 20), T=40, seed=15, masks="per-row")
    kept = (samples != 0).double()
    assert abs(kept.mean().item() - 0.6) < 4 * math.sqrt(0.24 / kept.numel())
    assert not torch.equal(kept[:, 0], kept[:, 1])  # rows differ within a pass
    assert samples.unique().tolist() == pytest.approx([0.0, 1 / 0.6])


# --- every torch dropout layer -----------------------------------------------------------------

@pytest.mark.parametrize("layer,shape", [(nn.Dropout1d, (3, 6, 5)), (nn.Dropout2d, (3, 6, 4, 4)),
                                         (nn.Dropout3d, (3, 6, 2, 3, 2))])
@pytest.mark.parametrize("masks", ["per-pass", "per-row"])
def test_channel_dropout_drops_whole_channels(layer, shape, masks):
    samples = predict.mc_samples(nn.Sequential(layer(0.5)), torch.ones(shape), T=200, seed=16, masks=masks)
    assert samples.shape == (200, *shape)
    per_channel = samples.flatten(3)  # (T, N, C, spatial)
    assert torch.equal(per_channel.amin(3), per_channel.amax(3))  # one mask entry per channel
    assert set(samples.unique().tolist()) == {0.0, 2.0}
    kept = (per_channel[..., 0] != 0).double()
    assert abs(kept.mean().item() - 0.5) < 4 * math.sqrt(0.25 / kept.numel())
    same_across_rows = torch.equal(kept[:, 0], kept[:, 1])
    assert same_across_rows == (masks == "per-pass")


def test_a_small_cnn_with_dropout2d_works():
    torch.manual_seed(17)
    cnn = nn.Sequential(nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(), nn.Dropout2d(0.25), nn.MaxPool2d(2),
                        nn.Flatten(), nn.Linear(8 * 4 * 4, 3)).eval()
    x = torch.randn(5, 1, 8, 8)
    samples = predict.mc_samples(cnn, x, T=30, seed=18)
    assert samples.shape == (30, 5, 3) and samples.std(0).min() > 0
    torch.testing.assert_close(predict.mc_samples(cnn, x[:2], T=30, seed=18), samples[:, :2])  # shared masks
    assert not cnn.training


@pytest.mark.parametrize("layer,shape", [(nn.AlphaDropout, (400, 30)), (nn.FeatureAlphaDropout, (400, 30, 4))])
def test_alpha_dropout_takes_the_values_torch_gives_in_train_mode(layer, shape):
    x = torch.full(shape, 0.7, dtype=torch.float64)
    ours = predict.mc_samples(nn.Sequential(layer(0.2)), x, T=3, seed=19, masks="per-row")
    torch.manual_seed(0)
    theirs = layer(0.2).train()(x)
    torch.testing.assert_close(ours.unique(), theirs.unique(), rtol=1e-12, atol=1e-12)
    # kept fraction 0.8 within 4 standard errors of the independent mask entries
    n_masks = ours.numel() if layer is nn.AlphaDropout else ours.numel() // shape[-1]
    assert abs((ours == theirs.max()).double().mean().item() - 0.8) < 4 * math.sqrt(0.16 / n_masks)


def test_a_layer_that_drops_everything_is_named():
    model = nn.Sequential(nn.Linear(2, 4), nn.Dropout(p=1.0), nn.Linear(4, 1))
    with pytest.raises(ValueError, match=r"model\.1 \(Dropout\) has p=1\.0"):
        predict.mc_samples(model, torch.randn(3, 2), T=2)


def test_huge_T_is_refused_before_any_work():
    with pytest.raises(ValueError, match="T=1000000000 passes"):
        predict.mc_samples(_toy_net(), torch.zeros(2, 1, dtype=torch.float64), T=10**9)


def test_seed_none_is_fresh_and_leaves_every_global_rng_alone():
    net, x = _toy_net(), torch.zeros(3, 1, dtype=torch.float64)
    torch_state, numpy_state = torch.get_rng_state(), np.random.get_state()[1].copy()
    a, b = predict.mc_samples(net, x, T=20), predict.mc_samples(net, x, T=20)
    assert not torch.equal(a, b)
    assert torch.equal(torch.get_rng_state(), torch_state)
    np.testing.assert_array_equal(np.random.get_state()[1], numpy_state)


def test_input_of_the_wrong_dtype_or_rank_is_explained():
    net = MLP(3, (8,), 1, drop_prob=0.1)
    with pytest.raises(TypeError, match=r"x has dtype torch.float64 but the model's parameters are torch.float32"):
        predict.mc_samples(net, torch.zeros(4, 3, dtype=torch.float64), T=2)
    with pytest.raises(ValueError, match=r"x must have shape \(N, ...\).*got shape \(3,\)"):
        predict.mc_samples(net, torch.zeros(3), T=2)
    with pytest.raises(ValueError, match="masks must be 'per-pass' or 'per-row'"):
        predict.mc_samples(net, torch.zeros(4, 3), T=2, masks="per-layer")


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_everything_runs_on_the_tensors_device():
    net = _toy_net().cuda()
    x = torch.linspace(-1, 1, 6, dtype=torch.float64, device="cuda")[:, None]
    samples = predict.mc_samples(net, x, T=50, seed=20)
    assert samples.device.type == "cuda"
    torch.testing.assert_close(samples.cpu(), predict.mc_samples(net.cpu(), x.cpu(), T=50, seed=20))
    net.cuda()
    mean, var = predict.regression_moments(samples[..., 0], 4.0)
    assert mean.device.type == var.device.type == "cuda"
    assert predict.predictive_covariance(samples[..., 0], 4.0).device.type == "cuda"
    assert predict.regression_log_likelihood(samples, torch.zeros(6, 1, device="cuda"), 4.0).device.type == "cuda"
    probs = predict.mc_samples(net, x, T=5, seed=1, masks="per-row").softmax(-1)
    assert predict.classification_uncertainty(probs).entropy.device.type == "cuda"

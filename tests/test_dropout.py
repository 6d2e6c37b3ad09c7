"""mcdrop.dropout: nn.Dropout + nn.Linear samples weight matrices M·diag(z); the predictive is a
mixture over masks; the row marginal is a two-component mixture."""

import numpy as np
import pytest
import torch
from scipy import integrate, stats
from torch import nn

from mcdrop import dropout


@pytest.mark.parametrize("drop_prob", [0.1, 0.5])
def test_dropout_then_linear_equals_sampled_weight_matrix(drop_prob):
    torch.manual_seed(0)
    net = nn.Sequential(nn.Dropout(drop_prob), nn.Linear(6, 3)).double()
    x = torch.randn(20, 6, dtype=torch.float64) + 3.0  # no zero inputs, so the mask is readable
    torch.manual_seed(1)
    out = net(x)
    torch.manual_seed(1)
    masks = (net[0](torch.ones_like(x)) != 0).double()  # the same Bernoulli draws
    for row, mask in zip(range(len(x)), masks):
        W = dropout.effective_weight(net[1].weight, mask, drop_prob)
        torch.testing.assert_close(out[row], x[row] @ W.T + net[1].bias, rtol=1e-12, atol=1e-12)


def test_mask_probabilities_form_a_distribution():
    masks = dropout.enumerate_masks(5)
    assert masks.shape == (32, 5) and len({tuple(m.tolist()) for m in masks}) == 32
    probs = dropout.mask_probabilities(masks, keep_prob=0.7)
    assert probs.sum().item() == pytest.approx(1.0)
    assert probs.max().item() == pytest.approx(0.7**5)


def _net(drop_prob=0.3):
    torch.manual_seed(2)
    return nn.Sequential(nn.Linear(1, 4), nn.ReLU(), nn.Dropout(drop_prob), nn.Linear(4, 1)).double()


def test_fixed_mask_applies_in_eval_mode_and_is_removed_afterwards():
    net, x = _net().eval(), torch.linspace(-2, 2, 7, dtype=torch.float64)[:, None]
    mask = torch.tensor([1.0, 0.0, 1.0, 0.0], dtype=torch.float64)
    hidden = net[1](net[0](x))
    with dropout.fixed_mask(net, mask):
        masked = net(x)
    torch.testing.assert_close(masked, net[3](hidden * mask / 0.7))
    torch.testing.assert_close(net(x), net[3](hidden))  # the hook is gone


def test_mixture_over_all_masks_is_the_mc_dropout_expectation():
    net, x = _net(), torch.linspace(-2, 2, 5, dtype=torch.float64)[:, None]
    outputs, probs = dropout.outputs_for_all_masks(net, x, n_units=4)
    exact_mean = torch.einsum("m,mnd->nd", probs, outputs)
    net.train()
    torch.manual_seed(3)
    with torch.no_grad():
        draws = torch.stack([net(x) for _ in range(20_000)])
    se = draws.std(0) / np.sqrt(len(draws))
    assert torch.all((draws.mean(0) - exact_mean).abs() < 4 * se + 1e-12)


def test_weight_row_samples_follow_the_mixture():
    keep_prob, sigma = 0.8, 0.1
    mean_row = np.array([1.0, -2.0, 0.5])
    rows = dropout.sample_weight_rows(mean_row, keep_prob, sigma, 40_000, seed=4)
    near_mean = np.mean(np.linalg.norm(rows - mean_row, axis=1) < np.linalg.norm(rows, axis=1))
    assert abs(near_mean - keep_prob) < 4 * np.sqrt(keep_prob * (1 - keep_prob) / len(rows))
    density = lambda w: dropout.weight_marginal_density(w, mean_row[0], keep_prob, sigma)  # noqa: E731
    assert integrate.quad(density, -3, 3, points=[0.0, 1.0])[0] == pytest.approx(1.0, abs=1e-8)
    cdf = lambda w: keep_prob * stats.norm.cdf(w, mean_row[0], sigma) + (1 - keep_prob) * stats.norm.cdf(w, 0, sigma)  # noqa: E731
    assert stats.kstest(rows[:, 0], cdf).pvalue > 1e-3


def test_bad_arguments_are_named():
    with pytest.raises(ValueError, match="drop_prob"):
        dropout.effective_weight(torch.ones(2, 3), torch.ones(3), 1.2)
    with pytest.raises(ValueError, match="mask"):
        dropout.effective_weight(torch.ones(2, 3), torch.ones(2), 0.1)
    with pytest.raises(ValueError, match="keep_prob"):
        dropout.mask_probabilities(dropout.enumerate_masks(2), 1.0)
    with pytest.raises(ValueError, match="n_units"):
        dropout.enumerate_masks(0)
    with pytest.raises(ValueError, match="exactly one nn.Dropout"):
        with dropout.fixed_mask(nn.Linear(2, 2), torch.ones(2)):
            pass
    with pytest.raises(ValueError, match="sigma"):
        dropout.sample_weight_rows(np.zeros(2), 0.5, 0.0, 10)


def test_mixture_over_all_masks_is_exact_in_float64():
    """A float64 network's mixture mean equals its deterministic pass to rounding when dropout
    precedes the last (linear) layer: the mask probabilities carry float64 precision too."""
    torch.manual_seed(0)
    net = nn.Sequential(nn.Linear(1, 5), nn.ReLU(), nn.Dropout(0.3), nn.Linear(5, 1)).double()
    x = torch.linspace(-2, 2, 11, dtype=torch.float64)[:, None]
    outputs, probs = dropout.outputs_for_all_masks(net, x, n_units=5)
    assert abs(probs.sum().item() - 1) < 1e-14
    with torch.no_grad():
        deterministic = net.eval()(x)
    assert torch.allclose(torch.einsum("m,mnd->nd", probs, outputs), deterministic, rtol=0, atol=1e-12)


def test_masks_must_be_binary_and_match_the_layer():
    with pytest.raises(ValueError, match=r"masks must hold only 0s and 1s"):
        dropout.mask_probabilities(torch.tensor([[0.0, 0.5]]), 0.5)
    with pytest.raises(ValueError, match=r"mask must hold only 0s and 1s"):
        dropout.effective_weight(torch.ones(2, 3), torch.tensor([1.0, 2.0, 0.0]), 0.1)
    net, x = _net(), torch.zeros(3, 1, dtype=torch.float64)
    with pytest.raises(ValueError, match=r"n_units=3 does not match.*4 units"):
        dropout.outputs_for_all_masks(net, x, n_units=3)
    with pytest.raises(ValueError, match=r"model must contain exactly one nn.Dropout, found 0"):
        dropout.outputs_for_all_masks(nn.Linear(1, 1).double(), x, n_units=1)


def test_inverted_dropout_has_expectation_one_exactly_over_all_masks():
    masks = dropout.enumerate_masks(3).double()
    probs = dropout.mask_probabilities(masks, 0.3)
    values = torch.tensor([2.0, -1.0, 0.5], dtype=torch.float64)
    expectation = torch.einsum("m,mk->k", probs, dropout.inverted_dropout(values, masks, 0.3))
    torch.testing.assert_close(expectation, values, rtol=1e-14, atol=0)

"""Dropout as a distribution over weights (chapter 4, "The Bernoulli-mixture approximate posterior").

In the paper's notation ``W = M·diag(z)`` with ``z_j ~ Bernoulli(p)`` and ``p`` the KEEP
probability. ``torch.nn.Dropout(drop_prob)`` zeroes inputs with probability ``drop_prob`` and
scales survivors by ``1/(1 − drop_prob)``; an ``nn.Linear`` with weight ``W_lin`` after it
therefore multiplies its input by ``M·diag(z)`` with ``M = W_lin / (1 − drop_prob)``.
"""

from __future__ import annotations

import contextlib
import itertools

import numpy as np
import torch
from torch import nn

from mcdrop import _checks


def effective_weight(linear_weight: torch.Tensor, mask: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """The weight matrix ``M·diag(z)`` that ``Linear(Dropout(x))`` applies for mask ``z``.

    ``linear_weight`` is ``nn.Linear.weight`` (out, in); ``mask`` holds 0/1 of length ``in``.
    """
    drop_prob = _checks.probability("drop_prob", drop_prob)
    if mask.shape != linear_weight.shape[1:]:
        raise ValueError(f"mask has shape {tuple(mask.shape)} but the layer has {linear_weight.shape[1]} inputs")
    return linear_weight * mask.to(linear_weight.dtype) / (1 - drop_prob)


def enumerate_masks(n_units: int) -> torch.Tensor:
    """All ``2^n_units`` binary masks, shape (2^n_units, n_units), float."""
    n_units = _checks.positive_int("n_units", n_units)
    if n_units > 20:
        raise ValueError(f"n_units must be at most 20 to enumerate masks, got {n_units}")
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n_units)))


def mask_probabilities(masks: torch.Tensor, keep_prob: float) -> torch.Tensor:
    """``q(z) = Π_j p^{z_j} (1 − p)^{1 − z_j}`` for each row of ``masks`` (p = keep probability)."""
    keep_prob = _checks.probability("keep_prob", keep_prob, open_interval=True)
    kept = masks.sum(dim=1)
    return keep_prob**kept * (1 - keep_prob) ** (masks.shape[1] - kept)


@contextlib.contextmanager
def fixed_mask(model: nn.Module, mask: torch.Tensor):
    """Within the block, the model's single ``nn.Dropout`` applies ``mask`` (broadcast over
    the batch) with PyTorch's ``1/(1 − drop_prob)`` scaling, whatever the model's mode."""
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    if len(dropouts) != 1:
        raise ValueError(f"model must contain exactly one nn.Dropout, found {len(dropouts)}")
    layer = dropouts[0]
    handle = layer.register_forward_hook(lambda mod, inputs, output: inputs[0] * mask.to(inputs[0].dtype) / (1 - mod.p))
    try:
        yield
    finally:
        handle.remove()


def outputs_for_all_masks(model: nn.Module, x: torch.Tensor, n_units: int):
    """Outputs of ``model`` at ``x`` under every mask of its dropout layer and their probabilities.

    Returns ``(outputs, probs)`` with ``outputs`` of shape ``(2^n_units, *model(x).shape)``: the
    network's predictive distribution is exactly this finite mixture over masks: the approximate
    predictive of paper eq. (5) with its integral over q(ω) a finite sum (chapter 4).
    """
    drop_prob = next(m.p for m in model.modules() if isinstance(m, nn.Dropout))
    masks = enumerate_masks(n_units)
    outputs = []
    with torch.no_grad():
        for mask in masks:
            with fixed_mask(model, mask):
                outputs.append(model(x))
    outputs = torch.stack(outputs)
    # float64 masks: float32 probabilities would sum to 1 only to ~1e-7 and blur an exact mixture mean.
    return outputs, mask_probabilities(masks.double(), 1 - drop_prob).to(outputs.dtype)


def sample_weight_rows(mean_row, keep_prob: float, sigma: float, n_samples: int, seed=None) -> np.ndarray:
    """Draws of one weight row from ``q(w) = p·N(m, σ²I) + (1 − p)·N(0, σ²I)``, shape (n_samples, K)."""
    mean_row = _checks.finite_array("mean_row", mean_row, ndim=1)
    keep_prob = _checks.probability("keep_prob", keep_prob, open_interval=True)
    sigma = _checks.positive("sigma", sigma)
    n_samples = _checks.positive_int("n_samples", n_samples)
    rng = np.random.default_rng(seed)
    kept = rng.random((n_samples, 1)) < keep_prob
    return kept * mean_row + sigma * rng.standard_normal((n_samples, len(mean_row)))


def weight_marginal_density(w, mean: float, keep_prob: float, sigma: float) -> np.ndarray:
    """Density of one coordinate of a weight row under q: ``p·N(w; m, σ²) + (1 − p)·N(w; 0, σ²)``."""
    from scipy.stats import norm

    keep_prob = _checks.probability("keep_prob", keep_prob, open_interval=True)
    sigma = _checks.positive("sigma", sigma)
    w = np.asarray(w, dtype=float)
    return keep_prob * norm.pdf(w, mean, sigma) + (1 - keep_prob) * norm.pdf(w, 0.0, sigma)

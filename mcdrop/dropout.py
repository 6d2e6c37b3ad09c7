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


def bernoulli_mask(shape, keep_prob: float, generator: torch.Generator) -> torch.Tensor:
    """A {0, 1}-valued float tensor of ``shape`` with ``P(entry = 1) = keep_prob``, drawn on the CPU
    from ``generator`` (so a seed gives the same masks on every device)."""
    if isinstance(keep_prob, bool) or not isinstance(keep_prob, (int, float)) or not 0 < keep_prob <= 1:
        raise ValueError(f"keep_prob must lie in (0, 1], got {keep_prob!r}")
    return (torch.rand(shape, generator=generator) < keep_prob).to(torch.get_default_dtype())


def inverted_dropout(values: torch.Tensor, mask: torch.Tensor, keep_prob: float) -> torch.Tensor:
    """``values · mask / keep_prob``: PyTorch's inverted-dropout scaling of the survivors of a
    {0, 1} ``mask`` (broadcast against ``values``), so that the expectation over masks is ``values``."""
    return values * (mask.to(values.dtype).to(values.device) / keep_prob)


def _binary(name: str, mask) -> torch.Tensor:
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of 0s and 1s, got {type(mask).__name__}")
    if not torch.all((mask == 0) | (mask == 1)):
        raise ValueError(f"{name} must hold only 0s and 1s (1 = kept), got values {mask.unique()[:6].tolist()}")
    return mask


def effective_weight(linear_weight: torch.Tensor, mask: torch.Tensor, drop_prob: float) -> torch.Tensor:
    """The weight matrix ``M·diag(z)`` that ``Linear(Dropout(x))`` applies for mask ``z``.

    ``linear_weight`` is ``nn.Linear.weight`` (out, in); ``mask`` holds 0/1 of length ``in``.
    """
    drop_prob = _checks.probability("drop_prob", drop_prob)
    if not isinstance(linear_weight, torch.Tensor) or linear_weight.dim() != 2:
        raise TypeError(f"linear_weight must be a 2-D torch.Tensor (out, in), got {type(linear_weight).__name__}")
    mask = _binary("mask", mask)
    if mask.shape != linear_weight.shape[1:]:
        raise ValueError(f"mask has shape {tuple(mask.shape)} but the layer has {linear_weight.shape[1]} inputs")
    return inverted_dropout(linear_weight, mask, 1 - drop_prob)


def enumerate_masks(n_units: int) -> torch.Tensor:
    """All ``2^n_units`` binary masks, shape (2^n_units, n_units), float."""
    n_units = _checks.positive_int("n_units", n_units)
    if n_units > 20:
        raise ValueError(f"n_units must be at most 20 to enumerate masks, got {n_units}")
    return torch.tensor(list(itertools.product([0.0, 1.0], repeat=n_units)))


def mask_probabilities(masks: torch.Tensor, keep_prob: float) -> torch.Tensor:
    """``q(z) = Π_j p^{z_j} (1 − p)^{1 − z_j}`` for each row of ``masks`` (p = keep probability)."""
    keep_prob = _checks.probability("keep_prob", keep_prob, open_interval=True)
    masks = _binary("masks", masks)
    if masks.dim() != 2:
        raise ValueError(f"masks must have shape (n_masks, n_units), got {tuple(masks.shape)}")
    kept = masks.sum(dim=1)
    return keep_prob**kept * (1 - keep_prob) ** (masks.shape[1] - kept)


def _single_dropout(model) -> nn.Dropout:
    _checks.module("model", model)
    dropouts = [m for m in model.modules() if isinstance(m, nn.Dropout)]
    if len(dropouts) != 1:
        raise ValueError(f"model must contain exactly one nn.Dropout, found {len(dropouts)}")
    if dropouts[0].p >= 1:
        raise ValueError(f"model's nn.Dropout has p={dropouts[0].p}: it drops every unit; expected p < 1")
    return dropouts[0]


@contextlib.contextmanager
def fixed_mask(model: nn.Module, mask: torch.Tensor):
    """Within the block, the model's single ``nn.Dropout`` applies ``mask`` (broadcast over
    the batch) with PyTorch's ``1/(1 − drop_prob)`` scaling, whatever the model's mode."""
    layer = _single_dropout(model)
    mask = _binary("mask", mask)

    def apply(module, inputs, output):
        if inputs[0].shape[-1] != mask.shape[-1]:
            raise ValueError(f"mask has {mask.shape[-1]} entries but the dropout layer's input has "
                             f"{inputs[0].shape[-1]} units")
        return inverted_dropout(inputs[0], mask, 1 - module.p)

    handle = layer.register_forward_hook(apply)
    try:
        yield
    finally:
        handle.remove()


def outputs_for_all_masks(model: nn.Module, x: torch.Tensor, n_units: int):
    """Outputs of ``model`` at ``x`` under every mask of its dropout layer and their probabilities.

    Returns ``(outputs, probs)`` with ``outputs`` of shape ``(2^n_units, *model(x).shape)``: the
    network's predictive distribution is exactly this finite mixture over masks: the approximate
    predictive of paper eq. (5) with its integral over q(ω) a finite sum (chapter 4).
    ``n_units`` must be the width of the dropout layer's input.
    """
    layer = _single_dropout(model)
    masks = enumerate_masks(n_units)
    _checks.model_input("x", x, model)
    outputs = []
    with torch.no_grad():
        for mask in masks:
            with fixed_mask(model, mask):
                try:
                    outputs.append(model(x))
                except ValueError as err:
                    raise ValueError(f"n_units={n_units} does not match the dropout layer: {err}") from err
    outputs = torch.stack(outputs)
    # float64 masks: float32 probabilities would sum to 1 only to ~1e-7 and blur an exact mixture mean.
    return outputs, mask_probabilities(masks.double(), 1 - layer.p).to(outputs.dtype).to(outputs.device)


def sample_weight_rows(mean_row, keep_prob: float, sigma: float, n_samples: int, seed=None) -> np.ndarray:
    """Draws of one weight row from ``q(w) = p·N(m, σ²I) + (1 − p)·N(0, σ²I)``, shape (n_samples, K)."""
    mean_row = _checks.finite_array("mean_row", mean_row, ndim=1)
    keep_prob = _checks.probability("keep_prob", keep_prob, open_interval=True)
    sigma = _checks.positive("sigma", sigma)
    n_samples = _checks.positive_int("n_samples", n_samples)
    rng = np.random.default_rng(_checks.seed("seed", seed))
    kept = rng.random((n_samples, 1)) < keep_prob
    return kept * mean_row + sigma * rng.standard_normal((n_samples, len(mean_row)))


def weight_marginal_density(w, mean: float, keep_prob: float, sigma: float) -> np.ndarray:
    """Density of one coordinate of a weight row under q: ``p·N(w; m, σ²) + (1 − p)·N(w; 0, σ²)``."""
    from scipy.stats import norm

    keep_prob = _checks.probability("keep_prob", keep_prob, open_interval=True)
    sigma = _checks.positive("sigma", sigma)
    w = _checks.finite_array("w", w, ndim=(0, 1, 2))
    mean = float(_checks.finite_array("mean", mean, ndim=0))
    return keep_prob * norm.pdf(w, mean, sigma) + (1 - keep_prob) * norm.pdf(w, 0.0, sigma)

"""MC dropout prediction (chapter 6, "MC dropout prediction"): Monte Carlo estimates of the
approximate predictive of paper eq. (5), its mean (paper eq. (6)) and variance, and the test
log-likelihood of paper eq. (8); the uncertainty of classifiers (chapter 9).

``mc_samples`` draws T weight samples ω̂_t ~ q(ω) — one dropout mask per pass, shared by all
N inputs of that pass, exactly as paper eq. (6) averages ŷ(x*, ω̂_t) — and evaluates all T passes in
one batched forward call (chunked to bound memory) instead of a Python loop.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
import torch
from torch import nn
from torch.nn.modules.dropout import _DropoutNd

from mcdrop import _checks
from mcdrop._torch_state import preserved_modes

_MAX_ROWS_PER_CHUNK = 1 << 16


def keep_mask(shape, keep_prob: float, generator: torch.Generator, dtype=torch.float32) -> torch.Tensor:
    """A {0, 1/keep_prob}-valued tensor with ``P(entry ≠ 0) = keep_prob``: inverted-dropout scaling."""
    if not 0 < keep_prob <= 1:
        raise ValueError(f"keep_prob must lie in (0, 1], got {keep_prob}")
    kept = torch.rand(shape, generator=generator) < keep_prob
    return kept.to(dtype) / keep_prob


def _dropout_layers(model: nn.Module):
    layers = [m for m in model.modules() if isinstance(m, _DropoutNd)]
    unsupported = [type(m).__name__ for m in layers if not isinstance(m, nn.Dropout)]
    if unsupported:
        raise ValueError(f"model contains unsupported dropout layers {unsupported}; only nn.Dropout and its "
                         "subclasses (e.g. mcdrop.concrete.ConcreteDropout) are supported")
    if not layers:
        raise ValueError("model contains no nn.Dropout layer: its T passes would be identical")
    return layers


def mc_samples(model: nn.Module, x: torch.Tensor, T: int, seed=None, chunk_size=None,
               enable_grad: bool = False) -> torch.Tensor:
    """``T`` stochastic forward passes of ``model`` at ``x``; shape ``(T, *model(x).shape)``.

    Pass t is the network with weights ω̂_t ~ q(ω): the passes are Monte Carlo draws from the
    approximate predictive of paper eq. (5) (chapter 6).

    Every ``nn.Dropout`` applies a fresh mask per pass (shared across the N rows of ``x``, so
    pass t is the network with weights ω̂_t); everything else runs in eval mode, so BatchNorm
    uses and keeps its running statistics. No parameter, buffer or mode of ``model`` changes,
    and the global RNG is untouched: the result depends only on ``seed``. Dim 0 of ``x`` must be
    the batch dimension in every layer. ``chunk_size`` passes are evaluated per forward call
    (default: as many as fit in 65,536 rows). ``enable_grad=True`` keeps the graph, so that
    gradients with respect to ``x`` flow through the T passes (for attacks on the MC prediction).
    """
    T = _checks.positive_int("T", T)
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() == 0 or x.shape[0] == 0:
        raise ValueError(f"x must have a non-empty batch dimension, got shape {tuple(x.shape)}")
    if x.is_floating_point() and not torch.isfinite(x).all():
        raise ValueError("x contains NaN or inf")
    n = x.shape[0]
    chunk = max(1, _MAX_ROWS_PER_CHUNK // n) if chunk_size is None else _checks.positive_int("chunk_size", chunk_size)
    layers = _dropout_layers(model)
    if seed is None:
        seed = int(torch.randint(0, 2**62, (1,)).item())
    # One generator per dropout layer, each drawing its masks in pass order: chunking cannot
    # change which mask a pass gets.
    layer_seeds = np.random.SeedSequence(seed).generate_state(len(layers), dtype=np.uint64)
    generators = {layer: torch.Generator().manual_seed(int(s)) for layer, s in zip(layers, layer_seeds)}
    passes_in_chunk = [0]

    def apply_shared_mask(module, inputs, output):
        h = inputs[0]
        grouped = h.reshape(passes_in_chunk[0], n, *h.shape[1:])
        mask = keep_mask((grouped.shape[0], 1, *grouped.shape[2:]), 1 - module.p, generators[module], h.dtype)
        return (grouped * mask.to(h.device)).reshape(h.shape)

    handles = [layer.register_forward_hook(apply_shared_mask) for layer in layers]
    outputs = []
    try:
        with preserved_modes(model), torch.set_grad_enabled(enable_grad):
            model.eval()
            for start in range(0, T, chunk):
                passes_in_chunk[0] = min(chunk, T - start)
                repeated = x.repeat(passes_in_chunk[0], *([1] * (x.dim() - 1)))
                out = model(repeated)
                outputs.append(out.reshape(passes_in_chunk[0], n, *out.shape[1:]))
    finally:
        for handle in handles:
            handle.remove()
    return torch.cat(outputs)


def _as_samples(samples, name="samples"):
    samples = torch.as_tensor(samples)
    if samples.dim() not in (2, 3):
        raise ValueError(f"{name} must have shape (T, N) or (T, N, D), got {tuple(samples.shape)}")
    if not torch.isfinite(samples).all():
        raise ValueError(f"{name} contains NaN or inf")
    return samples


def regression_moments(samples, tau: float):
    """Predictive mean ``(1/T) Σ_t ŷ_t`` (paper eq. (6), chapter 6) and variance
    ``τ⁻¹ + (1/T) Σ_t ŷ_t² − mean²`` (the biased sample variance of the T passes plus the
    observation noise)."""
    samples = _as_samples(samples)
    tau = _checks.positive("tau", tau)
    mean = samples.mean(dim=0)
    variance = (samples**2).mean(dim=0) - mean**2
    return mean, variance.clamp_min(0) + 1.0 / tau


def regression_log_likelihood(samples, y, tau: float):
    """Per-point predictive log-likelihood, paper eq. (8) (chapter 6):
    ``logsumexp_t(−½τ‖y − ŷ_t‖²) − log T − (D/2) log 2π + (D/2) log τ``; shape (N,)."""
    samples = _as_samples(samples)
    tau = _checks.positive("tau", tau)
    y = y.to(samples.dtype) if isinstance(y, torch.Tensor) else torch.tensor(np.asarray(y), dtype=samples.dtype)
    if y.shape != samples.shape[1:]:
        raise ValueError(f"y has shape {tuple(y.shape)} but samples are {tuple(samples.shape)}; expected {tuple(samples.shape[1:])}")
    squared = (samples - y) ** 2
    squared = squared.sum(dim=2) if samples.dim() == 3 else squared
    d = samples.shape[2] if samples.dim() == 3 else 1
    T = samples.shape[0]
    return (torch.logsumexp(-0.5 * tau * squared, dim=0) - math.log(T)
            - 0.5 * d * math.log(2 * math.pi) + 0.5 * d * math.log(tau))


class ClassificationUncertainty(NamedTuple):
    """Per-input uncertainty of an MC dropout classifier, each of shape (N,)."""

    entropy: torch.Tensor
    mutual_information: torch.Tensor
    variation_ratio: torch.Tensor


def classification_uncertainty(prob_samples, atol: float = 1e-4) -> ClassificationUncertainty:
    """Predictive entropy ``H[p̄]``, mutual information ``H[p̄] − (1/T) Σ_t H[p_t]`` (BALD) and
    variation ratio ``1 − (count of the modal class)/T`` from softmax samples (T, N, C), with
    ``p̄`` the average of the T passes, paper eq. (6) for the softmax output (chapter 9)."""
    probs = torch.as_tensor(prob_samples)
    if probs.dim() != 3:
        raise ValueError(f"prob_samples must have shape (T, N, C), got {tuple(probs.shape)}")
    if not torch.isfinite(probs).all() or (probs < 0).any():
        raise ValueError("prob_samples must be finite and non-negative")
    if not torch.allclose(probs.sum(dim=2), torch.ones((), dtype=probs.dtype), atol=atol):
        raise ValueError("prob_samples must sum to 1 over the class dimension")

    def entropy(p):
        return -(p * torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))).sum(dim=-1)

    mean = probs.mean(dim=0)
    predictive_entropy = entropy(mean)
    mutual_information = (predictive_entropy - entropy(probs).mean(dim=0)).clamp_min(0)
    votes = torch.nn.functional.one_hot(probs.argmax(dim=2), probs.shape[2]).sum(dim=0)
    variation_ratio = 1 - votes.max(dim=1).values.to(probs.dtype) / probs.shape[0]
    return ClassificationUncertainty(predictive_entropy, mutual_information, variation_ratio)


def select_tau(samples, y, tau_grid):
    """The τ from ``tau_grid`` with the highest mean paper eq. (8) log-likelihood of ``y`` under
    ``samples`` (validation data), and every candidate's score as a dict (chapter 8)."""
    scores = {float(t): float(regression_log_likelihood(samples, y, t).mean()) for t in tau_grid}
    if not scores:
        raise ValueError("tau_grid must not be empty")
    return max(scores, key=scores.get), scores

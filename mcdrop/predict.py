"""MC dropout prediction (chapter 6, "MC dropout prediction"): Monte Carlo estimates of the
approximate predictive of paper eq. (5), its mean (paper eq. (6)) and variance, and the test
log-likelihood of paper eq. (8); the uncertainty of classifiers (chapter 9).

``mc_samples`` draws T weight samples ω̂_t ~ q(ω) — by default one dropout mask per pass, shared
by all N inputs of that pass, exactly as paper eq. (6) averages ŷ(x*, ω̂_t) — and evaluates all T
passes in one batched forward call (chunked to bound memory) instead of a Python loop.
Moments and log-likelihoods are accumulated in float64 whatever the samples' dtype.
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
from mcdrop.dropout import bernoulli_mask, inverted_dropout

_MAX_ROWS_PER_CHUNK = 1 << 16
MAX_ROWS = 1 << 26
"""Largest ``T·N`` (passes × rows) that :func:`mc_samples` evaluates in one call."""

_ELEMENTWISE = (nn.Dropout, nn.AlphaDropout)
_CHANNEL = (nn.Dropout1d, nn.Dropout2d, nn.Dropout3d, nn.FeatureAlphaDropout)
_ALPHA = 1.7580993408473766  # SELU's −λα: the value an alpha-dropped unit is set to, before rescaling


def _dropout_layers(model: nn.Module) -> dict:
    """Every dropout layer of ``model`` with its qualified name; raise on ones that cannot be sampled."""
    layers = {}
    for name, module in model.named_modules():
        if not isinstance(module, (_DropoutNd, nn.AlphaDropout, nn.FeatureAlphaDropout)):
            continue
        label = f"model.{name}" if name else "model"
        if not isinstance(module, _ELEMENTWISE + _CHANNEL):  # subclasses too (ConcreteDropout)
            raise ValueError(f"{label} is a {type(module).__name__}, which mc_samples does not know how to "
                             f"sample; supported: {[t.__name__ for t in _ELEMENTWISE + _CHANNEL]}")
        if not 0 <= module.p < 1:
            raise ValueError(f"{label} ({type(module).__name__}) has p={module.p}: it drops every unit, so its "
                             "passes carry no signal; expected a drop probability 0 <= p < 1")
        layers[module] = label
    if not layers:
        raise ValueError("model contains no dropout layer (nn.Dropout, Dropout1d/2d/3d, AlphaDropout, "
                         "FeatureAlphaDropout): its T passes would be identical")
    return layers


def _mask_shape(module, label, grouped, per_row):
    """Shape of the {0, 1} mask for ``grouped`` = (passes, N, *features): one entry per feature for
    element-wise dropout, one per channel (dim 1 of the layer's input) for channel dropout."""
    rows = grouped.shape[1] if per_row else 1
    if isinstance(module, _CHANNEL):
        if grouped.dim() < 4:
            raise ValueError(f"{label} ({type(module).__name__}) drops whole channels and needs an input of shape "
                             f"(N, C, ...) with at least one dimension after C, got {tuple(grouped.shape[1:])}")
        return (grouped.shape[0], rows, grouped.shape[2], *[1] * (grouped.dim() - 3))
    return (grouped.shape[0], rows, *grouped.shape[2:])


def _apply_mask(module, values, mask):
    keep_prob = 1.0 - module.p
    if not isinstance(module, (nn.AlphaDropout, nn.FeatureAlphaDropout)):
        return inverted_dropout(values, mask, keep_prob)
    # torch's alpha dropout: dropped units are set to −λα and the result is affinely rescaled so
    # that zero mean and unit variance are kept (Klambauer et al., 2017).
    mask = mask.to(values.dtype).to(values.device)
    a = 1.0 / math.sqrt((_ALPHA**2 * module.p + 1) * keep_prob)
    return values * mask * a + (mask - 1) * _ALPHA * a + _ALPHA * a * module.p


def mc_samples(model: nn.Module, x: torch.Tensor, T: int, seed=None, chunk_size=None,
               enable_grad: bool = False, masks: str = "per-pass") -> torch.Tensor:
    """``T`` stochastic forward passes of ``model`` at ``x``; shape ``(T, *model(x).shape)``.

    Pass t is the network with weights ω̂_t ~ q(ω): the passes are Monte Carlo draws from the
    approximate predictive of paper eq. (5) (chapter 6).

    Every dropout layer (``nn.Dropout``, ``Dropout1d/2d/3d`` and ``FeatureAlphaDropout`` with one
    mask entry per channel, ``AlphaDropout``) applies a fresh mask per pass; everything else runs
    in eval mode, so BatchNorm uses and keeps its running statistics. ``masks="per-pass"`` (the
    default) shares each pass's mask across the N rows of ``x``: pass t is the network with weights
    ω̂_t (paper eq. (6)), so the T outputs at different rows are coherent function samples whose
    covariance :func:`predictive_covariance` reads. ``masks="per-row"`` draws an independent mask
    for every row of every pass, as ``model.train()`` would: the same marginal predictive at each
    row, but no covariance between rows.

    No parameter, buffer or mode of ``model`` changes, and no global RNG is read or advanced:
    the result depends only on ``seed`` (``None``: fresh OS entropy). Masks are drawn on the CPU
    and moved to ``x``'s device, so a seed gives the same masks on every device. Dim 0 of ``x``
    must be the batch dimension in every layer. ``chunk_size`` passes are evaluated per forward
    call (default: as many as fit in 65,536 rows); ``T·N`` may not exceed :data:`MAX_ROWS`.
    ``enable_grad=True`` keeps the graph, so that gradients with respect to ``x`` flow through the
    T passes (for attacks on the MC prediction).
    """
    _checks.module("model", model)
    T = _checks.positive_int("T", T)
    _checks.model_input("x", x, model)
    if masks not in ("per-pass", "per-row"):
        raise ValueError(f"masks must be 'per-pass' or 'per-row', got {masks!r}")
    n = x.shape[0]
    if T * n > MAX_ROWS:
        raise ValueError(f"T={T} passes over {n} rows make {T * n:,} rows, more than mc_samples evaluates in one "
                         f"call ({MAX_ROWS:,}); the Monte Carlo error shrinks only as 1/sqrt(T), so lower T or "
                         "split x")
    chunk = max(1, _MAX_ROWS_PER_CHUNK // n) if chunk_size is None else _checks.positive_int("chunk_size", chunk_size)
    layers = _dropout_layers(model)
    # One generator per dropout layer, each drawing its masks in pass order: chunking cannot
    # change which mask a pass gets.
    layer_seeds = np.random.SeedSequence(_checks.int_seed("seed", seed)).generate_state(len(layers), dtype=np.uint64)
    generators = {layer: torch.Generator().manual_seed(int(s)) for layer, s in zip(layers, layer_seeds)}
    passes_in_chunk = [0]

    def apply_masks(module, inputs, output):
        h = inputs[0]
        grouped = h.reshape(passes_in_chunk[0], n, *h.shape[1:])
        shape = _mask_shape(module, layers[module], grouped, masks == "per-row")
        mask = bernoulli_mask(shape, 1.0 - module.p, generators[module])
        return _apply_mask(module, grouped, mask).reshape(h.shape)

    handles = [layer.register_forward_hook(apply_masks) for layer in layers]
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


def _as_samples(samples, name="samples", ndim=(2, 3)) -> torch.Tensor:
    """``samples`` as a float64 tensor (on its device), checked for shape, emptiness and finiteness."""
    if not isinstance(samples, torch.Tensor):
        try:
            samples = torch.as_tensor(np.asarray(samples))
        except (TypeError, ValueError, RuntimeError) as err:
            raise TypeError(f"{name} must be a tensor or array of numbers, got {type(samples).__name__}") from err
    if samples.dtype == torch.bool or samples.is_complex():
        raise TypeError(f"{name} must hold real numbers, got dtype {samples.dtype}")
    if samples.dim() not in ndim:
        shapes = " or ".join({2: "(T, N)", 3: "(T, N, D)"}[d] for d in ndim)
        raise ValueError(f"{name} must have shape {shapes}, got {tuple(samples.shape)}")
    if samples.numel() == 0:
        raise ValueError(f"{name} must not be empty, got shape {tuple(samples.shape)}")
    samples = samples.to(torch.float64)
    if not torch.isfinite(samples).all():
        raise ValueError(f"{name} contains NaN or inf; expected finite numbers")
    return samples


def _centred(samples):
    """Mean over passes and the deviations from it, in float64 (two-pass: no cancellation)."""
    mean = samples.mean(dim=0)
    deviations = samples - mean
    # One refinement step: the mean of the float64 deviations removes the mean's own rounding.
    correction = deviations.mean(dim=0)
    return mean + correction, deviations - correction


def regression_moments(samples, tau: float):
    """Predictive mean ``(1/T) Σ_t ŷ_t`` (paper eq. (6), chapter 6) and variance ``τ⁻¹ + (1/T) Σ_t (ŷ_t − mean)²``
    (the biased sample variance of the T passes plus the observation noise), in float64.

    The variance is accumulated from centred samples, so it is exact to float64 rounding at any
    offset (float32 passes at 10⁴ with spread 10⁻² give 10⁻⁴, not 0)."""
    samples = _as_samples(samples)
    tau = _checks.positive("tau", tau)
    mean, deviations = _centred(samples)
    return mean, (deviations**2).mean(dim=0) + 1.0 / tau


def predictive_covariance(samples, tau: float) -> torch.Tensor:
    """Predictive covariance across the N rows of per-pass samples (T, N), float64 (N, N):
    ``(1/T) Σ_t (ŷ_t − ŷ̄)(ŷ_t − ŷ̄)ᵀ + τ⁻¹ I``; its diagonal is :func:`regression_moments`'s variance.

    Only ``mc_samples(..., masks="per-pass")`` samples carry the covariance of the function
    samples ω̂_t between rows (chapter 6); with per-row masks the off-diagonal is noise around 0."""
    samples = _as_samples(samples, ndim=(2,))
    tau = _checks.positive("tau", tau)
    _, deviations = _centred(samples)
    cov = deviations.T @ deviations / samples.shape[0]
    return cov + torch.eye(samples.shape[1], dtype=torch.float64, device=cov.device) / tau


def _targets(y, samples) -> torch.Tensor:
    """``y`` checked (finite, non-empty, shape ``samples.shape[1:]``) as float64 on the samples' device."""
    if isinstance(y, torch.Tensor):
        y = y.detach().cpu()
    y = torch.tensor(_checks.finite_array("y", y, ndim=(1, 2)), device=samples.device)
    if y.shape != samples.shape[1:]:
        raise ValueError(f"y has shape {tuple(y.shape)} but samples are {tuple(samples.shape)}; "
                         f"expected {tuple(samples.shape[1:])}")
    return y


def _log_likelihood(samples, y, tau):
    squared = (samples - y) ** 2
    squared = squared.sum(dim=2) if samples.dim() == 3 else squared
    d = samples.shape[2] if samples.dim() == 3 else 1
    return (torch.logsumexp(-0.5 * tau * squared, dim=0) - math.log(samples.shape[0])
            - 0.5 * d * math.log(2 * math.pi) + 0.5 * d * math.log(tau))


def regression_log_likelihood(samples, y, tau: float):
    """Per-point predictive log-likelihood, paper eq. (8) (chapter 6), in float64:
    ``logsumexp_t(−½τ‖y − ŷ_t‖²) − log T − (D/2) log 2π + (D/2) log τ``; shape (N,)."""
    samples = _as_samples(samples)
    tau = _checks.positive("tau", tau)
    return _log_likelihood(samples, _targets(y, samples), tau)


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
    if not probs.is_floating_point():
        raise TypeError(f"prob_samples must be floating-point probabilities, got dtype {probs.dtype}")
    if probs.dim() != 3:
        raise ValueError(f"prob_samples must have shape (T, N, C), got {tuple(probs.shape)}")
    if probs.numel() == 0:
        raise ValueError(f"prob_samples must have T >= 1 passes, N >= 1 inputs and C >= 1 classes, "
                         f"got shape {tuple(probs.shape)}")
    atol = _checks.positive("atol", atol)
    if not torch.isfinite(probs).all() or (probs < 0).any():
        raise ValueError("prob_samples must be finite and non-negative")
    if not torch.allclose(probs.sum(dim=2), torch.ones((), dtype=probs.dtype, device=probs.device), atol=atol):
        raise ValueError(f"prob_samples must sum to 1 over the class dimension (within atol={atol})")

    def entropy(p):
        return -(p * torch.log(p.clamp_min(torch.finfo(p.dtype).tiny))).sum(dim=-1)

    mean = probs.mean(dim=0)
    predictive_entropy = entropy(mean)
    mutual_information = (predictive_entropy - entropy(probs).mean(dim=0)).clamp_min(0)
    votes = torch.nn.functional.one_hot(probs.argmax(dim=2), probs.shape[2]).sum(dim=0)
    variation_ratio = 1 - votes.max(dim=1).values.to(probs.dtype) / probs.shape[0]
    return ClassificationUncertainty(predictive_entropy, mutual_information, variation_ratio)


def select_tau(samples, y, tau_grid):
    """The τ from ``tau_grid`` (absolute precisions, in units of 1/y²) with the highest mean
    paper eq. (8) log-likelihood of ``y`` under ``samples`` (validation data; chapter 8), and every
    candidate's score as a dict."""
    samples = _as_samples(samples)
    y = _targets(y, samples)
    grid = _checks.finite_array("tau_grid", tau_grid, ndim=1)
    scores = {float(t): float(_log_likelihood(samples, y, _checks.positive(f"tau_grid[{i}]", float(t))).mean())
              for i, t in enumerate(grid)}
    return max(scores, key=scores.get), scores

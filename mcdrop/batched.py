"""M small dropout networks trained and MC-evaluated as one computation (chapter 10, "UCI Table 1";
chapter 11, "What MC dropout gets wrong, measured", trains the members of a deep ensemble with it,
drop probability 0).

Model ``m`` is ``Dropout → Linear → ReLU → Dropout → … → Linear`` (the official UCI network,
dropout on the inputs too), with its weights stored stacked as ``(M, in, out)`` so that one
``torch.bmm`` serves all M models. Every model has its own training rows (padded to the
largest set, with per-model index tensors), minibatch order, dropout masks, keep probability
and weight decays; the loss is each model's own mean squared error ``mean_b (y − ŷ)²`` (the
official Keras loss, no ½), so the models never interact. Adam is elementwise, so the stacked
update is M independent Adam runs. Gradients are written by hand (no autograd graph).

Random numbers come from one ``torch.Generator`` per *group* of models (the models of one
split), drawn in a fixed order, so a model's result does not depend on which other groups share
its batch. Masks at prediction time are drawn per pass and shared by the rows of a pass: each
pass is one weight sample ω̂_t of paper eq. (6) (the official Keras code draws masks per row; each
row's T predictions have the same distribution either way).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from mcdrop import _checks

_BETA1, _BETA2, _EPS = 0.9, 0.999, 1e-8
_PASS_BLOCK = 128  # prediction masks are drawn for this many passes at a time, whatever the chunk
_MAX_HIDDEN_ELEMENTS = 1 << 23


class Sampler:
    """Batch orders and uniform numbers for dropout masks, one generator per group of models.

    ``groups`` is a list of ``(generator, n_models)`` covering the M models in order. Tests
    subclass it to record or inject the draws.
    """

    def __init__(self, groups):
        self.groups = [(g, _checks.positive_int("group size", k)) for g, k in groups]
        self.n_models = sum(k for _, k in self.groups)

    def orders(self, n_rows: torch.Tensor, n_max: int) -> torch.Tensor:
        """``(M, n_max)`` row orders: a uniformly random permutation of each model's own rows
        first, then its padding positions."""
        keys = torch.cat([torch.rand((k, n_max), generator=g) for g, k in self.groups])
        keys.masked_fill_(torch.arange(n_max) >= n_rows[:, None], 2.0)
        return keys.argsort(dim=1)

    def uniforms(self, shape) -> torch.Tensor:
        """``(M, *shape)`` uniforms on [0, 1), drawn group by group."""
        out, start = torch.empty((self.n_models, *shape)), 0
        for g, k in self.groups:
            torch.rand((k, *shape), generator=g, out=out[start:start + k])
            start += k
        return out

    def pass_uniforms(self, n_passes: int, width: int) -> torch.Tensor:
        """``(n_passes, M, width)`` uniforms for prediction masks."""
        return self.uniforms((n_passes, width)).transpose(0, 1)


def masks_from_uniforms(u: torch.Tensor, keep_prob: torch.Tensor) -> torch.Tensor:
    """Inverted-dropout masks, in place: ``⌊u + p⌋ / p`` is ``1/p`` with probability ``p`` (the
    keep probability, broadcast against ``u``) and 0 otherwise."""
    return u.add_(keep_prob).floor_().div_(keep_prob)


def seeded_sampler(seeds, sizes) -> Sampler:
    """A :class:`Sampler` with one ``torch.Generator`` seeded from each ``seeds[i]`` (an int or a
    tuple of ints, e.g. ``(seed, split)``) for a group of ``sizes[i]`` models."""
    groups = []
    for seed, size in zip(seeds, sizes, strict=True):
        state = np.random.SeedSequence(seed).generate_state(1, dtype=np.uint64)[0]
        groups.append((torch.Generator().manual_seed(int(state)), size))
    return Sampler(groups)


@dataclass
class StackedMLP:
    """M networks' parameters, one flat ``(M, P)`` buffer with per-layer views."""

    flat: torch.Tensor
    shapes: tuple
    keep_prob: torch.Tensor  # (M,)

    def layers(self, flat=None):
        """``[(W, b), …]`` views of ``flat`` (default: the parameters), W ``(M, in, out)``, b ``(M, 1, out)``."""
        flat = self.flat if flat is None else flat
        views, offset, M = [], 0, flat.shape[0]
        for n_in, n_out in self.shapes:
            W = flat[:, offset:offset + n_in * n_out].view(M, n_in, n_out)
            offset += n_in * n_out
            b = flat[:, offset:offset + n_out].view(M, 1, n_out)
            offset += n_out
            views.append((W, b))
        return views


def _layer_shapes(n_features, hidden_layer_sizes):
    widths = [n_features, *hidden_layer_sizes, 1]
    return tuple(zip(widths[:-1], widths[1:]))


def glorot_init(n_models: int, n_features: int, hidden_layer_sizes, sampler: Sampler) -> torch.Tensor:
    """Flat ``(M, P)`` parameters: Keras's default ``glorot_uniform`` weights, zero biases."""
    pieces = []
    for n_in, n_out in _layer_shapes(n_features, hidden_layer_sizes):
        limit = math.sqrt(6.0 / (n_in + n_out))
        pieces += [(2 * sampler.uniforms((n_in * n_out,)) - 1) * limit, torch.zeros(n_models, n_out)]
    return torch.cat(pieces, dim=1)


def _pad(arrays, name):
    n_rows = [len(a) for a in arrays]
    if min(n_rows) < 1:
        raise ValueError(f"every model needs at least one row of {name}")
    first = np.asarray(arrays[0])
    out = torch.zeros((len(arrays), max(n_rows), *first.shape[1:]), dtype=torch.float32)
    for m, a in enumerate(arrays):
        out[m, :len(a)] = torch.as_tensor(np.asarray(a), dtype=torch.float32)
    return out, torch.tensor(n_rows)


def _per_model(name, values, n_models):
    values = torch.as_tensor(np.broadcast_to(np.asarray(values, dtype=float), (n_models,)).copy(), dtype=torch.float32)
    if not torch.isfinite(values).all() or (values < 0).any():
        raise ValueError(f"{name} must be finite and >= 0 for every model")
    return values


def train(inputs, targets, *, hidden_layer_sizes=(50,), drop_prob, weight_decay, bias_decay=0.0,
          n_epochs: int, batch_size: int, sampler: Sampler, lr: float = 1e-3, init=None,
          progress=None) -> StackedMLP:
    """Train M networks at once with Adam on ``mean_b (y − ŷ)² + Σ_i (wd/2)‖W_i‖² + (bd/2)‖b_i‖²``
    (chapter 10; chapter 11's deep ensembles with ``drop_prob=0``).

    ``inputs[m]`` ``(n_m, D)`` and ``targets[m]`` ``(n_m,)`` are model m's (already
    standardised) training rows; ``drop_prob``, ``weight_decay`` (the torch ``weight_decay`` of
    every weight matrix, e.g. from :func:`mcdrop.kl.optimizer_weight_decay`, paper eq. (7)) and
    ``bias_decay`` are scalars or length-M. Each epoch visits every model's rows once in its own
    random order, in minibatches of ``batch_size`` (the last one smaller, as in Keras); a model
    whose rows are used up waits (no Adam step) while larger ones finish. ``progress`` is called
    with the number of finished epochs.
    """
    X, n_rows = _pad(inputs, "inputs")
    Y, n_targets = _pad(targets, "targets")
    if not torch.equal(n_rows, n_targets):
        raise ValueError("inputs and targets must have the same number of rows for every model")
    M, n_max, D = X.shape
    if sampler.n_models != M:
        raise ValueError(f"sampler covers {sampler.n_models} models but inputs has {M}")
    n_epochs = _checks.positive_int("n_epochs", n_epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    lr = _checks.positive("lr", lr)
    drop = _per_model("drop_prob", drop_prob, M)
    if (drop >= 1).any():
        raise ValueError("drop_prob must lie in [0, 1) for every model")
    keep = 1 - drop
    wd, bd = _per_model("weight_decay", weight_decay, M), _per_model("bias_decay", bias_decay, M)
    shapes = _layer_shapes(D, hidden_layer_sizes)
    flat = glorot_init(M, D, hidden_layer_sizes, sampler) if init is None else init.clone().float()
    model = StackedMLP(flat, shapes, keep)
    decay = torch.cat([torch.cat([wd[:, None].expand(M, a * b), bd[:, None].expand(M, b)], dim=1)
                       for a, b in shapes], dim=1)
    grad, exp_avg, exp_avg_sq = torch.zeros_like(flat), torch.zeros_like(flat), torch.zeros_like(flat)
    grad_views = model.layers(grad)
    steps = np.zeros(M, dtype=np.int64)
    offsets = (torch.arange(M) * n_max)[:, None]
    X_flat, Y_flat = X.reshape(M * n_max, D), Y.reshape(-1)
    keep3 = keep[:, None, None]
    mask_width = sum(a for a, _ in shapes)
    schedule = _schedule(np.asarray(n_rows), n_max, batch_size)
    for epoch in range(n_epochs):
        order = sampler.orders(n_rows, n_max) + offsets
        for start, b, scale, active in schedule:
            idx = order[:, start:start + b].reshape(-1)
            xb, yb = X_flat[idx].view(M, b, D), Y_flat[idx].view(M, b)
            masks = masks_from_uniforms(sampler.uniforms((b, mask_width)), keep3)
            _gradient(model, xb, yb, masks, scale, grad_views)
            steps += active
            _adam_step(model.flat, grad, exp_avg, exp_avg_sq, decay, steps, active, lr)
        if progress is not None:
            progress(epoch + 1)
    return model


def _schedule(rows, n_max, batch_size):
    """Per minibatch of an epoch: start, width, the ``(M, b)`` loss scale ``2/b_m`` (0 on padding)
    and which models take a step."""
    schedule = []
    for start in range(0, n_max, batch_size):
        counts = np.clip(rows - start, 0, batch_size)
        b = int(counts.max())
        scale = torch.as_tensor(2.0 / np.maximum(counts, 1), dtype=torch.float32)[:, None]
        if counts.min() < b:
            scale = scale * (torch.arange(b) < torch.as_tensor(counts)[:, None])
        schedule.append((start, b, scale, counts > 0))
    return schedule


def _gradient(model, xb, yb, masks, scale, grad_views):
    """Write ``∂/∂θ mean_b (y − ŷ)²`` of every model into ``grad_views`` (hand-derived backward)."""
    layers = model.layers()
    inputs, input_masks, offset = [], [], 0
    h = xb
    for i, (W, b) in enumerate(layers):
        mask = masks[:, :, offset:offset + W.shape[1]]
        offset += W.shape[1]
        input_masks.append(mask)
        inputs.append(h * mask)
        h = torch.bmm(inputs[-1], W).add_(b)
        if i < len(layers) - 1:
            h = h.clamp_min_(0)
    delta = (h[..., 0] - yb).mul_(scale)[..., None]  # (M, b, 1): ∂loss/∂ŷ
    for i in range(len(layers) - 1, -1, -1):
        gW, gb = grad_views[i]
        gW.copy_(torch.bmm(inputs[i].transpose(1, 2), delta))
        gb.copy_(delta.sum(dim=1, keepdim=True))
        if i > 0:
            # layer i's input is relu(z)·mask: it is > 0 exactly where both let the gradient through
            upstream = torch.bmm(delta, layers[i][0].transpose(1, 2)).mul_(input_masks[i])
            delta = torch.ops.aten.threshold_backward(upstream, inputs[i], 0.0)


def _adam_step(flat, grad, exp_avg, exp_avg_sq, decay, steps, active, lr):
    """One Adam update (torch's formula) of every ``active`` model, whose step counts are
    ``steps``, with the L2 term ``decay·θ`` added to the gradient."""
    grad.addcmul_(decay, flat)
    everyone = bool(active.all())
    if not everyone:
        which = torch.as_tensor(active)[:, None]
        old = (flat.clone(), exp_avg.clone(), exp_avg_sq.clone())
    exp_avg.lerp_(grad, 1 - _BETA1)
    exp_avg_sq.mul_(_BETA2).addcmul_(grad, grad, value=1 - _BETA2)
    if everyone and (steps == steps[0]).all():
        t = int(steps[0])
        denom = exp_avg_sq.sqrt().div_(math.sqrt(1 - _BETA2**t)).add_(_EPS)
        flat.addcdiv_(exp_avg, denom, value=-lr / (1 - _BETA1**t))
    else:
        t = torch.as_tensor(np.maximum(steps, 1), dtype=torch.float64)
        step_size = (lr / (1 - _BETA1**t)).float()[:, None]
        denom = exp_avg_sq.sqrt().div_(torch.sqrt(1 - _BETA2**t).float()[:, None]).add_(_EPS)
        flat.sub_(exp_avg.div(denom).mul_(step_size))
    if not everyone:
        for new, previous in zip((flat, exp_avg, exp_avg_sq), old):
            new.copy_(torch.where(which, new, previous))


def outputs(model: StackedMLP, inputs) -> torch.Tensor:
    """``(M, n)`` outputs of every model with dropout off (all masks 1: inverted dropout's weight
    averaging), in the standardised units it was trained in, on shared standardised inputs
    ``(n, D)`` or per-model ones ``(M, n, D)``."""
    layers = model.layers()
    widths = [W.shape[1] for W, _ in layers]
    X = torch.as_tensor(np.asarray(inputs), dtype=torch.float32)
    with torch.no_grad():
        return _forward_passes(layers, X, torch.ones(1, model.flat.shape[0], sum(widths)), widths)[0]


def mc_statistics(model: StackedMLP, inputs, targets, y_mean, y_scale, taus, T: int, sampler: Sampler):
    """MC dropout over T passes of every model, reduced on the fly (no ``(T, M, N)`` tensor is
    kept; chapter 10).

    ``inputs[m]`` are model m's standardised inputs, ``targets[m]`` its targets in ORIGINAL
    units, ``y_mean``/``y_scale`` its target standardisation and ``taus`` an ``(M, K)`` array of
    precisions in original units. Returns the MC mean (paper eq. (6)) and the variance of the T
    passes (without τ⁻¹), each ``(M, n_max)`` in original units, and the per-point
    log-likelihoods of paper eq. (8) ``(M, K, n_max)`` (float64), one per precision; padded
    positions are meaningless.
    """
    T = _checks.positive_int("T", T)
    X, n_rows = _pad(inputs, "inputs")
    Y, _ = _pad(targets, "targets")
    M, n, _ = X.shape
    taus = torch.as_tensor(np.asarray(taus, dtype=float)).reshape(M, -1)
    if not (taus > 0).all():
        raise ValueError("taus must be > 0")
    mu = torch.as_tensor(np.asarray(y_mean, dtype=float)).reshape(M, 1)
    sigma = torch.as_tensor(np.asarray(y_scale, dtype=float)).reshape(M, 1)
    layers = model.layers()
    widths = [W.shape[1] for W, _ in layers]
    hidden_per_pass = M * n * max(W.shape[2] for W, _ in layers)
    chunk = max(1, min(_PASS_BLOCK, _MAX_HIDDEN_ELEMENTS // hidden_per_pass))
    keep = model.keep_prob[None, :, None]
    total, total_sq = torch.zeros(M, n, dtype=torch.float64), torch.zeros(M, n, dtype=torch.float64)
    log_sum = torch.full((M, taus.shape[1], n), -math.inf, dtype=torch.float64)
    with torch.no_grad():
        for block in range(0, T, _PASS_BLOCK):
            n_block = min(_PASS_BLOCK, T - block)
            masks = masks_from_uniforms(sampler.pass_uniforms(n_block, sum(widths)), keep)
            for start in range(0, n_block, chunk):
                out = _forward_passes(layers, X, masks[start:start + chunk], widths)  # (tc, M, n)
                y_hat = out.double() * sigma + mu
                total += y_hat.sum(dim=0)
                total_sq += (y_hat**2).sum(dim=0)
                squared = (y_hat - Y.double()) ** 2
                terms = -0.5 * taus[:, :, None, None] * squared.transpose(0, 1)[:, None]  # (M, K, tc, n)
                log_sum = torch.logaddexp(log_sum, torch.logsumexp(terms, dim=2))
    log_tau = torch.log(taus)[:, :, None]
    ll = log_sum - math.log(T) - 0.5 * math.log(2 * math.pi) + 0.5 * log_tau
    mean = total / T
    return mean, (total_sq / T - mean**2).clamp_min_(0.0), ll


def _forward_passes(layers, X, masks, widths):
    """``(tc, M, n)`` outputs of passes whose input masks are ``masks`` ``(tc, M, Σ widths)``:
    the mask on a layer's input is folded into the rows of its weight matrix (ω̂_t = diag(z_t)·W)."""
    h, offset = X[None], 0
    for i, ((W, b), width) in enumerate(zip(layers, widths)):
        W_t = masks[:, :, offset:offset + width, None] * W[None]
        offset += width
        h = torch.matmul(h, W_t).add_(b[None])
        if i < len(layers) - 1:
            h = h.clamp_min_(0)
    return h[..., 0]

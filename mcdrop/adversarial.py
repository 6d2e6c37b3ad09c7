"""The fast gradient sign method (chapter 9, "When is a classifier uncertain?").

Goodfellow, Shlens & Szegedy (2015): ``x_adv = x + ε·sign(∇ₓ CE(model(x), y))``.
"""

from __future__ import annotations

import torch
from torch import nn

from mcdrop import _checks
from mcdrop._torch_state import preserved_modes
from mcdrop.predict import mc_samples


def _check_attack(model, x, y, eps, clip):
    _checks.module("model", model)
    _checks.model_input("x", x, model)
    if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError(f"y must be a tensor of integer class labels, got {getattr(y, 'dtype', type(y).__name__)}")
    if y.dim() != 1:
        raise ValueError(f"y must be 1-D (one label per row of x), got shape {tuple(y.shape)}")
    _checks.same_length("x", x, "y", y)
    eps = _checks.non_negative("eps", eps)
    if clip is not None:
        if not isinstance(clip, (tuple, list)) or len(clip) != 2:
            raise ValueError(f"clip must be a (low, high) pair or None, got {clip!r}")
        low, high = (_checks.finite_array(f"clip[{i}]", c, ndim=0) for i, c in enumerate(clip))
        if not low < high:
            raise ValueError(f"clip must be (low, high) with low < high, got {clip!r}")
        clip = (float(low), float(high))
    return eps, clip


def _step(x, gradient, eps, clip):
    adversarial = x + eps * gradient.sign()
    return adversarial.clamp(*clip) if clip is not None else adversarial


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, clip=None) -> torch.Tensor:
    """FGSM against the DETERMINISTIC prediction: the gradient is taken through ``model`` in eval
    mode (dropout off, i.e. standard dropout's weight averaging). ``clip=(low, high)`` clamps
    the result; the model's mode is restored and its parameters get no gradient."""
    eps, clip = _check_attack(model, x, y, eps, clip)
    x = x.detach().clone().requires_grad_(True)
    with preserved_modes(model):
        loss = nn.functional.cross_entropy(model.eval()(x), y)
        (gradient,) = torch.autograd.grad(loss, x)
    return _step(x.detach(), gradient, eps, clip)


def fgsm_mc(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, T: int = 20, seed=None,
            clip=None) -> torch.Tensor:
    """FGSM against the MC-AVERAGED prediction: the gradient of ``−log((1/T) Σ_t softmax(f_t(x))_y)``
    through ``T`` dropout passes drawn by :func:`mcdrop.predict.mc_samples`."""
    eps, clip = _check_attack(model, x, y, eps, clip)
    _checks.positive_int("T", T)
    x = x.detach().clone().requires_grad_(True)
    probs = mc_samples(model, x, T, seed=seed, enable_grad=True).softmax(dim=-1).mean(dim=0)
    loss = nn.functional.nll_loss(torch.log(probs.clamp_min(1e-12)), y)
    (gradient,) = torch.autograd.grad(loss, x)
    return _step(x.detach(), gradient, eps, clip)

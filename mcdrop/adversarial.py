"""The fast gradient sign method (chapter 9, "When is a classifier uncertain?").

Goodfellow, Shlens & Szegedy (2015): ``x_adv = x + ε·sign(∇ₓ CE(model(x), y))``.
"""

from __future__ import annotations

import torch
from torch import nn

from mcdrop import _checks
from mcdrop._torch_state import preserved_modes
from mcdrop.predict import mc_samples


def _check_attack(x, y, eps, clip):
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("x and y must be torch tensors")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows but y has {len(y)}")
    if isinstance(eps, bool) or not isinstance(eps, (int, float)) or not eps >= 0:
        raise ValueError(f"eps must be a number >= 0, got {eps}")
    if clip is not None and not clip[0] < clip[1]:
        raise ValueError(f"clip must be (low, high) with low < high, got {clip}")


def _step(x, gradient, eps, clip):
    adversarial = x + eps * gradient.sign()
    return adversarial.clamp(*clip) if clip is not None else adversarial


def fgsm(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, clip=None) -> torch.Tensor:
    """FGSM against the DETERMINISTIC prediction: the gradient is taken through ``model`` in eval
    mode (dropout off, i.e. standard dropout's weight averaging). ``clip=(low, high)`` clamps
    the result; the model's mode is restored and its parameters get no gradient."""
    _check_attack(x, y, eps, clip)
    x = x.detach().clone().requires_grad_(True)
    with preserved_modes(model):
        loss = nn.functional.cross_entropy(model.eval()(x), y)
        (gradient,) = torch.autograd.grad(loss, x)
    return _step(x.detach(), gradient, eps, clip)


def fgsm_mc(model: nn.Module, x: torch.Tensor, y: torch.Tensor, eps: float, T: int = 20, seed=None,
            clip=None) -> torch.Tensor:
    """FGSM against the MC-AVERAGED prediction: the gradient of ``−log((1/T) Σ_t softmax(f_t(x))_y)``
    through ``T`` dropout passes drawn by :func:`mcdrop.predict.mc_samples`."""
    _check_attack(x, y, eps, clip)
    _checks.positive_int("T", T)
    x = x.detach().clone().requires_grad_(True)
    probs = mc_samples(model, x, T, seed=seed, enable_grad=True).softmax(dim=-1).mean(dim=0)
    loss = nn.functional.nll_loss(torch.log(probs.clamp_min(1e-12)), y)
    (gradient,) = torch.autograd.grad(loss, x)
    return _step(x.detach(), gradient, eps, clip)

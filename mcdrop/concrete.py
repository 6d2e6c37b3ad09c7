"""Concrete dropout: a dropout layer whose drop probability is learned (chapter 11, "What MC
dropout gets wrong, measured"; Gal, Hron & Kendall, 2017).

In training the Bernoulli drop indicator is replaced by its relaxation (the concrete, or
Gumbel-softmax, distribution) at temperature ``t``:
``z = sigmoid((log p − log(1 − p) + log u − log(1 − u)) / t)`` with ``u ~ U(0, 1)`` and ``p`` the
DROP probability, and the layer returns ``x·(1 − z)/(1 − p)``. Gradients reach ``p`` through
``z``. At evaluation the layer is the identity (weight averaging) and MC dropout draws hard
Bernoulli masks with the learned ``p``: :class:`ConcreteDropout` is an ``nn.Dropout`` whose
``p`` reads the current learned drop probability, so :func:`mcdrop.predict.mc_samples` treats it
as any other dropout layer.

The regulariser is the KL of paper eq. (3) with the prior ``N(0, l⁻²I)`` on ``M = W/(1 − p)``
(``W`` the stored weight after inverted dropout): ``l²/2·‖W‖²/(1 − p) − K·H(p)`` per layer, ``K``
the number of units the layer drops, ``H`` the Bernoulli entropy; divided by ``N`` and scaled to
the data term that the training loss uses (see :func:`layer_regulariser`).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mcdrop import _checks
from mcdrop.models import MLP

_EPS = 1e-7
_LOSS_SCALES = ("mse", "half_mse", "cross_entropy")


def relaxed_drop_mask(shape, drop_prob: torch.Tensor, temperature: float, generator=None) -> torch.Tensor:
    """Concrete relaxation of a Bernoulli(``drop_prob``) drop indicator, values in (0, 1).

    ``z = sigmoid((log p − log(1 − p) + log u − log(1 − u)) / t)``; ``P(z > ½) = p`` exactly for
    every ``t``, and ``z → Bernoulli(p)`` as ``t → 0``. Differentiable in ``drop_prob``.
    """
    temperature = _checks.positive("temperature", temperature)
    if not isinstance(drop_prob, torch.Tensor):
        raise TypeError(f"drop_prob must be a torch.Tensor, got {type(drop_prob).__name__}")
    u = torch.rand(shape, generator=generator, dtype=drop_prob.dtype)
    logits = (torch.log(drop_prob + _EPS) - torch.log1p(-drop_prob + _EPS)
              + torch.log(u + _EPS) - torch.log1p(-u + _EPS))
    return torch.sigmoid(logits / temperature)


class ConcreteDropout(nn.Dropout):
    """Dropout with a learned drop probability (Gal, Hron & Kendall, 2017).

    ``init_drop_prob`` starts the DROP probability; ``drop_prob`` is the current value as a
    tensor in (0, 1) that carries gradients, ``p`` the same as a float (``nn.Dropout``'s name,
    read by :func:`mcdrop.predict.mc_samples`). In train mode the mask is the concrete
    relaxation at ``temperature``; in eval mode the layer is the identity.
    """

    def __init__(self, init_drop_prob: float = 0.1, temperature: float = 0.1):
        nn.Module.__init__(self)  # nn.Dropout's __init__ would store a fixed float p
        init_drop_prob = _checks.probability("init_drop_prob", init_drop_prob, open_interval=True)
        self.temperature = _checks.positive("temperature", temperature)
        self.inplace = False
        self.drop_logit = nn.Parameter(torch.tensor(math.log(init_drop_prob) - math.log1p(-init_drop_prob)))

    @property
    def drop_prob(self) -> torch.Tensor:
        """The learned drop probability, kept inside [1e-6, 1 − 1e-6] so that logs stay finite."""
        return torch.sigmoid(self.drop_logit).clamp(1e-6, 1 - 1e-6)

    @property
    def p(self) -> float:
        return float(self.drop_prob.detach())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return x
        drop_prob = self.drop_prob.to(x.dtype)
        z = relaxed_drop_mask(x.shape, drop_prob, self.temperature).to(x.device)
        return x * (1 - z) / (1 - drop_prob)

    def extra_repr(self) -> str:
        return f"drop_prob={self.p:.4g}, temperature={self.temperature}"


def layer_regulariser(dropout: ConcreteDropout, weight: torch.Tensor, lengthscale: float, tau: float,
                      n_data: int, loss: str = "mse") -> torch.Tensor:
    """Concrete dropout's regulariser for one layer and the weight that follows it (chapter 11).

    ``KL/N = [l²/2·‖W‖²/(1 − p) + K·(p log p + (1 − p) log(1 − p))] / N`` (paper eq. (3)'s KL per data
    point, ``K = weight.shape[1]``), scaled to the data term of the training loss: ``loss="mse"``
    (``(y − ŷ)²``, torch's ``MSELoss``) multiplies by ``2/τ``, giving Gal et al.'s
    ``l²/(τN)·‖W‖²/(1 − p) + 2/(τN)·K·(p log p + (1 − p) log(1 − p))``; ``"half_mse"`` (``½(y − ŷ)²``)
    by ``1/τ``; ``"cross_entropy"`` (τ = 1) by 1, which drops the 2.
    """
    if not isinstance(dropout, ConcreteDropout):
        raise TypeError(f"dropout must be a ConcreteDropout, got {type(dropout).__name__}")
    if not isinstance(weight, torch.Tensor) or weight.dim() != 2:
        raise TypeError("weight must be a 2-D torch tensor (an nn.Linear weight)")
    lengthscale = _checks.positive("lengthscale", lengthscale)
    tau = _checks.positive("tau", tau)
    n_data = _checks.positive_int("n_data", n_data)
    if loss not in _LOSS_SCALES:
        raise ValueError(f"loss must be one of {_LOSS_SCALES}, got {loss!r}")
    scale = {"mse": 2 / tau, "half_mse": 1 / tau, "cross_entropy": 1.0}[loss]
    p = dropout.drop_prob
    neg_entropy = p * torch.log(p) + (1 - p) * torch.log1p(-p)
    kl = lengthscale**2 / 2 * (weight**2).sum() / (1 - p) + weight.shape[1] * neg_entropy
    return scale * kl / n_data


def dropout_linear_pairs(model: nn.Module):
    """Each :class:`ConcreteDropout` in ``model`` with the ``nn.Linear`` that follows it (module order)."""
    pairs, pending = [], None
    for module in model.modules():
        if isinstance(module, ConcreteDropout):
            if pending is not None:
                raise ValueError("two ConcreteDropout layers follow each other without an nn.Linear between")
            pending = module
        elif isinstance(module, nn.Linear) and pending is not None:
            pairs.append((pending, module))
            pending = None
    if pending is not None:
        raise ValueError("a ConcreteDropout layer is not followed by an nn.Linear")
    return pairs


def regulariser(model: nn.Module, lengthscale: float, tau: float, n_data: int, loss: str = "mse") -> torch.Tensor:
    """Sum of :func:`layer_regulariser` over :func:`dropout_linear_pairs` of ``model``."""
    total = torch.zeros(())
    for dropout, linear in dropout_linear_pairs(model):
        total = total + layer_regulariser(dropout, linear.weight, lengthscale, tau, n_data, loss)
    return total


def concrete_mlp(in_features: int, hidden_layer_sizes=(50,), out_features: int = 1, init_drop_prob: float = 0.1,
                 activation: str = "relu", input_dropout: bool = False, temperature: float = 0.1) -> MLP:
    """An :class:`~mcdrop.models.MLP` whose dropout layers are :class:`ConcreteDropout`, each starting
    at ``init_drop_prob`` (the MLP's ``drop_prob`` attribute keeps that initial value; read the
    learned ones with :func:`drop_probs`)."""
    init_drop_prob = _checks.probability("init_drop_prob", init_drop_prob, open_interval=True)
    model = MLP(in_features, hidden_layer_sizes, out_features, init_drop_prob, activation, input_dropout)
    model.net = nn.Sequential(*[ConcreteDropout(init_drop_prob, temperature) if isinstance(m, nn.Dropout) else m
                                for m in model.net])
    return model


def drop_probs(model: nn.Module) -> list[float]:
    """The learned drop probability of every :class:`ConcreteDropout` in ``model``, in order."""
    return [m.p for m in model.modules() if isinstance(m, ConcreteDropout)]

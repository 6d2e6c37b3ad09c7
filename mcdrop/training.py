"""Training a dropout network on the paper's objective (chapter 6, "MC dropout prediction").

The objective is paper eq. (4) with the Euclidean loss and Prop. 1's KL (chapter 5):
``(1/N) Σ ½(y − ŷ)² + Σ_i λ_i ‖M_i‖² + Σ_i λ_b ‖b_i‖²`` with ``λ_i = p_i l² / (2Nτ)`` (paper
eq. (7); ``p_i`` the keep probability of the mask on layer i's input) and ``λ_b = l²/(2Nτ)``.
PyTorch's inverted dropout stores ``W_i = p_i M_i``, so the decay handed to the optimiser is
:func:`mcdrop.kl.optimizer_weight_decay` with ``convention="pytorch"``; ``"official"`` reproduces
the official UCI code instead (a decay ``p²/2`` times weaker, and, with ``bias_decay=False``, no
decay on biases). Inputs and targets are standardised with the training statistics; τ,
variances and log-likelihoods are read and reported in original units.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm.auto import tqdm

from mcdrop import _checks, kl, predict
from mcdrop._torch_state import preserved_modes, seeded_global_rng
from mcdrop.models import MLP


@dataclass
class FittedRegressor:
    """A trained dropout network with the standardisation it was trained under."""

    model: MLP
    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: float
    y_scale: float
    tau: float
    history: np.ndarray = field(repr=False)

    def standardise_inputs(self, X) -> torch.Tensor:
        """``X`` in the standardised units the network was trained on, as a float32 tensor."""
        X = _checks.finite_array("X", X, ndim=2)
        if X.shape[1] != len(self.x_mean):
            raise ValueError(f"X has {X.shape[1]} features but the model was trained on {len(self.x_mean)}")
        return torch.as_tensor((X - self.x_mean) / self.x_scale, dtype=torch.float32)

    def samples(self, X, T: int = 100, seed=None) -> np.ndarray:
        """``T`` MC dropout predictions in original units, shape (T, N)."""
        draws = predict.mc_samples(self.model, self.standardise_inputs(X), T, seed=seed)[..., 0]
        return draws.double().numpy() * self.y_scale + self.y_mean

    def deterministic(self, X) -> np.ndarray:
        """Standard dropout's prediction (weight averaging: dropout off), original units."""
        with preserved_modes(self.model), torch.no_grad():
            out = self.model.eval()(self.standardise_inputs(X))[:, 0].double().numpy()
        return out * self.y_scale + self.y_mean

    def predict(self, X, T: int = 100, seed=None):
        """Predictive mean and variance (with τ⁻¹) in original units."""
        mean, var = predict.regression_moments(torch.as_tensor(self.samples(X, T, seed)), self.tau)
        return mean.numpy(), var.numpy()

    def log_likelihood(self, X, y, T: int = 100, seed=None) -> np.ndarray:
        """Per-point eq. (8) in original units, shape (N,)."""
        y = _checks.finite_array("y", y, ndim=1)
        _checks.same_length("X", X, "y", y)
        return predict.regression_log_likelihood(self.samples(X, T, seed), y, self.tau).numpy()


def _standardise(values):
    mean, scale = values.mean(axis=0), values.std(axis=0)
    return mean, np.where(scale > 0, scale, 1.0)


def fit_regressor(X, y, *, hidden_layer_sizes=(50,), drop_prob: float = 0.05, lengthscale: float = 1e-2,
                  tau: float = 1.0, n_epochs: int = 400, batch_size: int = 32, lr: float = 1e-3,
                  activation: str = "relu", input_dropout: bool = False,
                  weight_decay_convention: str = "pytorch", bias_decay: bool = True, seed=None,
                  progress: bool = True) -> FittedRegressor:
    """Train an :class:`~mcdrop.models.MLP` with Adam on the objective of paper eq. (4);
    ``tau`` is the model precision in the units of ``y``.

    ``weight_decay_convention`` is ``"pytorch"`` (eq. (4) for the stored weights ``W = p·M``)
    or ``"official"`` (the official UCI code's ``p·l²/(2Nτ)`` on ``W`` with its MSE loss); see
    :func:`mcdrop.kl.optimizer_weight_decay`. ``bias_decay`` applies eq. (4)'s ``l²/(2Nτ)‖b‖²``
    (the official code has none). Seeded runs are reproducible and leave the global RNG untouched.
    """
    X = _checks.finite_array("X", X, ndim=2)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("X", X, "y", y)
    tau = _checks.positive("tau", tau)
    n_epochs = _checks.positive_int("n_epochs", n_epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    lr = _checks.positive("lr", lr)
    x_mean, x_scale = _standardise(X)
    y_mean, y_scale = _standardise(y)
    tau_standardised = tau * y_scale**2
    inputs = torch.as_tensor((X - x_mean) / x_scale, dtype=torch.float32)
    targets = torch.as_tensor((y - y_mean) / y_scale, dtype=torch.float32)[:, None]
    n = len(y)
    with seeded_global_rng(seed):
        model = MLP(X.shape[1], hidden_layer_sizes, 1, drop_prob, activation, input_dropout)
        groups = [{"params": [layer.weight],
                   "weight_decay": kl.optimizer_weight_decay(lengthscale, 1 - keep, n, tau_standardised, loss="half_mse",
                                                             convention=weight_decay_convention)}
                  for layer, keep in model.linear_layers_with_keep_prob()]
        bias_wd = kl.bias_weight_decay(lengthscale, n, tau_standardised, loss="half_mse") if bias_decay else 0.0
        groups.append({"params": [layer.bias for layer, _ in model.linear_layers_with_keep_prob()], "weight_decay": bias_wd})
        history = train_loop(model, inputs, targets, _half_mse, groups, n_epochs, batch_size, lr, progress)
    return FittedRegressor(model, x_mean, x_scale, float(y_mean), float(y_scale), tau, history)


def _half_mse(output, target):
    return 0.5 * torch.nn.functional.mse_loss(output, target)


def train_loop(model: torch.nn.Module, inputs: torch.Tensor, targets: torch.Tensor, loss_fn, param_groups,
               n_epochs: int, batch_size: int, lr: float, progress: bool) -> np.ndarray:
    """Adam over shuffled minibatches in train mode (dropout on) using the global torch RNG,
    which callers seed; returns the mean loss of each epoch. Leaves the model in eval mode."""
    optimizer = torch.optim.Adam(param_groups, lr=lr)
    n = len(inputs)
    history = np.empty(n_epochs)
    model.train()
    for epoch in tqdm(range(n_epochs), disable=not progress, desc="training", unit="epoch"):
        order, total = torch.randperm(n), 0.0
        for start in range(0, n, batch_size):
            batch = order[start:start + batch_size]
            loss = loss_fn(model(inputs[batch]), targets[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += loss.item() * len(batch)
        history[epoch] = total / n
    model.eval()
    return history


def fit_classifier(model: torch.nn.Module, X, y, *, n_epochs: int = 30, batch_size: int = 32, lr: float = 1e-3,
                   weight_decay: float = 1e-4, seed=None, progress: bool = True) -> np.ndarray:
    """Train a classifier in place on the softmax loss (τ = 1 in the paper's §4), with Adam and
    L2 ``weight_decay``; ``X`` is a float tensor, ``y`` integer labels. Seeded runs are
    reproducible and leave the global RNG untouched. Returns the per-epoch loss."""
    if not isinstance(X, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise TypeError("X and y must be torch tensors")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    n_epochs = _checks.positive_int("n_epochs", n_epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    lr = _checks.positive("lr", lr)
    if weight_decay < 0:
        raise ValueError(f"weight_decay must be >= 0, got {weight_decay}")
    with seeded_global_rng(seed):
        groups = [{"params": list(model.parameters()), "weight_decay": weight_decay}]
        return train_loop(model, X, y, torch.nn.functional.cross_entropy, groups, n_epochs, batch_size, lr, progress)

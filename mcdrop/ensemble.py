"""Deep ensembles (chapter 11, "What MC dropout gets wrong, measured"; Lakshminarayanan,
Pritzel & Blundell, 2017), the baseline a user would pick instead of MC dropout.

``M`` ReLU networks without dropout, trained at once by :func:`mcdrop.batched.train` on the same
data from different random initialisations (Keras's ``glorot_uniform``, zero biases) and minibatch
orders, one ``torch.Generator`` per member seeded from ``seed``. Each member minimises the MAP
objective of :func:`mcdrop.training.fit_regressor` with ``dropout="none"``: paper eq. (4)'s
prior ``N(0, l⁻²I)`` as weight decay with keep probability 1, on inputs and targets
standardised with the training statistics (the batched loss is ``mean (y − ŷ)²``, twice
``fit_regressor``'s, so the decays are doubled with it and the minimiser is the same). The
predictive is the equal-weight mixture ``(1/M) Σ_m N(y; f_m(x), τ⁻¹)`` with one FIXED precision
τ in the units of y, handled exactly as in ``fit_regressor``; the paper's per-member
heteroscedastic variance head and adversarial training are not used. Its mean and variance are
paper eq. (6) and the variance below it with the M members in place of the T dropout passes, and
its log-likelihood is paper eq. (8) with the members as the samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from tqdm.auto import tqdm

from mcdrop import _checks, batched, kl, predict
from mcdrop.training import RegressorSettings, _standardise, resolve_settings

#: The RegressorSettings fields a dropout-free ReLU ensemble uses (the dropout fields do not apply).
USED_SETTINGS = ("hidden_layer_sizes", "lengthscale", "n_epochs", "batch_size", "lr", "bias_decay")


@dataclass
class DeepEnsemble:
    """Trained members (one stacked network), their standardisation, the model precision τ
    (units of y) of their Gaussian mixture and the seed each member's generator was given."""

    network: batched.StackedMLP
    x_mean: np.ndarray
    x_scale: np.ndarray
    y_mean: float
    y_scale: float
    tau: float
    seeds: tuple

    def member_predictions(self, X) -> np.ndarray:
        """Each member's prediction in original units, shape (M, N)."""
        X = _checks.finite_array("X", X, ndim=2)
        if X.shape[1] != len(self.x_mean):
            raise ValueError(f"X has {X.shape[1]} features but the ensemble was trained on {len(self.x_mean)}")
        out = batched.outputs(self.network, (X - self.x_mean) / self.x_scale)
        return out.double().numpy() * self.y_scale + self.y_mean

    def predict(self, X):
        """Mixture mean ``(1/M) Σ_m f_m(x)`` and variance ``τ⁻¹ + (1/M) Σ_m f_m(x)² − mean²``."""
        mean, var = predict.regression_moments(torch.as_tensor(self.member_predictions(X)), self.tau)
        return mean.numpy(), var.numpy()

    def log_likelihood(self, X, y) -> np.ndarray:
        """Per-point ``log (1/M) Σ_m N(y; f_m(x), τ⁻¹)`` (paper eq. (8) over members; chapter 11),
        shape (N,)."""
        y = _checks.finite_array("y", y, ndim=1)
        _checks.same_length("X", X, "y", y)
        return predict.regression_log_likelihood(self.member_predictions(X), y, self.tau).numpy()


def member_seeds(seed, n_members: int) -> tuple:
    """The integer seed of each member's generator: ``n_members`` children spawned from ``seed``."""
    children = np.random.SeedSequence(_checks.int_seed("seed", seed)).spawn(_checks.positive_int("n_members", n_members))
    return tuple(int(child.generate_state(1)[0]) for child in children)


def fit_ensemble(X, y, *, n_members: int = 5, tau: float = 1.0, seed=None, settings: RegressorSettings | None = None,
                 progress: bool = False, **overrides) -> DeepEnsemble:
    """Train ``n_members`` dropout-free ReLU networks at once, member m's initialisation and
    minibatch order drawn from ``member_seeds(seed, n_members)[m]`` (chapter 11).

    ``settings`` (default :class:`~mcdrop.training.RegressorSettings()`; its dropout fields are
    not used) with any of :data:`USED_SETTINGS` overridden by keyword; ``tau`` is the model
    precision in the units of ``y``. The weight decay is
    :func:`mcdrop.kl.optimizer_weight_decay` with drop probability 0 (paper eq. (7) with keep
    probability 1; both conventions agree there) and, if ``bias_decay``,
    :func:`mcdrop.kl.bias_weight_decay`, for τ in standardised units, ``τ·σ_y²``, as in
    :func:`mcdrop.training.fit_regressor`. ``progress`` shows a bar over epochs.
    """
    s = resolve_settings("fit_ensemble", settings, overrides, USED_SETTINGS,
                         note=" (it trains ReLU networks without dropout)")
    if s.activation != "relu":
        raise ValueError(f"settings.activation must be 'relu' for a deep ensemble (the batched trainer's), "
                         f"got {s.activation!r}")
    tau = _checks.positive("tau", tau)
    seeds = member_seeds(seed, n_members)
    X = _checks.finite_array("X", X, ndim=2)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("X", X, "y", y)
    x_mean, x_scale = _standardise("X", X)
    y_mean, y_scale = _standardise("y", y)
    n, tau_standardised = len(y), tau * y_scale**2
    weight_decay = kl.optimizer_weight_decay(s.lengthscale, 0.0, n, tau_standardised, loss="mse")
    bias_decay = kl.bias_weight_decay(s.lengthscale, n, tau_standardised, loss="mse") if s.bias_decay else 0.0
    inputs, targets = (X - x_mean) / x_scale, (y - y_mean) / y_scale
    bar = tqdm(total=s.n_epochs, disable=not progress, desc="training", unit="epoch")
    network = batched.train([inputs] * n_members, [targets] * n_members, hidden_layer_sizes=s.hidden_layer_sizes,
                            drop_prob=0.0, weight_decay=weight_decay, bias_decay=bias_decay, n_epochs=s.n_epochs,
                            batch_size=s.batch_size, lr=s.lr, sampler=batched.seeded_sampler(seeds, [1] * n_members),
                            progress=lambda epoch: bar.update(1))
    bar.close()
    return DeepEnsemble(network, x_mean, x_scale, float(y_mean), float(y_scale), tau, seeds)

"""Deep ensembles (chapter 11, "What MC dropout gets wrong, measured"; Lakshminarayanan,
Pritzel & Blundell, 2017), the baseline a user would pick instead of MC dropout.

``M`` networks without dropout, trained from different random initialisations (and minibatch
orders) on the same data with the MAP objective of :func:`mcdrop.training.fit_regressor` with
``dropout="none"`` (its weight decay with keep probability 1, i.e. the prior ``N(0, l⁻²I)``). The predictive is the
equal-weight mixture ``(1/M) Σ_m N(y; f_m(x), τ⁻¹)`` with one FIXED precision τ in the units of
y, handled exactly as in ``fit_regressor``; the paper's per-member heteroscedastic variance head
and adversarial training are not used. Its mean and variance are paper eq. (6) and the variance
below it with the M members in place of the T dropout passes, and its log-likelihood is
paper eq. (8) with the members as the samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from mcdrop import _checks, predict
from mcdrop.training import FittedRegressor, fit_regressor


@dataclass
class DeepEnsemble:
    """Trained members and the model precision τ (units of y) of their Gaussian mixture."""

    members: list[FittedRegressor]
    tau: float

    def member_predictions(self, X) -> np.ndarray:
        """Each member's prediction in original units, shape (M, N)."""
        return np.stack([member.deterministic(X) for member in self.members])

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


def _fit_members(X, y, member_seeds, fit_kwargs) -> list[FittedRegressor]:
    """One ``fit_regressor`` call per member; a batched trainer can replace this loop."""
    return [fit_regressor(X, y, dropout="none", seed=seed, **fit_kwargs) for seed in member_seeds]


def fit_ensemble(X, y, *, n_members: int = 5, tau: float = 1.0, seed=None, **fit_kwargs) -> DeepEnsemble:
    """Train ``n_members`` dropout-free networks from independent seeds spawned from ``seed``.

    ``fit_kwargs`` go to :func:`mcdrop.training.fit_regressor` (``settings``, or single settings
    such as ``hidden_layer_sizes``, ``lengthscale``, ``n_epochs``, ``batch_size``, ``lr``, and
    ``progress``); the members are always trained with ``dropout="none"``;
    ``tau`` is the model precision in the units of ``y``.
    """
    n_members = _checks.positive_int("n_members", n_members)
    tau = _checks.positive("tau", tau)
    for name in ("drop_prob", "dropout", "input_dropout"):
        if name in fit_kwargs:
            raise TypeError(f"fit_ensemble trains networks without dropout; do not pass {name}")
    member_seeds = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n_members)]
    return DeepEnsemble(_fit_members(X, y, member_seeds, dict(fit_kwargs, tau=tau)), tau)

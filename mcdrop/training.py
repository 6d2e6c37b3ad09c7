"""Training a dropout network on the paper's objective (chapter 6, "MC dropout prediction").

The objective is paper eq. (4) with the Euclidean loss and Prop. 1's KL (chapter 5):
``(1/N) Σ ½(y − ŷ)² + Σ_i λ_i ‖M_i‖² + Σ_i λ_b ‖b_i‖²`` with ``λ_i = p_i l² / (2Nτ)``
(paper eq. (7); ``p_i`` the keep probability of the mask on layer i's input) and
``λ_b = l²/(2Nτ)``.
PyTorch's inverted dropout stores ``W_i = p_i M_i``, so the decay handed to the optimiser is
:func:`mcdrop.kl.optimizer_weight_decay` with ``convention="pytorch"``; ``"official"`` reproduces
the official UCI code instead (a decay ``p²/2`` times weaker, and, with ``bias_decay=False``, no
decay on biases). ``dropout="concrete"`` learns each drop probability instead (chapter 11;
:mod:`mcdrop.concrete`), ``dropout="none"`` trains without dropout (the members of a deep
ensemble, :mod:`mcdrop.ensemble`). Inputs and targets are standardised with the training
statistics; τ, variances and log-likelihoods are read and reported in original units.
"""

from __future__ import annotations

import numbers
from dataclasses import dataclass, field, fields, replace

import numpy as np
import torch
from tqdm.auto import tqdm

from mcdrop import _checks, concrete, kl, predict
from mcdrop._torch_state import preserved_modes, seeded_global_rng
from mcdrop.models import ACTIVATIONS, MLP


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

    def samples(self, X, T: int = 100, seed=None, masks: str = "per-pass") -> np.ndarray:
        """``T`` MC dropout predictions in original units, shape (T, N); ``masks`` as in
        :func:`mcdrop.predict.mc_samples`."""
        draws = predict.mc_samples(self.model, self.standardise_inputs(X), T, seed=seed, masks=masks)[..., 0]
        return draws.double().numpy() * self.y_scale + self.y_mean

    def deterministic(self, X) -> np.ndarray:
        """Standard dropout's prediction (weight averaging: dropout off), original units."""
        with preserved_modes(self.model), torch.no_grad():
            out = self.model.eval()(self.standardise_inputs(X))[:, 0].double().numpy()
        return out * self.y_scale + self.y_mean

    def predict(self, X, T: int = 100, seed=None):
        """Predictive mean (paper eq. (6)) and variance (with τ⁻¹) in original units (chapter 6)."""
        mean, var = predict.regression_moments(torch.as_tensor(self.samples(X, T, seed)), self.tau)
        return mean.numpy(), var.numpy()

    def log_likelihood(self, X, y, T: int = 100, seed=None) -> np.ndarray:
        """Per-point test log-likelihood, paper eq. (8), in original units, shape (N,) (chapter 6)."""
        y = _checks.finite_array("y", y, ndim=1)
        _checks.same_length("X", X, "y", y)
        return predict.regression_log_likelihood(self.samples(X, T, seed), y, self.tau).numpy()


def _standardise(name: str, values):
    """Training mean and std (ddof 0; a zero std becomes 1) of ``values``' columns."""
    with np.errstate(over="ignore", invalid="ignore"):
        mean, scale = values.mean(axis=0), values.std(axis=0)
    if not (np.all(np.isfinite(mean)) and np.all(np.isfinite(scale))):
        raise ValueError(f"{name} has values whose mean or standard deviation overflows float64 "
                         f"(largest magnitude {np.max(np.abs(values)):.3g}); rescale {name} first")
    return mean, np.where(scale > 0, scale, 1.0)


DROPOUT_KINDS = ("bernoulli", "concrete", "none")


@dataclass(frozen=True)
class RegressorSettings:
    """Everything that defines a dropout regression network and its training, except τ and the
    seed: the one home of these settings for :func:`fit_regressor`,
    :class:`~mcdrop.estimator.MCDropoutRegressor` and the CO2 experiment (chapter 7). Validated
    on construction; ``hidden_layer_sizes`` may be an int (one hidden layer), as in scikit-learn.

    ``drop_prob`` is the DROP probability of every dropout layer (keep probability
    ``1 − drop_prob``); ``lengthscale`` the prior length-scale l of paper eq. (7);
    ``weight_decay_convention`` and ``bias_decay`` select how paper eq. (4)'s KL term is realised
    (see :func:`mcdrop.kl.optimizer_weight_decay`). ``dropout`` is "bernoulli" (fixed
    ``drop_prob``), "concrete" (:class:`mcdrop.concrete.ConcreteDropout` layers whose drop
    probability starts at ``drop_prob`` and is learned, with their regulariser in place of the
    decay on the weights that follow them; "pytorch" convention only) or "none" (no dropout:
    a MAP network, ``drop_prob`` unused).
    """

    hidden_layer_sizes: tuple = (50,)
    drop_prob: float = 0.05
    lengthscale: float = 1e-2
    n_epochs: int = 400
    batch_size: int = 32
    lr: float = 1e-3
    activation: str = "relu"
    input_dropout: bool = False
    weight_decay_convention: str = "pytorch"
    bias_decay: bool = True
    dropout: str = "bernoulli"

    def __post_init__(self):
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = (sizes,)
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__iter__"):
            raise TypeError(f"hidden_layer_sizes must be an int or a sequence of ints, got {sizes!r}")
        sizes = tuple(_checks.positive_int("hidden_layer_sizes entry", h) for h in sizes)
        if not sizes:
            raise ValueError("hidden_layer_sizes must name at least one hidden layer, got ()")
        object.__setattr__(self, "hidden_layer_sizes", sizes)
        drop_prob = _checks.probability("drop_prob", self.drop_prob, open_interval=True)
        object.__setattr__(self, "drop_prob", drop_prob)
        _checks.positive("lengthscale", self.lengthscale)
        _checks.positive_int("n_epochs", self.n_epochs)
        _checks.positive_int("batch_size", self.batch_size)
        _checks.positive("lr", self.lr)
        if self.activation not in ACTIVATIONS:
            raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}")
        if self.weight_decay_convention not in kl.CONVENTIONS:
            raise ValueError(f"weight_decay_convention must be one of {kl.CONVENTIONS}, "
                             f"got {self.weight_decay_convention!r}")
        if self.dropout not in DROPOUT_KINDS:
            raise ValueError(f"dropout must be one of {DROPOUT_KINDS}, got {self.dropout!r}")
        if self.dropout == "concrete" and self.weight_decay_convention != "pytorch":
            raise ValueError("dropout='concrete' uses Gal, Hron & Kendall's regulariser, which is the "
                             "'pytorch' weight_decay_convention; got 'official'")
        for flag in ("input_dropout", "bias_decay"):
            if not isinstance(getattr(self, flag), (bool, np.bool_)):
                raise TypeError(f"{flag} must be a bool, got {getattr(self, flag)!r}")


def resolve_settings(caller: str, settings, overrides: dict, accepted=None, note: str = "") -> RegressorSettings:
    """``settings`` (default ``RegressorSettings()``) with the keyword ``overrides`` of a call to
    ``caller`` replaced; an override outside ``accepted`` (default: every field) is a TypeError
    naming it, followed by ``note``."""
    accepted = [f.name for f in fields(RegressorSettings)] if accepted is None else list(accepted)
    unknown = sorted(set(overrides) - set(accepted))
    if unknown:
        raise TypeError(f"{caller} got unknown setting(s) {unknown}{note}; it takes {accepted}")
    if settings is not None and not isinstance(settings, RegressorSettings):
        raise TypeError(f"settings must be a RegressorSettings, got {type(settings).__name__}")
    return replace(settings or RegressorSettings(), **overrides)


def fit_regressor(X, y, settings: RegressorSettings | None = None, *, tau: float = 1.0, seed=None,
                  progress: bool = True, **overrides) -> FittedRegressor:
    """Train an :class:`~mcdrop.models.MLP` with Adam on the objective of paper eq. (4) (chapter 6).

    ``settings`` (default :class:`RegressorSettings()`) with any of its fields overridden by
    keyword, e.g. ``fit_regressor(X, y, hidden_layer_sizes=(100,), drop_prob=0.1, tau=4.0)``.
    ``tau`` is the model precision in the units of ``y``. The decay on each weight matrix is
    :func:`mcdrop.kl.optimizer_weight_decay` for the keep probability of the mask on its input
    (``weight_decay_convention`` "pytorch": paper eq. (4) for the stored weights ``W = p·M``;
    "official": the official UCI code's ``p·l²/(2Nτ)`` on ``W`` with its MSE loss); ``bias_decay``
    applies paper eq. (4)'s ``l²/(2Nτ)‖b‖²`` (the official code has none). With
    ``dropout="concrete"`` the loss adds :func:`mcdrop.concrete.regulariser` (``loss="half_mse"``)
    and the drop probabilities are trained with the weights. Seeded runs are reproducible and
    leave the global RNG untouched.
    """
    settings = resolve_settings("fit_regressor", settings, overrides)
    X = _checks.finite_array("X", X, ndim=2)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("X", X, "y", y)
    tau = _checks.positive("tau", tau)
    x_mean, x_scale = _standardise("X", X)
    y_mean, y_scale = _standardise("y", y)
    tau_standardised = tau * y_scale**2
    inputs = torch.as_tensor((X - x_mean) / x_scale, dtype=torch.float32)
    targets = torch.as_tensor((y - y_mean) / y_scale, dtype=torch.float32)[:, None]
    n = len(y)
    s = settings
    with seeded_global_rng(seed):
        model = build_model(X.shape[1], s)
        groups, loss_fn = regression_objective(model, s, n, tau_standardised)
        history = train_loop(model, inputs, targets, loss_fn, groups, s.n_epochs, s.batch_size, s.lr, progress)
    return FittedRegressor(model, x_mean, x_scale, float(y_mean), float(y_scale), tau, history)


def build_model(in_features: int, settings: RegressorSettings) -> MLP:
    """The untrained network that ``settings`` describe, for one output (uses the global torch RNG)."""
    s = settings
    if s.dropout == "concrete":
        return concrete.concrete_mlp(in_features, s.hidden_layer_sizes, 1, s.drop_prob, s.activation, s.input_dropout)
    drop_prob = 0.0 if s.dropout == "none" else s.drop_prob
    return MLP(in_features, s.hidden_layer_sizes, 1, drop_prob, s.activation, s.input_dropout)


def regression_objective(model: MLP, settings: RegressorSettings, n_data: int, tau_standardised: float):
    """Adam's parameter groups and the loss of paper eq. (4) for ``model`` (chapters 5 and 6).

    The loss is ½·MSE on standardised targets; each weight matrix's decay is
    :func:`mcdrop.kl.optimizer_weight_decay` for the keep probability of the mask on its input
    (none for weights after a concrete-dropout layer, whose regulariser joins the loss), the biases'
    is :func:`mcdrop.kl.bias_weight_decay` when ``settings.bias_decay``. ``tau_standardised`` is τ
    in the units of the standardised targets. Returns ``(param_groups, loss_fn)``.
    """
    s = settings
    learned = {id(linear.weight) for _, linear in concrete.dropout_linear_pairs(model)}
    groups = [{"params": [layer.weight],
               "weight_decay": 0.0 if id(layer.weight) in learned else
               kl.optimizer_weight_decay(s.lengthscale, 1 - keep, n_data, tau_standardised,
                                         loss="half_mse", convention=s.weight_decay_convention)}
              for layer, keep in model.linear_layers_with_keep_prob()]
    bias_wd = kl.bias_weight_decay(s.lengthscale, n_data, tau_standardised, loss="half_mse") if s.bias_decay else 0.0
    groups.append({"params": [layer.bias for layer, _ in model.linear_layers_with_keep_prob()],
                   "weight_decay": bias_wd})
    if s.dropout != "concrete":
        return groups, _half_mse
    groups.append({"params": [d.drop_logit for d, _ in concrete.dropout_linear_pairs(model)], "weight_decay": 0.0})

    def loss_fn(output, target):
        return _half_mse(output, target) + concrete.regulariser(model, s.lengthscale, tau_standardised, n_data,
                                                                loss="half_mse")
    return groups, loss_fn


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
                   optimizer_weight_decay: float = 1e-4, seed=None, progress: bool = True) -> np.ndarray:
    """Train a classifier in place on the dropout objective of paper eq. (1) with the softmax loss
    as E (τ = 1 in the paper's §4; chapter 9), with Adam; ``optimizer_weight_decay`` is the torch
    optimiser's ``weight_decay`` (the gradient of ``(wd/2)‖θ‖²``, as in
    :func:`mcdrop.kl.optimizer_weight_decay`). ``X`` is a float tensor, ``y`` integer labels.
    Seeded runs are reproducible and leave the global RNG untouched. Returns the per-epoch loss."""
    if not isinstance(X, torch.Tensor) or not X.is_floating_point():
        raise TypeError(f"X must be a floating-point torch tensor, got {type(X).__name__}"
                        + (f" of dtype {X.dtype}" if isinstance(X, torch.Tensor) else ""))
    if not isinstance(y, torch.Tensor) or y.dtype not in (torch.int64, torch.int32, torch.int16, torch.uint8):
        raise TypeError("y must be a torch tensor of integer class labels")
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
    if len(X) == 0:
        raise ValueError("X and y must hold at least one training example, got 0 rows")
    if not torch.isfinite(X).all():
        raise ValueError("X contains NaN or inf")
    n_epochs = _checks.positive_int("n_epochs", n_epochs)
    batch_size = _checks.positive_int("batch_size", batch_size)
    lr = _checks.positive("lr", lr)
    if isinstance(optimizer_weight_decay, bool) or not isinstance(optimizer_weight_decay, numbers.Real) \
            or not (np.isfinite(optimizer_weight_decay) and optimizer_weight_decay >= 0):
        raise ValueError(f"optimizer_weight_decay must be a finite number >= 0, got {optimizer_weight_decay!r}")
    with seeded_global_rng(seed):
        groups = [{"params": list(model.parameters()), "weight_decay": float(optimizer_weight_decay)}]
        return train_loop(model, X, y.long(), torch.nn.functional.cross_entropy, groups, n_epochs, batch_size, lr,
                          progress)

"""A scikit-learn estimator for MC dropout regression (chapter 6, "MC dropout prediction").

``tau=None`` chooses τ by the mean log-likelihood of paper eq. (8) on the last
``validation_fraction`` of the training data over ``relative_tau_grid``, then refits the network
on all of it (the 2018 official repository's protocol; the paper itself tuned τ by Bayesian
optimisation).
"""

from __future__ import annotations

from dataclasses import fields
from numbers import Integral, Real

import numpy as np
import torch
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted, validate_data

from mcdrop import kl, predict
from mcdrop.models import ACTIVATIONS
from mcdrop.training import DROPOUT_KINDS, RegressorSettings, fit_regressor

DEFAULT_RELATIVE_TAU_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)
_DEFAULTS = RegressorSettings()


class MCDropoutRegressor(RegressorMixin, BaseEstimator):
    """MC dropout regression with a scikit-learn interface (chapter 6).

    Trains an MLP with dropout before every hidden weight layer on the objective of
    paper eq. (4) and predicts with T = ``n_samples`` stochastic passes (paper eq. (6)).

    Parameters
    ----------
    hidden_layer_sizes : int or tuple of int, default=(50,)
        Widths of the hidden layers (an int means one hidden layer).
    drop_prob : float in (0, 1), default=0.05
        DROP probability of every dropout layer; the paper's keep probability is ``1 − drop_prob``.
    lengthscale : float > 0, default=1e-2
        Prior length-scale l of paper eq. (7).
    tau : float > 0 or None, default=None
        Model precision in the units of ``y``. ``None`` chooses it on validation data.
    n_epochs, batch_size, lr : training length, minibatch size and Adam's learning rate.
    n_samples : int, default=100
        MC dropout passes T used by ``predict``, ``log_likelihood`` and the τ search.
    random_state : int, RandomState instance or None, default=None
        Seeds the initialisation, the minibatch order and the dropout masks.
    relative_tau_grid : sequence of float, default=(1, 3, 10, 30, 100)
        Candidate values of ``τ·var(y)`` (τ in units of ``1/var(y)``: 10 means a noise variance of
        a tenth of the target's variance) for ``tau=None``.
    validation_fraction : float in (0, 1), default=0.2
        Share of the training rows (the last ones) held out to choose τ.
    activation : {"relu", "tanh"}, default="relu"
    input_dropout : bool, default=False
        Also drop the inputs, as the paper's UCI networks do. On low-dimensional inputs this is a
        large perturbation: with one feature, a pass that drops it predicts ``f(0)`` whatever ``x``
        is, and the "model uncertainty" then measures that artefact.
    weight_decay_convention : {"pytorch", "official"}, default="pytorch"
        How paper eq. (4)'s KL term becomes a decay (see :func:`mcdrop.kl.optimizer_weight_decay`).
    bias_decay : bool, default=True
        Apply paper eq. (4)'s ``l²/(2Nτ)‖b‖²`` to the biases (the official code does not).
    dropout : {"bernoulli", "concrete", "none"}, default="bernoulli"
        "concrete" learns every drop probability, starting from ``drop_prob`` (Concrete dropout,
        chapter 11); "none" trains without dropout.
    progress : bool, default=False
        Show a tqdm progress bar while training.

    Attributes
    ----------
    tau_ : float
        The precision used, in the units of ``y``.
    validation_log_likelihoods_ : dict
        Validation log-likelihood of every candidate τ (only when ``tau=None``).
    fitted_ : mcdrop.training.FittedRegressor
        The trained network with its standardisation.
    predict_seed_ : int
        Seed of the dropout masks used at prediction, so repeated predictions agree.
    n_features_in_ : int
        Number of features seen in ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> from mcdrop import MCDropoutRegressor
    >>> X = np.linspace(-2, 2, 40)[:, None]
    >>> model = MCDropoutRegressor(hidden_layer_sizes=16, tau=25.0, n_epochs=5, random_state=0)
    >>> mean, std = model.fit(X, np.sin(X[:, 0])).predict(X, return_std=True)
    >>> bool(np.all(std >= 1 / np.sqrt(25.0)))
    True
    """

    _parameter_constraints = {
        "hidden_layer_sizes": ["array-like", Interval(Integral, 1, None, closed="left")],
        "drop_prob": [Interval(Real, 0, 1, closed="neither")],
        "lengthscale": [Interval(Real, 0, None, closed="neither")],
        "tau": [Interval(Real, 0, None, closed="neither"), None],
        "n_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "n_samples": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
        "relative_tau_grid": ["array-like"],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "lr": [Interval(Real, 0, None, closed="neither")],
        "activation": [StrOptions(set(ACTIVATIONS))],
        "input_dropout": ["boolean"],
        "weight_decay_convention": [StrOptions(set(kl.CONVENTIONS))],
        "bias_decay": ["boolean"],
        "dropout": [StrOptions(set(DROPOUT_KINDS))],
        "progress": ["boolean"],
    }

    def __init__(self, *, hidden_layer_sizes=_DEFAULTS.hidden_layer_sizes, drop_prob=_DEFAULTS.drop_prob,
                 lengthscale=_DEFAULTS.lengthscale, tau=None, n_epochs=_DEFAULTS.n_epochs,
                 batch_size=_DEFAULTS.batch_size, n_samples=100, random_state=None,
                 relative_tau_grid=DEFAULT_RELATIVE_TAU_GRID, validation_fraction=0.2, lr=_DEFAULTS.lr,
                 activation=_DEFAULTS.activation, input_dropout=_DEFAULTS.input_dropout,
                 weight_decay_convention=_DEFAULTS.weight_decay_convention, bias_decay=_DEFAULTS.bias_decay,
                 dropout=_DEFAULTS.dropout, progress=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.drop_prob = drop_prob
        self.lengthscale = lengthscale
        self.tau = tau
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.n_samples = n_samples
        self.random_state = random_state
        self.relative_tau_grid = relative_tau_grid
        self.validation_fraction = validation_fraction
        self.lr = lr
        self.activation = activation
        self.input_dropout = input_dropout
        self.weight_decay_convention = weight_decay_convention
        self.bias_decay = bias_decay
        self.dropout = dropout
        self.progress = progress

    def settings(self) -> RegressorSettings:
        """The network and training settings of this estimator, validated."""
        return RegressorSettings(**{f.name: getattr(self, f.name) for f in fields(RegressorSettings)})

    def fit(self, X, y):
        self._validate_params()
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        settings = self.settings()
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(2**31 - 1))
        self.predict_seed_ = int(rng.randint(2**31 - 1))
        if self.tau is None:
            self.tau_, self.validation_log_likelihoods_ = self._choose_tau(X, y, settings, seed)
        else:
            self.tau_ = float(self.tau)
        self.fitted_ = fit_regressor(X, y, settings, tau=self.tau_, seed=seed, progress=self.progress)
        return self

    def _choose_tau(self, X, y, settings, seed):
        n_train = int(round(len(y) * (1 - self.validation_fraction)))
        if n_train < 2 or n_train == len(y):
            raise ValueError(f"choosing tau needs at least 2 training points and 1 validation point; "
                             f"validation_fraction={self.validation_fraction} of {len(y)} sample(s) leaves none")
        grid = np.asarray(self.relative_tau_grid, dtype=float)
        if grid.ndim != 1 or grid.size == 0 or not np.all(np.isfinite(grid) & (grid > 0)):
            raise ValueError(f"relative_tau_grid must be a non-empty sequence of finite numbers > 0, "
                             f"got {self.relative_tau_grid!r}")
        variance = float(np.var(y[:n_train]))
        if not variance > 0:
            raise ValueError("y is constant on the training part, so tau cannot be chosen relative to var(y); "
                             "pass tau explicitly")
        scores = {}
        for relative_tau in grid:
            tau = float(relative_tau) / variance
            fitted = fit_regressor(X[:n_train], y[:n_train], settings, tau=tau, seed=seed, progress=self.progress)
            scores[tau] = float(fitted.log_likelihood(X[n_train:], y[n_train:], self.n_samples,
                                                      self.predict_seed_).mean())
        return max(scores, key=scores.get), scores

    def predict(self, X, return_std=False, return_cov=False):
        """Predictive mean (paper eq. (6), chapter 6); with ``return_std`` also the predictive std including
        τ⁻¹, with ``return_cov`` the predictive covariance across the rows of ``X`` (from one
        dropout mask per pass, shared by all rows: :func:`mcdrop.predict.predictive_covariance`)."""
        check_is_fitted(self)
        if return_std and return_cov:
            raise ValueError("at most one of return_std and return_cov can be requested")
        X = validate_data(self, X, dtype=np.float64, reset=False)
        if return_cov:
            samples = torch.as_tensor(self.fitted_.samples(X, self.n_samples, seed=self.predict_seed_))
            mean, _ = predict.regression_moments(samples, self.tau_)
            return mean.numpy(), predict.predictive_covariance(samples, self.tau_).numpy()
        mean, var = self.fitted_.predict(X, self.n_samples, seed=self.predict_seed_)
        return (mean, np.sqrt(var)) if return_std else mean

    def log_likelihood(self, X, y):
        """Mean per-point predictive log-likelihood, paper eq. (8), in the units of ``y`` (chapter 6)."""
        check_is_fitted(self)
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, reset=False)
        return float(self.fitted_.log_likelihood(X, y, self.n_samples, seed=self.predict_seed_).mean())

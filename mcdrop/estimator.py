"""A scikit-learn estimator for MC dropout regression (chapter 6, "MC dropout prediction").

``tau=None`` follows the paper's protocol: τ is chosen by the log-likelihood (eq. 8) on the
last ``validation_fraction`` of the training data over ``tau_grid``, then the network is
refitted on all of it.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, validate_data

from mcdrop import _checks
from mcdrop.training import fit_regressor

DEFAULT_TAU_GRID = (1.0, 3.0, 10.0, 30.0, 100.0)


class MCDropoutRegressor(RegressorMixin, BaseEstimator):
    """MC dropout regression with a scikit-learn interface.

    ``drop_prob`` is the DROP probability (keep probability ``1 − drop_prob``); ``tau`` the model
    precision in the units of ``y`` (``None``: chosen on validation data from
    ``tau_grid``, whose entries are in units of ``1/var(y)``). ``predict(X, return_std=True)``
    returns the predictive std including τ⁻¹; ``log_likelihood`` is the mean of paper eq. (8).
    ``weight_decay_convention`` and ``bias_decay`` are those of :func:`mcdrop.training.fit_regressor`.

    ``input_dropout`` (default off) also drops the inputs, as the paper's UCI networks do. On
    low-dimensional inputs it is a large perturbation: with one feature, a pass that drops it
    predicts ``f(0)`` whatever ``x`` is, and the "model uncertainty" then measures that artefact.
    """

    def __init__(self, hidden_layer_sizes=(50,), drop_prob=0.05, lengthscale=1e-2, tau=None,
                 n_epochs=400, batch_size=32, n_samples=100, random_state=None, tau_grid=DEFAULT_TAU_GRID,
                 validation_fraction=0.2, lr=1e-3, activation="relu", input_dropout=False,
                 weight_decay_convention="pytorch", bias_decay=True, progress=False):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.drop_prob = drop_prob
        self.lengthscale = lengthscale
        self.tau = tau
        self.n_epochs = n_epochs
        self.batch_size = batch_size
        self.n_samples = n_samples
        self.random_state = random_state
        self.tau_grid = tau_grid
        self.validation_fraction = validation_fraction
        self.lr = lr
        self.activation = activation
        self.input_dropout = input_dropout
        self.weight_decay_convention = weight_decay_convention
        self.bias_decay = bias_decay
        self.progress = progress

    def _fit_with_tau(self, X, y, tau, seed):
        return fit_regressor(
            X, y, hidden_layer_sizes=self.hidden_layer_sizes, drop_prob=self.drop_prob,
            lengthscale=self.lengthscale, tau=tau, n_epochs=self.n_epochs, batch_size=self.batch_size,
            lr=self.lr, activation=self.activation, input_dropout=self.input_dropout,
            weight_decay_convention=self.weight_decay_convention, bias_decay=self.bias_decay, seed=seed,
            progress=self.progress,
        )

    def fit(self, X, y):
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True)
        _checks.positive_int("n_samples", self.n_samples)
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(2**31 - 1))
        self.predict_seed_ = int(rng.randint(2**31 - 1))
        if self.tau is None:
            self.tau_, self.validation_log_likelihoods_ = self._choose_tau(X, y, seed)
        else:
            self.tau_ = _checks.positive("tau", self.tau)
        self.fitted_ = self._fit_with_tau(X, y, self.tau_, seed)
        return self

    def _choose_tau(self, X, y, seed):
        fraction = _checks.probability("validation_fraction", self.validation_fraction, open_interval=True)
        n_train = int(round(len(y) * (1 - fraction)))
        if n_train < 2 or n_train == len(y):
            raise ValueError(f"choosing tau needs at least 2 training points and 1 validation point; "
                             f"validation_fraction={fraction} of {len(y)} sample(s) leaves none")
        variance = max(float(np.var(y[:n_train])), np.finfo(float).tiny)
        scores = {}
        for g in self.tau_grid:
            tau = _checks.positive("tau_grid entry", g) / variance
            fitted = self._fit_with_tau(X[:n_train], y[:n_train], tau, seed)
            scores[tau] = float(fitted.log_likelihood(X[n_train:], y[n_train:], self.n_samples, self.predict_seed_).mean())
        return max(scores, key=scores.get), scores

    def predict(self, X, return_std=False):
        check_is_fitted(self)
        X = validate_data(self, X, dtype=np.float64, reset=False)
        mean, var = self.fitted_.predict(X, self.n_samples, seed=self.predict_seed_)
        return (mean, np.sqrt(var)) if return_std else mean

    def log_likelihood(self, X, y):
        """Mean per-point predictive log-likelihood, eq. (8), in the units of ``y``."""
        check_is_fitted(self)
        X, y = validate_data(self, X, y, dtype=np.float64, y_numeric=True, reset=False)
        return float(self.fitted_.log_likelihood(X, y, self.n_samples, seed=self.predict_seed_).mean())

"""The Mauna Loa CO2 extrapolation of the paper's Figs 2–3 (chapter 7, "Extrapolating Mauna Loa CO2").

``CPU_SETTINGS`` run in seconds on two cores; ``PAPER_SETTINGS`` are the paper's network size and
number of iterations (10⁶ SGD steps ≈ 117,647 epochs of 272 points in batches of 32), one
argument away. The paper used SGD with a decaying learning rate; both settings here use Adam.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from mcdrop import _checks, gp
from mcdrop.training import FittedRegressor, fit_regressor


@dataclass(frozen=True)
class CO2Settings:
    """Architecture, training and sampling settings of the CO2 networks."""

    hidden_layer_sizes: tuple = (256, 256, 256, 256)
    drop_prob: float = 0.1
    n_epochs: int = 300
    batch_size: int = 32
    lr: float = 1e-3
    lengthscale: float = 1e-2
    tau: float = 10.0
    T: int = 200

    def __post_init__(self):
        """Check every field; a ValueError lists each bad field by name, a TypeError the first."""
        sizes = self.hidden_layer_sizes
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__"):
            raise TypeError(f"hidden_layer_sizes must be a tuple of integers, got {sizes!r}")
        checks = [("hidden_layer_sizes", _layer_sizes), ("drop_prob", _checks.probability)]
        checks += [(name, _checks.positive_int) for name in ("n_epochs", "batch_size", "T")]
        checks += [(name, _checks.positive) for name in ("lr", "lengthscale", "tau")]
        problems = []
        for name, check in checks:
            try:
                value = check(name, getattr(self, name))
            except ValueError as err:
                problems.append(str(err))
                continue
            object.__setattr__(self, name, value)
        if problems:
            raise ValueError("invalid CO2Settings: " + "; ".join(problems))


def _layer_sizes(name: str, sizes) -> tuple:
    if len(sizes) == 0:
        raise ValueError(f"{name} must name at least one hidden layer")
    return tuple(_checks.positive_int(f"{name} entry", h) for h in sizes)


CPU_SETTINGS = CO2Settings()
PAPER_SETTINGS = CO2Settings(hidden_layer_sizes=(1024,) * 5, n_epochs=117_647, T=1000)


def fit_network(X, y, activation: str, settings: CO2Settings = CPU_SETTINGS, seed=None,
                progress: bool = False) -> FittedRegressor:
    """Train one dropout network of Fig. 2 (``activation`` "relu" or "tanh")."""
    kwargs = {k: v for k, v in asdict(settings).items() if k != "T"}
    return fit_regressor(X, y, activation=activation, seed=seed, progress=progress, **kwargs)


def fit_gp(X, y, seed=None):
    """The GP of Fig. 2b: SE kernel, hyper-parameters by marginal likelihood; returns
    ``(kernel, hyper)`` with ``hyper`` the dict of :func:`mcdrop.gp.fit_se_hyperparameters`."""
    hyper = gp.fit_se_hyperparameters(X, y, init=(0.05, 1.0, 0.01), n_restarts=4, seed=seed)

    def kernel(A, B):
        return gp.se_kernel(A, B, hyper["lengthscale"], hyper["variance"])

    return kernel, hyper


def std_growth(std, x, near: float, far: float, width: float = 0.1) -> float:
    """Ratio of the mean predictive std within ``width`` of ``far`` to that near ``near``: > 1
    when uncertainty keeps growing between the two, ≈ 1 when it has levelled off."""
    std = _checks.finite_array("std", std, ndim=1)
    if np.any(std <= 0):
        raise ValueError("std must be positive everywhere (a standard deviation of 0 gives no ratio)")
    x = _checks.finite_array("x", x, ndim=1)
    _checks.same_length("std", std, "x", x)
    near_mask, far_mask = np.abs(x - near) <= width, np.abs(x - far) <= width
    if not near_mask.any() or not far_mask.any():
        raise ValueError("x has no points within width of near or far")
    return float(std[far_mask].mean() / std[near_mask].mean())

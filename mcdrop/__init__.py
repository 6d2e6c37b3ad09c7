"""mcdrop: Dropout as a Bayesian approximation, derived and reproduced.

Each module belongs to the chapter of the book that derives it; see its docstring.
"""

from mcdrop import (adversarial, calibration, co2, concrete, critiques, datasets, digits, dropout, ensemble, gp, kl,
                    metrics, models, network_kernels, predict, training, uci, vi)
from mcdrop.estimator import MCDropoutRegressor

__all__ = ["MCDropoutRegressor", "adversarial", "calibration", "co2", "concrete", "critiques", "datasets", "digits",
           "dropout", "ensemble", "gp", "kl", "metrics", "models", "network_kernels", "predict", "training", "uci", "vi"]
__version__ = "0.1.0"

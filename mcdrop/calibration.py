"""Calibration of Gaussian predictive distributions (chapters 6 and 8), and quantile bins to compare
it across groups of inputs (chapter 8)."""

from __future__ import annotations

import numpy as np
from scipy import stats

from mcdrop import _checks


def _predictions(mean, std, y):
    mean = _checks.finite_array("mean", mean, ndim=1)
    std = _checks.finite_array("std", std, ndim=1)
    y = _checks.finite_array("y", y, ndim=1)
    _checks.same_length("mean", mean, "std", std)
    _checks.same_length("mean", mean, "y", y)
    if np.any(std <= 0):
        raise ValueError(f"std must be > 0 everywhere, got minimum {std.min()}")
    return mean, std, y


def interval_coverage(mean, std, y, levels=(0.5, 0.8, 0.95)) -> np.ndarray:
    """Fraction of ``y`` inside the central ``level`` interval ``mean ± z_{(1+level)/2}·std`` of
    each Gaussian predictive; a calibrated model has coverage ≈ level."""
    mean, std, y = _predictions(mean, std, y)
    levels = _checks.finite_array("levels", levels, ndim=1)
    if np.any((levels <= 0) | (levels >= 1)):
        raise ValueError(f"levels must lie in (0, 1), got {levels}")
    half_widths = stats.norm.ppf((1 + levels) / 2)[:, None] * std[None, :]
    return np.mean(np.abs(y - mean)[None, :] <= half_widths, axis=1)


def gaussian_log_likelihood(mean, std, y) -> np.ndarray:
    """Per-point ``log N(y; mean, std²)``: the moment-matched alternative to paper eq. (8)
    (chapter 6)."""
    mean, std, y = _predictions(mean, std, y)
    return stats.norm.logpdf(y, mean, std)


def quantile_bins(values, n_bins: int) -> np.ndarray:
    """Integer label 0 … ``n_bins − 1`` of each of ``values``: bin k holds the values above the
    empirical k/``n_bins`` quantile up to and including the (k+1)/``n_bins`` quantile, bin 0 also the
    minimum (``pandas.qcut``'s convention; deciles for ``n_bins=10``). The bins hold equal counts up
    to ties, and a larger value never gets a lower label (chapter 8)."""
    values = _checks.finite_array("values", values, ndim=1)
    n_bins = _checks.positive_int("n_bins", n_bins)
    if n_bins > len(values):
        raise ValueError(f"n_bins must be at most the {len(values)} values, got {n_bins}")
    edges = np.quantile(values, np.linspace(0, 1, n_bins + 1))
    return np.clip(np.searchsorted(edges, values, side="left") - 1, 0, n_bins - 1)

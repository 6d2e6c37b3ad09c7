"""Scores of probabilistic classifiers (chapter 9, "When is a classifier uncertain?")."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from mcdrop import _checks


def _probs_and_labels(probs, labels):
    probs = _checks.finite_array("probs", probs, ndim=2)
    labels = np.asarray(labels)
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise ValueError(f"labels must be a 1-D array of integer class indices, got dtype {labels.dtype} "
                         f"and shape {labels.shape}")
    _checks.same_length("probs", probs, "labels", labels)
    if np.any(probs < 0) or not np.allclose(probs.sum(axis=1), 1.0, atol=1e-4):
        raise ValueError("probs must be non-negative and sum to 1 over classes (axis 1)")
    if labels.min() < 0 or labels.max() >= probs.shape[1]:
        raise ValueError(f"labels must lie in [0, {probs.shape[1]}), got values from {labels.min()} to {labels.max()}")
    return probs, labels


class CalibrationBins(NamedTuple):
    """Expected calibration error and the equal-width confidence bins it was computed on."""

    ece: float
    edges: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    counts: np.ndarray


def expected_calibration_error(probs, labels, n_bins: int = 10) -> CalibrationBins:
    """``ECE = Σ_b (n_b/N)·|acc_b − conf_b|`` over ``n_bins`` equal-width bins of the top-class
    confidence (Guo et al., 2017); empty bins have NaN confidence and accuracy."""
    probs, labels = _probs_and_labels(probs, labels)
    n_bins = _checks.positive_int("n_bins", n_bins)
    confidence, predicted = probs.max(axis=1), probs.argmax(axis=1)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    index = np.clip(np.digitize(confidence, edges[1:-1], right=True), 0, n_bins - 1)
    counts = np.bincount(index, minlength=n_bins)
    with np.errstate(invalid="ignore"):
        bin_conf = np.bincount(index, weights=confidence, minlength=n_bins) / counts
        bin_acc = np.bincount(index, weights=(predicted == labels).astype(float), minlength=n_bins) / counts
    filled = counts > 0
    ece = float(np.sum(counts[filled] / len(labels) * np.abs(bin_acc[filled] - bin_conf[filled])))
    return CalibrationBins(ece, edges, bin_conf, bin_acc, counts)


def brier_score(probs, labels) -> float:
    """``(1/N) Σ_n Σ_c (p_nc − 1[y_n = c])²``."""
    probs, labels = _probs_and_labels(probs, labels)
    one_hot = np.eye(probs.shape[1])[labels]
    return float(np.mean(np.sum((probs - one_hot) ** 2, axis=1)))


def negative_log_likelihood(probs, labels) -> float:
    """Mean ``−log p_{n, y_n}`` (probabilities floored at 1e-12)."""
    probs, labels = _probs_and_labels(probs, labels)
    return float(-np.mean(np.log(np.clip(probs[np.arange(len(labels)), labels], 1e-12, None))))


def auroc(scores, is_positive) -> float:
    """Area under the ROC curve of ``scores`` for telling positives from negatives."""
    from sklearn.metrics import roc_auc_score

    scores = _checks.finite_array("scores", scores, ndim=1)
    labels = np.asarray(is_positive)
    if labels.ndim != 1 or not np.all((labels == 0) | (labels == 1)):
        raise ValueError(f"is_positive must be a 1-D array of booleans or 0/1 labels, got shape {labels.shape} "
                         f"and values {np.unique(labels)[:6]}")
    is_positive = labels.astype(bool)
    _checks.same_length("scores", scores, "is_positive", is_positive)
    if is_positive.all() or not is_positive.any():
        raise ValueError("is_positive must contain both classes, got only one")
    return float(roc_auc_score(is_positive, scores))

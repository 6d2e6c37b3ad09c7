"""scikit-learn's 8×8 digits as a stand-in for MNIST (chapter 9, "When is a classifier uncertain?")."""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from scipy import ndimage

from mcdrop import _checks


class DigitSplits(NamedTuple):
    """Images (N, 1, 8, 8) in [0, 1] and integer labels, split into train and test."""

    X_train: torch.Tensor
    y_train: torch.Tensor
    X_test: torch.Tensor
    y_test: torch.Tensor


def load_digit_splits(test_fraction: float = 0.2, seed=None) -> DigitSplits:
    """The 1,797 digits shipped with scikit-learn, pixel values scaled from 0–16 to [0, 1], split at
    random (stratified by label) into train and test."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    test_fraction = _checks.probability("test_fraction", test_fraction, open_interval=True)
    data = load_digits()
    images = data.images.astype(np.float32)[:, None] / 16.0
    split = train_test_split(images, data.target, test_size=test_fraction, random_state=seed, stratify=data.target)
    X_train, X_test, y_train, y_test = (torch.as_tensor(a) for a in split)
    return DigitSplits(X_train, y_train.long(), X_test, y_test.long())


def rotate(image: torch.Tensor, angles) -> torch.Tensor:
    """Copies of one (1, 8, 8) image rotated by each angle (degrees, counter-clockwise), bilinear,
    clipped to [0, 1]; shape (len(angles), 1, 8, 8)."""
    if not isinstance(image, torch.Tensor) or image.shape != (1, 8, 8):
        raise ValueError("image must be a torch tensor of shape (1, 8, 8)")
    angles = _checks.finite_array("angles", angles, ndim=1)
    rotated = [ndimage.rotate(image[0].numpy(), a, reshape=False, order=1, mode="constant") for a in angles]
    return torch.as_tensor(np.clip(np.stack(rotated), 0.0, 1.0), dtype=image.dtype)[:, None]
